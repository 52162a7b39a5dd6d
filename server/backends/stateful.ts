// The client of a Statecraft runtime service (`kind: stateful`): the service
// keeps each session's memory, context and identity, so a turn sends only
// the session id and the new input (the first one also carries the compiled
// definition). Turns stream back as server-sent events: every committed
// session event, text deltas, then `done` or `error`. Two transports carry
// the same payloads: plain HTTP(S) to `statecraft serve` (the endpoint is its
// URL) and Amazon Bedrock AgentCore Runtime's InvokeAgentRuntime
// (`endpoint: "agentcore:<runtime ARN>"`), which forwards them to the
// service's `POST /invocations`.

import { randomBytes } from "node:crypto";
import * as http from "node:http";
import * as https from "node:https";
import type { Readable } from "node:stream";
import type { CompiledBackend, CompiledDefinition, Json } from "../language/compile";
import type { SessionEvent, SessionStartEvent, UserInfo } from "../protocol/events";
import { BackendError } from "../runtime/model";
import { newSessionId } from "../runtime/sessionLog";
import type { ScriptStep } from "./local";

export const SESSION_HEADER = "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id";

/**
 * A session id for a stateful session: sortable like a local one, and long enough for AgentCore
 * Runtime, which wants at least 33 characters ([A-Za-z0-9._-]).
 */
export function newStatefulSessionId(now = new Date()): string {
  return `${newSessionId(now)}-${randomBytes(6).toString("hex")}`;
}

/** A scripted step as the service takes it (provider local only). */
export type WireScriptStep = { reply: string } | { call: string; input: Json } | { handoff: string };

export function toWireScript(steps: ScriptStep[]): WireScriptStep[] {
  return steps.map((s) =>
    s.kind === "reply"
      ? { reply: s.text }
      : s.kind === "call"
        ? { call: s.tool, input: s.input }
        : { handoff: s.agent },
  );
}

/**
 * Splits a whole-run script into turns: a turn ends when the model replies (a tool call or a handoff
 * lets it go on), so each turn takes the steps up to and including the next reply.
 */
export function scriptTurns(steps: ScriptStep[]): ScriptStep[][] {
  const turns: ScriptStep[][] = [];
  let current: ScriptStep[] = [];
  for (const s of steps) {
    current.push(s);
    if (s.kind === "reply") {
      turns.push(current);
      current = [];
    }
  }
  if (current.length) turns.push(current);
  return turns;
}

export interface TurnRequest {
  input: string;
  /** Required when the session is new; on an existing one its hash must be the session's. */
  definition?: CompiledDefinition;
  user?: UserInfo;
  source?: string;
  script?: WireScriptStep[];
  approve?: "all" | "none" | "ask";
}

export interface TurnHandlers {
  /** Every committed event, in order; awaited before the next one is read (an approval prompt). */
  onEvent?: (event: SessionEvent) => void | Promise<void>;
  onText?: (delta: string) => void;
  signal?: AbortSignal;
  idempotencyKey?: string;
}

export interface TurnOutcome {
  turn?: number;
  /** `interrupted` also when the stream was cut before `done` (then `error` says so). */
  status: "ok" | "failed" | "stopped" | "interrupted";
  events: SessionEvent[];
  /** Bytes of the request body the client sent for this turn. */
  bytesSent: number;
  /** The service's `error` event, or the cut stream. */
  error?: BackendError;
  /** True when the stream ended without `done`. */
  cut?: boolean;
}

export interface SessionSummary {
  id: string;
  agent: string;
  backend: { name: string; kind: string; provider: string; model?: string };
  status: "idle" | "running" | "ended";
  turns: number;
  createdAt: string;
  updatedAt: string;
  user?: UserInfo;
  parent?: { sessionId: string; turn: number };
  start?: SessionStartEvent;
}

export interface TurnSnapshot {
  turn: number;
  context: SessionEvent | null;
  memory: Record<string, Json> | null;
}

/** A raw response of the service: status, content type, and the body as a stream of bytes. */
export interface WireResponse {
  status: number;
  contentType: string;
  body: AsyncIterable<Uint8Array>;
}

