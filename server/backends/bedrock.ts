// Amazon Bedrock inference through the Converse API (ConverseStream), as the
// runtime service uses it for `provider: bedrock`. It is configured the AWS
// SDK's standard way, from the environment it is given: region from the
// backend declaration or AWS_REGION / AWS_DEFAULT_REGION, credentials from
// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, a Bedrock API
// key in AWS_BEARER_TOKEN_BEDROCK, else the SDK's default chain (AWS_PROFILE,
// SSO, web identity, container and instance roles), the endpoint from
// AWS_ENDPOINT_URL_BEDROCK_RUNTIME (a stateful declaration's `endpoint` is the
// runtime service's URL, never Bedrock's). Failures become BackendErrors that
// say what to do.

import {
  BedrockRuntimeClient,
  ConverseCommand,
  ConverseStreamCommand,
  type ToolConfiguration,
  type BedrockRuntimeClientConfig,
  type ContentBlock,
  type ConverseStreamOutput,
  type Message as BedrockMessage,
  type SystemContentBlock,
  type Tool,
  type TokenUsage,
} from "@aws-sdk/client-bedrock-runtime";
import type { CompiledBackend, Json } from "../language/compile";
import type { Message, ReasoningReplay, ToolCallRequest, ToolSchema, Usage } from "../protocol/events";
import { BackendError, type ModelBackend, type ModelRequest, type ModelResponse } from "../runtime/model";

export interface BedrockBackendOptions {
  /** The environment to configure from (region, credentials, endpoint, retries): never read from process.env directly. */
  env: NodeJS.ProcessEnv;
  /** The Bedrock runtime endpoint: overrides AWS_ENDPOINT_URL_BEDROCK_RUNTIME. */
  endpoint?: string;
  /** Explicit credentials: override the environment and the default chain. */
  credentials?: BedrockRuntimeClientConfig["credentials"];
  /** No bytes from Bedrock for this long (before or during the stream) fails the call with `timeout`. Default 120 s. */
  idleTimeoutMs?: number;
  /** inferenceConfig.maxTokens, when the caller knows a limit for one reply. */
  maxTokens?: number;
  /** Anything else for the SDK client (tests: a logger, a request handler). */
  clientConfig?: Partial<BedrockRuntimeClientConfig>;
}

/** Bedrock's pattern for tool names. */
const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;
const DEFAULT_IDLE_TIMEOUT_MS = 120_000;

/** Stop reasons as the other backends spell them; Bedrock's other reasons pass through unchanged. */
const STOP_REASONS: Record<string, string> = { content_filtered: "content_filter" };

const CREDENTIALS_HELP =
  "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (plus AWS_SESSION_TOKEN for temporary credentials), " +
  "or AWS_PROFILE naming a profile in ~/.aws/credentials or ~/.aws/config (`aws configure`, or `aws sso login --profile NAME`), " +
  "or AWS_BEARER_TOKEN_BEDROCK holding a Bedrock API key; in AWS, give the service an IAM role";

/** Maps provider-neutral tool names to names Bedrock accepts, and back. */
class ToolNames {
  private readonly out = new Map<string, string>();
  private readonly back = new Map<string, string>();

  toBedrock(name: string): string {
    let mapped = this.out.get(name);
    if (mapped) return mapped;
    mapped = TOOL_NAME.test(name) ? name : name.replace(/[^a-zA-Z0-9_-]/g, "_").slice(0, 56);
    for (let i = 2; this.back.has(mapped) && this.back.get(mapped) !== name; i++)
      mapped = `${mapped.slice(0, 56)}_${i}`;
    this.out.set(name, mapped);
    this.back.set(mapped, name);
    return mapped;
  }

  fromBedrock(name: string): string {
    return this.back.get(name) ?? name;
  }
}

