// The stateless backend on the `openai` SDK (v6): OpenAI (api.openai.com or
// `endpoint`), Azure OpenAI (the SDK's AzureOpenAI client) and any
// OpenAI-compatible server (Ollama, vLLM, LM Studio...). The client keeps the
// conversation: every call sends the whole context, over Chat Completions
// (`api: chat`) or the Responses API (`api: responses`, store: false),
// streaming. SDK failures become BackendErrors that say what to change.

import OpenAI, { AzureOpenAI } from "openai";
import type { CompiledBackend } from "../language/compile";
import { PROVIDERS, type Provider } from "../language/providers";
import { countTokens } from "../language/tokenCount";
import { BackendError, type ModelBackend, type ModelRequest, type ModelResponse } from "../runtime/model";
import { describeFailure, redactor, StreamFailure, type FailureContext } from "./openaiErrors";
import {
  chatMessages,
  chatTools,
  responseInput,
  responseTools,
  ChatAssembler,
  ResponsesAssembler,
  type Assembled,
} from "./openaiWire";

export type OpenAIProvider = Extract<Provider, "openai" | "azure" | "compatible">;
export const OPENAI_PROVIDERS: readonly OpenAIProvider[] = ["openai", "azure", "compatible"];

function isOpenAIProvider(provider: string): provider is OpenAIProvider {
  return (OPENAI_PROVIDERS as readonly string[]).includes(provider);
}

/** Environment variables this backend reads besides the one `api_key: env(...)` names. */
export const ENV_TIMEOUT = "STATECRAFT_MODEL_TIMEOUT_MS";
export const ENV_RETRIES = "STATECRAFT_MODEL_MAX_RETRIES";
export const ENV_AZURE_AD_TOKEN = "AZURE_OPENAI_AD_TOKEN";

/** api-version used on Azure when the backend sets no `api_version`. */
export const AZURE_DEFAULT_API_VERSION = { chat: "2024-10-21", responses: "2025-04-01-preview" } as const;

export interface OpenAIBackendOptions {
  env: NodeJS.ProcessEnv;
  /** Milliseconds to wait for each attempt's response headers, then between two streamed events (default 10 minutes). */
  timeoutMs?: number;
  /** Retries of 408/409/429/5xx and connection failures, with the SDK's backoff (default 2). */
  maxRetries?: number;
}

const DEFAULT_TIMEOUT_MS = 10 * 60 * 1000;

function envNumber(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === "") return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0)
    throw new BackendError("config", `${name} must be a whole number (it is '${raw}')`);
  return n;
}

/**
 * Counts the bytes of each JSON body the SDK hands to fetch, per model call: the call's meter rides in
 * the request's fetchOptions under a symbol (the SDK passes them through to fetch untouched).
 */
const METER = Symbol("statecraft.wireMeter");
interface Meter {
  bytes: number;
  attempts: number;
}
const countingFetch: typeof fetch = (input, init) => {
  const meter = (init as { [METER]?: Meter } | undefined)?.[METER];
  if (meter) {
    meter.attempts++;
    const body = init?.body;
    if (typeof body === "string") meter.bytes = Buffer.byteLength(body);
    else if (body instanceof Uint8Array) meter.bytes = body.byteLength;
  }
  return fetch(input, init);
};

const silentLogger = { error() {}, warn() {}, info() {}, debug() {} };

export class OpenAIBackend implements ModelBackend {
  readonly kind = "stateless" as const;
  readonly name: string;
  readonly provider: OpenAIProvider;
  private client: OpenAI | undefined;
  private readonly timeoutMs: number;
  private readonly maxRetries: number;
  private readonly key: string | undefined;
  private readonly redact: (text: string) => string;

