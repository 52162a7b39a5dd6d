// The provider-neutral messages and tool schemas of the engine, in the wire
// shapes of the two OpenAI APIs (Chat Completions and Responses), and the
// assembly of their streamed replies into one ModelResponse.

import type OpenAI from "openai";
import type { Json } from "../language/compile";
import type { Message, ReasoningReplay, ToolCallRequest, ToolSchema, Usage } from "../protocol/events";

type ChatMessage = OpenAI.Chat.Completions.ChatCompletionMessageParam;
type ChatTool = OpenAI.Chat.Completions.ChatCompletionFunctionTool;
type ChatChunk = OpenAI.Chat.Completions.ChatCompletionChunk;
type InputItem = OpenAI.Responses.ResponseInputItem;
type ResponseTool = OpenAI.Responses.FunctionTool;
type ResponseEvent = OpenAI.Responses.ResponseStreamEvent;

// History messages and tool lists never change once made: convert each once.
const chatMemo = new WeakMap<Message, ChatMessage>();
const inputMemo = new WeakMap<Message, InputItem[]>();
const chatToolsMemo = new WeakMap<ToolSchema[], ChatTool[]>();
const responseToolsMemo = new WeakMap<ToolSchema[], ResponseTool[]>();

function toChatMessage(m: Message): ChatMessage {
  switch (m.role) {
    case "system":
    case "user":
      return { role: m.role, content: m.content };
    case "assistant":
      return m.toolCalls?.length
        ? {
            role: "assistant",
            // Chat Completions wants null rather than "" beside tool calls.
            content: m.content || null,
            tool_calls: m.toolCalls.map((c) => ({
              id: c.id,
              type: "function" as const,
              function: { name: c.name, arguments: JSON.stringify(c.input) },
            })),
          }
        : { role: "assistant", content: m.content };
    case "tool":
      return { role: "tool", tool_call_id: m.toolCallId, content: m.content };
  }
}

export function chatMessages(messages: Message[]): ChatMessage[] {
  return messages.map((m) => {
    let c = chatMemo.get(m);
    if (!c) chatMemo.set(m, (c = toChatMessage(m)));
    return c;
  });
}

export function chatTools(tools: ToolSchema[]): ChatTool[] {
  let t = chatToolsMemo.get(tools);
  if (!t)
    chatToolsMemo.set(
      tools,
      (t = tools.map((s) => ({
        type: "function",
        function: {
          name: s.name,
          description: s.description,
          parameters: s.parameters as Record<string, unknown>,
        },
      }))),
    );
  return t;
}

function toInputItems(m: Message): InputItem[] {
  switch (m.role) {
    case "system":
    case "user":
      return [{ role: m.role, content: m.content }];
    case "assistant": {
      const items: InputItem[] = [];
      // The reasoning items of this turn go back first, as they came: with store: false the next call of a
      // tool turn needs them (encrypted_content) to go on reasoning where it stopped.
      if (m.reasoning?.provider === "openai") items.push(...(m.reasoning.items as unknown as InputItem[]));
      if (m.content) items.push({ role: "assistant", content: m.content });
      for (const c of m.toolCalls ?? [])
        items.push({
          type: "function_call",
          call_id: c.id,
          name: c.name,
          arguments: JSON.stringify(c.input),
        });
      return items;
    }
    case "tool":
      return [{ type: "function_call_output", call_id: m.toolCallId, output: m.content }];
  }
}

/** The whole conversation as Responses API input items (store: false keeps nothing server-side). */
export function responseInput(messages: Message[]): InputItem[] {
  const out: InputItem[] = [];
  for (const m of messages) {
    let items = inputMemo.get(m);
    if (!items) inputMemo.set(m, (items = toInputItems(m)));
    out.push(...items);
  }
  return out;
}

export function responseTools(tools: ToolSchema[]): ResponseTool[] {
  let t = responseToolsMemo.get(tools);
  if (!t)
    responseToolsMemo.set(
      tools,
      (t = tools.map((s) => ({
        type: "function",
        name: s.name,
        description: s.description,
        parameters: s.parameters as Record<string, unknown>,
        // The compiled schemas are plain JSON Schema, not necessarily strict-mode compatible.
        strict: false,
      }))),
    );
  return t;
}

/** Tool-call arguments as JSON; text that is not JSON is passed on as a string, so validation reports it. */
export function parseArguments(args: string): Json {
  if (!args.trim()) return {};
  try {
    return JSON.parse(args) as Json;
  } catch {
    return args;
  }
}

const CHAT_STOP: Record<string, string> = {
  stop: "end_turn",
  tool_calls: "tool_use",
  function_call: "tool_use",
  length: "max_tokens",
  content_filter: "content_filter",
};

/** What a stream has delivered so far; `complete` once its terminal event arrived. */
export interface Assembled {
  text: string;
  toolCalls: ToolCallRequest[];
  usage?: Usage;
  /** Reasoning summary text, reasoning tokens, and the items to send back (Responses). */
  reasoning?: { summary: string; tokens?: number; replay?: ReasoningReplay };
  stopReason?: string;
  /** Events (chunks) received. */
  events: number;
  complete: boolean;
}

