// The Debug Adapter Protocol side of the agent debugger: VS Code (and
// nvim-dap, dap-mode) drive the DebugController through these requests. One
// thread (the agent); a call stack agent -> turn -> step; scopes Context,
// Memory, Identity, Pending tool call, Last result, Usage; setVariable edits
// a pending call's input or a memory field; the Debug Console takes user
// messages, approve / reject, and expressions.

import * as path from "node:path";
import {
  BreakpointEvent,
  ContinuedEvent,
  Handles,
  InitializedEvent,
  LoggingDebugSession,
  OutputEvent,
  Scope,
  Source,
  StackFrame,
  StoppedEvent,
  TerminatedEvent,
  Thread,
  type Breakpoint,
} from "@vscode/debugadapter";
import type { DebugProtocol } from "@vscode/debugprotocol";
import type { Json } from "../language/compile";
import type { BreakpointSpec, ResolvedBreakpoint } from "./breakpoints";
import {
  DebugController,
  EXCEPTION_FILTERS,
  pendingCallVariables,
  type ControllerEvents,
  type ResumeMode,
  type StopInfo,
} from "./controller";
import { evaluateIn, parseExpression } from "./expr";
import { LaunchError } from "./launch";
import { describe } from "./positions";
import { REMOTE_EDIT_REFUSED } from "./sessionView";
import type { Location } from "./specMap";
import type { LaunchArgs } from "../protocol/debug";
import { MEMORY_TOOL } from "../protocol/names";

const THREAD_ID = 1;

type ScopeName = "pending" | "context" | "memory" | "identity" | "result" | "usage";

type Ref =
  | { kind: "scope"; scope: ScopeName }
  | { kind: "json"; value: Json; edit?: { target: "input" | "memory"; path: string[] } }
  | { kind: "messages" };

const SCOPE_TITLES: Record<ScopeName, string> = {
  pending: "Pending tool call",
  context: "Context",
  memory: "Memory",
  identity: "Identity",
  result: "Last result",
  usage: "Usage",
};

const HELP = `Debug Console:
  a plain line          the next user message (sent now if the agent waits for one, else after this turn)
  > text                a user message, even when it looks like an expression
  approve | reject      answer a pending approval
  an expression         evaluated: memory.open_tickets, context.tokens, input.amount > 100, usage.total
  /end                  no more messages: the session ends after the current turn
  /help                 this help
`;

export class StatecraftDebugSession extends LoggingDebugSession {
  private controller: DebugController | undefined;
  private launchArgs: LaunchArgs | undefined;
  private runPromise: Promise<void> | undefined;
  private configured!: Promise<void>;
  private markConfigured!: () => void;
  private refs = new Handles<Ref>();
  private readonly specs = new Map<string, (BreakpointSpec & { id: number })[]>();
  private nextId = 1;
  private exceptionFilters: string[] | undefined;
  private restarting = false;

  constructor() {
    super();
    this.setDebuggerLinesStartAt1(true);
    this.setDebuggerColumnsStartAt1(true);
    this.resetConfigured();
  }

  private resetConfigured(): void {
    this.configured = new Promise<void>((resolve) => (this.markConfigured = resolve));
  }

  protected initializeRequest(response: DebugProtocol.InitializeResponse): void {
    response.body = {
      ...response.body,
      supportsConfigurationDoneRequest: true,
      supportsConditionalBreakpoints: true,
      supportsHitConditionalBreakpoints: true,
      supportsEvaluateForHovers: true,
      supportsSetVariable: true,
      supportsRestartRequest: true,
      supportsTerminateRequest: true,
      supportsExceptionInfoRequest: true,
      supportsExceptionOptions: false,
      exceptionBreakpointFilters: EXCEPTION_FILTERS,
      supportsStepBack: false,
    };
    this.sendResponse(response);
  }

  private controllerEvents(): ControllerEvents {
    return {
      stopped: (stop: StopInfo) => {
        this.refs.reset();
        const e = new StoppedEvent(stop.reason, THREAD_ID, stop.text) as DebugProtocol.StoppedEvent;
        e.body.description = stop.description;
        if (stop.text) e.body.text = stop.text;
        if (stop.breakpointIds) e.body.hitBreakpointIds = stop.breakpointIds;
        e.body.allThreadsStopped = true;
        this.sendEvent(e);
      },
      continued: () => {
        this.refs.reset();
        this.sendEvent(new ContinuedEvent(THREAD_ID, true));
      },
      output: (text, category = "console") => this.sendEvent(new OutputEvent(text, category)),
    };
  }