  constructor(
    readonly spec: CompiledBackend,
    private readonly options: OpenAIBackendOptions,
  ) {
    if (!isOpenAIProvider(spec.provider))
      throw new BackendError(
        "config",
        `backend '${spec.name}': provider ${spec.provider} is not an OpenAI API`,
      );
    this.name = spec.name;
    this.provider = spec.provider;
    this.timeoutMs = options.timeoutMs ?? envNumber(options.env, ENV_TIMEOUT) ?? DEFAULT_TIMEOUT_MS;
    this.maxRetries = options.maxRetries ?? envNumber(options.env, ENV_RETRIES) ?? 2;
    const key = spec.apiKeyEnv ? options.env[spec.apiKeyEnv] : undefined;
    this.key = key ? key : undefined;
    this.redact = redactor([this.key, options.env[ENV_AZURE_AD_TOKEN]]);
  }

  /** Where requests go, for messages (never with credentials). */
  get endpoint(): string {
    if (this.provider === "openai") return this.spec.endpoint ?? "https://api.openai.com/v1";
    return this.spec.endpoint ?? "(no endpoint)";
  }

  private failureContext(model: string | undefined): FailureContext {
    return {
      backend: this.name,
      provider: this.provider,
      api: this.spec.api,
      endpoint: safeUrl(this.endpoint),
      model,
      keyEnv: this.spec.apiKeyEnv,
      usesAdToken: this.provider === "azure" && !this.key && !!this.options.env[ENV_AZURE_AD_TOKEN],
      retries: this.maxRetries,
      timeoutMs: this.timeoutMs,
      redact: this.redact,
    };
  }

  /** The SDK client, made on first use so a missing key fails the turn (and is logged) rather than the start. */
  private getClient(): OpenAI {
    if (this.client) return this.client;
    const { spec } = this;
    const common = {
      timeout: this.timeoutMs,
      maxRetries: this.maxRetries,
      fetch: countingFetch,
      // The SDK logs nothing: its debug output would include request bodies (and OPENAI_LOG could turn it on).
      logLevel: "off" as const,
      logger: silentLogger,
    };
    const keyHint = spec.apiKeyEnv
      ? `set the environment variable ${spec.apiKeyEnv} (named by api_key: env("${spec.apiKeyEnv}") in backend '${spec.name}')`
      : `add api_key: env("${PROVIDERS[this.provider].keyVariable}") to backend '${spec.name}' and set that variable`;
    if (this.provider === "openai") {
      if (!this.key)
        throw new BackendError(
          "config",
          `backend '${spec.name}' (provider openai) has no API key: ${keyHint}`,
        );
      this.client = new OpenAI({
        ...common,
        apiKey: this.key,
        baseURL: spec.endpoint ?? "https://api.openai.com/v1",
        organization: null,
        project: null,
      });
    } else if (this.provider === "compatible") {
      if (!spec.endpoint)
        throw new BackendError(
          "config",
          `backend '${spec.name}' (provider compatible) has no endpoint: set endpoint to the server's OpenAI API base URL, for example "http://localhost:11434/v1" for Ollama`,
        );
      this.client = new OpenAI({
        ...common,
        // Many local servers need no key: then no Authorization header is sent at all.
        apiKey: this.key ?? "unused",
        baseURL: spec.endpoint,
        organization: null,
        project: null,
        ...(this.key ? {} : { defaultHeaders: { Authorization: null } }),
      });
    } else {
      if (!spec.endpoint)
        throw new BackendError(
          "config",
          `backend '${spec.name}' (provider azure) has no endpoint: set endpoint to your resource, for example "https://my-resource.openai.azure.com"`,
        );
      const adToken = this.options.env[ENV_AZURE_AD_TOKEN];
      if (!this.key && !adToken)
        throw new BackendError(
          "config",
          `backend '${spec.name}' (provider azure) has no credentials: ${keyHint}, or set ${ENV_AZURE_AD_TOKEN} to a Microsoft Entra access token (az account get-access-token --resource https://cognitiveservices.azure.com)`,
        );
      this.client = new AzureOpenAI({
        ...common,
        // null, not undefined: the SDK would otherwise fill them from OPENAI_BASE_URL / AZURE_OPENAI_API_KEY in
        // the process environment, and then refuse the combination.
        baseURL: null as unknown as undefined,
        endpoint: spec.endpoint,
        apiVersion: spec.apiVersion ?? AZURE_DEFAULT_API_VERSION[spec.api],
        ...(this.key
          ? { apiKey: this.key }
          : {
              apiKey: null as unknown as undefined,
              azureADTokenProvider: () => Promise.resolve(adToken!),
            }),
      });
    }
    return this.client;
  }

