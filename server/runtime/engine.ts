// The agent engine: one session of a compiled definition on one backend.
// Each turn assembles the context, calls the model, runs the tool calls it
// asks for through the policy, applies memory writes and handoffs, and loops
// until the model replies; every step is appended to the session log as it
// happens. Backends, tools, approvals and storage are injected.

import * as fs from "node:fs";
import * as path from "node:path";
import { resolveModel, type ModelInfo } from "../language/catalog";
import type { CompiledAgent, CompiledDefinition, CompiledMemory, Json, SourceIR } from "../language/compile";
import { countTokensForModel } from "../language/tokenCount";
import type {
  CallIdentity,
  EvalCheck,
  EvalSessionTag,
  ManualEditEvent,
  Message,
  SessionEvent,
  TokenSections,
  ToolCallRequest,
  ToolSchema,
  Usage,
  UserInfo,
} from "../protocol/events";
import { LOG_FORMAT } from "../protocol/events";
import { HANDOFF_PREFIX, MEMORY_TOOL } from "../protocol/names";
import { validateJson, zeroValue } from "./jsonSchema";
import { callIdentity, Connections, type UserTokens } from "./connections";
import type { MemoryStore } from "./memoryStore";
import type { OAuthTokens } from "./oauth";
import { BackendError, type ModelBackend } from "./model";
import { decide } from "./policy";
import { envCallName, Redactor, runSecrets, type Environment } from "./secrets";
import type { EventSink } from "./sessionLog";
import { renderTemplate } from "./templates";
import { runTool, type McpCaller, type ToolOutcome } from "./tools";

const tokenMemo = new WeakMap<object, { encoding: string; tokens: number }>();
const toolSchemaCache = new WeakMap<CompiledDefinition, Map<string, ToolSchema[]>>();

/**
 * Token count of a value that never changes once made (a history message,
 * an agent's tool schemas), counted once per tokenizer: contexts are
 * re-assembled on every model call, mostly from the same messages.
 */
export function memoTokens(key: object, text: () => string, info: ModelInfo | undefined): number {
  const encoding = info?.tokenizer ?? "estimate";
  const hit = tokenMemo.get(key);
  if (hit && hit.encoding === encoding) return hit.tokens;
  const tokens = countTokensForModel(text(), info).tokens;
  tokenMemo.set(key, { encoding, tokens });
  return tokens;
}
/** Model calls in one turn before the engine stops a runaway tool loop. */
export const MAX_STEPS_PER_TURN = 32;

export interface ApprovalRequest {
  callId: string;
  tool: string;
  input: Json;
  reason: string;
}

/** An approval answered by someone other than the session's user (a service timeout, another actor). */
export interface ApprovalAnswer {
  approved: boolean;
  by: string;
}

/** Supplies mocked tool results (tests): undefined means "run the tool for real". */
export type MockProvider = (tool: string, input: Json, callId: string) => ToolOutcome | undefined;

export interface EngineHooks {
  /** Awaited after every event is recorded: the debugger pauses here. */
  afterEvent?: (event: SessionEvent, session: AgentSession) => Promise<void> | void;
  /** May replace a tool call's input right before it runs (the debugger's edit of a pending call). */
  beforeToolRun?: (
    call: ToolCallRequest,
    session: AgentSession,
  ) => Promise<Json | undefined> | Json | undefined;
  /** May replace the value of a `remember` write right before it is checked and applied (the debugger). */
  beforeMemoryWrite?: (
    write: MemoryWriteRequest,
    session: AgentSession,
  ) => Promise<Json | undefined> | Json | undefined;
  /** Awaited when the engine stops a turn itself: a limit reached, or a failed model call. */
  onStop?: (stop: EngineStop, session: AgentSession) => Promise<void> | void;
}

export interface MemoryWriteRequest {
  callId: string;
  memory: string;
  field: string;
  value: Json;
}

export interface EngineStop {
  kind: "limit" | "error";
  reason: string;
}