export interface ActionBody {
  action: string;
  [k: string]: Json | undefined;
}

/** How requests reach the service; both transports carry the same bodies. */
export interface StatefulTransport {
  /** For messages: the URL, or `agentcore:<ARN>`. */
  readonly display: string;
  invoke(
    sessionId: string | undefined,
    body: string,
    o: { signal?: AbortSignal; idempotencyKey?: string },
  ): Promise<WireResponse>;
  /** A REST call (HTTP only); undefined when the transport has only /invocations. */
  rest?(method: string, path: string, body?: string): Promise<WireResponse>;
}

export interface StatefulClientOptions {
  /** The declaration's name, for messages. */
  backend: string;
  /** The env var holding the token (`api_key: env("...")`), for messages. */
  tokenEnv?: string;
  /** Whether that variable had a value. */
  tokenSet?: boolean;
  /** How the service was chosen, for the unreachable message. */
  embedded?: boolean;
}

// ---- server-sent events ----------------------------------------------------------------

export interface SseMessage {
  event: string;
  data: string;
  id?: string;
}

/** Parses a text/event-stream body (any chunking, LF or CRLF). */
export async function* parseSse(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseMessage> {
  const decoder = new TextDecoder();
  let buffer = "";
  let event = "";
  let id: string | undefined;
  let data: string[] = [];
  const line = (l: string): SseMessage | undefined => {
    if (l === "") {
      if (!data.length && !event) return undefined;
      const m = { event: event || "message", data: data.join("\n"), id };
      event = "";
      data = [];
      id = undefined;
      return m;
    }
    if (l.startsWith(":")) return undefined;
    const colon = l.indexOf(":");
    const field = colon < 0 ? l : l.slice(0, colon);
    let value = colon < 0 ? "" : l.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
    else if (field === "id") id = value;
    return undefined;
  };
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buffer.search(/\r\n|\n|\r/)) >= 0) {
      // A lone \r at the very end may be the first half of \r\n: wait for more.
      if (buffer[nl] === "\r" && nl === buffer.length - 1) break;
      const l = buffer.slice(0, nl);
      buffer = buffer.slice(nl + (buffer.startsWith("\r\n", nl) ? 2 : 1));
      const m = line(l);
      if (m) yield m;
    }
  }
  // A message without its blank line was cut: it is not dispatched.
}

async function readAll(body: AsyncIterable<Uint8Array>): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of body) parts.push(Buffer.from(c));
  return Buffer.concat(parts).toString("utf8");
}

// ---- the HTTP transport ----------------------------------------------------------------

function netReason(err: unknown): string {
  const e = err as { code?: string; message?: string };
  return e.code ? `${e.code}` : (e.message ?? String(err));
}

/** Errors of a connection that never reached the service. */
const UNREACHABLE = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ETIMEDOUT",
  "EADDRNOTAVAIL",
]);

/** Plain HTTP(S) to a runtime service: one connection per request, so nothing lingers afterwards. */
export class HttpTransport implements StatefulTransport {
  readonly display: string;
  private readonly base: URL;