  async complete(request: ModelRequest): Promise<ModelResponse> {
    const model = request.model ?? this.spec.model;
    const ctx = this.failureContext(model);
    if (request.signal?.aborted) throw new BackendError("cancelled", "cancelled");
    if (!model)
      throw new BackendError(
        "config",
        this.provider === "azure"
          ? `backend '${this.name}' names no deployment: set model to the Azure deployment name`
          : `backend '${this.name}' names no model: set model on the backend or the agent`,
      );
    let client: OpenAI;
    try {
      client = this.getClient();
    } catch (err) {
      if (err instanceof BackendError) throw err;
      throw new BackendError(
        "config",
        `backend '${this.name}' (${this.provider}): the openai SDK refused the configuration: ${this.redact((err as Error).message)}`,
      );
    }
    // The caller's signal goes to the SDK as is; the wait between streamed events aborts the stream itself.
    const signal = request.signal;
    let timedOut = false;
    let stream: { controller: AbortController } | undefined;
    // One timer per call (not one per streamed event): on expiry it checks how long the stream has been quiet.
    let idle: NodeJS.Timeout | undefined;
    let lastEvent = 0;
    const arm = (ms: number) => {
      idle = setTimeout(() => {
        const quiet = performance.now() - lastEvent;
        if (quiet < this.timeoutMs) return arm(this.timeoutMs - quiet);
        timedOut = true;
        stream?.controller.abort();
      }, ms);
    };
    const onStream = (s: { controller: AbortController }) => {
      stream = s;
      lastEvent = performance.now();
      arm(this.timeoutMs);
    };
    const touch = () => (lastEvent = performance.now());
    const meter: Meter = { bytes: 0, attempts: 0 };
    let assembled: Assembled | undefined;
    let onAbort: (() => void) | undefined;
    try {
      const opts: OpenAI.RequestOptions = {
        signal,
        fetchOptions: { [METER]: meter } as OpenAI.RequestOptions["fetchOptions"],
      };
      const call =
        this.spec.api === "responses"
          ? this.streamResponses(client, model, request, opts, touch, onStream)
          : this.streamChat(client, model, request, opts, touch, onStream);
      // The SDK's wait between retries does not listen to the signal: a cancel returns at once, and the
      // SDK stops before its next attempt (its rejection then is expected and dropped).
      assembled = signal
        ? await Promise.race([
            call,
            new Promise<never>((_, reject) => {
              onAbort = () => {
                call.catch(() => undefined);
                reject(new OpenAI.APIUserAbortError());
              };
              signal.addEventListener("abort", onAbort, { once: true });
            }),
          ])
        : await call;
    } catch (err) {
      if (signal?.aborted) throw new BackendError("cancelled", "cancelled");
      if (err instanceof BackendError) throw err;
      throw describeFailure(err, ctx, { started: !!stream, timedOut, attempts: meter.attempts });
    } finally {
      clearTimeout(idle);
      if (onAbort) signal?.removeEventListener("abort", onAbort);
    }
    const started = !!stream;
    if (request.signal?.aborted) throw new BackendError("cancelled", "cancelled");
    if (timedOut)
      throw describeFailure(new OpenAI.APIConnectionTimeoutError(), ctx, {
        started,
        timedOut,
        attempts: meter.attempts,
      });
    if (!assembled.complete)
      throw describeFailure(undefined, ctx, {
        started: true,
        timedOut,
        cut: { events: assembled.events, chars: assembled.text.length },
      });
    return {
      text: assembled.text,
      toolCalls: assembled.toolCalls,
      // Servers that ignore stream_options.include_usage: estimate rather than report zero.
      usage: assembled.usage ?? {
        inputTokens: Math.ceil(meter.bytes / 4),
        outputTokens: countTokens(assembled.text + JSON.stringify(assembled.toolCalls), "estimate").tokens,
      },
      stopReason: assembled.stopReason ?? "end_turn",
      ...(assembled.reasoning ? { reasoning: assembled.reasoning } : {}),
      requestBytes: meter.bytes,
    };
  }