  private async launch(response: DebugProtocol.LaunchResponse, args: LaunchArgs): Promise<void> {
    try {
      this.controller = DebugController.prepare(args, this.controllerEvents(), process.env);
    } catch (err) {
      if (!(err instanceof LaunchError)) throw err;
      this.sendErrorResponse(response, { id: 1001, format: `Statecraft: ${err.message}`, showUser: true });
      return;
    }
    this.launchArgs = args;
    this.sendEvent(new InitializedEvent());
    await this.configured;
    this.sendResponse(response);
    this.startRun();
  }

  private startRun(): void {
    const c = this.controller!;
    if (this.exceptionFilters) c.setExceptionFilters(this.exceptionFilters);
    for (const [file, specs] of this.specs) this.resolve(c, file, specs);
    this.sendEvent(
      new OutputEvent(
        `Statecraft: debugging ${c.testIR ? `test ${JSON.stringify(c.testIR.name)}` : c.isReplay ? "a replay of a session log" : `agent '${c.definition.agent}'`}${c.noDebug ? " (without stopping)" : ""}; type /help in the Debug Console\n`,
        "console",
      ),
    );
    this.runPromise = c.run().then(() => {
      if (!this.restarting) this.sendEvent(new TerminatedEvent());
    });
  }

  /** Runs an async handler; a bug becomes an error response instead of an unhandled rejection. */
  private guard(response: DebugProtocol.Response, work: Promise<void>): void {
    work.catch((err: unknown) =>
      this.sendErrorResponse(response, {
        id: 1000,
        format: `Statecraft debugger: internal error: ${err instanceof Error ? err.message : String(err)}`,
        showUser: true,
      }),
    );
  }

  protected launchRequest(response: DebugProtocol.LaunchResponse, args: LaunchArgs): void {
    this.guard(response, this.launch(response, args));
  }

  protected setVariableRequest(
    response: DebugProtocol.SetVariableResponse,
    args: DebugProtocol.SetVariableArguments,
  ): void {
    this.guard(response, this.setVariable(response, args));
  }

  protected evaluateRequest(
    response: DebugProtocol.EvaluateResponse,
    args: DebugProtocol.EvaluateArguments,
  ): void {
    this.guard(response, this.evaluate(response, args));
  }

  protected restartRequest(
    response: DebugProtocol.RestartResponse,
    args: DebugProtocol.RestartArguments,
  ): void {
    this.guard(response, this.restart(response, args));
  }

  protected terminateRequest(response: DebugProtocol.TerminateResponse): void {
    this.guard(response, this.terminate(response));
  }

  protected disconnectRequest(
    response: DebugProtocol.DisconnectResponse,
    args: DebugProtocol.DisconnectArguments,
    request?: DebugProtocol.Request,
  ): void {
    this.guard(response, this.disconnect(response, args, request));
  }

  protected configurationDoneRequest(response: DebugProtocol.ConfigurationDoneResponse): void {
    this.sendResponse(response);
    this.markConfigured();
  }

  private resolve(
    c: DebugController,
    file: string,
    specs: (BreakpointSpec & { id: number })[],
  ): Breakpoint[] {
    return c.setBreakpoints(file, specs).map((bp) => this.toBreakpoint(bp, file));
  }

  private toBreakpoint(bp: ResolvedBreakpoint, file: string): Breakpoint {
    const out: DebugProtocol.Breakpoint = {
      id: bp.id,
      verified: bp.verified,
      line: this.convertDebuggerLineToClient(bp.line),
      source: new Source(path.basename(file), this.convertDebuggerPathToClient(file)),
    };
    if (bp.message) out.message = bp.message;
    return out as Breakpoint;
  }