  constructor(
    endpoint: string,
    private readonly token: string | undefined,
    private readonly unreachable: (reason: string) => BackendError,
  ) {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw new BackendError(
        "config",
        `the stateful backend's endpoint '${endpoint}' is not a URL: give the runtime service's URL (http://127.0.0.1:8080 for \`statecraft serve\`), agentcore:<runtime ARN>, or leave endpoint out to use the embedded runtime`,
      );
    }
    if (url.protocol !== "http:" && url.protocol !== "https:")
      throw new BackendError(
        "config",
        `the stateful backend's endpoint '${endpoint}' must be an http(s) URL or agentcore:<runtime ARN>`,
      );
    this.base = url;
    this.display = endpoint.replace(/\/+$/, "");
  }

  private request(
    method: string,
    path: string,
    body: string | undefined,
    headers: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<WireResponse> {
    const url = new URL(this.base.pathname.replace(/\/+$/, "") + path, this.base);
    const lib = url.protocol === "https:" ? https : http;
    const all: Record<string, string> = { accept: "text/event-stream, application/json", ...headers };
    if (this.token) all.authorization = `Bearer ${this.token}`;
    if (body !== undefined) {
      all["content-type"] = "application/json";
      all["content-length"] = String(Buffer.byteLength(body));
    }
    return new Promise<WireResponse>((resolve, reject) => {
      const req = lib.request(url, { method, headers: all, agent: false, signal }, (res) => {
        resolve({
          status: res.statusCode ?? 0,
          contentType: String(res.headers["content-type"] ?? ""),
          body: res,
        });
      });
      req.on("error", (err) => {
        const code = (err as { code?: string }).code ?? "";
        if ((err as { name?: string }).name === "AbortError")
          reject(new BackendError("cancelled", "the turn was cancelled"));
        else if (UNREACHABLE.has(code)) reject(this.unreachable(netReason(err)));
        else
          // Connected, then lost before the answer: the service may have acted on the request.
          reject(
            new BackendError(
              "stream_cut",
              `the connection to the runtime service at ${this.display} was lost before it answered (${netReason(err)})`,
            ),
          );
      });
      req.end(body);
    });
  }

  invoke(
    sessionId: string | undefined,
    body: string,
    o: { signal?: AbortSignal; idempotencyKey?: string },
  ): Promise<WireResponse> {
    const headers: Record<string, string> = {};
    if (sessionId) headers[SESSION_HEADER] = sessionId;
    if (o.idempotencyKey) headers["idempotency-key"] = o.idempotencyKey;
    return this.request("POST", "/invocations", body, headers, o.signal);
  }

  rest(method: string, path: string, body?: string): Promise<WireResponse> {
    return this.request(method, path, body, {});
  }
}

// ---- the AgentCore transport -------------------------------------------------------------

/** `agentcore:<ARN>[?qualifier=NAME]` split into its parts. */
export function parseAgentCoreEndpoint(endpoint: string): {
  arn: string;
  qualifier?: string;
  region?: string;
} {
  const rest = endpoint.slice("agentcore:".length);
  const [arn, query] = rest.split("?", 2);
  const qualifier = query ? (new URLSearchParams(query).get("qualifier") ?? undefined) : undefined;
  const m = /^arn:aws[a-z-]*:bedrock-agentcore:([a-z0-9-]+):\d{12}:runtime\/.+$/.exec(arn);
  if (!m)
    throw new BackendError(
      "config",
      `'${endpoint}' is not agentcore:<runtime ARN>: the ARN looks like arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/NAME-ID (optionally ?qualifier=ENDPOINT)`,
    );
  return { arn, qualifier, region: m[1] };
}

/**
 * Amazon Bedrock AgentCore Runtime through `@aws-sdk/client-bedrock-agentcore` InvokeAgentRuntime:
 * the same JSON bodies, the runtime session id in `runtimeSessionId`, SigV4 from the standard
 * credential chain; `AWS_ENDPOINT_URL_BEDROCK_AGENTCORE` overrides the endpoint. AgentCore only
 * forwards /invocations, so inspection and control go as `action` bodies.
 */
export class AgentCoreTransport implements StatefulTransport {
  readonly display: string;
  private client: Promise<import("@aws-sdk/client-bedrock-agentcore").BedrockAgentCoreClient> | undefined;
  private readonly target: { arn: string; qualifier?: string; region?: string };

  constructor(
    endpoint: string,
    private readonly spec: CompiledBackend,
    private readonly env: NodeJS.ProcessEnv,
  ) {
    this.target = parseAgentCoreEndpoint(endpoint);
    this.display = endpoint;
  }

  private sdk() {
    this.client ??= import("@aws-sdk/client-bedrock-agentcore").then(({ BedrockAgentCoreClient }) => {
      const env = this.env;
      const region = this.spec.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? this.target.region;
      const endpoint = env.AWS_ENDPOINT_URL_BEDROCK_AGENTCORE ?? env.AWS_ENDPOINT_URL;
      const credentials =
        env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
          ? {
              accessKeyId: env.AWS_ACCESS_KEY_ID,
              secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
              sessionToken: env.AWS_SESSION_TOKEN,
            }
          : undefined;
      return new BedrockAgentCoreClient({ region, endpoint, credentials, maxAttempts: 1 });
    });
    return this.client;
  }