/** The Converse request body parts for a provider-neutral conversation. */
export function toConverse(
  messages: Message[],
  tools: ToolSchema[],
  names = new ToolNames(),
): { system: SystemContentBlock[]; messages: BedrockMessage[]; tools: Tool[] } {
  const system: SystemContentBlock[] = [];
  const out: BedrockMessage[] = [];
  const push = (role: "user" | "assistant", blocks: ContentBlock[]): void => {
    if (blocks.length === 0) return;
    const last = out[out.length - 1];
    // Converse wants user and assistant to alternate: consecutive same-role messages (the results of
    // parallel tool uses, above all) travel as one message.
    if (last?.role === role) last.content = [...(last.content ?? []), ...blocks];
    else out.push({ role, content: blocks });
  };
  for (const m of messages) {
    if (m.role === "system") {
      if (m.content) system.push({ text: m.content });
    } else if (m.role === "user") {
      push("user", [{ text: m.content || " " }]);
    } else if (m.role === "assistant") {
      const blocks: ContentBlock[] = [];
      // This turn's thinking goes back first and unchanged: a model with extended thinking refuses a
      // tool-use continuation without it.
      if (m.reasoning?.provider === "bedrock") blocks.push(...m.reasoning.items.map(fromReplay));
      if (m.content) blocks.push({ text: m.content });
      for (const c of m.toolCalls ?? [])
        blocks.push({ toolUse: { toolUseId: c.id, name: names.toBedrock(c.name), input: c.input as never } });
      push("assistant", blocks);
    } else {
      push("user", [
        {
          toolResult: {
            toolUseId: m.toolCallId,
            content: [{ text: m.content || "(no output)" }],
            status: m.isError ? "error" : "success",
          },
        },
      ]);
    }
  }
  const specs: Tool[] = tools.map((t) => ({
    toolSpec: {
      name: names.toBedrock(t.name),
      ...(t.description ? { description: t.description } : {}),
      inputSchema: { json: (t.parameters ?? { type: "object", properties: {} }) as never },
    },
  }));
  return { system, messages: out, tools: specs };
}

/** A reasoning block as recorded (JSON: redacted content as base64) and as Converse takes it. */
function toReplay(r: { text: string; signature?: string; redacted?: Uint8Array }): Json {
  return r.redacted
    ? { reasoningContent: { redactedContent: Buffer.from(r.redacted).toString("base64") } }
    : {
        reasoningContent: {
          reasoningText: { text: r.text, ...(r.signature ? { signature: r.signature } : {}) },
        },
      };
}

function fromReplay(item: Json): ContentBlock {
  const rc = (item as { reasoningContent?: { redactedContent?: string } }).reasoningContent;
  if (rc && typeof rc.redactedContent === "string")
    return { reasoningContent: { redactedContent: Buffer.from(rc.redactedContent, "base64") } };
  return item as unknown as ContentBlock;
}

function usageOf(u: TokenUsage | undefined): Usage {
  return {
    inputTokens: (u?.inputTokens ?? 0) + (u?.cacheReadInputTokens ?? 0) + (u?.cacheWriteInputTokens ?? 0),
    outputTokens: u?.outputTokens ?? 0,
  };
}

interface ToolBlock {
  id: string;
  name: string;
  json: string;
}

/** Why a call was abandoned by us rather than failed by Bedrock. */
type AbortCause = "cancelled" | "timeout";

export class BedrockBackend implements ModelBackend {
  readonly provider = "bedrock";
  readonly name: string;
  readonly kind: "stateless" | "stateful";
  private client?: BedrockRuntimeClient;
  private readonly endpoint?: string;
  private readonly region?: string;
  private readonly idleTimeoutMs: number;

  constructor(
    private readonly spec: CompiledBackend,
    private readonly options: BedrockBackendOptions,
  ) {
    this.name = spec.name;
    this.kind = spec.kind;
    const env = options.env;
    const ignoreEnvEndpoint = env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS === "true";
    this.endpoint =
      options.endpoint ??
      (ignoreEnvEndpoint
        ? undefined
        : env.AWS_ENDPOINT_URL_BEDROCK_RUNTIME || env.AWS_ENDPOINT_URL || undefined);
    this.region = spec.region || env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined;
    this.idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  }

