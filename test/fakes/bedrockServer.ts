// A wire-faithful fake of the Amazon Bedrock runtime for the Bedrock backend's
// tests, the runtime service's tests and the benches. It speaks cleartext
// HTTP/2 (what the AWS SDK's default NodeHttp2Handler speaks to an http://
// endpoint), and answers:
//
//   POST /model/{modelId}/converse         JSON (the Converse API)
//   POST /model/{modelId}/converse-stream  AWS event-stream frames (prelude, headers, CRC32s),
//                                          encoded with the SDK's own EventStreamCodec
//
// Every request must be signed: SigV4 (`AWS4-HMAC-SHA256 Credential=...`), checked
// against the fake's credentials with an implementation independent of the SDK's
// signer, or a Bedrock API key (`Authorization: Bearer ...`). Replies are scripted
// (`script(...)`): text, tool uses (parallel ones too), any stopReason, HTTP errors
// as AWS sends them (status, `x-amzn-errortype`, JSON body), exceptions mid-stream
// (`:message-type: exception` frames), a cut connection, or a hang. `requests`
// journals what arrived. Importable without mocha:
//
//   const fake = await startFakeBedrock();
//   fake.script({ text: "Hello" }, { toolUses: [{ name: "lookup", input: { id: 1 } }] });
//   new BedrockRuntimeClient({ endpoint: fake.url, region: fake.region, credentials: fake.credentials });

import { createHash, createHmac, randomUUID } from "node:crypto";
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { EventStreamCodec, type MessageHeaders } from "@smithy/core/event-streams";
import { fromUtf8, toUtf8 } from "@smithy/core/serde";

/** The exceptions the fake can answer with, by their event-stream / wire name. */
export type FakeBedrockError =
  | "throttlingException"
  | "validationException"
  | "accessDeniedException"
  | "resourceNotFoundException"
  | "serviceUnavailableException"
  | "internalServerException"
  | "modelTimeoutException"
  | "modelNotReadyException"
  | "serviceQuotaExceededException"
  | "unrecognizedClientException"
  | "expiredTokenException";

/** The exceptions ConverseStream can send as a frame inside a 200 stream. */
export type FakeStreamError =
  | "modelStreamErrorException"
  | "internalServerException"
  | "serviceUnavailableException"
  | "throttlingException"
  | "validationException";

const ERRORS: Record<FakeBedrockError, { status: number; type: string; message: string }> = {
  throttlingException: {
    status: 429,
    type: "ThrottlingException",
    message: "Too many requests, please wait before trying again.",
  },
  validationException: {
    status: 400,
    type: "ValidationException",
    message: "The provided request is not valid",
  },
  accessDeniedException: {
    status: 403,
    type: "AccessDeniedException",
    message: "You don't have access to the model with the specified model ID.",
  },
  resourceNotFoundException: {
    status: 404,
    type: "ResourceNotFoundException",
    message: "Model not found.",
  },
  serviceUnavailableException: {
    status: 503,
    type: "ServiceUnavailableException",
    message: "Bedrock is unable to process your request.",
  },
  internalServerException: {
    status: 500,
    type: "InternalServerException",
    message: "The server encountered an internal error while processing the request.",
  },
  modelTimeoutException: {
    status: 408,
    type: "ModelTimeoutException",
    message: "Model has timed out in processing the request. Try your request again.",
  },
  modelNotReadyException: {
    status: 429,
    type: "ModelNotReadyException",
    message: "Model is not ready to serve inference requests.",
  },
  serviceQuotaExceededException: {
    status: 400,
    type: "ServiceQuotaExceededException",
    message:
      "Your request exceeds the service quota for your account. You can view your quotas at https://console.aws.amazon.com/servicequotas/home.",
  },
  unrecognizedClientException: {
    status: 403,
    type: "UnrecognizedClientException",
    message: "The security token included in the request is invalid.",
  },
  expiredTokenException: {
    status: 403,
    type: "ExpiredTokenException",
    message: "The security token included in the request is expired",
  },
};

export interface FakeToolUse {
  /** Default: `tooluse_<n>`. */
  id?: string;
  name: string;
  input: unknown;
  /** The input JSON exactly as streamed (to send invalid or cut-off JSON); overrides `input`. */
  rawInput?: string;
}

