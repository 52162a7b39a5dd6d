// The interface every model backend implements (local scripted, OpenAI
// stateless, the stateful runtime), designed for streaming, tool calls,
// usage, cancellation and errors a user can act on.

import type { CompiledBackend, Json } from "../protocol/definition";
import type { Message, ReasoningReplay, ToolCallRequest, ToolSchema, Usage } from "../protocol/events";

export interface ModelRequest {
  /** The agent's model id (agent.model, else backend.model). */
  model?: string;
  messages: Message[];
  tools: ToolSchema[];
  temperature?: number;
  /** Text deltas as they arrive. */
  onText?: (delta: string) => void;
  signal?: AbortSignal;
  /** Identifies the conversation, for backends that keep state (stateful runtime). */
  sessionId?: string;
  /**
   * Structured output (eval judges and simulated users): the reply's text is one JSON value of this
   * schema. OpenAI/Azure send it as `response_format` (chat) or `text.format` (responses), Bedrock as a
   * forced tool whose input is the answer; the local backend plays back its scripted reply.
   */
  responseFormat?: ResponseFormat;
}

export interface ResponseFormat {
  /** [A-Za-z0-9_-], at most 64 characters (the providers' rule for schema and tool names). */
  name: string;
  /** A JSON Schema for strict mode: every property required, no additional properties. */
  schema: Json;
}

export interface ModelResponse {
  text: string;
  toolCalls: ToolCallRequest[];
  usage: Usage;
  /** end_turn, tool_use, max_tokens, content_filter, ... */
  stopReason: string;
  /** The model's reasoning: its summary text (never the reply), tokens, and what to send back within the turn. */
  reasoning?: { summary: string; tokens?: number; replay?: ReasoningReplay };
  /**
   * Bytes of the request as sent on the wire, when the backend knows them;
   * the engine records its own measure of what it sent either way.
   */
  requestBytes?: number;
}

/** One scripted model output: a reply, a tool call, or a handoff. */
export type ScriptStep =
  | { kind: "reply"; text: string }
  | { kind: "call"; tool: string; input: Json }
  | { kind: "handoff"; agent: string };

/** A model that plays back the steps it is given (the local backend), in order, one per model call. */
export interface ScriptedModel {
  enqueue(...steps: ScriptStep[]): void;
  /** Steps not played yet. */
  readonly pending: number;
  /** Drops what is left of the script (a test's next send starts clean). */
  clear(): void;
}

export interface ModelBackend {
  readonly name: string;
  readonly kind: "stateless" | "stateful";
  readonly provider: string;
  /** Present when the backend plays back a script instead of calling a model: tests and --script fill it. */
  readonly scripted?: ScriptedModel;
  complete(request: ModelRequest): Promise<ModelResponse>;
  /** Asks for a summary of `text` (memory.summarize_after). */
  summarize?(text: string, signal?: AbortSignal): Promise<string>;
}

/**
 * Makes the model backend for a backend declaration (backends/index.ts createBackend): injected
 * into the runtime's callers that pick a backend themselves, since the runtime does not import backends.
 */
export type BackendFactory = (spec: CompiledBackend, options: { env: NodeJS.ProcessEnv }) => ModelBackend;

export type BackendErrorCode =
  | "config"
  | "auth"
  | "not_found"
  | "rate_limit"
  | "server"
  | "timeout"
  | "context_length"
  | "stream_cut"
  | "cancelled"
  | "script";

/** A failure a user can act on; `message` says what to do. */
export class BackendError extends Error {
  constructor(
    readonly code: BackendErrorCode,
    message: string,
  ) {
    super(message);
  }
}
