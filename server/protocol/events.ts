// The session log's event schema: the contract between the engine, the
// Session Explorer, replay, the runtime service and tests. Plain JSON; one
// event per line in `.statecraft/sessions/<id>.jsonl`.
// Written by: the engine (runtime/engine.ts) through a log writer, and the
// stateful client mirroring what the runtime service streams
// (backends/statefulSession.ts). Read by: the Session Explorer
// (client/src/sessions), replay and fork (runtime/replay.ts, cli/), the
// debugger, the runtime service's store and event endpoints, and tests.

import type { CompiledDefinition, Json, JsonSchema } from "./definition";

export const LOG_FORMAT = 1;

export type Role = "system" | "user" | "assistant" | "tool";

export interface ToolCallRequest {
  id: string;
  name: string;
  input: Json;
}

/**
 * A model's reasoning in its provider's own form (OpenAI reasoning items with `encrypted_content`, Bedrock
 * `reasoningContent` blocks with their signature), kept with the reply it came with and sent back unchanged
 * on the next calls of the same turn; a backend of another provider leaves it out.
 */
export interface ReasoningReplay {
  provider: "openai" | "bedrock";
  items: Json[];
}

/** A provider-neutral chat message, as the engine sends it to a backend. */
export type Message =
  | { role: "system"; content: string }
  | { role: "user"; content: string }
  | { role: "assistant"; content: string; toolCalls?: ToolCallRequest[]; reasoning?: ReasoningReplay }
  | { role: "tool"; toolCallId: string; name: string; content: string; isError?: boolean };

export interface ToolSchema {
  name: string;
  description: string;
  parameters: JsonSchema;
}

export interface Usage {
  inputTokens: number;
  outputTokens: number;
}

export interface TokenSections {
  instructions: number;
  context: number;
  memory: number;
  history: number;
  tools: number;
  total: number;
  /** False when a section was estimated rather than counted with the model's tokenizer. */
  exact: boolean;
}

export interface UserInfo {
  id: string;
  name?: string;
}

interface Base {
  /** 1-based position in the log. */
  seq: number;
  /** ISO time the event happened. */
  ts: string;
}

interface TurnBase extends Base {
  turn: number;
}

export interface SessionStartEvent extends Base {
  type: "session.start";
  format: number;
  sessionId: string;
  agent: string;
  backend: { name: string; kind: "stateless" | "stateful"; provider: string; model?: string };
  definition: CompiledDefinition;
  hash: string;
  user?: UserInfo;
  /** Where the agent file lives, relative to the workspace (for replay and the explorer). */
  source?: string;
  /** A fork's origin. */
  parent?: { sessionId: string; turn: number };
  /** The test this session ran, when it ran one. */
  test?: string;
  /** The eval case run this session is (evals.md section 3): set by the eval runner. */
  eval?: EvalSessionTag;
  /** Memory values the session started from (stored user/agent memory, or a fork's). */
  memory?: Record<string, Json>;
  /**
   * Where a stateful session's state lives: the runtime service's endpoint (a URL, `agentcore:<ARN>`,
   * or `embedded:<data dir>`). Set on the client's copy of the log; never holds a token.
   */
  runtime?: { endpoint: string };
}

export interface TurnStartEvent extends TurnBase {
  type: "turn.start";
  agent: string;
  input: string;
}

export interface ContextSnapshotEvent extends TurnBase {
  type: "context.snapshot";
  /** The model call within the turn (0, 1, ...): each call has its own snapshot. */
  step: number;
  agent: string;
  model?: string;
  messages: Message[];
  tools: ToolSchema[];
  tokens: TokenSections;
  /** Bytes of the request the client sent for this call. */
  bytes: number;
  contextWindow?: number;
}

export interface ModelRequestEvent extends TurnBase {
  type: "model.request";
  step: number;
  backend: string;
  model?: string;
  bytes: number;
}

export interface ModelResponseEvent extends TurnBase {
  type: "model.response";
  step: number;
  text: string;
  toolCalls: ToolCallRequest[];
  usage: Usage;
  latencyMs: number;
  stopReason: string;
  /** What the model reasoned before this reply (its summary, as the provider gives it) and the tokens it took. */
  reasoning?: { summary: string; tokens?: number };
  /**
   * Bytes of the request body as the backend put it on the wire (the provider's format), when the
   * backend knows them; the context snapshot's `bytes` is the engine's own measure of the same call.
   */
  wireBytes?: number;
}

export interface ToolCallEvent extends TurnBase {
  type: "tool.call";
  callId: string;
  tool: string;
  input: Json;
  /** Which identity the call used when it went through a connection (connections.md section 4); never the credential. */
  identity?: CallIdentity;
}

