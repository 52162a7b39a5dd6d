// A fake OpenAI server on plain node:http that speaks the wire protocols the
// `openai` SDK uses: Chat Completions (JSON, and SSE with role / content /
// tool-call deltas, the usage chunk and `data: [DONE]`), the Responses API
// (JSON, and its SSE event sequence from response.created to
// response.completed), and the Azure OpenAI paths with `api-version` and the
// `api-key` header. Replies are scripted; failures (401, 404, 429 with
// retry-after, 5xx, context length, a stream cut mid-way, slow responses) can
// be injected; every request is journaled (secrets removed).
//
// Importable without mocha: helpers D (bytes bench) and E2 (editor Run) reuse it.
//
//   const fake = await FakeOpenAIServer.start({ apiKey: "sk-test" });
//   fake.script({ kind: "text", text: "Hello" }, { kind: "tools", calls: [{ name: "f", arguments: {} }] });
//   ... endpoint: fake.openaiURL (".../v1"), or fake.url for Azure ...
//   fake.journal  // every request
//   await fake.close();

import * as http from "node:http";
import type { AddressInfo } from "node:net";

export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };

export interface FakeToolCall {
  name: string;
  /** An object (sent as its JSON) or the raw argument text. */
  arguments: JsonValue;
  id?: string;
}

interface Timing {
  /** Wait this long before sending the response headers (a slow server). */
  delayMs?: number;
  /** Pieces a text is streamed in (default: one per word). */
  chunks?: number;
}

/**
 * A reasoning model's reasoning before the reply: responses, a `reasoning` output item with this summary
 * (and `encrypted_content` when the request included `reasoning.encrypted_content`); both APIs report
 * `tokens` as reasoning tokens in the usage.
 */
export interface FakeReasoning {
  summary: string;
  tokens?: number;
}

export type FakeReply =
  | ({
      kind: "text";
      text: string;
      usage?: { input: number; output: number };
      reasoning?: FakeReasoning;
    } & Timing)
  | ({
      kind: "tools";
      calls: FakeToolCall[];
      text?: string;
      usage?: { input: number; output: number };
      reasoning?: FakeReasoning;
    } & Timing)
  /** An HTTP error with the provider's error body. */
  | ({
      kind: "error";
      status: number;
      message?: string;
      code?: string | null;
      type?: string;
      headers?: Record<string, string>;
    } & Timing)
  /** 429 with retry-after (seconds) and, optionally, retry-after-ms. */
  | { kind: "rate_limit"; retryAfter?: number; retryAfterMs?: number }
  /** 400 context_length_exceeded, worded as the provider words it. */
  | { kind: "context_length" }
  /** Streams `text` but stops after `afterEvents` SSE events: `destroy` drops the socket, `end` ends cleanly without the terminal event. */
  | ({ kind: "cut"; text: string; afterEvents: number; how?: "destroy" | "end" } & Timing)
  /**
   * An error inside an otherwise good stream, as the real APIs send one: chat, a `data: {"error": {...}}`
   * chunk; responses, an `error` event carrying `error: {type, code, message}` and then `response.failed`
   * (`only: "failed"`: the `response.failed` event alone).
   */
  | { kind: "stream_error"; message: string; code?: string; type?: string; only?: "failed" }
  /** Headers sent, then nothing: the client's stream timeout has to fire. */
  | { kind: "stall" };

export interface JournalEntry {
  method: string;
  /** Path with the query string. */
  path: string;
  provider: "openai" | "azure";
  api: "chat" | "responses" | "other";
  /** Azure deployment from the path (chat) or the body's model (responses). */
  deployment?: string;
  apiVersion?: string;
  /** Request headers, with authorization / api-key values replaced by "[redacted]". */
  headers: Record<string, string>;
  /** How the caller authenticated: bearer, api-key, or none. */
  auth: "bearer" | "api-key" | "none";
  body: JsonValue | undefined;
  /** Bytes of the request body as received. */
  bytes: number;
  stream: boolean;
  /** The status the fake answered with. */
  status: number;
  /** Milliseconds since the server started (Date-based), for retry spacing checks. */
  at: number;
}