  protected setBreakPointsRequest(
    response: DebugProtocol.SetBreakpointsResponse,
    args: DebugProtocol.SetBreakpointsArguments,
  ): void {
    const file = args.source.path
      ? path.resolve(this.convertClientPathToDebugger(args.source.path))
      : undefined;
    if (!file) {
      response.body = {
        breakpoints: (args.breakpoints ?? []).map(() => ({ verified: false, message: "no file" })),
      };
      this.sendResponse(response);
      return;
    }
    const specs = (args.breakpoints ?? []).map((b) => ({
      id: this.nextId++,
      line: this.convertClientLineToDebugger(b.line),
      condition: b.condition,
      hitCondition: b.hitCondition,
    }));
    this.specs.set(file, specs);
    const c = this.controller;
    response.body = {
      breakpoints: c
        ? this.resolve(c, file, specs)
        : specs.map((s) => ({
            id: s.id,
            verified: false,
            line: s.line,
            message: "the program is not loaded yet",
          })),
    };
    this.sendResponse(response);
  }

  protected setExceptionBreakPointsRequest(
    response: DebugProtocol.SetExceptionBreakpointsResponse,
    args: DebugProtocol.SetExceptionBreakpointsArguments,
  ): void {
    this.exceptionFilters = args.filters;
    this.controller?.setExceptionFilters(args.filters);
    this.sendResponse(response);
  }

  protected threadsRequest(response: DebugProtocol.ThreadsResponse): void {
    const agent = this.controller?.session?.activeAgent ?? this.controller?.definition.agent ?? "agent";
    response.body = { threads: [new Thread(THREAD_ID, `agent ${agent}`)] };
    this.sendResponse(response);
  }

  private frame(id: number, name: string, at: Location | undefined): StackFrame {
    const source = at
      ? new Source(path.basename(at.path), this.convertDebuggerPathToClient(at.path))
      : undefined;
    return new StackFrame(id, name, source, this.convertDebuggerLineToClient(at?.line ?? 1), 1);
  }

  protected stackTraceRequest(response: DebugProtocol.StackTraceResponse): void {
    const c = this.controller;
    const frames: StackFrame[] = [];
    if (c) {
      const s = c.session;
      const agent = s?.activeAgent ?? c.definition.agent;
      const agentAt = c.map.agentLocation(agent);
      const pos = c.position;
      const turnOpen = s && s.turn > 0 && c.turnInput !== undefined && pos?.kind !== "input";
      if (
        pos &&
        !(pos.kind === "event" && (pos.event.type === "session.start" || pos.event.type === "session.end"))
      )
        frames.push(this.frame(1, describe(pos), c.actingLocation()));
      else if (pos?.kind === "event") frames.push(this.frame(1, pos.event.type, agentAt));
      if (turnOpen && pos?.kind !== "test.step")
        frames.push(this.frame(2, `turn ${s.turn}: ${JSON.stringify(clip(c.turnInput ?? "", 60))}`, agentAt));
      frames.push(this.frame(3, `agent ${agent}`, agentAt));
      const test = c.testIR;
      if (test)
        frames.push(
          this.frame(4, `test ${JSON.stringify(test.name)}`, {
            path: test.file,
            line: c.testStep?.line ?? test.line,
          }),
        );
    }
    response.body = { stackFrames: frames, totalFrames: frames.length };
    this.sendResponse(response);
  }

  protected scopesRequest(response: DebugProtocol.ScopesResponse): void {
    const c = this.controller;
    const scopes: Scope[] = [];
    if (c?.session) {
      const names: ScopeName[] = [];
      if (c.pending || c.position?.kind === "memory.write") names.push("pending");
      names.push("context", "memory", "identity", "result", "usage");
      for (const n of names) {
        const scope = new Scope(
          SCOPE_TITLES[n],
          this.refs.create({ kind: "scope", scope: n }),
          n === "context",
        );
        scopes.push(scope);
      }
    }
    response.body = { scopes };
    this.sendResponse(response);
  }

  private variable(
    name: string,
    value: Json | undefined,
    edit?: { target: "input" | "memory"; path: string[] },
  ): DebugProtocol.Variable {
    if (value !== null && typeof value === "object") {
      const ref = this.refs.create({ kind: "json", value, edit });
      const n = Array.isArray(value) ? value.length : Object.keys(value).length;
      return {
        name,
        value: Array.isArray(value) ? `Array(${n})` : `{${clip(Object.keys(value).join(", "), 60)}}`,
        variablesReference: ref,
        ...(Array.isArray(value) ? { indexedVariables: n } : { namedVariables: n }),
      };
    }
    return {
      name,
      value: value === undefined ? "undefined" : JSON.stringify(value),
      variablesReference: 0,
      ...(edit ? {} : { presentationHint: { attributes: ["readOnly"] } }),
    };
  }