export interface EngineOptions {
  definition: CompiledDefinition;
  /** Folder the definition's relative paths (commands, file contexts) start from. */
  baseDir: string;
  backend: ModelBackend;
  /** The name of the backend declaration used (for the log). */
  backendName: string;
  sink: EventSink;
  sessionId: string;
  user?: UserInfo;
  /** Answers an approval request: yes or no (by the session's user), or who answered and how. */
  approver?: (request: ApprovalRequest) => Promise<boolean | ApprovalAnswer>;
  mocks?: MockProvider;
  /**
   * The run's environment (default process.env): what env(...) in vars and tool `env { }` reads. Every
   * value the run reads through env(...), and the backends' credentials, are replaced by `[secret:NAME]`
   * in every event before it is recorded and in memory before it is stored.
   */
  env?: Environment;
  /** How a mocked result is logged: `mock` (a test's, the default) or `replay` (taken from a recording). */
  mockOrigin?: "mock" | "replay";
  memoryStore?: MemoryStore;
  mcp?: McpCaller;
  /**
   * The end users' tokens for `user_token(...)` connections: by default the environment's
   * `STATECRAFT_USER_TOKEN_<NAME>`; the runtime service resolves them from its vault.
   */
  userTokens?: UserTokens;
  /** OAuth access tokens: by default cached for this session only; a service may share one cache. */
  oauth?: OAuthTokens;
  onText?: (delta: string) => void;
  signal?: AbortSignal;
  trusted?: boolean;
  hooks?: EngineHooks;
  /** The agent file relative to the workspace, recorded for replay. */
  source?: string;
  parent?: { sessionId: string; turn: number };
  test?: string;
  /** The eval case run this session is (evals.md section 3): recorded in session.start. */
  eval?: EvalSessionTag;
  /** State to start from (a fork). */
  restore?: {
    history: Message[][];
    memory: Record<string, Json>;
    agent: string;
    turn: number;
    summary?: string;
  };
}

export interface ToolActivity {
  callId: string;
  tool: string;
  input: Json;
  status: "ran" | "failed" | "denied";
  output?: Json;
  error?: string;
}

export interface TurnResult {
  turn: number;
  reply: string;
  status: "ok" | "failed" | "stopped";
  reason?: string;
  agent: string;
  tools: ToolActivity[];
  handoffs: string[];
  usage: Usage;
}

const zeroUsage = (): Usage => ({ inputTokens: 0, outputTokens: 0 });

export class AgentSession {
  readonly definition: CompiledDefinition;
  activeAgent: string;
  turn = 0;
  readonly usage: Usage = zeroUsage();
  toolCalls = 0;
  /** Completed turns, each as the messages it added to the conversation. */
  readonly history: Message[][] = [];
  summary: string | undefined;
  memory: Record<string, Json> = {};
  private readonly contextCache = new Map<string, string>();
  /** The values of memories of agents handed away from, by memory name. */
  private readonly parkedMemory = new Map<string, Record<string, Json>>();
  private ended = false;
  /** The messages of the turn in progress, and the last context the model saw. */
  current: Message[] = [];
  lastContext: { messages: Message[]; tools: ToolSchema[]; tokens: TokenSections } | undefined;

  private readonly env: Environment;
  private readonly redactor: Redactor;
  /** The run's connections: opened on first use, closed by release(). */
  private readonly connections: Connections;

  private constructor(readonly options: EngineOptions) {
    this.definition = options.definition;
    this.env = options.env ?? process.env;
    this.redactor = new Redactor(runSecrets(options.definition, this.env));
    this.connections = new Connections({
      definition: options.definition,
      baseDir: options.baseDir,
      env: this.env,
      user: options.user,
      userTokens: options.userTokens,
      oauth: options.oauth,
      onSecret: (secret) => this.redactor.add(secret),
    });
    this.activeAgent = options.restore?.agent ?? options.definition.agent;
  }

  static async start(options: EngineOptions): Promise<AgentSession> {
    const s = new AgentSession(options);
    const def = options.definition;
    const backend = def.backends[def.agents[def.agent].backend];
    if (options.restore) {
      s.history.push(...options.restore.history);
      s.memory = structuredClone(options.restore.memory);
      s.turn = options.restore.turn;
      s.summary = options.restore.summary;
    } else s.memory = s.initialMemory(s.agent());
    await s.record({
      type: "session.start",
      format: LOG_FORMAT,
      sessionId: options.sessionId,
      agent: def.agent,
      backend: {
        name: options.backendName,
        kind: options.backend.kind,
        provider: options.backend.provider,
        model: def.agents[def.agent].model ?? backend?.model,
      },
      definition: def,
      hash: def.hash,
      user: options.user,
      source: options.source,
      parent: options.parent,
      test: options.test,
      ...(options.eval ? { eval: options.eval } : {}),
      memory: structuredClone(s.memory),
    });
    return s;
  }