export interface FakeOpenAIOptions {
  /** Bearer key required on /v1 paths; undefined accepts any request (an OpenAI-compatible server without auth). */
  apiKey?: string;
  /** `api-key` header required on Azure paths. */
  azureKey?: string;
  /** A Microsoft Entra token accepted as `Authorization: Bearer` on Azure paths. */
  azureAdToken?: string;
  /** Models served on /v1 (others get 404 model_not_found); undefined serves any. */
  models?: string[];
  /** Azure deployments (others get 404 DeploymentNotFound); undefined serves any. */
  deployments?: string[];
  /** Requests whose body is larger than this get 400 context_length_exceeded. */
  contextLimitBytes?: number;
  port?: number;
}

/** Computes a reply when the script is empty. */
export type Responder = (entry: JournalEntry) => FakeReply;

const SECRET_HEADERS = new Set(["authorization", "api-key", "x-api-key", "cookie"]);

export class FakeOpenAIServer {
  readonly journal: JournalEntry[] = [];
  private readonly queue: FakeReply[] = [];
  /** Answers when the script is empty; by default a 400 saying the script ran out. */
  respond: Responder | undefined;
  private readonly sockets = new Set<import("node:net").Socket>();
  private readonly t0 = Date.now();
  private seq = 0;
  /**
   * The encrypted reasoning each tool call followed (by call id): as the real API, a later request that
   * sends the call without that reasoning item is refused (store: false keeps nothing server-side).
   */
  private readonly reasoningOf = new Map<string, { id: string; encrypted: string }>();

  private constructor(
    private readonly server: http.Server,
    readonly options: FakeOpenAIOptions,
  ) {}