  private scopeVariables(scope: ScopeName): DebugProtocol.Variable[] {
    const c = this.controller!;
    const s = c.session!;
    const v = (name: string, value: Json | undefined) => this.variable(name, value);
    switch (scope) {
      case "pending": {
        const pos = c.position;
        if (pos?.kind === "memory.write" && (!c.pending || c.pending.callId !== pos.write.callId))
          return [
            v("tool", MEMORY_TOOL),
            v("memory", pos.write.memory),
            v("field", pos.write.field),
            v("value", pos.write.value),
          ];
        const p = c.pending;
        if (!p) return [];
        return [
          ...pendingCallVariables(p).map((x) => v(x.name, x.value)),
          this.variable("input", p.input, c.isRemote ? undefined : { target: "input", path: [] }),
          ...(p.edited ? [v("original input", p.original)] : []),
        ];
      }
      case "context": {
        const snap = c.lastSnapshot;
        if (!snap)
          return [v("(no model call yet)", "the context is assembled before the first model call of a turn")];
        const t = snap.tokens;
        return [
          v(
            "tokens",
            snap.contextWindow
              ? `${t.total} of ${snap.contextWindow}${t.exact ? "" : " (estimated)"}`
              : t.total,
          ),
          v("instructions", `${t.instructions} tokens`),
          v("context", `${t.context} tokens`),
          v("memory", `${t.memory} tokens`),
          v("history", `${t.history} tokens`),
          v("tools", `${t.tools} tokens: ${snap.tools.map((x) => x.name).join(", ")}`),
          {
            name: "messages",
            value: `Array(${snap.messages.length}) as sent in model call ${snap.step + 1} of turn ${snap.turn}`,
            variablesReference: this.refs.create({ kind: "messages" }),
            indexedVariables: snap.messages.length,
          },
          v("model", snap.model ?? null),
          v("bytes", snap.bytes),
        ];
      }
      case "memory": {
        const spec = s.memorySpec();
        if (!spec) return [v("(none)", `agent '${s.activeAgent}' has no memory`)];
        const edit = !c.isReplay && !c.isRemote;
        const names = [...new Set([...Object.keys(spec.fields), ...Object.keys(s.memory)])];
        return names.map((n) =>
          this.variable(
            n,
            s.memory[n] ?? (spec.fields[n]?.optional ? null : undefined),
            edit ? { target: "memory", path: [n] } : undefined,
          ),
        );
      }
      case "identity": {
        const a = s.agent();
        const scope = c.scope();
        return [
          v("agent", a.name),
          v("role", a.identity.role ?? null),
          v("acts_for", a.identity.actsFor),
          v("scopes", a.identity.scopes),
          v("user", scope.user),
        ];
      }
      case "result": {
        const r = c.lastResult;
        const out: DebugProtocol.Variable[] = [];
        if (r) {
          out.push(v("tool", r.tool), v("ok", r.ok));
          out.push(r.ok ? v("output", r.output ?? null) : v("error", r.error ?? ""));
        } else out.push(v("tool", "(no tool has run yet)"));
        if (c.lastResponse)
          out.push(v("model reply", c.lastResponse.text), v("stop reason", c.lastResponse.stopReason));
        return out;
      }
      case "usage": {
        const p = s.agent().policy;
        return [
          v("input tokens", s.usage.inputTokens),
          v("output tokens", s.usage.outputTokens),
          v("total tokens", s.usage.inputTokens + s.usage.outputTokens),
          v("tool calls", s.toolCalls),
          v("turn", s.turn),
          ...(p.maxTokens !== undefined ? [v("max_tokens", p.maxTokens)] : []),
          ...(p.maxToolCalls !== undefined ? [v("max_tool_calls", p.maxToolCalls)] : []),
          ...(p.maxTurns !== undefined ? [v("max_turns", p.maxTurns)] : []),
        ];
      }
    }
  }