  async invoke(
    sessionId: string | undefined,
    body: string,
    o: { signal?: AbortSignal; idempotencyKey?: string },
  ): Promise<WireResponse> {
    const client = await this.sdk();
    const { InvokeAgentRuntimeCommand } = await import("@aws-sdk/client-bedrock-agentcore");
    try {
      const out = await client.send(
        new InvokeAgentRuntimeCommand({
          agentRuntimeArn: this.target.arn,
          qualifier: this.target.qualifier,
          runtimeSessionId: sessionId,
          contentType: "application/json",
          accept: "text/event-stream, application/json",
          payload: new TextEncoder().encode(body),
        }),
        { abortSignal: o.signal },
      );
      return {
        status: out.statusCode ?? 200,
        contentType: out.contentType ?? "",
        body: (out.response as Readable | undefined) ?? emptyBody(),
      };
    } catch (err) {
      throw agentCoreError(err, this.display);
    }
  }
}

async function* emptyBody(): AsyncGenerator<Uint8Array> {}

function agentCoreError(err: unknown, display: string): BackendError {
  if (err instanceof BackendError) return err;
  const e = err as {
    name?: string;
    message?: string;
    $metadata?: { httpStatusCode?: number };
    code?: string;
  };
  const what = `${e.name ?? "error"}: ${e.message ?? String(err)}`;
  switch (e.name) {
    case "AbortError":
      return new BackendError("cancelled", "the turn was cancelled");
    case "AccessDeniedException":
    case "UnauthorizedException":
    case "UnrecognizedClientException":
    case "InvalidSignatureException":
    case "ExpiredTokenException":
    case "CredentialsProviderError":
      return new BackendError(
        "auth",
        `AgentCore Runtime refused the call to ${display} (${what}): the AWS credentials (the standard chain: AWS_PROFILE, AWS_ACCESS_KEY_ID, ...) need bedrock-agentcore:InvokeAgentRuntime on that runtime`,
      );
    case "ResourceNotFoundException":
      return new BackendError(
        "not_found",
        `AgentCore Runtime has no runtime ${display} (${what}): check the ARN, its region and qualifier`,
      );
    case "ThrottlingException":
    case "ThrottledException":
    case "ServiceQuotaExceededException":
      return new BackendError(
        "rate_limit",
        `AgentCore Runtime is throttling ${display} (${what}): retry later`,
      );
    case "ValidationException":
      return new BackendError("config", `AgentCore Runtime rejected the call to ${display} (${what})`);
    case "RuntimeClientError":
      return new BackendError(
        "server",
        `the runtime container behind ${display} failed the request (${what}): see its logs in CloudWatch`,
      );
  }
  if (e.code && /^E[A-Z]+$/.test(e.code))
    return new BackendError(
      "server",
      `cannot reach AgentCore Runtime for ${display} (${e.code}): check the network, the region, or AWS_ENDPOINT_URL_BEDROCK_AGENTCORE`,
    );
  return new BackendError("server", `AgentCore Runtime failed the call to ${display} (${what})`);
}

// ---- the client --------------------------------------------------------------------------

interface ErrorBody {
  error?: { code?: string; message?: string };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The client of one runtime service; the session id goes with every call. */
export class StatefulClient {
  constructor(
    readonly transport: StatefulTransport,
    private readonly o: StatefulClientOptions,
  ) {}

  get endpoint(): string {
    return this.transport.display;
  }