  static async start(options: FakeOpenAIOptions = {}): Promise<FakeOpenAIServer> {
    const server = http.createServer();
    const fake = new FakeOpenAIServer(server, options);
    server.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => void fake.handle(req, res));
    server.on("connection", (s) => {
      fake.sockets.add(s);
      s.on("close", () => fake.sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
    return fake;
  }

  /** http://127.0.0.1:PORT (the Azure `endpoint`). */
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** http://127.0.0.1:PORT/v1 (the OpenAI / compatible `endpoint`). */
  get openaiURL(): string {
    return `${this.url}/v1`;
  }

  /** Queues replies, answered in order by the next requests. */
  script(...replies: FakeReply[]): this {
    this.queue.push(...replies);
    return this;
  }

  get pending(): number {
    return this.queue.length;
  }

  reset(): void {
    this.queue.length = 0;
    this.journal.length = 0;
    this.respond = undefined;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ---- request handling ------------------------------------------------------------

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    const url = new URL(req.url ?? "/", "http://fake");
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers))
      headers[k] = SECRET_HEADERS.has(k) ? "[redacted]" : Array.isArray(v) ? v.join(", ") : (v ?? "");
    let body: JsonValue | undefined;
    let badJson = false;
    if (raw.length) {
      try {
        body = JSON.parse(raw.toString("utf8")) as JsonValue;
      } catch {
        badJson = true;
      }
    }
    const obj = (body && typeof body === "object" && !Array.isArray(body) ? body : {}) as Record<
      string,
      JsonValue
    >;
    const authz = req.headers.authorization;
    const apiKeyHeader = req.headers["api-key"];
    const entry: JournalEntry = {
      method: req.method ?? "",
      path: url.pathname + url.search,
      provider: url.pathname.startsWith("/openai/") ? "azure" : "openai",
      api: "other",
      headers,
      auth: apiKeyHeader ? "api-key" : authz ? "bearer" : "none",
      body,
      bytes: raw.length,
      stream: obj.stream === true,
      status: 0,
      at: Date.now() - this.t0,
    };
    this.journal.push(entry);
    const send = (status: number, payload: unknown, extra: Record<string, string> = {}) => {
      entry.status = status;
      res.writeHead(status, { "content-type": "application/json", "x-request-id": this.id("req"), ...extra });
      res.end(JSON.stringify(payload));
    };

    // Routing and the provider's own checks, before any scripted reply.
    let m: RegExpMatchArray | null;
    if (entry.provider === "openai") {
      if (req.method === "POST" && url.pathname === "/v1/chat/completions") entry.api = "chat";
      else if (req.method === "POST" && url.pathname === "/v1/responses") entry.api = "responses";
      else
        return send(404, openaiError(`Invalid URL (${req.method} ${url.pathname})`, "invalid_request_error"));
      if (this.options.apiKey !== undefined) {
        const given = authz?.startsWith("Bearer ") ? authz.slice(7) : undefined;
        if (!given)
          return send(
            401,
            openaiError(
              "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
              "invalid_request_error",
            ),
          );
        if (given !== this.options.apiKey)
          return send(
            401,
            openaiError(
              `Incorrect API key provided: ${maskKey(given)}. You can find your API key at https://platform.openai.com/account/api-keys.`,
              "invalid_request_error",
              "invalid_api_key",
            ),
          );
      }
      if (badJson)
        return send(
          400,
          openaiError("We could not parse the JSON body of your request.", "invalid_request_error"),
        );
      const model = typeof obj.model === "string" ? obj.model : undefined;
      if (this.options.models && (!model || !this.options.models.includes(model)))
        return send(
          404,
          openaiError(
            `The model \`${model}\` does not exist or you do not have access to it.`,
            "invalid_request_error",
            "model_not_found",
          ),
        );
    } else {
      entry.apiVersion = url.searchParams.get("api-version") ?? undefined;
      if (
        req.method === "POST" &&
        (m = url.pathname.match(/^\/openai\/deployments\/([^/]+)\/chat\/completions$/))
      ) {
        entry.api = "chat";
        entry.deployment = decodeURIComponent(m[1]);
      } else if (req.method === "POST" && /^\/openai(\/v1)?\/responses$/.test(url.pathname)) {
        entry.api = "responses";
        entry.deployment = typeof obj.model === "string" ? obj.model : undefined;
      } else return send(404, { error: { code: "404", message: "Resource not found" } });
      if (!entry.apiVersion && !url.pathname.startsWith("/openai/v1/"))
        return send(404, { error: { code: "404", message: "Resource not found" } });
      const keyOk = this.options.azureKey !== undefined && apiKeyHeader === this.options.azureKey;
      const tokenOk =
        this.options.azureAdToken !== undefined && authz === `Bearer ${this.options.azureAdToken}`;
      const open = this.options.azureKey === undefined && this.options.azureAdToken === undefined;
      if (!open && !keyOk && !tokenOk)
        return send(401, {
          error: {
            code: "401",
            message:
              "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.",
          },
        });
      if (badJson) return send(400, { error: { code: "BadRequest", message: "Invalid JSON body" } });
      if (
        this.options.deployments &&
        (!entry.deployment || !this.options.deployments.includes(entry.deployment))
      )
        return send(404, {
          error: {
            code: "DeploymentNotFound",
            message:
              "The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.",
          },
        });
    }
    if (this.options.contextLimitBytes !== undefined && raw.length > this.options.contextLimitBytes)
      return send(400, contextLengthBody(entry.api, raw.length));
    if (entry.api === "responses" && Array.isArray(obj.input)) {
      const items = obj.input as Record<string, JsonValue>[];
      // Within the turn (after the last user message): the calls a reasoning model made in this turn.
      const turnStart = items.map((i) => i.role).lastIndexOf("user");
      for (const item of items.slice(turnStart + 1)) {
        const r = item.type === "function_call" ? this.reasoningOf.get(String(item.call_id)) : undefined;
        if (r && !items.some((i) => i.type === "reasoning" && i.encrypted_content === r.encrypted))
          return send(
            400,
            openaiError(
              `Item '${String(item.id ?? item.call_id)}' of type 'function_call' was provided without its required 'reasoning' item: '${r.id}'.`,
              "invalid_request_error",
              null,
              "input",
            ),
          );
      }
    }

    const reply = this.queue.shift() ??
      this.respond?.(entry) ?? {
        kind: "error",
        status: 400,
        message: "the fake OpenAI server has no scripted reply left for this request",
        type: "invalid_request_error",
        code: "fake_script_empty",
      };
    if ("delayMs" in reply && reply.delayMs) await sleep(reply.delayMs);
    if (res.destroyed) return;

    switch (reply.kind) {
      case "error":
        return send(
          reply.status,
          openaiError(
            reply.message ?? http.STATUS_CODES[reply.status] ?? "error",
            reply.type ?? (reply.status >= 500 ? "server_error" : "invalid_request_error"),
            reply.code ?? null,
          ),
          reply.headers,
        );
      case "rate_limit":
        return send(
          429,
          openaiError(
            "Rate limit reached for requests. Please try again in a moment.",
            "requests",
            "rate_limit_exceeded",
          ),
          {
            "retry-after": String(reply.retryAfter ?? 0),
            ...(reply.retryAfterMs !== undefined ? { "retry-after-ms": String(reply.retryAfterMs) } : {}),
          },
        );
      case "context_length":
        return send(400, contextLengthBody(entry.api, raw.length));
      default:
        break;
    }
    const model = typeof obj.model === "string" ? obj.model : (entry.deployment ?? "gpt-fake");
    const inputTokens = Math.ceil(raw.length / 4);
    if (entry.api === "chat") return this.chat(entry, res, reply, model, inputTokens);
    return this.responses(entry, res, reply, model, inputTokens);
  }