export interface FakeBedrockReply {
  /**
   * Extended thinking before the reply: a `reasoningContent` block (text deltas, then its signature). As
   * Anthropic models on Bedrock do, a later request that sends this reply's tool uses without the block
   * (same signature) is refused.
   */
  reasoning?: string;
  /** Assistant text, streamed as deltas (`chunks` or word by word). */
  text?: string;
  chunks?: string[];
  /** Tool uses after the text, each its own content block (several = parallel tool uses). */
  toolUses?: FakeToolUse[];
  /** Default: tool_use when there are tool uses, else end_turn. */
  stopReason?: string;
  /** Default: counted from the request and reply sizes. */
  usage?: { inputTokens: number; outputTokens: number };
  /** Answer the request with this HTTP error instead (before any stream). */
  error?: FakeBedrockError;
  /** The error's message (default: the message AWS sends). */
  message?: string;
  /** After the text's frames, send this exception frame and end the stream. */
  streamError?: FakeStreamError;
  /** After the text's frames, reset the HTTP/2 stream (no messageStop, no metadata). */
  cut?: boolean;
  /** Never answer ("before": not even headers; "mid": after the text's frames). */
  hang?: "before" | "mid";
}

export interface FakeBedrockRequest {
  operation: "converse" | "converse-stream";
  /** The model id, decoded from the path. */
  modelId: string;
  path: string;
  headers: http2.IncomingHttpHeaders;
  /** The raw JSON body. */
  raw: string;
  /** The parsed body (messages, system, toolConfig, inferenceConfig ...). */
  body: Record<string, unknown> & {
    messages?: { role: string; content: Record<string, unknown>[] }[];
    system?: { text: string }[];
    toolConfig?: {
      tools: { toolSpec: { name: string; description?: string; inputSchema: { json: unknown } } }[];
    };
    inferenceConfig?: { temperature?: number; maxTokens?: number };
  };
  /** How it was signed: "sigv4" (valid signature), "bearer", or the rejection it got. */
  auth: "sigv4" | "bearer" | "rejected";
  /** What the fake answered: the reply consumed, or the auth rejection. */
  reply?: FakeBedrockReply;
}

export interface FakeBedrockOptions {
  /** The credentials requests must be signed with (default: fixed test credentials). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** A Bedrock API key accepted as `Authorization: Bearer ...`. */
  bearerToken?: string;
  region?: string;
  /** Write event-stream messages in uneven pieces that straddle frame boundaries (default true). */
  splitFrames?: boolean;
  /**
   * The reply when the script is empty (benches: a reply per request without scripting each one).
   * Without it, an unscripted request gets a ValidationException that says so.
   */
  fallback?: (request: FakeBedrockRequest) => FakeBedrockReply;
}

export interface FakeBedrock {
  /** http://127.0.0.1:PORT: pass as the client's endpoint (or AWS_ENDPOINT_URL_BEDROCK_RUNTIME). */
  url: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** Environment variables that point a backend at this fake. */
  env: Record<string, string>;
  /** Every request received, in order. */
  requests: FakeBedrockRequest[];
  /** Queues replies, one per request. */
  script(...replies: FakeBedrockReply[]): void;
  /** Replies still queued. */
  readonly pending: number;
  /** Streams the fake saw the client cancel (reset) before it finished. */
  readonly cancelled: number;
  close(): Promise<void>;
}

export const FAKE_CREDENTIALS = {
  accessKeyId: "AKIAFAKEBEDROCK00001",
  secretAccessKey: "fake/Secret+Key/For/Statecraft/Tests/000",
};

const codec = new EventStreamCodec(toUtf8, fromUtf8);

function str(value: string): { type: "string"; value: string } {
  return { type: "string", value };
}

/** One event-stream message of ConverseStreamOutput. */
export function eventFrame(eventType: string, payload: object): Uint8Array {
  const headers: MessageHeaders = {
    ":event-type": str(eventType),
    ":content-type": str("application/json"),
    ":message-type": str("event"),
  };
  // Bedrock pads every event with a `p` member (against length side channels); clients ignore it.
  const body = {
    ...payload,
    p: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0".slice(0, 1 + (eventType.length % 50)),
  };
  return codec.encode({ headers, body: fromUtf8(JSON.stringify(body)) });
}

/** An exception message inside the stream. */
export function exceptionFrame(type: string, payload: object): Uint8Array {
  const headers: MessageHeaders = {
    ":exception-type": str(type),
    ":content-type": str("application/json"),
    ":message-type": str("exception"),
  };
  return codec.encode({ headers, body: fromUtf8(JSON.stringify(payload)) });
}