  /** Builds the message for a status the service answered (before any stream started). */
  private statusError(
    status: number,
    text: string,
    sessionId: string | undefined,
    bytes?: number,
  ): BackendError {
    const body = parseJson(text) as ErrorBody | undefined;
    const said = body?.error?.message ?? (text.trim().slice(0, 300) || "no message");
    const code = body?.error?.code ?? String(status);
    const where = `the runtime service at ${this.endpoint}`;
    const session = sessionId ? `session ${sessionId}` : "the request";
    switch (status) {
      case 401: {
        const env = this.o.tokenEnv;
        const fix = !env
          ? `declare api_key: env("STATECRAFT_TOKEN") on backend '${this.o.backend}' and set that variable to one of the service's tokens`
          : this.o.tokenSet
            ? `the token in env var ${env} is not one the service accepts: set ${env} to a token of its --auth file (or its STATECRAFT_TOKEN)`
            : `env var ${env} (backend '${this.o.backend}' api_key) is not set: set it to a token of the service's --auth file (or its STATECRAFT_TOKEN)`;
        return new BackendError("auth", `${where} refused the request (401 ${code}: ${said}): ${fix}`);
      }
      case 403:
        return new BackendError("auth", `${where} forbids this (403 ${code}: ${said})`);
      case 404:
        return new BackendError(
          "not_found",
          `${where} has no ${session} for this token (404 ${code}: ${said}): it was deleted, belongs to another token's actor, or the service runs on other data`,
        );
      case 409:
        if (/definition|hash/i.test(said))
          return new BackendError(
            "config",
            `${session} on ${this.endpoint} ran another definition hash than this request carries (409 ${code}: ${said}): the agent changed since the session started; start a new session (statecraft run starts one each time) or run the definition the session started with`,
          );
        if (/running|in progress|busy|concurrent/i.test(said))
          return new BackendError(
            "server",
            `${session} on ${this.endpoint} has a turn in progress (409 ${code}: ${said}): wait for it to finish (or answer its pending approval), then send again`,
          );
        return new BackendError("config", `${where} refused ${session} (409 ${code}: ${said})`);
      case 413:
        return new BackendError(
          "config",
          `${where} refused a request of ${bytes ?? "?"} bytes as too large (413 ${code}: ${said}): send a shorter input, or raise the service's body limit`,
        );
      case 400:
        return new BackendError(
          "config",
          `${where} rejected the request as malformed (400 ${code}: ${said}); the client and the service may be different versions of Statecraft`,
        );
      case 429:
        return new BackendError(
          "rate_limit",
          `${where} is rate limiting (429 ${code}: ${said}): retry later`,
        );
      default:
        return new BackendError("server", `${where} failed the request (${status} ${code}: ${said})`);
    }
  }

  /** A JSON call: REST when the transport has it, else the `action` body on /invocations. */
  private async call<T>(
    sessionId: string | undefined,
    action: ActionBody,
    rest?: { method: string; path: string; body?: Json },
  ): Promise<T> {
    const t = this.transport;
    const body = rest?.body !== undefined ? JSON.stringify(rest.body) : undefined;
    const res =
      rest && t.rest
        ? await t.rest(rest.method, rest.path, body)
        : await t.invoke(sessionId, JSON.stringify(action), {});
    const text = await readAll(res.body);
    if (res.status < 200 || res.status >= 300) throw this.statusError(res.status, text, sessionId);
    if (res.status === 204 || !text.trim()) return {} as T;
    const json = parseJson(text);
    if (json === undefined)
      throw new BackendError(
        "server",
        `${this.endpoint} answered ${action.action} with something other than JSON (${res.contentType || "no content type"}): is the endpoint a Statecraft runtime service?`,
      );
    return json as T;
  }

