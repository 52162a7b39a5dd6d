// Session events as OpenTelemetry spans and metrics, following the GenAI
// semantic conventions: a span per turn (`invoke_agent {agent}`), per model
// call (`chat {model}`) and per tool call (`execute_tool {tool}`), each with
// the recorded events' own timestamps. One mapping for both uses: live, fed
// each event as it is recorded (the CLI's session log, the runtime service's
// commits), and after the fact, fed a recorded log (`statecraft export otel`).
// It uses only @opentelemetry/api: the SDK (exporters, resource, env) is set up
// by the layers that may load it (service/telemetry.ts), and only when an
// endpoint is configured, so an untraced run never reaches this module.

import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Histogram,
  type Span,
  type Tracer,
} from "@opentelemetry/api";
import type {
  ContextSnapshotEvent,
  ModelRequestEvent,
  SessionEvent,
  SessionStartEvent,
} from "../protocol/events";
import type { Provider } from "../protocol/definition";

/** The GenAI client metrics (semantic conventions): histograms the mapping records into. */
export interface GenAiMetrics {
  /** `gen_ai.client.token.usage`, {token}, with `gen_ai.token.type` input or output. */
  tokenUsage: Histogram;
  /** `gen_ai.client.operation.duration`, seconds. */
  operationDuration: Histogram;
}

/** What a session is, for a tracer that does not see its `session.start` (a resumed service session). */
export type SessionInfo = Pick<SessionStartEvent, "sessionId" | "agent" | "backend"> & {
  definition?: SessionStartEvent["definition"];
};

export interface SessionTracerOptions {
  tracer: Tracer;
  metrics?: GenAiMetrics;
  /** Message content on spans (OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true); the events are already redacted. */
  captureContent?: boolean;
  /** The session when its `session.start` is not among the events fed. */
  session?: SessionInfo;
  /** Where the session runs, when it is not what its `session.start` says (the runtime service: stateful). */
  backendKind?: "stateless" | "stateful";
  /** The parent of the turn spans (a caller's span, from a `traceparent` header); else each turn starts a trace. */
  parent?: Context;
}

/** The GenAI semconv `gen_ai.provider.name` of a Statecraft provider. */
export const GENAI_PROVIDER: Record<Provider, string> = {
  openai: "openai",
  azure: "azure.ai.openai",
  // An OpenAI-compatible server is none of the well-known providers: a custom value, as the conventions ask.
  compatible: "openai.compatible",
  bedrock: "aws.bedrock",
  local: "statecraft.local",
};

interface OpenChat {
  span: Span;
  request: ModelRequestEvent;
  model?: string;
  provider: string;
}

interface OpenTool {
  span: Span;
  decision?: string;
}

const at = (e: { ts: string }) => new Date(e.ts);

/**
 * Turns one session's events into spans. Feed every event in order with `onEvent`; `close` ends what
 * an interrupted log left open. A span ends at the event that ends it, with that event's time.
 */
export class SessionTracer {
  private info?: SessionInfo;
  private turnSpan?: Span;
  private turnContext = ROOT_CONTEXT;
  private turnBytes = 0;
  private chat?: OpenChat;
  private snapshot?: ContextSnapshotEvent;
  private readonly tools = new Map<string, OpenTool>();

  constructor(private readonly o: SessionTracerOptions) {
    this.info = o.session;
  }

  private get sessionAttributes(): Attributes {
    return {
      "gen_ai.conversation.id": this.info?.sessionId,
      "statecraft.backend.kind": this.o.backendKind ?? this.info?.backend.kind,
    };
  }

  private providerOf(backendName?: string): string {
    const def = this.info?.definition;
    const provider =
      (backendName && def?.backends[backendName]?.provider) ?? this.info?.backend.provider ?? "local";
    return GENAI_PROVIDER[provider as Provider] ?? provider;
  }