  get sessionId(): string {
    return this.options.sessionId;
  }

  agent(name = this.activeAgent): CompiledAgent {
    const a = this.definition.agents[name];
    if (!a) throw new Error(`agent '${name}' is not in the compiled definition`);
    return a;
  }

  memorySpec(agent = this.agent()): CompiledMemory | undefined {
    return agent.memory ? this.definition.memories[agent.memory] : undefined;
  }

  /**
   * An agent's memory values: the live ones when it shares the active agent's memory, else as
   * they were left when the session handed off from it (or its initial values if it never ran).
   */
  memoryOf(agent: string): Record<string, Json> {
    const spec = this.memorySpec(this.agent(agent));
    if (!spec) return {};
    if (spec.name === this.memorySpec()?.name) return this.memory;
    return this.parkedMemory.get(spec.name) ?? this.initialMemory(this.agent(agent));
  }

  private memoryOwner(spec: CompiledMemory): string | undefined {
    if (spec.scope === "user") return `user:${this.options.user?.id ?? "anonymous"}`;
    if (spec.scope === "agent") return `agent:${this.definition.agent}`;
    return undefined;
  }

  private initialMemory(agent: CompiledAgent): Record<string, Json> {
    const spec = this.memorySpec(agent);
    if (!spec) return {};
    const values: Record<string, Json> = {};
    for (const [name, f] of Object.entries(spec.fields)) if (!f.optional) values[name] = zeroValue(f.schema);
    const owner = this.memoryOwner(spec);
    const stored = owner ? this.options.memoryStore?.load(spec.name, owner) : undefined;
    if (stored) for (const [k, v] of Object.entries(stored)) if (k in spec.fields) values[k] = v;
    return values;
  }

  private async record(event: Parameters<EventSink["append"]>[0]): Promise<SessionEvent> {
    const full = this.options.sink.append(this.redactor.json(event));
    await this.options.hooks?.afterEvent?.(full, this);
    return full;
  }

  private modelInfo(agent: CompiledAgent): { info: ModelInfo | undefined; model?: string; window?: number } {
    const backend = this.definition.backends[agent.backend];
    const model = agent.model ?? backend?.model;
    const info = resolveModel(backend?.provider ?? "local", model);
    return { info, model, window: backend?.contextWindow ?? info?.contextWindow };
  }

  // ---- context ------------------------------------------------------------------

  private async readSource(from: SourceIR): Promise<string> {
    switch (from.kind) {
      case "file":
        return fs.readFileSync(path.resolve(this.options.baseDir, from.path), "utf8");
      case "text":
        return from.text;
      default: {
        const fakeTool = {
          name: "context",
          description: "",
          parameters: {},
          run: from,
          requires: [],
          source: { file: "", line: 0 },
        };
        const out = await runTool(fakeTool, {}, this.toolContext(), this.options.mcp);
        if (!out.ok) throw new Error(out.error);
        return typeof out.output === "string" ? out.output : JSON.stringify(out.output, null, 2);
      }
    }
  }

  private async contextText(name: string, info: ModelInfo | undefined): Promise<string> {
    const spec = this.definition.contexts[name];
    if (!spec) return "";
    const key = spec.refresh === "per_turn" ? `${name}@${this.turn}` : name;
    const cached = this.contextCache.get(key);
    if (cached !== undefined) return cached;
    let text: string;
    try {
      text = await this.readSource(spec.from);
    } catch (err) {
      text = `[context '${name}' could not be read: ${(err as Error).message}]`;
    }
    // What the model sees is redacted as it is recorded (a context read through a connection).
    text = this.redactor.text(text);
    if (spec.maxTokens !== undefined) text = truncateToTokens(text, spec.maxTokens, info);
    this.contextCache.set(key, text);
    return text;
  }

  private readonly varsCache = new Map<string, Record<string, Json>>();

  /** An agent's vars with each `env("NAME")` read from the run's environment (a secret of the run). */
  private vars(agent: CompiledAgent): Record<string, Json> {
    let vars = this.varsCache.get(agent.name);
    if (!vars) {
      vars = {};
      for (const [k, v] of Object.entries(agent.vars)) {
        const name = envCallName(v);
        vars[k] = name === undefined ? v : (this.env[name] ?? "");
      }
      this.varsCache.set(agent.name, vars);
    }
    return vars;
  }