  protected variablesRequest(
    response: DebugProtocol.VariablesResponse,
    args: DebugProtocol.VariablesArguments,
  ): void {
    const ref = this.refs.get(args.variablesReference);
    let variables: DebugProtocol.Variable[] = [];
    if (ref && this.controller?.session) {
      if (ref.kind === "scope") variables = this.scopeVariables(ref.scope);
      else if (ref.kind === "messages")
        variables = (this.controller.lastSnapshot?.messages ?? []).map((m, i) =>
          this.variable(`[${i}] ${m.role}`, m as unknown as Json),
        );
      else {
        const val = ref.value;
        const entries: [string, Json][] = Array.isArray(val)
          ? val.map((x, i) => [String(i), x])
          : Object.entries(val as Record<string, Json>);
        variables = entries.map(([k, x]) =>
          this.variable(
            k,
            x,
            ref.edit ? { target: ref.edit.target, path: [...ref.edit.path, k] } : undefined,
          ),
        );
      }
    }
    response.body = { variables };
    this.sendResponse(response);
  }

  private async setVariable(
    response: DebugProtocol.SetVariableResponse,
    args: DebugProtocol.SetVariableArguments,
  ): Promise<void> {
    const c = this.controller;
    if (c?.isRemote) {
      this.sendErrorResponse(response, { id: 1006, format: REMOTE_EDIT_REFUSED, showUser: true });
      return;
    }
    const ref = this.refs.get(args.variablesReference);
    let edit: { target: "input" | "memory"; path: string[] } | undefined;
    if (ref?.kind === "scope" && ref.scope === "memory") edit = { target: "memory", path: [args.name] };
    else if (ref?.kind === "json" && ref.edit)
      edit = { target: ref.edit.target, path: [...ref.edit.path, args.name] };
    if (!c || !edit) {
      this.sendErrorResponse(response, {
        id: 1002,
        format: c?.isReplay
          ? "a replay plays the recording back: fork the session to change it"
          : "only the input of a pending tool call and memory fields can be edited",
        showUser: true,
      });
      return;
    }
    const value = parseValue(args.value);
    const problem =
      edit.target === "input"
        ? await c.editPendingInput(edit.path, value)
        : await c.editMemory(edit.path, value);
    if (problem) {
      this.sendErrorResponse(response, { id: 1003, format: problem, showUser: true });
      return;
    }
    const shown = this.variable(args.name, value, edit);
    response.body = { value: shown.value, variablesReference: shown.variablesReference };
    this.sendResponse(response);
  }

  private async evaluate(
    response: DebugProtocol.EvaluateResponse,
    args: DebugProtocol.EvaluateArguments,
  ): Promise<void> {
    const c = this.controller;
    const text = args.expression.trim();
    const reply = (result: string, ref = 0) => {
      response.body = { result, variablesReference: ref };
      this.sendResponse(response);
    };
    const fail = (message: string) =>
      this.sendErrorResponse(response, { id: 1004, format: message, showUser: false });
    if (!c) return fail("no debug session is running");
    if (args.context === "repl") {
      if (!text) return reply("");
      if (text === "/help" || text === "help") return reply(HELP);
      if (text === "/end") {
        c.endInput();
        return reply("no more user messages: the session ends after the current turn");
      }
      const approval = c.awaitingApproval;
      const answer = /^\/?(approve|reject|yes|no|y|n)$/i.exec(text)?.[1].toLowerCase();
      if (answer && (approval || text.startsWith("/"))) {
        if (!approval) return fail("no approval is pending");
        const approved = answer === "approve" || answer === "yes" || answer === "y";
        c.answerApproval(approved);
        return reply(`${approval.tool}: ${approved ? "approved" : "rejected"}`);
      }
      if (text.startsWith(">")) return this.message(c, text.slice(1).trim(), reply);
      const parsed = parseExpression(text);
      if (!parsed.ok) return this.message(c, text, reply);
    }
    const parsed = parseExpression(text);
    if (!parsed.ok) return fail(parsed.error);
    if (!c.session) return fail("the session has not started yet");
    let value: Json | undefined;
    try {
      value = evaluateIn(parsed.ir, c.scope());
    } catch (err) {
      return fail((err as Error).message);
    }
    const shown = this.variable(text, value ?? null);
    reply(value === undefined ? "undefined" : shown.value, shown.variablesReference);
  }