  /**
   * Runs one turn: sends the request and reads the stream to its end. A service that refuses the
   * request (an HTTP status) throws; once the stream has started, a failure is reported in the
   * outcome, with every event received before it.
   */
  async turn(sessionId: string, request: TurnRequest, h: TurnHandlers = {}): Promise<TurnOutcome> {
    const body = JSON.stringify(request);
    const bytesSent = Buffer.byteLength(body);
    let res: WireResponse;
    try {
      res = await this.transport.invoke(sessionId, body, {
        signal: h.signal,
        idempotencyKey: h.idempotencyKey,
      });
    } catch (err) {
      // Lost before any answer: the turn may have run; the caller catches up as after a cut stream.
      if (err instanceof BackendError && err.code === "stream_cut")
        return this.cut(sessionId, undefined, [], bytesSent, err.message.replace(/^.*\(([^)]*)\)$/, "$1"));
      throw err;
    }
    if (res.status < 200 || res.status >= 300)
      throw this.statusError(res.status, await readAll(res.body), sessionId, bytesSent);
    if (!res.contentType.includes("text/event-stream")) {
      const text = await readAll(res.body);
      throw new BackendError(
        "server",
        `${this.endpoint} answered a turn with ${res.contentType || "no content type"} instead of an event stream (${text.slice(0, 200)}): is the endpoint a Statecraft runtime service?`,
      );
    }
    try {
      return await this.readTurn(sessionId, res.body, bytesSent, h);
    } finally {
      // Whatever stopped the reading (done, a handler's error), the connection is not left open.
      (res.body as Partial<Readable>).destroy?.();
    }
  }

  private async readTurn(
    sessionId: string,
    body: AsyncIterable<Uint8Array>,
    bytesSent: number,
    h: TurnHandlers,
  ): Promise<TurnOutcome> {
    const events: SessionEvent[] = [];
    let turn: number | undefined;
    const stream = parseSse(body);
    for (;;) {
      let next: IteratorResult<SseMessage>;
      try {
        next = await stream.next();
      } catch (err) {
        if (h.signal?.aborted) throw new BackendError("cancelled", "the turn was cancelled");
        return this.cut(sessionId, turn, events, bytesSent, netReason(err));
      }
      if (next.done) break;
      const m = next.value;
      if (m.event === "text") {
        const d = parseJson(m.data) as { delta?: string } | undefined;
        if (typeof d?.delta === "string") h.onText?.(d.delta);
        continue;
      }
      if (m.event === "done") {
        const d = parseJson(m.data) as { turn?: number; status?: TurnOutcome["status"] } | undefined;
        return { turn: d?.turn ?? turn, status: d?.status ?? "ok", events, bytesSent };
      }
      if (m.event === "error") {
        const d = parseJson(m.data) as ErrorBody | undefined;
        return {
          turn,
          status: "failed",
          events,
          bytesSent,
          error: new BackendError(
            "server",
            `the runtime service at ${this.endpoint} failed turn ${turn ?? "?"} of session ${sessionId} (${d?.error?.code ?? "error"}: ${d?.error?.message ?? m.data})`,
          ),
        };
      }
      const event = parseJson(m.data) as SessionEvent | undefined;
      if (!event || typeof event.seq !== "number" || typeof event.type !== "string")
        throw new BackendError(
          "server",
          `the runtime service at ${this.endpoint} sent an event that is not a session event: ${m.data.slice(0, 200)}`,
        );
      if ("turn" in event && typeof event.turn === "number") turn = event.turn;
      events.push(event);
      await h.onEvent?.(event);
    }
    if (h.signal?.aborted) throw new BackendError("cancelled", "the turn was cancelled");
    return this.cut(sessionId, turn, events, bytesSent, "the stream ended before its done event");
  }

  private cut(
    sessionId: string,
    turn: number | undefined,
    events: SessionEvent[],
    bytesSent: number,
    reason: string,
  ): TurnOutcome {
    return {
      turn,
      status: "interrupted",
      events,
      bytesSent,
      cut: true,
      error: new BackendError(
        "stream_cut",
        `the stream from the runtime service at ${this.endpoint} was cut during turn ${turn ?? "?"} of session ${sessionId} (${reason}) after ${events.length} event${events.length === 1 ? "" : "s"}`,
      ),
    };
  }

  approve(sessionId: string, callId: string, approved: boolean): Promise<{ ok: boolean }> {
    return this.call(
      sessionId,
      { action: "approve", callId, approved },
      {
        method: "POST",
        path: `/sessions/${encodeURIComponent(sessionId)}/approvals/${encodeURIComponent(callId)}`,
        body: { approved },
      },
    );
  }