  private templateScope(agent: CompiledAgent): Record<string, unknown> {
    return {
      vars: this.vars(agent),
      memory: this.memory,
      user: { id: this.options.user?.id ?? "", name: this.options.user?.name ?? "" },
      session: { id: this.sessionId, turn: this.turn },
    };
  }

  /**
   * The tools offered to an agent: fixed by the definition, so built once per definition and agent
   * (a service runs many sessions and turns of one definition object), and never changed after:
   * what is counted of them (tokens, bytes) is counted once.
   */
  toolSchemas(agent: CompiledAgent): ToolSchema[] {
    let byAgent = toolSchemaCache.get(this.definition);
    if (!byAgent) toolSchemaCache.set(this.definition, (byAgent = new Map()));
    let tools = byAgent.get(agent.name);
    if (!tools) byAgent.set(agent.name, (tools = this.buildToolSchemas(agent)));
    return tools;
  }

  private buildToolSchemas(agent: CompiledAgent): ToolSchema[] {
    const tools: ToolSchema[] = agent.tools
      .map((t) => this.definition.tools[t])
      .filter((t) => t !== undefined)
      .map((t) => ({ name: t.name, description: t.description, parameters: t.parameters }));
    const mem = this.memorySpec(agent);
    if (mem && Object.keys(mem.fields).length) {
      tools.push({
        name: MEMORY_TOOL,
        description: `Remember a fact in the agent's memory '${mem.name}': set one field to a value.`,
        parameters: {
          type: "object",
          properties: {
            field: { type: "string", enum: Object.keys(mem.fields) },
            value: { description: "The new value, of the field's type." },
          },
          required: ["field", "value"],
          additionalProperties: false,
        },
      });
    }
    for (const h of agent.handoffs) {
      const target = this.definition.agents[h];
      tools.push({
        name: `${HANDOFF_PREFIX}${h}`,
        description: `Transfer the conversation to the ${h} agent${target?.description ? `: ${target.description}` : ""}.`,
        parameters: { type: "object", properties: {}, required: [], additionalProperties: false },
      });
    }
    return tools;
  }

  /** The exact messages and tools the model will see for the next call, with tokens per section. */
  async assembleContext(): Promise<{
    messages: Message[];
    tools: ToolSchema[];
    tokens: TokenSections;
    model?: string;
    window?: number;
  }> {
    const agent = this.agent();
    const { info, model, window } = this.modelInfo(agent);
    const count = (s: string) => countTokensForModel(s, info);
    const instructions = renderTemplate(agent.instructions, this.templateScope(agent));
    const contextParts: string[] = [];
    for (const c of agent.context) {
      const text = await this.contextText(c, info);
      const spec = this.definition.contexts[c];
      contextParts.push(`## Context: ${c}${spec?.description ? ` (${spec.description})` : ""}\n${text}`);
    }
    const memSpec = this.memorySpec(agent);
    const memoryParts: string[] = [];
    if (memSpec) memoryParts.push(`## Memory (${memSpec.name})\n${JSON.stringify(this.memory, null, 2)}`);
    if (this.summary) memoryParts.push(`## Summary of earlier turns\n${this.summary}`);
    const system = [instructions, ...contextParts, ...memoryParts].join("\n\n");
    const windowTurns = memSpec?.window ?? 20;
    const history = this.history.slice(-windowTurns).flat();
    const messages: Message[] = [{ role: "system", content: system }, ...history, ...this.current];
    const tools = this.toolSchemas(agent);
    const inst = count(instructions);
    const ctx = contextParts.map(count);
    const mem = memoryParts.map(count);
    const hist = [...history, ...this.current].map((m) => ({
      tokens: memoTokens(m, () => messageText(m), info),
    }));
    const tl = { tokens: tools.length ? memoTokens(tools, () => JSON.stringify(tools), info) : 0 };
    const sum = (xs: { tokens: number }[]) => xs.reduce((a, b) => a + b.tokens, 0);
    const tokens: TokenSections = {
      instructions: inst.tokens,
      context: sum(ctx),
      memory: sum(mem),
      history: sum(hist),
      tools: tl.tokens,
      total: 0,
      exact: inst.exact,
    };
    tokens.total = tokens.instructions + tokens.context + tokens.memory + tokens.history + tokens.tools;
    return { messages, tools, tokens, model, window };
  }

  // ---- turns ------------------------------------------------------------------

