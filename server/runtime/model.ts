// The interface every model backend implements (local scripted, OpenAI
// stateless, the stateful runtime), designed for streaming, tool calls,
// usage, cancellation and errors a user can act on.

import type { Message, ReasoningReplay, ToolCallRequest, ToolSchema, Usage } from "./events";

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

export interface ModelBackend {
  readonly name: string;
  readonly kind: "stateless" | "stateful";
  readonly provider: string;
  complete(request: ModelRequest): Promise<ModelResponse>;
  /** Asks for a summary of `text` (memory.summarize_after). */
  summarize?(text: string, signal?: AbortSignal): Promise<string>;
}

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