  onEvent(e: SessionEvent): void {
    switch (e.type) {
      case "session.start":
        this.info = e;
        return;
      case "turn.start": {
        this.endTurn(e.ts, "interrupted", "a new turn started before this one ended");
        const name = `invoke_agent ${e.agent}`;
        this.turnSpan = this.o.tracer.startSpan(
          name,
          {
            kind: SpanKind.INTERNAL,
            startTime: at(e),
            attributes: {
              "gen_ai.operation.name": "invoke_agent",
              "gen_ai.agent.name": e.agent,
              "gen_ai.provider.name": this.providerOf(this.info?.backend.name),
              ...(this.info?.backend.model ? { "gen_ai.request.model": this.info.backend.model } : {}),
              ...this.sessionAttributes,
              "statecraft.turn": e.turn,
              ...(this.o.captureContent
                ? { "gen_ai.input.messages": JSON.stringify([textMessage("user", e.input)]) }
                : {}),
            },
          },
          this.o.parent ?? ROOT_CONTEXT,
        );
        this.turnContext = trace.setSpan(this.o.parent ?? ROOT_CONTEXT, this.turnSpan);
        this.turnBytes = 0;
        return;
      }
      case "context.snapshot":
        this.snapshot = e;
        return;
      case "model.request": {
        this.endChat(e.ts, "the model call was followed by another before it answered");
        const model = e.model ?? this.snapshot?.model ?? this.info?.backend.model;
        const provider = this.providerOf(e.backend);
        this.turnBytes += e.bytes;
        const snapshot =
          this.snapshot?.step === e.step && this.snapshot.turn === e.turn ? this.snapshot : undefined;
        const span = this.o.tracer.startSpan(
          model ? `chat ${model}` : "chat",
          {
            kind: SpanKind.CLIENT,
            startTime: at(e),
            attributes: {
              "gen_ai.operation.name": "chat",
              "gen_ai.provider.name": provider,
              ...(model ? { "gen_ai.request.model": model } : {}),
              ...(snapshot?.agent ? { "gen_ai.agent.name": snapshot.agent } : {}),
              ...this.sessionAttributes,
              "statecraft.turn": e.turn,
              "statecraft.step": e.step,
              "statecraft.bytes_sent": e.bytes,
              ...(snapshot ? { "statecraft.context.tokens": snapshot.tokens.total } : {}),
              ...(this.o.captureContent && snapshot
                ? { "gen_ai.input.messages": JSON.stringify(snapshot.messages.map(semconvMessage)) }
                : {}),
            },
          },
          this.turnContext,
        );
        this.chat = { span, request: e, model, provider };
        return;
      }
      case "model.response": {
        const chat = this.chat;
        if (!chat) return;
        this.chat = undefined;
        const finish = e.stopReason ? [e.stopReason] : [];
        chat.span.setAttributes({
          ...(chat.model ? { "gen_ai.response.model": chat.model } : {}),
          "gen_ai.usage.input_tokens": e.usage.inputTokens,
          "gen_ai.usage.output_tokens": e.usage.outputTokens,
          "gen_ai.response.finish_reasons": finish,
          ...(e.wireBytes !== undefined ? { "statecraft.bytes_sent": e.wireBytes } : {}),
          ...(this.o.captureContent
            ? {
                "gen_ai.output.messages": JSON.stringify([
                  semconvMessage({ role: "assistant", content: e.text, toolCalls: e.toolCalls }),
                ]),
              }
            : {}),
        });
        chat.span.end(at(e));
        this.recordModelMetrics(chat, e.ts, { input: e.usage.inputTokens, output: e.usage.outputTokens });
        return;
      }
      case "tool.call": {
        const span = this.o.tracer.startSpan(
          `execute_tool ${e.tool}`,
          {
            kind: SpanKind.INTERNAL,
            startTime: at(e),
            attributes: {
              "gen_ai.operation.name": "execute_tool",
              "gen_ai.tool.name": e.tool,
              "gen_ai.tool.call.id": e.callId,
              "gen_ai.tool.type": "function",
              ...this.sessionAttributes,
              "statecraft.turn": e.turn,
              ...(e.identity ? { "statecraft.identity": e.identity.as } : {}),
              ...(this.o.captureContent ? { "gen_ai.tool.call.arguments": JSON.stringify(e.input) } : {}),
            },
          },
          this.turnContext,
        );
        this.tools.set(e.callId, { span });
        return;
      }
      case "policy.decision": {
        const tool = this.tools.get(e.callId);
        if (!tool) return;
        tool.decision = e.decision;
        tool.span.setAttributes({
          "statecraft.policy.decision": e.decision,
          ...(e.check ? { "statecraft.policy.check": e.check } : {}),
          ...(e.reason ? { "statecraft.policy.reason": e.reason } : {}),
        });
        if (e.decision === "deny")
          this.endTool(e.callId, e.ts, `denied: ${e.reason ?? "by the policy"}`, "denied");
        return;
      }
      case "approval": {
        const tool = this.tools.get(e.callId);
        if (!tool) return;
        tool.span.setAttributes({
          "statecraft.approval": e.approved ? "approved" : "refused",
          "statecraft.approval.by": e.by,
        });
        if (!e.approved) this.endTool(e.callId, e.ts, `the approval was refused by ${e.by}`, "denied");
        return;
      }
      case "tool.result": {
        const tool = this.tools.get(e.callId);
        if (!tool) return;
        tool.span.setAttributes({
          ...(e.origin ? { "statecraft.tool.origin": e.origin } : {}),
          ...(this.o.captureContent && e.ok
            ? { "gen_ai.tool.call.result": JSON.stringify(e.output ?? null) }
            : {}),
        });
        if (e.ok) this.endTool(e.callId, e.ts);
        else this.endTool(e.callId, e.ts, e.error ?? "the tool failed", "tool_error");
        return;
      }
      case "memory.write":
        this.endTool(e.callId, e.ts, e.ok ? undefined : (e.error ?? "the memory write failed"), "tool_error");
        return;
      case "handoff":
        this.tools.get(e.callId)?.span.setAttribute("statecraft.handoff.to", e.to);
        this.endTool(e.callId, e.ts);
        return;
      case "turn.end":
        this.turnSpan?.setAttributes({
          "gen_ai.usage.input_tokens": e.usage.inputTokens,
          "gen_ai.usage.output_tokens": e.usage.outputTokens,
          "statecraft.bytes_sent": this.turnBytes,
          "statecraft.turn.status": e.status,
          ...(e.agent !== this.info?.agent ? { "statecraft.agent.final": e.agent } : {}),
          ...(this.o.captureContent
            ? { "gen_ai.output.messages": JSON.stringify([textMessage("assistant", e.reply)]) }
            : {}),
        });
        this.endTurn(e.ts, e.status, e.reason);
        return;
      default:
        return;
    }
  }