  private toolContext() {
    return {
      baseDir: this.options.baseDir,
      scope: this.templateScope(this.agent()),
      actor: this.options.user?.id,
      sessionId: this.sessionId,
      signal: this.options.signal,
      trusted: this.options.trusted ?? true,
      env: this.env,
      connections: this.connections,
    };
  }

  /** Runs one user turn to its reply (or to a stop). */
  async send(input: string): Promise<TurnResult> {
    if (this.ended) throw new Error("the session has ended");
    const start = this.agent();
    const result: TurnResult = {
      turn: this.turn + 1,
      reply: "",
      status: "ok",
      agent: start.name,
      tools: [],
      handoffs: [],
      usage: zeroUsage(),
    };
    const maxTurns = start.policy.maxTurns;
    if (maxTurns !== undefined && this.turn >= maxTurns) {
      result.status = "stopped";
      result.reason = `max_turns (${maxTurns}) reached: the policy allows ${maxTurns} turn${maxTurns === 1 ? "" : "s"} per session`;
      result.turn = this.turn;
      await this.options.hooks?.onStop?.({ kind: "limit", reason: result.reason }, this);
      return result;
    }
    this.turn++;
    await this.record({ type: "turn.start", turn: this.turn, agent: this.activeAgent, input });
    this.current = [{ role: "user", content: input }];
    try {
      await this.loop(result);
    } catch (err) {
      result.status = "failed";
      result.reason =
        err instanceof BackendError
          ? err.message
          : this.options.signal?.aborted
            ? "cancelled"
            : `internal error: ${(err as Error).message}`;
      if (!(err instanceof BackendError) && !this.options.signal?.aborted) throw err;
      if (!this.options.signal?.aborted)
        await this.options.hooks?.onStop?.({ kind: "error", reason: result.reason }, this);
    } finally {
      // Reasoning is sent back only within its turn (providers drop earlier turns' reasoning anyway).
      const added = this.current.map((m) => {
        if (m.role !== "assistant" || !m.reasoning) return m;
        const { reasoning: _, ...rest } = m;
        return rest;
      });
      if (result.status !== "failed" || added.length > 1) this.history.push(added);
      this.current = [];
      await this.maybeSummarize();
      const spec = this.memorySpec();
      const owner = spec && this.memoryOwner(spec);
      if (spec && owner) this.options.memoryStore?.save(spec.name, owner, this.redactor.json(this.memory));
      await this.record({
        type: "memory.snapshot",
        turn: this.turn,
        memory: spec?.name,
        scope: spec?.scope,
        values: structuredClone(this.memory),
        summary: this.summary,
      });
      result.agent = this.activeAgent;
      await this.record({
        type: "turn.end",
        turn: this.turn,
        agent: this.activeAgent,
        reply: result.reply,
        messages: added,
        status: result.status,
        reason: result.reason,
        usage: result.usage,
      });
    }
    return result;
  }

  private async loop(result: TurnResult): Promise<void> {
    for (let step = 0; ; step++) {
      if (step >= MAX_STEPS_PER_TURN) {
        result.status = "stopped";
        result.reason = `the model made ${MAX_STEPS_PER_TURN} calls in one turn without replying; stopped to avoid a loop`;
        await this.options.hooks?.onStop?.({ kind: "limit", reason: result.reason }, this);
        return;
      }
      // Checked before every model call: after tool calls, and at the start of a turn that follows one
      // whose reply used up the budget.
      const maxTokens = this.agent().policy.maxTokens;
      if (maxTokens !== undefined && this.usage.inputTokens + this.usage.outputTokens >= maxTokens) {
        result.status = "stopped";
        result.reason = `max_tokens (${maxTokens}) reached: ${this.usage.inputTokens + this.usage.outputTokens} tokens used in this session`;
        await this.options.hooks?.onStop?.({ kind: "limit", reason: result.reason }, this);
        return;
      }
      const agent = this.agent();
      const ctx = await this.assembleContext();
      this.lastContext = ctx;
      const requestBytes = requestJsonBytes(ctx.model, ctx.messages, ctx.tools);
      await this.record({
        type: "context.snapshot",
        turn: this.turn,
        step,
        agent: agent.name,
        model: ctx.model,
        messages: ctx.messages,
        tools: ctx.tools,
        tokens: ctx.tokens,
        bytes: requestBytes,
        contextWindow: ctx.window,
      });
      await this.record({
        type: "model.request",
        turn: this.turn,
        step,
        backend: this.options.backendName,
        model: ctx.model,
        bytes: requestBytes,
      });
      const t0 = performance.now();
      const response = await this.options.backend.complete({
        model: ctx.model,
        messages: ctx.messages,
        tools: ctx.tools,
        temperature: agent.temperature,
        onText: this.options.onText,
        signal: this.options.signal,
        sessionId: this.sessionId,
      });
      const latencyMs = Math.round((performance.now() - t0) * 100) / 100;
      this.usage.inputTokens += response.usage.inputTokens;
      this.usage.outputTokens += response.usage.outputTokens;
      result.usage.inputTokens += response.usage.inputTokens;
      result.usage.outputTokens += response.usage.outputTokens;
      await this.record({
        type: "model.response",
        turn: this.turn,
        step,
        text: response.text,
        toolCalls: response.toolCalls,
        usage: response.usage,
        latencyMs,
        stopReason: response.stopReason,
        ...(response.reasoning
          ? {
              reasoning: {
                summary: response.reasoning.summary,
                ...(response.reasoning.tokens !== undefined ? { tokens: response.reasoning.tokens } : {}),
              },
            }
          : {}),
        ...(response.requestBytes !== undefined ? { wireBytes: response.requestBytes } : {}),
      });
      this.current.push({
        role: "assistant",
        content: response.text,
        ...(response.toolCalls.length ? { toolCalls: response.toolCalls } : {}),
        ...(response.reasoning?.replay ? { reasoning: response.reasoning.replay } : {}),
      });
      if (response.toolCalls.length === 0) {
        result.reply = response.text;
        return;
      }
      for (const call of response.toolCalls) await this.toolCall(call, result);
    }
  }