  private id(prefix: string): string {
    return `${prefix}_${(++this.seq).toString(36).padStart(8, "0")}`;
  }

  // ---- Chat Completions ------------------------------------------------------------

  private chat(
    entry: JournalEntry,
    res: http.ServerResponse,
    reply: Exclude<FakeReply, { kind: "error" | "rate_limit" | "context_length" }>,
    model: string,
    inputTokens: number,
  ): void {
    const id = this.id("chatcmpl");
    const created = Math.floor(Date.now() / 1000);
    const text = reply.kind === "stall" ? "" : reply.kind === "stream_error" ? "" : (reply.text ?? "");
    const calls = reply.kind === "tools" ? reply.calls.map((c, i) => this.toolCall(c, i)) : [];
    const usageOf = () => {
      const u = "usage" in reply && reply.usage;
      const output = u
        ? u.output
        : Math.ceil((text.length + calls.reduce((a, c) => a + c.args.length, 0)) / 4);
      const input = u ? u.input : inputTokens;
      const reasoning = "reasoning" in reply && reply.reasoning ? (reply.reasoning.tokens ?? 64) : 0;
      return {
        prompt_tokens: input,
        completion_tokens: output,
        total_tokens: input + output,
        ...(reasoning ? { completion_tokens_details: { reasoning_tokens: reasoning } } : {}),
      };
    };
    const finish = calls.length ? "tool_calls" : "stop";
    if (!entry.stream) {
      if (reply.kind !== "text" && reply.kind !== "tools") {
        entry.status = 500;
        res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify(openaiError(`'${reply.kind}' needs stream: true`, "server_error")));
        return;
      }
      entry.status = 200;
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          id,
          object: "chat.completion",
          created,
          model,
          choices: [
            {
              index: 0,
              message: {
                role: "assistant",
                content: calls.length && !text ? null : text,
                refusal: null,
                ...(calls.length
                  ? {
                      tool_calls: calls.map((c) => ({
                        id: c.id,
                        type: "function",
                        function: { name: c.name, arguments: c.args },
                      })),
                    }
                  : {}),
              },
              logprobs: null,
              finish_reason: finish,
            },
          ],
          usage: usageOf(),
          system_fingerprint: "fp_fake",
        }),
      );
      return;
    }
    const base = { id, object: "chat.completion.chunk", created, model, system_fingerprint: "fp_fake" };
    const includeUsage =
      (entry.body as { stream_options?: { include_usage?: boolean } } | undefined)?.stream_options
        ?.include_usage === true;
    const chunk = (delta: object, finishReason: string | null = null) =>
      JSON.stringify({
        ...base,
        choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
        ...(includeUsage ? { usage: null } : {}),
      });
    const events: string[] = [chunk({ role: "assistant", content: "", refusal: null })];
    if (reply.kind === "stream_error") {
      events.push(
        JSON.stringify({
          error: {
            message: reply.message,
            type: reply.type ?? "server_error",
            param: null,
            code: reply.code ?? null,
          },
        }),
      );
    } else {
      for (const piece of pieces(text, "chunks" in reply ? reply.chunks : undefined))
        events.push(chunk({ content: piece }));
      calls.forEach((c, index) => {
        events.push(
          chunk({
            tool_calls: [{ index, id: c.id, type: "function", function: { name: c.name, arguments: "" } }],
          }),
        );
        for (const a of pieces(c.args, 3))
          events.push(chunk({ tool_calls: [{ index, function: { arguments: a } }] }));
      });
      events.push(chunk({}, finish));
      if (includeUsage) events.push(JSON.stringify({ ...base, choices: [], usage: usageOf() }));
      events.push("[DONE]");
    }
    this.writeSSE(
      entry,
      res,
      reply,
      events.map((data) => `data: ${data}\n\n`),
    );
  }

  private toolCall(c: FakeToolCall, i: number): { id: string; name: string; args: string } {
    return {
      id: c.id ?? `call_${this.id("t")}_${i}`,
      name: c.name,
      args: typeof c.arguments === "string" ? c.arguments : JSON.stringify(c.arguments),
    };
  }

  // ---- Responses API ---------------------------------------------------------------

  private responses(
    entry: JournalEntry,
    res: http.ServerResponse,
    reply: Exclude<FakeReply, { kind: "error" | "rate_limit" | "context_length" }>,
    model: string,
    inputTokens: number,
  ): void {
    const body = (entry.body ?? {}) as Record<string, JsonValue>;
    const respId = this.id("resp");
    const created_at = Math.floor(Date.now() / 1000);
    const text =
      reply.kind === "text" || reply.kind === "cut" || reply.kind === "tools" ? (reply.text ?? "") : "";
    const calls = reply.kind === "tools" ? reply.calls.map((c, i) => this.toolCall(c, i)) : [];
    const msgId = this.id("msg");
    const output: Record<string, unknown>[] = [];
    const thought = "reasoning" in reply ? reply.reasoning : undefined;
    const include = Array.isArray(body.include) && body.include.includes("reasoning.encrypted_content");
    const rsId = this.id("rs");
    const reasoningItem = thought && {
      id: rsId,
      type: "reasoning",
      summary: [{ type: "summary_text", text: thought.summary }],
      encrypted_content: include ? `enc_${rsId}_${Buffer.from(thought.summary).toString("base64")}` : null,
    };
    if (reasoningItem) output.push(reasoningItem);
    if (text)
      output.push({
        id: msgId,
        type: "message",
        status: "completed",
        role: "assistant",
        content: [{ type: "output_text", text, annotations: [], logprobs: [] }],
      });
    const fcIds = calls.map(() => this.id("fc"));
    if (reasoningItem?.encrypted_content)
      for (const c of calls)
        this.reasoningOf.set(c.id, { id: rsId, encrypted: reasoningItem.encrypted_content });
    calls.forEach((c, i) =>
      output.push({
        id: fcIds[i],
        type: "function_call",
        status: "completed",
        call_id: c.id,
        name: c.name,
        arguments: c.args,
      }),
    );
    const u = "usage" in reply && reply.usage;
    const outTokens = u
      ? u.output
      : Math.ceil((text.length + calls.reduce((a, c) => a + c.args.length, 0)) / 4);
    const inTokens = u ? u.input : inputTokens;
    const response = (status: string, out: unknown[], usage: unknown) => ({
      id: respId,
      object: "response",
      created_at,
      status,
      background: false,
      error: null,
      incomplete_details: null,
      instructions: body.instructions ?? null,
      max_output_tokens: body.max_output_tokens ?? null,
      model,
      output: out,
      parallel_tool_calls: true,
      previous_response_id: null,
      reasoning: { effort: null, summary: null },
      store: body.store ?? true,
      temperature: body.temperature ?? 1,
      text: { format: { type: "text" } },
      tool_choice: "auto",
      tools: body.tools ?? [],
      top_p: 1,
      truncation: "disabled",
      usage,
      metadata: {},
    });
    const usage = {
      input_tokens: inTokens,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: outTokens,
      output_tokens_details: { reasoning_tokens: thought ? (thought.tokens ?? 64) : 0 },
      total_tokens: inTokens + outTokens,
    };
    if (!entry.stream) {
      if (reply.kind !== "text" && reply.kind !== "tools") {
        entry.status = 500;
        res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify(openaiError(`'${reply.kind}' needs stream: true`, "server_error")));
        return;
      }
      entry.status = 200;
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(response("completed", output, usage)));
      return;
    }
    let seq = 0;
    const events: string[] = [];
    const ev = (type: string, data: object) =>
      events.push(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...data })}\n\n`);
    ev("response.created", { response: response("in_progress", [], null) });
    ev("response.in_progress", { response: response("in_progress", [], null) });
    if (reply.kind === "stream_error") {
      if (reply.only !== "failed")
        ev("error", {
          error: {
            type: reply.type ?? reply.code ?? "server_error",
            code: reply.code ?? "server_error",
            message: reply.message,
            param: null,
          },
        });
      ev("response.failed", {
        response: {
          ...response("failed", [], null),
          error: { code: reply.code ?? "server_error", message: reply.message },
        },
      });
      return this.writeSSE(entry, res, reply, events);
    }
    let index = 0;
    if (reasoningItem && thought) {
      const outIndex = index++;
      ev("response.output_item.added", {
        output_index: outIndex,
        item: { ...reasoningItem, summary: [], encrypted_content: null },
      });
      ev("response.reasoning_summary_text.delta", {
        item_id: rsId,
        output_index: outIndex,
        summary_index: 0,
        delta: thought.summary,
      });
      ev("response.reasoning_summary_text.done", {
        item_id: rsId,
        output_index: outIndex,
        summary_index: 0,
        text: thought.summary,
      });
      ev("response.output_item.done", { output_index: outIndex, item: reasoningItem });
    }
    if (text) {
      const outIndex = index++;
      ev("response.output_item.added", {
        output_index: outIndex,
        item: { id: msgId, type: "message", status: "in_progress", role: "assistant", content: [] },
      });
      ev("response.content_part.added", {
        item_id: msgId,
        output_index: outIndex,
        content_index: 0,
        part: { type: "output_text", text: "", annotations: [], logprobs: [] },
      });
      for (const piece of pieces(text, "chunks" in reply ? reply.chunks : undefined))
        ev("response.output_text.delta", {
          item_id: msgId,
          output_index: outIndex,
          content_index: 0,
          delta: piece,
          logprobs: [],
        });
      ev("response.output_text.done", {
        item_id: msgId,
        output_index: outIndex,
        content_index: 0,
        text,
        logprobs: [],
      });
      ev("response.content_part.done", {
        item_id: msgId,
        output_index: outIndex,
        content_index: 0,
        part: { type: "output_text", text, annotations: [], logprobs: [] },
      });
      ev("response.output_item.done", { output_index: outIndex, item: output[outIndex] });
    }
    calls.forEach((c, i) => {
      const outIndex = index++;
      ev("response.output_item.added", {
        output_index: outIndex,
        item: {
          id: fcIds[i],
          type: "function_call",
          status: "in_progress",
          call_id: c.id,
          name: c.name,
          arguments: "",
        },
      });
      for (const a of pieces(c.args, 3))
        ev("response.function_call_arguments.delta", { item_id: fcIds[i], output_index: outIndex, delta: a });
      ev("response.function_call_arguments.done", {
        item_id: fcIds[i],
        output_index: outIndex,
        arguments: c.args,
      });
      ev("response.output_item.done", { output_index: outIndex, item: output[outIndex] });
    });
    ev("response.completed", { response: response("completed", output, usage) });
    this.writeSSE(entry, res, reply, events);
  }

  // ---- SSE writing -----------------------------------------------------------------

  private writeSSE(entry: JournalEntry, res: http.ServerResponse, reply: FakeReply, events: string[]): void {
    entry.status = 200;
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      connection: "keep-alive",
      "x-request-id": this.id("req"),
    });
    if (reply.kind === "stall") {
      res.write(events[0]);
      return; // never ends: the client has to give up
    }
    if (reply.kind === "cut") {
      res.write(events.slice(0, reply.afterEvents).join(""));
      if (reply.how === "end") res.end();
      // Let the bytes leave before the connection drops, as a proxy cutting a stream would.
      else setTimeout(() => res.destroy(), 20);
      return;
    }
    res.end(events.join(""));
  }
}

// ---- helpers -----------------------------------------------------------------------

function openaiError(message: string, type: string, code: string | null = null, param: string | null = null) {
  return { error: { message, type, param, code } };
}

function contextLengthBody(api: string, bytes: number) {
  const tokens = Math.ceil(bytes / 4);
  return openaiError(
    api === "responses"
      ? `Your input exceeds the context window of this model. Please adjust your input and try again.`
      : `This model's maximum context length is 8192 tokens. However, your messages resulted in ${Math.max(tokens, 8193)} tokens. Please reduce the length of the messages.`,
    "invalid_request_error",
    "context_length_exceeded",
    api === "responses" ? "input" : "messages",
  );
}

/** As OpenAI masks a wrong key in its 401 message: the first 3 and last 4 characters. */
function maskKey(key: string): string {
  return key.length <= 8
    ? "*".repeat(key.length)
    : `${key.slice(0, 3)}${"*".repeat(key.length - 7)}${key.slice(-4)}`;
}

/** Splits text into streamed pieces: word by word, or `n` roughly equal pieces. */
export function pieces(text: string, n?: number): string[] {
  if (!text) return [];
  if (n === undefined) return text.match(/\S+\s*|\s+/g) ?? [text];
  const size = Math.max(1, Math.ceil(text.length / n));
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