  /** The SDK client, made on first use so that a declaration never fails to load. */
  private sdk(): BedrockRuntimeClient {
    if (this.client) return this.client;
    const env = this.options.env;
    const config: BedrockRuntimeClientConfig = { ...this.options.clientConfig };
    if (this.region) config.region = this.region;
    if (this.endpoint) {
      try {
        new URL(this.endpoint);
      } catch {
        throw new BackendError(
          "config",
          `the Bedrock endpoint '${this.endpoint}' is not a URL: fix AWS_ENDPOINT_URL_BEDROCK_RUNTIME ` +
            `(for example https://bedrock-runtime.us-east-1.amazonaws.com) or unset it to use the region's endpoint`,
        );
      }
      config.endpoint = this.endpoint;
    }
    const maxAttempts = Number(env.AWS_MAX_ATTEMPTS);
    if (env.AWS_MAX_ATTEMPTS && Number.isInteger(maxAttempts) && maxAttempts > 0)
      config.maxAttempts = maxAttempts;
    if (env.AWS_RETRY_MODE === "standard" || env.AWS_RETRY_MODE === "adaptive")
      config.retryMode = env.AWS_RETRY_MODE;
    if (this.options.credentials) config.credentials = this.options.credentials;
    else if (env.AWS_BEARER_TOKEN_BEDROCK) {
      config.token = { token: env.AWS_BEARER_TOKEN_BEDROCK };
      config.authSchemePreference = ["httpBearerAuth"];
    } else if (env.AWS_ACCESS_KEY_ID || env.AWS_SECRET_ACCESS_KEY) {
      if (!env.AWS_ACCESS_KEY_ID || !env.AWS_SECRET_ACCESS_KEY)
        throw new BackendError(
          "auth",
          `${env.AWS_ACCESS_KEY_ID ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY"} is set but ` +
            `${env.AWS_ACCESS_KEY_ID ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID"} is not: set both ` +
            `(plus AWS_SESSION_TOKEN for temporary credentials), or unset both to use AWS_PROFILE or the default credential chain`,
        );
      config.credentials = {
        accessKeyId: env.AWS_ACCESS_KEY_ID,
        secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
        ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
      };
    } else if (env.AWS_PROFILE) config.profile = env.AWS_PROFILE;
    this.client = new BedrockRuntimeClient(config);
    return this.client;
  }

  /** Closes the SDK's connections. */
  destroy(): void {
    this.client?.destroy();
    this.client = undefined;
  }

  private modelId(model: string | undefined): string {
    const id = model ?? this.spec.model;
    if (!id)
      throw new BackendError(
        "config",
        `backend '${this.name}' (bedrock) names no model: set model: "us.anthropic.claude-3-5-haiku-20241022-v1:0" ` +
          `(a Bedrock model id or inference profile id) on the backend or the agent`,
      );
    return id;
  }