  private async toolCall(call: ToolCallRequest, result: TurnResult): Promise<void> {
    const agent = this.agent();
    await this.record({
      type: "tool.call",
      turn: this.turn,
      callId: call.id,
      tool: call.name,
      input: call.input,
      ...identityOf(callIdentity(this.definition, this.definition.tools[call.name], this.options.user)),
    });
    const reply = (content: string, isError = false) =>
      this.current.push({ role: "tool", toolCallId: call.id, name: call.name, content, isError });
    const offered = this.toolSchemas(agent).some((t) => t.name === call.name);
    if (!offered) {
      const reason = `there is no tool '${call.name}' for agent '${agent.name}'`;
      await this.record({
        type: "policy.decision",
        turn: this.turn,
        callId: call.id,
        tool: call.name,
        decision: "deny",
        check: "unknown-tool",
        reason,
      });
      result.tools.push({
        callId: call.id,
        tool: call.name,
        input: call.input,
        status: "denied",
        error: reason,
      });
      reply(`Error: ${reason}.`, true);
      return;
    }
    if (call.name.startsWith(HANDOFF_PREFIX)) return this.handoff(call, result, reply);
    if (call.name === MEMORY_TOOL) return this.remember(call, result, reply);

    const verdict = decide(this.definition, agent, call.name, call.input, {
      toolCalls: this.toolCalls,
      tokens: this.usage.inputTokens + this.usage.outputTokens,
    });
    await this.record({
      type: "policy.decision",
      turn: this.turn,
      callId: call.id,
      tool: call.name,
      decision: verdict.decision,
      check: verdict.check,
      reason: verdict.decision === "allow" ? undefined : verdict.reason,
    });
    if (verdict.decision === "deny") {
      result.tools.push({
        callId: call.id,
        tool: call.name,
        input: call.input,
        status: "denied",
        error: verdict.reason,
      });
      reply(`Denied: ${verdict.reason}. The tool did not run.`, true);
      return;
    }
    if (verdict.decision === "approval") {
      // An input the tool cannot take fails before anyone is asked: an approval would approve a call
      // that cannot run (and a hand edit after it would run unapproved input).
      const invalid = validateJson(this.definition.tools[call.name].parameters, call.input, "input");
      if (invalid) {
        this.toolCalls++;
        return this.recordOutcome(
          call,
          call.input,
          { ok: false, error: `invalid input: ${invalid}` },
          0,
          false,
          result,
          reply,
        );
      }
      const answer = this.options.approver
        ? await this.options.approver({
            callId: call.id,
            tool: call.name,
            input: call.input,
            reason: verdict.reason,
          })
        : false;
      const approved = typeof answer === "boolean" ? answer : answer.approved;
      await this.record({
        type: "approval",
        turn: this.turn,
        callId: call.id,
        tool: call.name,
        approved,
        by:
          typeof answer === "object"
            ? answer.by
            : this.options.approver
              ? (this.options.user?.id ?? "user")
              : "nobody (no approver)",
      });
      if (!approved) {
        result.tools.push({
          callId: call.id,
          tool: call.name,
          input: call.input,
          status: "denied",
          error: "approval was refused",
        });
        reply("Denied: the approval request was refused. The tool did not run.", true);
        return;
      }
    }
    let input = call.input;
    const edited = await this.options.hooks?.beforeToolRun?.(call, this);
    if (edited !== undefined) input = edited;
    this.toolCalls++;
    const spec = this.definition.tools[call.name];
    const t0 = performance.now();
    let outcome: ToolOutcome;
    const problem = validateJson(spec.parameters, input, "input");
    const mocked = this.options.mocks?.(call.name, input, call.id);
    if (mocked) outcome = mocked;
    else if (problem) outcome = { ok: false, error: `invalid input: ${problem}` };
    else outcome = await runTool(spec, input, this.toolContext(), this.options.mcp);
    // A model never needs a credential a tool printed: the result goes back to it redacted, as it is logged.
    outcome = this.redactor.json(outcome);
    const latencyMs = Math.round((performance.now() - t0) * 100) / 100;
    await this.recordOutcome(call, input, outcome, latencyMs, !!mocked, result, reply);
  }