/** Folds Chat Completions chunks: text deltas, tool-call argument deltas by index, the usage chunk. */
export class ChatAssembler {
  readonly state: Assembled = { text: "", toolCalls: [], events: 0, complete: false };
  private readonly calls: { id: string; name: string; args: string }[] = [];

  /** Returns the text delta of this chunk, if any. */
  add(chunk: ChatChunk): string | undefined {
    const s = this.state;
    s.events++;
    if (chunk.usage) {
      s.usage = { inputTokens: chunk.usage.prompt_tokens, outputTokens: chunk.usage.completion_tokens };
      const tokens = chunk.usage.completion_tokens_details?.reasoning_tokens;
      if (tokens) s.reasoning = { summary: s.reasoning?.summary ?? "", tokens };
    }
    const choice = chunk.choices?.[0];
    if (!choice) return undefined;
    const d = choice.delta;
    for (const tc of d?.tool_calls ?? []) {
      const slot = (this.calls[tc.index] ??= { id: "", name: "", args: "" });
      if (tc.id) slot.id = tc.id;
      if (tc.function?.name) slot.name += tc.function.name;
      if (tc.function?.arguments) slot.args += tc.function.arguments;
    }
    if (choice.finish_reason) {
      s.stopReason = CHAT_STOP[choice.finish_reason] ?? choice.finish_reason;
      s.complete = true;
    }
    if (d?.content) {
      s.text += d.content;
      return d.content;
    }
    return undefined;
  }

  finish(): Assembled {
    this.state.toolCalls = this.calls
      .filter((c) => c !== undefined)
      .map((c, i) => ({ id: c.id || `call_${i}`, name: c.name, input: parseArguments(c.args) }));
    return this.state;
  }
}

/** Folds Responses API stream events, up to response.completed / incomplete / failed. */
export class ResponsesAssembler {
  readonly state: Assembled = { text: "", toolCalls: [], events: 0, complete: false };
  /** Function calls by output index. */
  private readonly calls = new Map<number, { id: string; name: string; args: string }>();
  failure: { code?: string | null; message: string } | undefined;
  private readonly reasoningItems: OpenAI.Responses.ResponseReasoningItem[] = [];

  add(event: ResponseEvent): string | undefined {
    const s = this.state;
    s.events++;
    switch (event.type) {
      case "response.output_text.delta":
        s.text += event.delta;
        return event.delta;
      case "response.output_item.added":
        if (event.item.type === "function_call")
          this.calls.set(event.output_index, {
            id: event.item.call_id,
            name: event.item.name,
            args: event.item.arguments ?? "",
          });
        return undefined;
      case "response.function_call_arguments.delta": {
        const c = this.calls.get(event.output_index);
        if (c) c.args += event.delta;
        return undefined;
      }
      case "response.function_call_arguments.done": {
        const c = this.calls.get(event.output_index);
        if (c) c.args = event.arguments;
        return undefined;
      }
      case "response.output_item.done":
        // Never part of the reply text: kept aside, recorded, and sent back within the turn.
        if (event.item.type === "reasoning") this.reasoningItems.push(event.item);
        if (event.item.type === "function_call")
          this.calls.set(event.output_index, {
            id: event.item.call_id,
            name: event.item.name,
            args: event.item.arguments,
          });
        return undefined;
      case "response.completed":
      case "response.incomplete": {
        const r = event.response;
        if (r.usage) s.usage = { inputTokens: r.usage.input_tokens, outputTokens: r.usage.output_tokens };
        const tokens = r.usage?.output_tokens_details?.reasoning_tokens;
        if (this.reasoningItems.length || tokens)
          s.reasoning = {
            summary: this.reasoningItems.flatMap((i) => i.summary.map((p) => p.text)).join("\n\n"),
            ...(tokens ? { tokens } : {}),
            ...(this.reasoningItems.length
              ? {
                  replay: {
                    provider: "openai" as const,
                    items: this.reasoningItems.map((i) => ({
                      type: "reasoning",
                      id: i.id,
                      summary: i.summary.map((p) => ({ type: "summary_text", text: p.text })),
                      ...(i.encrypted_content ? { encrypted_content: i.encrypted_content } : {}),
                    })),
                  },
                }
              : {}),
          };
        const reason = r.incomplete_details?.reason;
        s.stopReason =
          event.type === "response.incomplete"
            ? reason === "max_output_tokens"
              ? "max_tokens"
              : (reason ?? "incomplete")
            : this.calls.size
              ? "tool_use"
              : "end_turn";
        s.complete = true;
        return undefined;
      }
      case "response.failed":
        this.failure = {
          code: event.response.error?.code,
          message: event.response.error?.message ?? "the response failed",
        };
        return undefined;
      case "error":
        this.failure = { code: event.code, message: event.message };
        return undefined;
      default:
        return undefined;
    }
  }

  finish(): Assembled {
    this.state.toolCalls = [...this.calls.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([, c]) => ({ id: c.id, name: c.name, input: parseArguments(c.args) }));
    return this.state;
  }
}