  async complete(request: ModelRequest): Promise<ModelResponse> {
    if (request.signal?.aborted) throw new BackendError("cancelled", "cancelled");
    const modelId = this.modelId(request.model);
    const names = new ToolNames();
    const { system, messages, tools } = toConverse(request.messages, request.tools, names);
    // Structured output on Converse: a tool the model must call, whose input is the answer.
    const format = request.responseFormat;
    if (format)
      tools.push({
        toolSpec: {
          name: format.name,
          description: "Give your answer as this tool's input.",
          inputSchema: { json: format.schema as never },
        },
      });
    const toolConfig: ToolConfiguration | undefined = tools.length
      ? { tools, ...(format ? { toolChoice: { tool: { name: format.name } } } : {}) }
      : undefined;
    const inferenceConfig = {
      ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
      ...(this.options.maxTokens !== undefined ? { maxTokens: this.options.maxTokens } : {}),
    };
    const budget = this.spec.reasoning?.budgetTokens;
    const command = new ConverseStreamCommand({
      modelId,
      messages,
      ...(system.length ? { system } : {}),
      ...(toolConfig ? { toolConfig } : {}),
      ...(Object.keys(inferenceConfig).length ? { inferenceConfig } : {}),
      ...(budget
        ? { additionalModelRequestFields: { thinking: { type: "enabled", budget_tokens: budget } } }
        : {}),
    });
    let requestBytes: number | undefined;
    command.middlewareStack.add(
      (next) => (args) => {
        const body = (args.request as { body?: unknown } | undefined)?.body;
        if (typeof body === "string") requestBytes = Buffer.byteLength(body);
        else if (body instanceof Uint8Array) requestBytes = body.byteLength;
        return next(args);
      },
      { step: "finalizeRequest", name: "statecraftRequestBytes" },
    );

    const call = new CallControl(request.signal, this.idleTimeoutMs);
    let text = "";
    let stopReason: string | undefined;
    let usage: Usage = { inputTokens: 0, outputTokens: 0 };
    const blocks = new Map<number, ToolBlock>();
    const thinking = new Map<number, { text: string; signature?: string; redacted?: Uint8Array }>();
    const done: { index: number; call: ToolCallRequest | { invalid: ToolBlock } }[] = [];
    let started = false;
    try {
      const client = this.sdk();
      const output = await call.run(client.send(command, { abortSignal: call.signal }));
      started = true;
      if (!output.stream)
        throw new BackendError("stream_cut", this.where("answered ConverseStream without an event stream"));
      const finish = (index: number): void => {
        const block = blocks.get(index);
        if (!block) return;
        blocks.delete(index);
        let input: Json;
        try {
          input = block.json.trim() === "" ? {} : (JSON.parse(block.json) as Json);
        } catch {
          done.push({ index, call: { invalid: block } });
          return;
        }
        done.push({ index, call: { id: block.id, name: names.fromBedrock(block.name), input } });
      };
      const it = output.stream[Symbol.asyncIterator]();
      for (;;) {
        const next: IteratorResult<ConverseStreamOutput> = await call.run(it.next());
        if (next.done) break;
        call.touch();
        const event = next.value;
        if (event.contentBlockStart) {
          const start = event.contentBlockStart.start;
          if (start?.toolUse)
            blocks.set(event.contentBlockStart.contentBlockIndex ?? 0, {
              id: start.toolUse.toolUseId ?? "",
              name: start.toolUse.name ?? "",
              json: "",
            });
        } else if (event.contentBlockDelta) {
          const delta = event.contentBlockDelta.delta;
          const index = event.contentBlockDelta.contentBlockIndex ?? 0;
          if (delta?.text !== undefined) {
            text += delta.text;
            request.onText?.(delta.text);
          } else if (delta?.toolUse) {
            const block = blocks.get(index);
            if (!block)
              throw new BackendError(
                "stream_cut",
                this.where(`sent tool input for content block ${index} without starting a tool use there`),
              );
            block.json += delta.toolUse.input ?? "";
          } else if (delta?.reasoningContent) {
            // Never part of the reply text: recorded, and sent back within the turn.
            const r = thinking.get(index) ?? { text: "" };
            thinking.set(index, r);
            if (delta.reasoningContent.text) r.text += delta.reasoningContent.text;
            if (delta.reasoningContent.signature) r.signature = delta.reasoningContent.signature;
            if (delta.reasoningContent.redactedContent) r.redacted = delta.reasoningContent.redactedContent;
          }
          // Citations and other deltas are not part of the reply text.
        } else if (event.contentBlockStop) {
          finish(event.contentBlockStop.contentBlockIndex ?? 0);
        } else if (event.messageStop) {
          stopReason = event.messageStop.stopReason;
        } else if (event.metadata) {
          usage = usageOf(event.metadata.usage);
        }
      }
      call.finish();
      if (stopReason === undefined)
        throw new BackendError(
          "stream_cut",
          this.where(
            `ended the stream before the model finished (no messageStop; ${text.length} characters received)`,
          ) + ": the reply is incomplete; send the turn again",
        );
      for (const index of [...blocks.keys()]) finish(index);
      done.sort((a, b) => a.index - b.index);
      const toolCalls: ToolCallRequest[] = [];
      for (const d of done) {
        if ("invalid" in d.call) {
          const b = d.call.invalid;
          const name = names.fromBedrock(b.name);
          throw new BackendError(
            "server",
            stopReason === "max_tokens"
              ? `the model reached its output limit (max_tokens) while writing the input of tool '${name}', so the call was not run: ` +
                  `ask for a shorter answer or raise the reply limit`
              : `the model wrote input for tool '${name}' that is not JSON (stop reason ${stopReason}), so the call was not run: ` +
                  `send the turn again, or use a model that supports tool use on Bedrock`,
          );
        }
        toolCalls.push(d.call);
      }
      // The forced answer tool's input is the reply (structured output), not a call to run.
      const answer = format && toolCalls.find((c) => c.name === format.name);
      if (answer) {
        text = JSON.stringify(answer.input);
        toolCalls.splice(toolCalls.indexOf(answer), 1);
      }
      const thoughts = [...thinking.entries()].sort((a, b) => a[0] - b[0]).map(([, r]) => r);
      const reasoning = thoughts.length
        ? {
            summary: thoughts.map((r) => r.text).join("\n\n"),
            replay: { provider: "bedrock", items: thoughts.map(toReplay) } satisfies ReasoningReplay,
          }
        : undefined;
      return {
        text,
        toolCalls,
        usage,
        ...(reasoning ? { reasoning } : {}),
        stopReason: STOP_REASONS[stopReason] ?? stopReason,
        ...(requestBytes !== undefined ? { requestBytes } : {}),
      };
    } catch (err) {
      throw this.toBackendError(err, call.cause, started, modelId);
    } finally {
      call.finish();
    }
  }