  /** Records a tool call's result and gives it to the model. */
  private async recordOutcome(
    call: ToolCallRequest,
    input: Json,
    outcome: ToolOutcome,
    latencyMs: number,
    mocked: boolean,
    result: TurnResult,
    reply: (c: string, e?: boolean) => void,
  ): Promise<void> {
    await this.record({
      type: "tool.result",
      turn: this.turn,
      callId: call.id,
      tool: call.name,
      ok: outcome.ok,
      output: outcome.ok ? outcome.output : undefined,
      error: outcome.ok ? undefined : outcome.error,
      latencyMs,
      origin: mocked ? (this.options.mockOrigin ?? "mock") : "run",
    });
    result.tools.push({
      callId: call.id,
      tool: call.name,
      input,
      status: outcome.ok ? "ran" : "failed",
      output: outcome.ok ? outcome.output : undefined,
      error: outcome.ok ? undefined : outcome.error,
    });
    reply(outcome.ok ? JSON.stringify(outcome.output) : `Error: ${outcome.error}`, !outcome.ok);
  }

  private async remember(
    call: ToolCallRequest,
    result: TurnResult,
    reply: (c: string, e?: boolean) => void,
  ): Promise<void> {
    const spec = this.memorySpec();
    let input = (call.input ?? {}) as Record<string, Json>;
    const field = typeof input.field === "string" ? input.field : "";
    const hook = this.options.hooks?.beforeMemoryWrite;
    if (hook && "value" in input) {
      const value = await hook(
        { callId: call.id, memory: spec?.name ?? "", field, value: input.value },
        this,
      );
      if (value !== undefined) input = { ...input, value };
    }
    let error: string | undefined;
    const f = spec?.fields[field];
    if (!spec) error = "this agent has no memory";
    else if (!f)
      error = `memory '${spec.name}' has no field '${field}'; fields: ${Object.keys(spec.fields).join(", ")}`;
    else if (!("value" in input)) error = "'value' is required";
    else {
      const problem = validateJson(f.schema, input.value, field);
      if (problem && !(f.optional && input.value === null)) error = problem;
    }
    if (!error) {
      if (f?.optional && input.value === null) delete this.memory[field];
      else this.memory[field] = input.value;
    }
    await this.record({
      type: "memory.write",
      turn: this.turn,
      callId: call.id,
      memory: spec?.name ?? "",
      field,
      value: input.value ?? null,
      ok: !error,
      error,
    });
    result.tools.push({
      callId: call.id,
      tool: MEMORY_TOOL,
      input: call.input,
      status: error ? "failed" : "ran",
      error,
    });
    reply(error ? `Error: ${error}. Memory is unchanged.` : `Remembered ${field}.`, !!error);
  }

