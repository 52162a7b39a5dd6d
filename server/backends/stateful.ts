// The client of a Statecraft runtime service (`kind: stateful`): the service
// keeps each session's memory, context and identity, so a turn sends only
// the session id and the new input (the first one also carries the compiled
// definition). Turns stream back as server-sent events: every committed
// session event, text deltas, then `done` or `error` (sse.ts reads them).
// Two transports carry the same payloads (protocol/runtimeService.ts): plain
// HTTP(S) to `statecraft serve`, the endpoint being its URL
// (statefulTransport.ts), and Amazon Bedrock AgentCore Runtime's
// InvokeAgentRuntime, `endpoint: "agentcore:<runtime ARN>"`, which forwards
// them to the service's `POST /invocations` (statefulAgentCore.ts).

import { randomBytes } from "node:crypto";
import type { Readable } from "node:stream";
import type { CompiledBackend, Json } from "../protocol/definition";
import type { EvalCheck, SessionEvent } from "../protocol/events";
import type {
  ActionBody,
  ErrorBody,
  EventsPage,
  ForkResult,
  SessionDetail,
  SessionList,
  SessionSummary,
  TurnDoneMessage,
  TurnRequest,
  TurnSnapshot,
  TurnTextMessage,
} from "../protocol/runtimeService";
import { BackendError } from "../runtime/model";
import { newSessionId } from "../runtime/sessionLog";
import { parseSse, type SseMessage } from "./sse";
import { AgentCoreTransport } from "./statefulAgentCore";
import { HttpTransport, netReason, type StatefulTransport, type WireResponse } from "./statefulTransport";

/**
 * A session id for a stateful session: sortable like a local one, and long enough for AgentCore
 * Runtime, which wants at least 33 characters ([A-Za-z0-9._-]).
 */
export function newStatefulSessionId(now = new Date()): string {
  return `${newSessionId(now)}-${randomBytes(6).toString("hex")}`;
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

async function readAll(body: AsyncIterable<Uint8Array>): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of body) parts.push(Buffer.from(c));
  return Buffer.concat(parts).toString("utf8");
}

// ---- the client --------------------------------------------------------------------------

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
    const body = parseJson(text) as Partial<ErrorBody> | undefined;
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
        const d = parseJson(m.data) as Partial<TurnTextMessage> | undefined;
        if (typeof d?.delta === "string") h.onText?.(d.delta);
        continue;
      }
      if (m.event === "done") {
        const d = parseJson(m.data) as Partial<TurnDoneMessage> | undefined;
        return { turn: d?.turn ?? turn, status: d?.status ?? "ok", events, bytesSent };
      }
      if (m.event === "error") {
        const d = parseJson(m.data) as Partial<ErrorBody> | undefined;
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

  /** Ends the session on the service (it appends session.end, after `scores` as eval.score events). */
  end(sessionId: string, scores?: EvalCheck[]): Promise<Record<string, Json>> {
    return this.call(sessionId, {
      action: "end",
      ...(scores?.length ? { scores: scores as unknown as Json } : {}),
    });
  }

  events(sessionId: string, after = 0, limit?: number): Promise<EventsPage> {
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
    const r = await this.call<SessionList>(
      undefined,
      { action: "list_sessions" },
      { method: "GET", path: "/sessions" },
    );
    return r.sessions;
  }

  session(sessionId: string): Promise<SessionDetail> {
    return this.call(
      sessionId,
      { action: "get_session" },
      { method: "GET", path: `/sessions/${encodeURIComponent(sessionId)}` },
    );
  }

  fork(sessionId: string, turn: number): Promise<ForkResult> {
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