  /** Ends what the events left open (a log cut short), at `ts` (an ISO time), as interrupted. */
  close(ts = new Date().toISOString()): void {
    this.endTurn(ts, "interrupted", "the session log ends inside this turn");
  }

  /** Ends a model call that got no response: it failed, for `reason`. */
  private endChat(ts: string, reason: string): void {
    const chat = this.chat;
    if (!chat) return;
    this.chat = undefined;
    chat.span.setStatus({ code: SpanStatusCode.ERROR, message: reason });
    chat.span.setAttribute("error.type", errorType(reason));
    chat.span.end(new Date(ts));
    this.recordModelMetrics(chat, ts, undefined, errorType(reason));
  }

  private endTool(callId: string, ts: string, error?: string, type = "tool_error"): void {
    const tool = this.tools.get(callId);
    if (!tool) return;
    this.tools.delete(callId);
    if (error) {
      tool.span.setStatus({ code: SpanStatusCode.ERROR, message: error });
      tool.span.setAttribute("error.type", type);
    }
    tool.span.end(new Date(ts));
  }

  private endTurn(ts: string, status: string, reason?: string): void {
    // A model call still open when its turn ends failed (the backend error is the turn's reason).
    this.endChat(ts, reason ?? `the turn ended ${status}`);
    for (const id of [...this.tools.keys()])
      this.endTool(id, ts, reason ?? `the turn ended ${status}`, status);
    const span = this.turnSpan;
    if (!span) return;
    this.turnSpan = undefined;
    this.turnContext = this.o.parent ?? ROOT_CONTEXT;
    if (status === "failed" || status === "interrupted") {
      span.setStatus({ code: SpanStatusCode.ERROR, message: reason ?? status });
      span.setAttribute("error.type", status);
    } else if (reason) span.setAttribute("statecraft.turn.reason", reason);
    span.end(new Date(ts));
  }

  private recordModelMetrics(
    chat: OpenChat,
    ts: string,
    tokens: { input: number; output: number } | undefined,
    error?: string,
  ): void {
    const m = this.o.metrics;
    if (!m) return;
    const attributes: Attributes = {
      "gen_ai.operation.name": "chat",
      "gen_ai.provider.name": chat.provider,
      ...(chat.model ? { "gen_ai.request.model": chat.model, "gen_ai.response.model": chat.model } : {}),
      ...(error ? { "error.type": error } : {}),
    };
    const seconds = Math.max(0, (Date.parse(ts) - Date.parse(chat.request.ts)) / 1000);
    m.operationDuration.record(seconds, attributes);
    if (!tokens) return;
    m.tokenUsage.record(tokens.input, { ...attributes, "gen_ai.token.type": "input" });
    m.tokenUsage.record(tokens.output, { ...attributes, "gen_ai.token.type": "output" });
  }
}

/** A low-cardinality `error.type` for a failed model call: the HTTP status it names, else a class. */
function errorType(reason: string): string {
  const status = /\b([45]\d\d)\b/.exec(reason);
  if (status) return status[1];
  if (/cancel/i.test(reason)) return "cancelled";
  if (/timed? ?out|timeout/i.test(reason)) return "timeout";
  return "_OTHER";
}

function textMessage(role: string, content: string) {
  return { role, parts: [{ type: "text", content }] };
}

/** A chat message in the GenAI conventions' message shape (role + parts). */
function semconvMessage(m: {
  role: string;
  content: string;
  toolCalls?: { id: string; name: string; input: unknown }[];
  toolCallId?: string;
}) {
  if (m.role === "tool")
    return { role: "tool", parts: [{ type: "tool_call_response", id: m.toolCallId, response: m.content }] };
  const parts: unknown[] = m.content ? [{ type: "text", content: m.content }] : [];
  for (const c of m.toolCalls ?? [])
    parts.push({ type: "tool_call", id: c.id, name: c.name, arguments: c.input });
  return { role: m.role, parts };
}