  private message(c: DebugController, text: string, reply: (r: string) => void): void {
    if (!text) return reply("");
    if (c.isReplay) return reply("a replay sends the recorded messages only");
    if (c.testIR) return reply("a test sends its own messages (send steps)");
    const how = c.submitMessage(text);
    reply(how === "sent" ? `sent: ${text}` : `queued: sent when the agent waits for the next message`);
  }

  protected exceptionInfoRequest(response: DebugProtocol.ExceptionInfoResponse): void {
    const stop = this.controller?.stopInfo;
    response.body = {
      exceptionId: stop?.reason ?? "none",
      description: stop?.text ?? stop?.description,
      breakMode: "always",
    };
    this.sendResponse(response);
  }

  private resumeWith(response: DebugProtocol.Response, mode: ResumeMode): void {
    const c = this.controller;
    if (c && !c.resumeWith(mode)) {
      this.sendErrorResponse(response, {
        id: 1005,
        format: `an approval is waiting: type approve or reject in the Debug Console`,
        showUser: true,
      });
      return;
    }
    this.refs.reset();
    this.sendResponse(response);
  }

  protected continueRequest(response: DebugProtocol.ContinueResponse): void {
    response.body = { allThreadsContinued: true };
    this.resumeWith(response, "continue");
  }

  protected nextRequest(response: DebugProtocol.NextResponse): void {
    this.resumeWith(response, "next");
  }

  protected stepInRequest(response: DebugProtocol.StepInResponse): void {
    this.resumeWith(response, "stepIn");
  }

  protected stepOutRequest(response: DebugProtocol.StepOutResponse): void {
    this.resumeWith(response, "stepOut");
  }

  protected pauseRequest(response: DebugProtocol.PauseResponse): void {
    this.controller?.pause();
    this.sendResponse(response);
  }

  private async stopRun(): Promise<void> {
    this.controller?.cancel();
    await this.runPromise;
  }

  private shuttingDown = false;

  /**
   * The client went away (its stream closed, SIGTERM) or disconnected: cancel the run first, so
   * that the session log still ends with session.end "stopped", then exit.
   */
  shutdown(): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    void this.stopRun().finally(() => super.shutdown());
  }

  private async restart(
    response: DebugProtocol.RestartResponse,
    args: DebugProtocol.RestartArguments | undefined,
  ): Promise<void> {
    this.restarting = true;
    await this.stopRun();
    this.restarting = false;
    const launch = ((args?.arguments as LaunchArgs | undefined) ?? this.launchArgs)!;
    try {
      this.controller = DebugController.prepare(launch, this.controllerEvents(), process.env);
    } catch (err) {
      this.sendErrorResponse(response, {
        id: 1006,
        format: `Statecraft: ${(err as Error).message}`,
        showUser: true,
      });
      this.sendEvent(new TerminatedEvent());
      return;
    }
    this.launchArgs = launch;
    this.sendResponse(response);
    for (const [file, specs] of this.specs)
      for (const bp of this.resolve(this.controller, file, specs))
        this.sendEvent(new BreakpointEvent("changed", bp));
    this.startRun();
  }

  private async terminate(response: DebugProtocol.TerminateResponse): Promise<void> {
    await this.stopRun();
    this.sendResponse(response);
  }

  private async disconnect(
    response: DebugProtocol.DisconnectResponse,
    args: DebugProtocol.DisconnectArguments,
    request?: DebugProtocol.Request,
  ): Promise<void> {
    await this.stopRun();
    super.disconnectRequest(response, args, request);
  }
}

/** A value typed in the Variables view: JSON, else the text as a string. */
export function parseValue(text: string): Json {
  try {
    return JSON.parse(text) as Json;
  } catch {
    const t = text.trim();
    return /^'.*'$/.test(t) ? t.slice(1, -1) : t;
  }
}

function clip(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}

/** Runs the adapter over stdin/stdout (`statecraft dap`). */
export function runAdapter(): void {
  const session = new StatecraftDebugSession();
  process.on("SIGTERM", () => session.shutdown());
  session.start(process.stdin, process.stdout);
}

export { LaunchError };