  async summarize(text: string, signal?: AbortSignal): Promise<string> {
    const modelId = this.modelId(undefined);
    const call = new CallControl(signal, this.idleTimeoutMs);
    try {
      const out = await call.run(
        this.sdk().send(
          new ConverseCommand({
            modelId,
            system: [
              {
                text:
                  "Summarize the conversation below for the assistant's own later use: keep the facts, names, numbers, " +
                  "decisions and open requests; drop pleasantries. Answer with the summary only.",
              },
            ],
            messages: [{ role: "user", content: [{ text }] }],
            inferenceConfig: { temperature: 0 },
          }),
          { abortSignal: call.signal },
        ),
      );
      const summary = (out.output?.message?.content ?? [])
        .map((b) => b.text ?? "")
        .join("")
        .trim();
      if (!summary) throw new BackendError("server", this.where("returned an empty summary"));
      return summary;
    } catch (err) {
      throw this.toBackendError(err, call.cause, false, modelId);
    } finally {
      call.finish();
    }
  }

  private where(what: string): string {
    return `Amazon Bedrock${this.region ? ` (${this.region})` : ""} ${what}`;
  }

  /** A BackendError that says what happened and what to do. */
  toBackendError(
    err: unknown,
    cause: AbortCause | undefined,
    midStream: boolean,
    modelId: string,
  ): BackendError {
    if (cause === "cancelled") return new BackendError("cancelled", "cancelled");
    if (cause === "timeout")
      return new BackendError(
        "timeout",
        this.where(
          `sent nothing for ${this.idleTimeoutMs < 1000 ? `${this.idleTimeoutMs} ms` : `${Math.round(this.idleTimeoutMs / 1000)} s`} ${midStream ? "in the middle of the reply" : "after the request"} ` +
            `(model ${modelId}), so the call was abandoned: try again; if it keeps happening, check the network path to ` +
            `${this.endpoint ?? "the regional endpoint"} or try another region`,
        ),
      );
    if (err instanceof BackendError) return err;
    const e = err as {
      name?: string;
      message?: string;
      code?: string;
      $metadata?: { attempts?: number; httpStatusCode?: number };
    };
    const name = e?.name ?? "Error";
    const said = (e?.message ?? String(err)).trim();
    const aws = said ? ` (AWS said: ${said})` : "";
    const region = this.region ?? "the configured region";
    const attempts = e?.$metadata?.attempts;
    const tries = attempts && attempts > 1 ? ` after ${attempts} attempts` : "";
    switch (name) {
      case "CredentialsProviderError":
        return new BackendError(
          "auth",
          `no AWS credentials were found for backend '${this.name}' (bedrock): ${CREDENTIALS_HELP}`,
        );
      case "TokenProviderError":
        return new BackendError(
          "auth",
          `no Bedrock API key was found for backend '${this.name}': ${CREDENTIALS_HELP}`,
        );
      case "UnrecognizedClientException":
      case "InvalidSignatureException":
      case "IncompleteSignatureException":
      case "MissingAuthenticationTokenException":
      case "InvalidClientTokenId":
      case "SignatureDoesNotMatch":
        return new BackendError(
          "auth",
          `AWS rejected the credentials for backend '${this.name}'${aws}: check that AWS_ACCESS_KEY_ID and ` +
            `AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) belong together and are current, or the profile in AWS_PROFILE; ` +
            `${CREDENTIALS_HELP}`,
        );
      case "ExpiredTokenException":
      case "ExpiredToken":
        return new BackendError(
          "auth",
          `the AWS credentials for backend '${this.name}' have expired${aws}: refresh them (` +
            "`aws sso login`, or new AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN) and try again",
        );
      case "AccessDeniedException":
        return new BackendError(
          "auth",
          `AWS denied access to model ${modelId} in ${region}${aws}: enable access to this model for the account in ` +
            `the Bedrock console (Model access) in ${region}, and allow bedrock:InvokeModelWithResponseStream and ` +
            `bedrock:InvokeModel on it for the caller's IAM identity`,
        );
      case "ResourceNotFoundException":
        return new BackendError(
          "not_found",
          `model ${modelId} was not found in ${region}${aws}: ${this.modelHelp(region)}`,
        );
      case "ValidationException": {
        if (
          /too long|too many (input )?tokens|context (length|window)|maximum context|prompt is too long|exceeds? the (maximum|limit)/i.test(
            said,
          )
        )
          return new BackendError(
            "context_length",
            `the request is longer than model ${modelId} accepts${aws}: shorten the conversation ` +
              `(memory.summarize_after, a smaller context), or use a model with a larger context window`,
          );
        if (/model identifier is invalid|on-demand throughput|inference profile|model id/i.test(said))
          return new BackendError(
            "not_found",
            `Bedrock cannot invoke model ${modelId} in ${region}${aws}: ${this.modelHelp(region)}`,
          );
        return new BackendError(
          "config",
          `Bedrock rejected the request to ${modelId} as invalid${aws}: check the model's limits ` +
            `(tools, temperature, message format) on Bedrock, or use another model`,
        );
      }
      case "ServiceQuotaExceededException":
        return new BackendError(
          "rate_limit",
          `the account's Bedrock quota for ${modelId} in ${region} is used up${aws}: ask for a higher quota ` +
            `(Service Quotas, Amazon Bedrock), or use another region or model`,
        );
      case "ThrottlingException":
      case "ModelNotReadyException":
        return new BackendError(
          "rate_limit",
          `Bedrock throttled the requests to ${modelId} in ${region}${tries}${aws}: wait and try again, run fewer sessions ` +
            `at once, raise AWS_MAX_ATTEMPTS for more retries, or ask for a higher quota (Service Quotas, Amazon Bedrock)`,
        );
      case "ModelStreamErrorException":
        return new BackendError(
          "stream_cut",
          `the reply from ${modelId} broke off in the middle of the stream${aws}: the partial reply was discarded; send the turn again`,
        );
      case "ModelTimeoutException":
      case "TimeoutError":
        return new BackendError(
          "timeout",
          `model ${modelId} on Bedrock took too long${aws}: try again, ask for a shorter reply, or send a smaller context`,
        );
      case "ServiceUnavailableException":
      case "InternalServerException":
      case "ModelErrorException":
        return new BackendError(
          "server",
          `Bedrock failed to answer (${name}) for ${modelId} in ${region}${tries}${midStream ? ", in the middle of the reply" : ""}${aws}: ` +
            `try again later, or use another region`,
        );
    }
    if (/region is missing/i.test(said))
      return new BackendError(
        "config",
        `backend '${this.name}' (bedrock) has no AWS region: set region: "us-east-1" on the backend declaration, ` +
          `or AWS_REGION (or a region in the AWS profile's config)`,
      );
    if (/could not load credentials|credential/i.test(said) && !e.$metadata?.httpStatusCode)
      return new BackendError(
        "auth",
        `no usable AWS credentials for backend '${this.name}' (${said}): ${CREDENTIALS_HELP}`,
      );
    // The HTTP/2 transport wraps socket errors (ERR_HTTP2_STREAM_CANCEL caused by ECONNREFUSED): name the cause.
    const netCode =
      (e as { cause?: { code?: string } }).cause?.code ??
      /\b(ECONNREFUSED|ENOTFOUND|ECONNRESET|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH)\b/.exec(
        said,
      )?.[1] ??
      e.code;
    if (netCode && !midStream)
      return new BackendError(
        netCode === "ETIMEDOUT" ? "timeout" : "server",
        `could not reach Amazon Bedrock at ${this.endpoint ?? `the ${region} endpoint`} (${netCode}): check the network, ` +
          `the region, and AWS_ENDPOINT_URL_BEDROCK_RUNTIME if it is set`,
      );
    if (midStream)
      return new BackendError(
        "stream_cut",
        `the connection to Bedrock broke in the middle of the reply from ${modelId} (${name}: ${said}): ` +
          `the partial reply was discarded; send the turn again`,
      );
    const status = e.$metadata?.httpStatusCode;
    return new BackendError(
      status !== undefined && status < 500 ? "config" : "server",
      `Bedrock failed (${name}${status ? `, HTTP ${status}` : ""}) for ${modelId} in ${region}${aws}`,
    );
  }