  private async streamChat(
    client: OpenAI,
    model: string,
    request: ModelRequest,
    opts: OpenAI.RequestOptions,
    touch: () => void,
    onStream: (s: { controller: AbortController }) => void,
  ): Promise<Assembled> {
    const body: OpenAI.Chat.Completions.ChatCompletionCreateParamsStreaming = {
      model,
      messages: chatMessages(request.messages),
      stream: true,
      stream_options: { include_usage: true },
    };
    if (request.tools.length) body.tools = chatTools(request.tools);
    if (request.temperature !== undefined) body.temperature = request.temperature;
    if (this.spec.reasoning?.effort) body.reasoning_effort = this.spec.reasoning.effort;
    const format = request.responseFormat;
    if (format)
      body.response_format = {
        type: "json_schema",
        json_schema: { name: format.name, schema: format.schema as Record<string, unknown>, strict: true },
      };
    const stream = await client.chat.completions.create(body, opts);
    onStream(stream);
    const asm = new ChatAssembler();
    for await (const chunk of stream) {
      touch();
      const delta = asm.add(chunk);
      if (delta && request.onText) request.onText(delta);
    }
    return asm.finish();
  }

  private async streamResponses(
    client: OpenAI,
    model: string,
    request: ModelRequest,
    opts: OpenAI.RequestOptions,
    touch: () => void,
    onStream: (s: { controller: AbortController }) => void,
  ): Promise<Assembled> {
    const body: OpenAI.Responses.ResponseCreateParamsStreaming = {
      model,
      input: responseInput(request.messages),
      stream: true,
      // Stateless: nothing is kept server-side, the whole input goes with every call.
      store: false,
    };
    if (request.tools.length) body.tools = responseTools(request.tools);
    if (request.temperature !== undefined) body.temperature = request.temperature;
    const effort = this.spec.reasoning?.effort;
    if (effort) body.reasoning = { effort, summary: "auto" };
    // With store: false a reasoning model's items come back only encrypted, and only when asked for; the
    // turn's next call sends them again (openaiWire.ts). OpenAI and Azure accept this for any model.
    if (effort || this.provider !== "compatible") body.include = ["reasoning.encrypted_content"];
    const format = request.responseFormat;
    if (format)
      body.text = {
        format: {
          type: "json_schema",
          name: format.name,
          schema: format.schema as Record<string, unknown>,
          strict: true,
        },
      };
    const stream = await client.responses.create(body, opts);
    onStream(stream);
    const asm = new ResponsesAssembler();
    for await (const event of stream) {
      touch();
      const delta = asm.add(event);
      if (delta && request.onText) request.onText(delta);
      if (asm.failure) throw new StreamFailure(asm.failure.code, asm.failure.message);
    }
    return asm.finish();
  }

  async summarize(text: string, signal?: AbortSignal): Promise<string> {
    const r = await this.complete({
      messages: [
        {
          role: "system",
          content:
            "Summarize the conversation below for your own later use: keep names, numbers, decisions and open questions. Reply with the summary only.",
        },
        { role: "user", content: text },
      ],
      tools: [],
      signal,
    });
    return r.text;
  }
}

function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = "";
    u.password = "";
    u.search = "";
    return u.toString().replace(/\/$/, "");
  } catch {
    return url;
  }
}