// ---- SigV4 verification (independent of the SDK's signer) --------------------------------------

const sha256Hex = (data: string | Buffer): string => createHash("sha256").update(data).digest("hex");
const hmac = (key: Buffer | string, data: string): Buffer => createHmac("sha256", key).update(data).digest();

function rfc3986(segment: string): string {
  return encodeURIComponent(segment).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

type AuthResult =
  | { ok: true; kind: "sigv4" | "bearer" }
  | { ok: false; error: FakeBedrockError | "missing" | "signature"; detail: string };

function verifyAuth(
  headers: http2.IncomingHttpHeaders,
  method: string,
  path: string,
  body: Buffer,
  options: Required<Pick<FakeBedrockOptions, "credentials" | "region">> & { bearerToken?: string },
): AuthResult {
  const authorization = headers.authorization;
  if (typeof authorization !== "string" || authorization === "")
    return { ok: false, error: "missing", detail: "Missing Authentication Token" };
  if (authorization.startsWith("Bearer ")) {
    if (options.bearerToken !== undefined && authorization.slice(7) === options.bearerToken)
      return { ok: true, kind: "bearer" };
    return {
      ok: false,
      error: "unrecognizedClientException",
      detail: "Invalid API Key format: Must start with pre-defined prefix",
    };
  }
  const m =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(
      authorization,
    );
  if (!m) return { ok: false, error: "signature", detail: "Authorization header is not a SigV4 signature" };
  const [, keyId, day, region, service, signedHeaders, signature] = m;
  if (keyId !== options.credentials.accessKeyId)
    return {
      ok: false,
      error: "unrecognizedClientException",
      detail: ERRORS.unrecognizedClientException.message,
    };
  if (service !== "bedrock")
    return {
      ok: false,
      error: "signature",
      detail: `Credential should be scoped to correct service: 'bedrock'.`,
    };
  if (region !== options.region)
    return {
      ok: false,
      error: "signature",
      detail: `Credential should be scoped to a valid region, not '${region}'.`,
    };
  const amzDate = headers["x-amz-date"];
  if (typeof amzDate !== "string" || !amzDate.startsWith(day))
    return {
      ok: false,
      error: "signature",
      detail: "x-amz-date is missing or does not match the credential scope",
    };
  const names = signedHeaders.split(";");
  const canonicalHeaders = names
    .map((n) => {
      const raw = n === "host" ? (headers.host ?? headers[":authority"]) : headers[n];
      const value = Array.isArray(raw) ? raw.join(",") : (raw ?? "");
      return `${n}:${String(value).trim().replace(/\s+/g, " ")}\n`;
    })
    .join("");
  const [pathname, query = ""] = path.split("?");
  const canonicalUri = pathname
    .split("/")
    .map((s) => rfc3986(s))
    .join("/");
  const canonicalQuery = query.split("&").filter(Boolean).sort().join("&");
  const payloadHash =
    typeof headers["x-amz-content-sha256"] === "string" ? headers["x-amz-content-sha256"] : sha256Hex(body);
  const canonicalRequest = [
    method,
    canonicalUri,
    canonicalQuery,
    canonicalHeaders,
    signedHeaders,
    payloadHash,
  ].join("\n");
  const scope = `${day}/${region}/${service}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256Hex(canonicalRequest)].join("\n");
  const key = hmac(
    hmac(hmac(hmac(`AWS4${options.credentials.secretAccessKey}`, day), region), service),
    "aws4_request",
  );
  const expected = createHmac("sha256", key).update(stringToSign).digest("hex");
  if (expected !== signature)
    return {
      ok: false,
      error: "signature",
      detail:
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
    };
  return { ok: true, kind: "sigv4" };
}

// ---- the server -------------------------------------------------------------------------------

function estimateTokens(s: string): number {
  return Math.max(1, Math.ceil(s.length / 4));
}

function words(text: string): string[] {
  return text.match(/\S+\s*|\s+/g) ?? [];
}

export async function startFakeBedrock(options: FakeBedrockOptions = {}): Promise<FakeBedrock> {
  const credentials = options.credentials ?? FAKE_CREDENTIALS;
  const region = options.region ?? "us-east-1";
  const splitFrames = options.splitFrames ?? true;
  const queue: FakeBedrockReply[] = [];
  const requests: FakeBedrockRequest[] = [];
  let cancelled = 0;
  let toolSeq = 0;
  /** The reasoning signature each tool use followed, by tool use id. */
  const signatureOf = new Map<string, string>();
  const hanging = new Set<http2.ServerHttp2Stream>();

  const sendError = (
    stream: http2.ServerHttp2Stream,
    status: number,
    type: string,
    message: string,
  ): void => {
    stream.respond({
      ":status": status,
      "content-type": "application/json",
      "x-amzn-requestid": randomUUID(),
      "x-amzn-errortype": `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/`,
    });
    stream.end(JSON.stringify({ message }));
  };

  const writeFrames = (stream: http2.ServerHttp2Stream, frames: Uint8Array[]): void => {
    if (!splitFrames) {
      for (const f of frames) stream.write(f);
      return;
    }
    // Uneven pieces: a frame's prelude, headers and payload arrive in different DATA frames.
    const all = Buffer.concat(frames);
    for (let i = 0, n = 7; i < all.length; i += n, n = n === 7 ? 61 : n === 61 ? 13 : 7)
      stream.write(all.subarray(i, i + n));
  };

  const onStream = (
    stream: http2.ServerHttp2Stream,
    headers: http2.IncomingHttpHeaders,
    body: Buffer,
  ): void => {
    const method = String(headers[":method"]);
    const path = String(headers[":path"]);
    const route = /^\/model\/([^/]+)\/(converse|converse-stream)$/.exec(path.split("?")[0]);
    if (method !== "POST" || !route) {
      sendError(stream, 404, "UnknownOperationException", `no route for ${method} ${path}`);
      return;
    }
    const operation = route[2] as "converse" | "converse-stream";
    const raw = body.toString("utf8");
    let parsed: FakeBedrockRequest["body"];
    try {
      parsed = JSON.parse(raw) as FakeBedrockRequest["body"];
    } catch {
      sendError(stream, 400, "SerializationException", "request body is not JSON");
      return;
    }
    const record: FakeBedrockRequest = {
      operation,
      modelId: decodeURIComponent(route[1]),
      path,
      headers,
      raw,
      body: parsed,
      auth: "rejected",
    };
    requests.push(record);
    const messages = (parsed.messages ?? []) as {
      role: string;
      content?: {
        toolUse?: { toolUseId: string };
        reasoningContent?: { reasoningText?: { signature?: string } };
      }[];
    }[];
    for (const m of messages) {
      if (m.role !== "assistant") continue;
      for (const block of m.content ?? []) {
        const signature = block.toolUse && signatureOf.get(block.toolUse.toolUseId);
        if (
          signature &&
          !m.content!.some((b) => b.reasoningContent?.reasoningText?.signature === signature)
        ) {
          sendError(
            stream,
            400,
            "ValidationException",
            "messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found `tool_use`. When `thinking` is enabled, a final `assistant` message must start with a thinking block.",
          );
          return;
        }
      }
    }
    const auth = verifyAuth(headers, method, path, body, {
      credentials,
      region,
      bearerToken: options.bearerToken,
    });
    if (!auth.ok) {
      if (auth.error === "missing")
        sendError(stream, 403, "MissingAuthenticationTokenException", auth.detail);
      else if (auth.error === "signature") sendError(stream, 403, "InvalidSignatureException", auth.detail);
      else sendError(stream, ERRORS[auth.error].status, ERRORS[auth.error].type, auth.detail);
      return;
    }
    record.auth = auth.kind;
    const reply = queue.shift() ?? options.fallback?.(record);
    if (!reply) {
      sendError(
        stream,
        400,
        "ValidationException",
        "fake Bedrock: no scripted reply is left for this request",
      );
      return;
    }
    record.reply = reply;
    if (reply.error) {
      const e = ERRORS[reply.error];
      sendError(stream, e.status, e.type, reply.message ?? e.message);
      return;
    }
    if (reply.hang === "before") {
      hanging.add(stream);
      return;
    }
    const text = reply.text ?? reply.chunks?.join("") ?? "";
    const toolUses = (reply.toolUses ?? []).map((t) => ({ ...t, id: t.id ?? `tooluse_${++toolSeq}` }));
    const stopReason = reply.stopReason ?? (toolUses.length ? "tool_use" : "end_turn");
    const usage = reply.usage ?? {
      inputTokens: estimateTokens(raw),
      outputTokens: estimateTokens(text + JSON.stringify(toolUses.map((t) => t.input))),
    };
    const fullUsage = { ...usage, totalTokens: usage.inputTokens + usage.outputTokens };
    if (operation === "converse") {
      const content: object[] = [];
      if (text) content.push({ text });
      for (const t of toolUses)
        content.push({
          toolUse: { toolUseId: t.id, name: t.name, input: t.rawInput !== undefined ? t.rawInput : t.input },
        });
      stream.respond({
        ":status": 200,
        "content-type": "application/json",
        "x-amzn-requestid": randomUUID(),
      });
      stream.end(
        JSON.stringify({
          output: { message: { role: "assistant", content } },
          stopReason,
          usage: fullUsage,
          metrics: { latencyMs: 12 },
        }),
      );
      return;
    }
    stream.respond({
      ":status": 200,
      "content-type": "application/vnd.amazon.eventstream",
      "x-amzn-requestid": randomUUID(),
    });
    const frames: Uint8Array[] = [eventFrame("messageStart", { role: "assistant" })];
    let index = 0;
    if (reply.reasoning) {
      const signature = `sig-${randomUUID()}`;
      for (const t of toolUses) signatureOf.set(t.id, signature);
      for (const c of words(reply.reasoning))
        frames.push(
          eventFrame("contentBlockDelta", {
            contentBlockIndex: index,
            delta: { reasoningContent: { text: c } },
          }),
        );
      frames.push(
        eventFrame("contentBlockDelta", {
          contentBlockIndex: index,
          delta: { reasoningContent: { signature } },
        }),
      );
      frames.push(eventFrame("contentBlockStop", { contentBlockIndex: index }));
      index++;
    }
    const chunks = reply.chunks ?? (text ? words(text) : []);
    if (chunks.length) {
      for (const c of chunks)
        frames.push(eventFrame("contentBlockDelta", { contentBlockIndex: index, delta: { text: c } }));
      frames.push(eventFrame("contentBlockStop", { contentBlockIndex: index }));
      index++;
    }
    const early = reply.streamError || reply.cut || reply.hang === "mid";
    if (early) {
      writeFrames(stream, frames);
      if (reply.streamError) {
        const type = reply.streamError;
        const payload =
          type === "modelStreamErrorException"
            ? {
                message: reply.message ?? "Model stream error: the model's connection was interrupted.",
                originalStatusCode: 500,
                originalMessage: "upstream model error",
              }
            : { message: reply.message ?? ERRORS[type].message };
        stream.end(exceptionFrame(type, payload));
      } else if (reply.cut) {
        // Let the frames drain, then reset the stream as a dropped connection would.
        setImmediate(() => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR));
      } else hanging.add(stream);
      return;
    }
    for (const t of toolUses) {
      frames.push(
        eventFrame("contentBlockStart", {
          contentBlockIndex: index,
          start: { toolUse: { toolUseId: t.id, name: t.name } },
        }),
      );
      const json = t.rawInput ?? JSON.stringify(t.input);
      // The input JSON arrives in pieces that split keys and values.
      for (let i = 0; i < json.length; i += 9)
        frames.push(
          eventFrame("contentBlockDelta", {
            contentBlockIndex: index,
            delta: { toolUse: { input: json.slice(i, i + 9) } },
          }),
        );
      frames.push(eventFrame("contentBlockStop", { contentBlockIndex: index }));
      index++;
    }
    frames.push(eventFrame("messageStop", { stopReason }));
    frames.push(eventFrame("metadata", { usage: fullUsage, metrics: { latencyMs: 12 } }));
    writeFrames(stream, frames);
    stream.end();
  };

  const server = http2.createServer();
  server.on("stream", (stream, headers) => {
    const parts: Buffer[] = [];
    stream.on("data", (c: Buffer) => parts.push(c));
    stream.on("error", () => undefined);
    stream.on("close", () => {
      if (stream.rstCode === http2.constants.NGHTTP2_CANCEL) cancelled++;
      hanging.delete(stream);
    });
    stream.on("end", () => onStream(stream, headers, Buffer.concat(parts)));
  });
  server.on("sessionError", () => undefined);
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (s) => {
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    region,
    credentials,
    env: {
      AWS_REGION: region,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_ENDPOINT_URL_BEDROCK_RUNTIME: url,
    },
    requests,
    script: (...replies) => void queue.push(...replies),
    get pending() {
      return queue.length;
    },
    get cancelled() {
      return cancelled;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of hanging) s.close(http2.constants.NGHTTP2_CANCEL);
        for (const s of sessions) s.destroy();
        server.close(() => resolve());
      }),
  };
}