  private modelHelp(region: string): string {
    return (
      `check the model id (aws bedrock list-foundation-models --region ${region}); many models are invoked through a ` +
      `cross-region inference profile id, such as us.anthropic.claude-3-5-haiku-20241022-v1:0 ` +
      `(prefix us., eu. or apac. for the region's geography; aws bedrock list-inference-profiles --region ${region})`
    );
  }
}

/**
 * One call's cancellation and idle timeout: `signal` goes to the SDK, `run` races a promise against
 * both (an abandoned stream stops at once), `touch` re-arms the idle timer, `cause` says which fired.
 */
class CallControl {
  private readonly controller = new AbortController();
  private readonly stopped: Promise<never>;
  private timer?: NodeJS.Timeout;
  cause?: AbortCause;
  private readonly onAbort = (): void => this.abort("cancelled");

  constructor(
    private readonly outer: AbortSignal | undefined,
    private readonly idleMs: number,
  ) {
    this.stopped = new Promise<never>((_, reject) =>
      this.controller.signal.addEventListener("abort", () => reject(new Error(this.cause ?? "aborted")), {
        once: true,
      }),
    );
    this.stopped.catch(() => undefined);
    outer?.addEventListener("abort", this.onAbort, { once: true });
    this.touch();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  private abort(cause: AbortCause): void {
    if (this.cause) return;
    this.cause = cause;
    clearTimeout(this.timer);
    this.controller.abort();
  }

  touch(): void {
    clearTimeout(this.timer);
    if (!this.cause) this.timer = setTimeout(() => this.abort("timeout"), this.idleMs);
  }

  run<T>(p: Promise<T>): Promise<T> {
    return Promise.race([p, this.stopped]);
  }

  finish(): void {
    clearTimeout(this.timer);
    this.outer?.removeEventListener("abort", this.onAbort);
  }
}