  private async handoff(
    call: ToolCallRequest,
    result: TurnResult,
    reply: (c: string, e?: boolean) => void,
  ): Promise<void> {
    const to = call.name.slice(HANDOFF_PREFIX.length);
    const from = this.activeAgent;
    await this.record({ type: "handoff", turn: this.turn, from, to, callId: call.id });
    const before = this.memorySpec();
    this.activeAgent = to;
    const after = this.memorySpec();
    if (before?.name !== after?.name) {
      // Another memory: keep this one's values (and store them when they outlive the session), then
      // switch to the target's, so neither is shown, written or saved as the other.
      if (before) {
        this.parkedMemory.set(before.name, this.memory);
        const owner = this.memoryOwner(before);
        if (owner) this.options.memoryStore?.save(before.name, owner, this.redactor.json(this.memory));
      }
      const parked = after ? this.parkedMemory.get(after.name) : undefined;
      this.memory = parked ?? this.initialMemory(this.agent());
    }
    result.handoffs.push(to);
    result.tools.push({ callId: call.id, tool: call.name, input: call.input, status: "ran" });
    reply(`Transferred to ${to}.`);
  }

  private async maybeSummarize(): Promise<void> {
    const spec = this.memorySpec();
    if (!spec?.summarizeAfter || this.history.length < 2) return;
    const { info } = this.modelInfo(this.agent());
    const tokens = this.history.flat().reduce((a, m) => a + memoTokens(m, () => messageText(m), info), 0);
    if (tokens <= spec.summarizeAfter) return;
    // Keep the newest turn verbatim; fold the rest into the summary.
    const older = this.history.splice(0, this.history.length - 1);
    const text = [this.summary ?? "", ...older.flat().map((m) => `${m.role}: ${messageText(m)}`)]
      .filter(Boolean)
      .join("\n");
    let summary: string | undefined;
    // A summarizer that fails (network, cancel) must not lose the turn: fall back to truncation.
    if (this.options.backend.summarize)
      summary = await this.options.backend.summarize(text, this.options.signal).catch(() => undefined);
    this.summary = summary ?? truncateToTokens(text, Math.floor(spec.summarizeAfter / 2), info);
  }

  /** Records a change made by hand while the session was paused (the debugger's setVariable). */
  async recordEdit(edit: Omit<ManualEditEvent, "type" | "seq" | "ts" | "turn">): Promise<void> {
    await this.record({ type: "manual.edit", turn: this.turn, ...edit });
  }

  /** Records one checked criterion of an eval case (before `end`). */
  async recordScore(check: EvalCheck): Promise<void> {
    await this.record({ type: "eval.score", ...check });
  }

  async end(status: "ok" | "failed" | "stopped" = "ok", reason?: string): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    await this.record({ type: "session.end", status, reason, turns: this.turn, usage: { ...this.usage } });
  }

  /** Closes what the session opened (its SQL databases); a later tool call on them fails. */
  async release(): Promise<void> {
    await this.connections.close();
  }
}

const identityOf = (identity: CallIdentity | undefined) => (identity ? { identity } : {});

const byteMemo = new WeakMap<object, number>();

/** UTF-8 bytes of a value's JSON, counted once per (unchanging) object. */
export function jsonBytes(value: object): number {
  let n = byteMemo.get(value);
  if (n === undefined) byteMemo.set(value, (n = Buffer.byteLength(JSON.stringify(value))));
  return n;
}

/**
 * Bytes of `JSON.stringify({ model, messages, tools })`, computed from the
 * memoized size of each message: exactly the same number, without
 * re-serializing the whole history on every model call.
 */
export function requestJsonBytes(
  model: string | undefined,
  messages: Message[],
  tools: ToolSchema[],
): number {
  const head = model === undefined ? '{"messages":[' : `{"model":${JSON.stringify(model)},"messages":[`;
  let n =
    Buffer.byteLength(head) + Math.max(0, messages.length - 1) + '],"tools":'.length + jsonBytes(tools) + 1;
  for (const m of messages) n += jsonBytes(m);
  return n;
}

export function messageText(m: Message): string {
  if (m.role === "assistant" && m.toolCalls?.length) return `${m.content}${JSON.stringify(m.toolCalls)}`;
  return m.content;
}

/** Cuts text to about `max` tokens, with a marker saying so. */
export function truncateToTokens(text: string, max: number, info: ModelInfo | undefined): string {
  const total = countTokensForModel(text, info).tokens;
  if (total <= max) return text;
  // Proportional cut, then tighten: token counts are close to linear in length.
  let len = Math.floor((text.length * max) / total);
  while (len > 0 && countTokensForModel(text.slice(0, len), info).tokens > max) len = Math.floor(len * 0.9);
  return `${text.slice(0, len)}\n[truncated to ${max} tokens of ${total}]`;
}