  /** Ends the session on the service (it appends session.end). */
  end(sessionId: string): Promise<Record<string, Json>> {
    return this.call(sessionId, { action: "end" });
  }

  events(
    sessionId: string,
    after = 0,
    limit?: number,
  ): Promise<{ events: SessionEvent[]; next: number | null }> {
    const q = `after=${after}${limit ? `&limit=${limit}` : ""}`;
    return this.call(
      sessionId,
      { action: "events", after, ...(limit ? { limit } : {}) },
      { method: "GET", path: `/sessions/${encodeURIComponent(sessionId)}/events?${q}` },
    );
  }

  /** Every event after `after`, following `next` page by page. */
  async allEvents(sessionId: string, after = 0): Promise<SessionEvent[]> {
    const out: SessionEvent[] = [];
    for (let cursor: number | null = after; cursor !== null;) {
      const page = await this.events(sessionId, cursor);
      out.push(...page.events);
      if (page.next === null || page.next === cursor || !page.events.length) break;
      cursor = page.next;
    }
    return out;
  }

  snapshot(sessionId: string, turn: number): Promise<TurnSnapshot> {
    return this.call(
      sessionId,
      { action: "snapshot", turn },
      { method: "GET", path: `/sessions/${encodeURIComponent(sessionId)}/turns/${turn}/snapshot` },
    );
  }

  async sessions(): Promise<SessionSummary[]> {
    const r = await this.call<{ sessions: SessionSummary[] }>(
      undefined,
      { action: "list_sessions" },
      { method: "GET", path: "/sessions" },
    );
    return r.sessions;
  }

  session(sessionId: string): Promise<SessionSummary> {
    return this.call(
      sessionId,
      { action: "get_session" },
      { method: "GET", path: `/sessions/${encodeURIComponent(sessionId)}` },
    );
  }

  fork(
    sessionId: string,
    turn: number,
  ): Promise<{ sessionId: string; parent: { sessionId: string; turn: number } }> {
    return this.call(
      sessionId,
      { action: "fork", turn },
      { method: "POST", path: `/sessions/${encodeURIComponent(sessionId)}/fork`, body: { turn } },
    );
  }

  async delete(sessionId: string): Promise<void> {
    await this.call(
      sessionId,
      { action: "delete" },
      { method: "DELETE", path: `/sessions/${encodeURIComponent(sessionId)}` },
    );
  }
}

/** The message when the service cannot be reached at all. */
export function unreachableError(
  spec: CompiledBackend,
  display: string,
  reason: string,
  embedded = false,
): BackendError {
  return new BackendError(
    "server",
    embedded
      ? `the embedded runtime service (at ${display}) stopped answering (${reason})`
      : `cannot reach the Statecraft runtime service at ${display} for backend '${spec.name}' (${reason}): ` +
          `start it with \`statecraft serve\` (it listens on http://127.0.0.1:8080 by default), fix the backend's endpoint, ` +
          `or remove endpoint to run the runtime embedded`,
  );
}

/**
 * The client for a stateful backend declaration with an endpoint: HTTP(S) or AgentCore; the token
 * comes from the env var the declaration names (`api_key: env("...")`).
 */
export function statefulClient(
  spec: CompiledBackend,
  env: NodeJS.ProcessEnv,
  endpoint = spec.endpoint,
): StatefulClient {
  if (spec.kind !== "stateful")
    throw new BackendError("config", `backend '${spec.name}' is ${spec.kind}, not stateful`);
  if (!endpoint)
    throw new BackendError(
      "config",
      `backend '${spec.name}' has no endpoint: the embedded runtime is started by the caller (statefulClient needs a URL)`,
    );
  const token = spec.apiKeyEnv ? env[spec.apiKeyEnv] || undefined : undefined;
  const transport: StatefulTransport = endpoint.startsWith("agentcore:")
    ? new AgentCoreTransport(endpoint, spec, env)
    : new HttpTransport(endpoint, token, (reason) => unreachableError(spec, endpoint, reason));
  return new StatefulClient(transport, { backend: spec.name, tokenEnv: spec.apiKeyEnv, tokenSet: !!token });
}
