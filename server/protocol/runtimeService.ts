// The runtime service's HTTP messages (`statecraft serve`, docs/runtime-service.md).
// Written by: the service (server/service) for responses, the stateful client
// (server/backends/stateful*.ts) for requests. Read by: the other side, and the
// Session Explorer's runtime client (client/src/sessions/runtimeClient.ts).
// The same bodies travel over plain HTTP and through AgentCore Runtime's
// `POST /invocations` (as `action` bodies, see ActionBody).

import type { CompiledDefinition, Json } from "./definition";
import type { EvalCheck, EvalSessionTag, SessionEvent, SessionStartEvent, UserInfo } from "./events";

/** The header that names the session of a `POST /invocations` (AgentCore Runtime's own). Sent by the stateful client; read by the service. */
export const SESSION_HEADER = "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id";

/**
 * A scripted model step as a turn request carries it (provider local only); also the format of a
 * `--script` file and a launch configuration's `"script"`. Written by the stateful client and by
 * users; read by the service (service/turns.ts parseScript) and backends/script.ts readScript.
 */
export type WireScriptStep = { reply: string } | { call: string; input: Json } | { handoff: string };

/** `POST /invocations` with the session header: one turn. Written by the stateful client; read by the service. */
export interface TurnRequest {
  input: string;
  /** Required when the session is new; on an existing one its hash must be the session's. */
  definition?: CompiledDefinition;
  user?: UserInfo;
  source?: string;
  script?: WireScriptStep[];
  approve?: "all" | "none" | "ask";
  /** The eval case run a new session is (`statecraft eval`): recorded in its session.start. */
  eval?: EvalSessionTag;
}

/**
 * The `end` action's optional body field: an eval case run's checked criteria, committed as
 * `eval.score` events right before `session.end` (evals.md section 3). Written by the eval runner's
 * stateful sessions; read by the service.
 */
export interface EndBody {
  scores?: EvalCheck[];
}

/**
 * The turn's answer is a text/event-stream: every committed session event (SSE event name = its
 * type, data = the SessionEvent), `text` deltas, then `done` or `error`. Written by the service;
 * read by the stateful client (backends/stateful.ts readTurn).
 */
export interface TurnTextMessage {
  delta: string;
}

/** The `done` message that ends a turn's stream. */
export interface TurnDoneMessage {
  turn: number;
  status: "ok" | "failed" | "stopped" | "interrupted";
  reason?: string;
}

/** Any refusal (with its HTTP status) and a turn stream's `error` message. Written by the service; read by both clients. */
export interface ErrorBody {
  error: { code: string; message: string };
}

/** The backend a session runs on, as the service lists it. */
export interface SessionBackend {
  name: string;
  kind: "stateless" | "stateful";
  provider: string;
  model?: string;
}

/** One session in `GET /sessions`. Written by the service (service/store.ts summary); read by both clients. */
export interface SessionSummary {
  id: string;
  agent: string;
  backend: SessionBackend;
  status: "idle" | "running" | "ended";
  turns: number;
  createdAt: string;
  updatedAt: string;
  user?: UserInfo;
  parent?: { sessionId: string; turn: number };
}

/** `GET /sessions`. */
export interface SessionList {
  sessions: SessionSummary[];
}

/** `GET /sessions/:id`: the summary plus the session's first event. */
export interface SessionDetail extends SessionSummary {
  start?: SessionStartEvent;
}

/** `GET /sessions/:id/events?after=N&limit=M`: a page of events; `next` is the cursor of the next page, null at the end. */
export interface EventsPage {
  events: SessionEvent[];
  next: number | null;
}

/** `GET /sessions/:id/turns/:n/snapshot`: what the model saw at turn n, and the memory after it. */
export interface TurnSnapshot {
  turn: number;
  context: SessionEvent | null;
  memory: Record<string, Json> | null;
}

/** `POST /sessions/:id/fork` answers with the new session; the request body is `{turn}`. */
export interface ForkResult {
  sessionId: string;
  parent: { sessionId: string; turn: number };
}

/** `POST /sessions/:id/approvals/:callId` with `{approved}`. */
export interface ApprovalAnswerBody {
  approved: boolean;
}

/**
 * What AgentCore Runtime forwards for the calls it has no route for: `POST /invocations` with
 * `{"action": "list_sessions" | "get_session" | "events" | "snapshot" | "fork" | "approve" | "end" | "delete", ...}`.
 */
export interface ActionBody {
  action: string;
  [k: string]: Json | undefined;
}

// ---- the token vault (connections.md section 4) -------------------------------------------------

/** `PUT /users/{userId}/tokens/{name}`: store (or replace) a user's delegated token for this actor. */
export interface UserTokenPut {
  token: string;
  /** ISO 8601; after it the token is not used (the call fails as if the user had not connected). */
  expires_at?: string;
}

/** A stored token as the service shows it: never its value. */
export interface UserTokenInfo {
  name: string;
  expires_at: string | null;
  updated_at: string;
}

/** `GET /users/{userId}/tokens`. */
export interface UserTokenList {
  user: string;
  tokens: UserTokenInfo[];
}