/** The identity a tool call on a connection used: the end user's delegated token, or the agent's own credentials. */
export interface CallIdentity {
  as: "user" | "service";
  connection: string;
  /** The end user's id, when the call acted for the user. */
  user?: string;
}

export interface PolicyDecisionEvent extends TurnBase {
  type: "policy.decision";
  callId: string;
  tool: string;
  decision: "allow" | "deny" | "approval";
  /** Which check decided: scope, deny, limit, approval, unknown-tool. */
  check?: string;
  reason?: string;
}

export interface ApprovalEvent extends TurnBase {
  type: "approval";
  callId: string;
  tool: string;
  approved: boolean;
  by: string;
}

export interface ToolResultEvent extends TurnBase {
  type: "tool.result";
  callId: string;
  tool: string;
  ok: boolean;
  output?: Json;
  error?: string;
  latencyMs: number;
  /** `mock` when a test supplied the result, `replay` when it came from a recording. */
  origin?: "run" | "mock" | "replay";
}

export interface MemoryWriteEvent extends TurnBase {
  type: "memory.write";
  callId: string;
  memory: string;
  field: string;
  value: Json;
  ok: boolean;
  error?: string;
}

export interface MemorySnapshotEvent extends TurnBase {
  type: "memory.snapshot";
  memory?: string;
  scope?: string;
  values: Record<string, Json>;
  /** The summary of older turns, once summarize_after has folded them. */
  summary?: string;
}

export interface HandoffEvent extends TurnBase {
  type: "handoff";
  from: string;
  to: string;
  callId: string;
}

export interface TurnEndEvent extends TurnBase {
  type: "turn.end";
  agent: string;
  reply: string;
  /** The messages this turn added to the conversation (what a fork restores). */
  messages: Message[];
  status: "ok" | "failed" | "stopped" | "interrupted";
  reason?: string;
  usage: Usage;
}

/** A change made by hand while the session was paused (the debugger's setVariable), applied before the step ran. */
export interface ManualEditEvent extends TurnBase {
  type: "manual.edit";
  /** `tool.input`: a field of a pending tool call's input; `memory`: a field of the agent's memory. */
  target: "tool.input" | "memory";
  callId?: string;
  tool?: string;
  memory?: string;
  /** The field's path, dotted (`amount`, `items.0.quantity`). */
  field: string;
  before: Json | undefined;
  after: Json;
  by: "debugger";
}

/** Marks a session as one case run of an eval (evals.md section 3). */
export interface EvalSessionTag {
  /** The eval run's id (`.statecraft/evals/<run>.json`). */
  run: string;
  eval: string;
  case: string;
  /** 1-based. */
  trial: number;
  /** The backend the case ran on. */
  backend: string;
}

/**
 * One criterion of an eval case, checked after the case's last turn and written before `session.end`
 * (evals.md section 3). The same object, without seq/ts/type, is a check of the run's JSON.
 */
export interface EvalScoreEvent extends Base, EvalCheck {
  type: "eval.score";
}

export interface EvalCheck {
  /** The criterion as written (`judge "Polite..."`, `expect tool refund called`, `trajectory [a, b] in_order`). */
  criterion: string;
  kind: "judge" | "score" | "expect" | "trajectory";
  /** 0..1, for judge and score criteria (and trajectory: its recall). */
  score?: number;
  /** The threshold the score had to reach (`at_least`). */
  threshold?: number;
  passed: boolean;
  /** One sentence: the judge's reason, the scorer's, or what an expect saw. */
  reason: string;
  /** Trajectory: of the tools called, the share the list names; of the tools listed, the share called. */
  precision?: number;
  recall?: number;
  judgeBackend?: string;
  /** Tokens of the judge call(s) for this criterion: counted in the run's judgeUsage, never the agent's. */
  usage?: Usage;
  /** Where the criterion is written: the .agent file or the dataset (relative to the eval's folder), 1-based line. */
  file?: string;
  line?: number;
}

export interface SessionEndEvent extends Base {
  type: "session.end";
  status: "ok" | "failed" | "stopped";
  reason?: string;
  turns: number;
  usage: Usage;
}

export type SessionEvent =
  | SessionStartEvent
  | TurnStartEvent
  | ContextSnapshotEvent
  | ModelRequestEvent
  | ModelResponseEvent
  | ToolCallEvent
  | PolicyDecisionEvent
  | ApprovalEvent
  | ToolResultEvent
  | MemoryWriteEvent
  | MemorySnapshotEvent
  | HandoffEvent
  | TurnEndEvent
  | ManualEditEvent
  | EvalScoreEvent
  | SessionEndEvent;

export type EventType = SessionEvent["type"];

/** An event before the log numbers and stamps it. */
export type NewEvent = SessionEvent extends infer E
  ? E extends SessionEvent
    ? Omit<E, "seq" | "ts">
    : never
  : never;
