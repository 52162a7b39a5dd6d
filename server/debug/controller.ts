// The debugger's engine side, free of the protocol: runs a prepared launch
// (launch.ts: an agent run, one test block, or the exact replay of a session
// log) with hooks at every event and before every tool run and memory write,
// and decides at each of these points whether to stop: a breakpoint
// (breakpoints.ts), a step, an approval, a tool error, a limit, a failed model
// call. While stopped, the state is inspected and edited here; edits are
// recorded in the session log as `manual.edit` events.

import * as path from "node:path";
import { createBackend } from "../backends";
import { toWireScript } from "../backends/script";
import { RemoteSession } from "../backends/statefulSession";
import type { CompiledDefinition, Json, JsonSchema } from "../language/compile";
import type { TestIR } from "../language/compileTests";
import {
  AgentSession,
  type ApprovalRequest,
  type EngineHooks,
  type EngineStop,
  type MemoryWriteRequest,
} from "../runtime/engine";
import type {
  CallIdentity,
  ContextSnapshotEvent,
  ModelResponseEvent,
  SessionEvent,
  ToolCallRequest,
  ToolResultEvent,
} from "../protocol/events";
import { SET_FAILED, setPath } from "../runtime/jsonPath";
import { runTestSteps, TestQueues, type TestStep } from "../runtime/testRunner";
import { validateJson } from "../runtime/jsonSchema";
import { InMemoryStore } from "../runtime/memoryStore";
import { BackendError, type ModelBackend } from "../runtime/model";
import { decide } from "../runtime/policy";
import { replayExact, startState } from "../runtime/replay";
import { openSession, type OpenSessionOptions } from "../runtime/openSession";
import { readLog } from "../runtime/sessionLog";
import {
  matches,
  resolveBreakpoints,
  type BreakpointSpec,
  type MatchContext,
  type ResolvedBreakpoint,
} from "./breakpoints";
import { evaluateIn, truthy, type Scope } from "./expr";
import { launchBackend, LaunchError, prepareLaunch, type PreparedLaunch, type RemoteLaunch } from "./launch";
import { actingLocation, describe, type Position } from "./positions";
import { REMOTE_EDIT_REFUSED, RemoteView, type SessionView } from "./sessionView";
import { connect } from "../service/embedded";
import type { Location, SpecMap } from "./specMap";
import type { LaunchArgs } from "../protocol/debug";
import { MEMORY_TOOL } from "../protocol/names";

/** Thrown from a hook to unwind the engine once the debugger cancelled the run. */
class Cancelled extends Error {
  constructor() {
    super("cancelled from the debugger");
  }
}

export interface StopInfo {
  reason: string;
  description: string;
  text?: string;
  breakpointIds?: number[];
}

export interface PendingCall {
  callId: string;
  tool: string;
  /** The input the tool will receive: the model's, plus any edits. */
  input: Json;
  original: Json;
  edited: boolean;
  /** The identity the call acts as, when it goes through a connection (never the credential). */
  identity?: CallIdentity;
}

/** The Pending tool call scope's variables (the input's own editable variable aside). */
export function pendingCallVariables(p: PendingCall): { name: string; value: Json }[] {
  return [
    { name: "tool", value: p.tool },
    { name: "callId", value: p.callId },
    ...(p.identity
      ? [
          {
            name: "identity",
            value: {
              as: p.identity.as,
              connection: p.identity.connection,
              ...(p.identity.user !== undefined ? { user: p.identity.user } : {}),
            },
          },
        ]
      : []),
  ];
}

export interface ControllerEvents {
  stopped(stop: StopInfo): void;
  continued(): void;
  output(text: string, category?: "console" | "stdout" | "stderr" | "important"): void;
}

export type ResumeMode = "continue" | "next" | "stepIn" | "stepOut";

export const EXCEPTION_FILTERS = [
  { filter: "toolError", label: "Tool errors", default: true, description: "Stop when a tool call fails" },
  {
    filter: "limit",
    label: "Limits reached",
    default: true,
    description: "Stop when a policy limit stops the agent",
  },
  {
    filter: "modelError",
    label: "Failed model calls",
    default: true,
    description: "Stop when a model call fails",
  },
];

export class DebugController {
  readonly map: SpecMap;
  session: SessionView | undefined;
  position: Position | undefined;
  pending: PendingCall | undefined;
  lastSnapshot: ContextSnapshotEvent | undefined;
  lastResult: ToolResultEvent | undefined;
  lastResponse: ModelResponseEvent | undefined;
  turnInput: string | undefined;
  testStep: TestStep | undefined;
  sessionFile: string | undefined;
  isStopped = false;
  stopInfo: StopInfo | undefined;
  private mode: ResumeMode | "pause" = "continue";
  private stepTurn = 0;
  private resume: (() => void) | undefined;
  private approval: { request: ApprovalRequest; answer: (approved: boolean) => void } | undefined;
  private readonly queue: string[] = [];
  private inputWaiter: ((line: string | undefined) => void) | undefined;
  private readonly abort = new AbortController();
  private breakpoints = new Map<string, ResolvedBreakpoint[]>();
  private filters = new Set(EXCEPTION_FILTERS.filter((f) => f.default).map((f) => f.filter));
  private finished = false;
  /** The view's queue of events (and approvals) waiting to go through the stop logic, in order. */
  private viewChain: Promise<void> = Promise.resolve();
  /** The first difference an exact replay found; `shown` once the run has stopped there. */
  private divergence: { summary: string; shown: boolean } | undefined;

  private constructor(
    readonly args: LaunchArgs,
    private readonly prepared: PreparedLaunch,
    private readonly events: ControllerEvents,
  ) {
    this.map = prepared.map;
    for (const line of args.inputs ?? []) this.queue.push(line);
  }

  /** Loads and checks the program and chooses what to run; a LaunchError says what is wrong. */
  static prepare(args: LaunchArgs, events: ControllerEvents, baseEnv: NodeJS.ProcessEnv): DebugController {
    return new DebugController(args, prepareLaunch(args, baseEnv), events);
  }

  get definition(): CompiledDefinition {
    return this.prepared.definition;
  }

  get isReplay(): boolean {
    return this.prepared.replay !== undefined;
  }

  /** The session runs in a runtime service (a stateful backend): stops are stops of the view. */
  get isRemote(): boolean {
    return this.prepared.remote !== undefined;
  }

  get testIR(): TestIR | undefined {
    return this.prepared.test;
  }

  get cancelled(): boolean {
    return this.abort.signal.aborted;
  }

  get noDebug(): boolean {
    return this.args.noDebug === true;
  }

  get awaitingApproval(): ApprovalRequest | undefined {
    return this.approval?.request;
  }

  // ---- breakpoints ------------------------------------------------------------------

  setBreakpoints(file: string, specs: (BreakpointSpec & { id?: number })[]): ResolvedBreakpoint[] {
    const resolved = resolveBreakpoints(this.map, file, specs);
    this.breakpoints.set(path.resolve(file), resolved);
    return resolved;
  }

  setExceptionFilters(filters: string[]): void {
    this.filters = new Set(filters);
  }

  /** Breakpoints hit at a position, with their conditions and hit counts applied. */
  private hits(pos: Position): number[] {
    const ids: number[] = [];
    for (const list of this.breakpoints.values())
      for (const bp of list) {
        if (!bp.target || !bp.verified || !matches(bp.target, pos, this.matchContext())) continue;
        if (bp.condition) {
          let ok: boolean;
          try {
            ok = truthy(evaluateIn(bp.condition.ir, this.scope()));
          } catch (err) {
            this.events.output(
              `breakpoint condition '${bp.condition.text}' failed: ${(err as Error).message}\n`,
              "stderr",
            );
            ok = true;
          }
          if (!ok) continue;
        }
        bp.hits++;
        if (bp.hit && !bp.hit(bp.hits)) continue;
        ids.push(bp.id);
      }
    return ids;
  }

  private matchContext(): MatchContext {
    return {
      remote: this.isRemote,
      activeAgent: this.session?.activeAgent,
      definition: this.definition,
      callInput: (callId) => this.callInput(callId),
    };
  }

  /** The input the model gave a call, if it is the pending one: what the policy decided on. */
  private callInput(callId: string): Json {
    return this.pending?.callId === callId ? this.pending.original : null;
  }

  // ---- running ----------------------------------------------------------------------

  private hooks(): EngineHooks {
    return {
      afterEvent: (e, s) => this.onEvent(e, s),
      beforeToolRun: (call) => this.beforeRun(call),
      beforeMemoryWrite: (w) => this.beforeWrite(w),
      onStop: (s) => this.onEngineStop(s),
    };
  }

  /** Runs the launch to its end (or until cancelled); the session log ends with session.end. */
  async run(): Promise<void> {
    try {
      if (this.prepared.test) await this.runTest(this.prepared.test);
      else if (this.prepared.replay) await this.runReplay(this.prepared.replay.events);
      else if (this.prepared.remote) await this.runRemote(this.prepared.remote);
      else await this.runAgent();
    } catch (err) {
      const message =
        err instanceof BackendError || err instanceof LaunchError
          ? err.message
          : String((err as Error).stack ?? err);
      this.events.output(`statecraft debug: ${message}\n`, "stderr");
    } finally {
      this.finished = true;
    }
  }

  /** Queues work on the view, after every event already queued; a failure is reported, not thrown. */
  private onView(work: () => Promise<void>): Promise<void> {
    this.viewChain = this.viewChain
      .then(work)
      .catch((err: unknown) =>
        this.events.output(`statecraft debug: ${(err as Error).stack ?? String(err)}\n`, "stderr"),
      );
    return this.viewChain;
  }

  /**
   * A stateful backend: the runtime service (its endpoint, or one embedded here) runs each turn,
   * through the same client as `statecraft run`; every event it commits is mirrored into the
   * session log and then goes through the stop logic. The view stops; the turn goes on, except
   * at an approval, which the service holds until it is answered here.
   */
  private async runRemote(remote: RemoteLaunch): Promise<void> {
    const { loaded, workspace, env } = this.prepared;
    const runtime = await connect(remote.spec, { workspace, baseDir: path.dirname(loaded.root), env });
    const view = new RemoteView(this.definition);
    this.events.output(
      `state lives in the runtime at ${runtime.endpoint}; stops show events as the runtime commits them; the running turn is not paused (except while an approval waits)\n`,
      "important",
    );
    const session = new RemoteSession({
      client: runtime.client,
      definition: this.definition,
      workspace,
      runtimeEndpoint: runtime.endpoint,
      user: this.prepared.user,
      source: path.relative(workspace, loaded.root).split(path.sep).join("/"),
      approve: "ask",
      approver: (request) =>
        new Promise<boolean>((resolve) => {
          void this.onView(async () => resolve(await this.askApproval(request)));
        }),
      listener: (e) => void this.onView(() => this.onEvent(e, view)),
      onText: (t) => this.events.output(t, "stdout"),
    });
    this.sessionFile = session.file;
    let turns = 0;
    try {
      for (let input = await this.nextInput(); input !== undefined; input = await this.nextInput()) {
        const steps = remote.turns ? (remote.turns[turns] ?? []) : undefined;
        const turn = await session.send(input, steps ? { script: toWireScript(steps) } : {});
        turns++;
        // The next message goes once the view has shown this turn's events.
        await this.viewChain;
        this.events.output("\n", "stdout");
        if (this.cancelled) break;
        if (turn.status !== "ok") {
          this.events.output(`turn ${turn.turn} ${turn.status}: ${turn.reason}\n`, "stderr");
          break;
        }
      }
    } finally {
      // Disconnect or the last message: the runtime appends session.end (the `end` action).
      try {
        await session.end();
      } catch (err) {
        this.events.output(
          `the session was not ended on the runtime service: ${(err as Error).message}\n`,
          "stderr",
        );
      }
      await this.viewChain;
      await runtime.close();
      if (session.created)
        this.events.output(
          `session ${session.sessionId} (on ${runtime.endpoint}): ${session.file}\n`,
          "console",
        );
    }
  }

  /** What every session the debugger opens shares: its stops, its cancel, the launch's user and trust. */
  private openOptions(backend: ModelBackend): OpenSessionOptions {
    const def = this.definition;
    const { loaded, workspace, env } = this.prepared;
    return {
      definition: def,
      baseDir: path.dirname(loaded.root),
      backend,
      backendName: def.agents[def.agent].backend,
      workspace,
      env,
      user: this.prepared.user,
      signal: this.abort.signal,
      trusted: this.args.trusted !== false,
      hooks: this.hooks(),
      source: path.relative(workspace, loaded.root).split(path.sep).join("/"),
    };
  }

  private async runAgent(): Promise<void> {
    const backend = this.prepared.backend ?? launchBackend(this.prepared, this.args, this.definition);
    let status: "ok" | "failed" | "stopped" = "ok";
    let reason: string | undefined;
    const { session, sessionId, file, close } = await openSession({
      ...this.openOptions(backend),
      approver: (req) => this.askApproval(req),
      onText: (t) => this.events.output(t, "stdout"),
    });
    this.sessionFile = file;
    try {
      for (let input = await this.nextInput(); input !== undefined; input = await this.nextInput()) {
        const turn = await session.send(input);
        this.events.output("\n", "stdout");
        if (this.cancelled) break;
        if (turn.status !== "ok") {
          status = "failed";
          reason = `turn ${turn.turn} ${turn.status}: ${turn.reason}`;
          this.events.output(`${reason}\n`, "stderr");
          break;
        }
      }
    } finally {
      if (this.cancelled) [status, reason] = ["stopped", "cancelled from the debugger"];
      await close(status, reason);
      this.events.output(`session ${sessionId} (${status}): ${file}\n`, "console");
    }
  }

  private async runTest(test: TestIR): Promise<void> {
    const def = this.definition;
    const spec = def.backends[def.agents[def.agent].backend];
    const backend =
      spec.provider === "local"
        ? createBackend(spec, { env: this.prepared.env })
        : launchBackend(this.prepared, this.args, def);
    const queues = new TestQueues();
    const opened = await openSession({
      ...this.openOptions(backend),
      source: path.relative(this.prepared.workspace, test.file).split(path.sep).join("/"),
      test: test.name,
      mocks: queues.mockProvider,
      approver: queues.approver,
      memoryStore: new InMemoryStore(),
    });
    this.sessionFile = opened.file;
    let failures: { message: string; line: number }[] = [];
    let status: "ok" | "failed" | "stopped" = "ok";
    try {
      failures = await runTestSteps(
        test,
        opened.session,
        backend,
        queues,
        async (step) => {
          this.testStep = step;
          await this.reach({ kind: "test.step", step });
        },
        () => this.cancelled,
      );
      status = failures.length ? "failed" : "ok";
    } catch (err) {
      if (!(err instanceof BackendError)) throw err;
      failures.push({ message: err.message, line: test.line });
      status = "failed";
    } finally {
      if (this.cancelled) status = "stopped";
      await opened.close(status, status === "stopped" ? "cancelled from the debugger" : undefined);
    }
    const file = path.relative(this.prepared.workspace, test.file);
    if (status === "stopped") this.events.output(`test ${JSON.stringify(test.name)}: cancelled\n`, "console");
    else if (!failures.length) this.events.output(`test ${JSON.stringify(test.name)} passed\n`, "console");
    else
      this.events.output(
        `test ${JSON.stringify(test.name)} failed:\n${failures.map((f) => `  ${file}:${f.line}: ${f.message}\n`).join("")}`,
        "stderr",
      );
  }

  /** The exact replay of a session log (runtime/replay.ts), with the debugger's stops at every event. */
  private async runReplay(events: SessionEvent[]): Promise<void> {
    const dir = path.dirname(this.prepared.replay!.file);
    const restore = startState(events, (id) => readLog(path.join(dir, `${id}.jsonl`)).events);
    const out = (text: string) => this.events.output(text, "console");
    const result = await replayExact(events, this.definition, path.dirname(this.prepared.loaded.root), {
      restore: restore && {
        ...restore,
        agent: restore.agent in this.definition.agents ? restore.agent : this.definition.agent,
      },
      signal: this.abort.signal,
      hooks: {
        ...this.hooks(),
        onDivergence: (d) => (this.divergence = { summary: d.summary, shown: false }),
        onApproval: (req, approved) =>
          out(`  (replay) ${req.tool}: ${approved ? "approved" : "refused"} as recorded\n`),
        onEdit: (edit) => {
          const p = this.pending;
          if (edit.target === "tool.input" && p && p.callId === edit.callId) {
            const next = structuredClone(p.input);
            if (setPath(next, edit.field.split("."), edit.after) !== SET_FAILED)
              Object.assign(p, { input: next, edited: true });
          }
          out(
            `  (replay) edited ${edit.target === "memory" ? "memory" : `${edit.tool ?? ""} input`} ${edit.field} as recorded\n`,
          );
        },
      },
    });
    if (this.cancelled) return;
    if (result.divergence) this.events.output(`replay diverged: ${result.divergence.summary}\n`, "stderr");
    else
      out(
        `replay matched the recording: ${result.turns} turn${result.turns === 1 ? "" : "s"}, ${result.requests} model call${result.requests === 1 ? "" : "s"}\n`,
      );
  }

  // ---- hooks ------------------------------------------------------------------------

  private async onEvent(e: SessionEvent, session: SessionView): Promise<void> {
    if (session instanceof RemoteView) session.apply(e);
    this.session = session;
    if (e.type === "manual.edit") return;
    this.track(e);
    if (this.cancelled) return;
    await this.reach({ kind: "event", event: e });
    if (
      this.pending &&
      ((e.type === "policy.decision" && e.decision === "deny" && e.callId === this.pending.callId) ||
        (e.type === "approval" && !e.approved && e.callId === this.pending.callId))
    )
      this.pending = undefined;
  }

  private track(e: SessionEvent): void {
    const out = (t: string) => this.events.output(t, "console");
    switch (e.type) {
      case "turn.start":
        this.turnInput = e.input;
        out(`> ${e.input}\n`);
        break;
      case "context.snapshot":
        this.lastSnapshot = e;
        break;
      case "model.response":
        this.lastResponse = e;
        break;
      case "tool.call":
        this.pending = {
          callId: e.callId,
          tool: e.tool,
          input: structuredClone(e.input),
          original: e.input,
          edited: false,
          ...(e.identity ? { identity: e.identity } : {}),
        };
        out(`  -> ${e.tool} ${JSON.stringify(e.input)}\n`);
        break;
      case "policy.decision":
        if (e.decision === "deny") out(`  <- ${e.tool} denied: ${e.reason}\n`);
        break;
      case "approval":
        out(`  <- ${e.tool} ${e.approved ? "approved" : "not approved"} by ${e.by}\n`);
        break;
      case "tool.result":
        this.lastResult = e;
        if (this.pending?.callId === e.callId) this.pending = undefined;
        out(
          e.ok ? `  <- ${e.tool} ${clip(JSON.stringify(e.output))}\n` : `  <- ${e.tool} failed: ${e.error}\n`,
        );
        break;
      case "memory.write":
        if (this.pending?.callId === e.callId) this.pending = undefined;
        out(
          e.ok
            ? `  memory ${e.memory}.${e.field} = ${JSON.stringify(e.value)}\n`
            : `  memory write refused: ${e.error}\n`,
        );
        break;
      case "handoff":
        if (this.pending?.callId === e.callId) this.pending = undefined;
        out(`  -> handed off from ${e.from} to ${e.to}\n`);
        break;
      case "turn.end":
        if (e.status !== "ok") out(`turn ${e.turn} ${e.status}: ${e.reason}\n`);
        break;
    }
  }

  private async beforeRun(call: ToolCallRequest): Promise<Json | undefined> {
    if (this.cancelled) throw new Cancelled();
    await this.reach({ kind: "tool.run", call });
    if (this.cancelled) throw new Cancelled();
    const p = this.pending;
    return p && p.callId === call.id && p.edited ? structuredClone(p.input) : undefined;
  }

  private async beforeWrite(w: MemoryWriteRequest): Promise<Json | undefined> {
    if (this.cancelled) throw new Cancelled();
    await this.reach({ kind: "memory.write", write: w });
    if (this.cancelled) throw new Cancelled();
    const p = this.pending;
    if (
      p &&
      p.callId === w.callId &&
      p.edited &&
      p.input &&
      typeof p.input === "object" &&
      !Array.isArray(p.input)
    )
      return structuredClone((p.input as Record<string, Json>).value ?? null);
    return undefined;
  }

  private async onEngineStop(s: EngineStop): Promise<void> {
    this.events.output(
      `${s.kind === "limit" ? "limit reached" : "model call failed"}: ${s.reason}\n`,
      "stderr",
    );
    await this.reach({ kind: s.kind, reason: s.reason });
  }

  private async askApproval(request: ApprovalRequest): Promise<boolean> {
    if (this.cancelled) return false;
    const answer = new Promise<boolean>((resolve) => {
      this.approval = { request, answer: resolve };
    });
    const why = `${request.tool} needs approval (${request.reason}): type approve or reject in the Debug Console`;
    this.events.output(
      `approval needed: ${request.tool} ${JSON.stringify(request.input)}; type approve or reject\n`,
      "important",
    );
    this.position = { kind: "approval", request };
    if (!this.noDebug) {
      this.isStopped = true;
      this.stopInfo = {
        reason: "approval needed",
        description: `Approval needed: ${request.tool}`,
        text: why,
      };
      this.events.stopped(this.stopInfo);
    }
    const approved = await answer;
    this.approval = undefined;
    return approved;
  }

  /** The approval answer typed in the Debug Console; resumes to the next event. */
  answerApproval(approved: boolean): boolean {
    const a = this.approval;
    if (!a) return false;
    this.approval = undefined;
    this.mode = "next";
    this.stepTurn = this.session?.turn ?? 0;
    if (this.isStopped) {
      this.isStopped = false;
      this.events.continued();
    }
    a.answer(approved);
    return true;
  }

  /** The one place that decides whether to stop at a position. */
  private async reach(pos: Position): Promise<void> {
    if (this.cancelled) return;
    this.position = pos;
    if (this.noDebug) return;
    const stop = this.stopFor(pos);
    if (!stop) return;
    this.stopInfo = stop;
    this.isStopped = true;
    const resumed = new Promise<void>((resolve) => (this.resume = resolve));
    this.events.stopped(stop);
    await resumed;
  }

  private stopFor(pos: Position): StopInfo | undefined {
    const ids = this.hits(pos);
    if (ids.length)
      return { reason: "breakpoint", description: `Breakpoint: ${describe(pos)}`, breakpointIds: ids };
    if (pos.kind === "event" && pos.event.type === "session.start" && this.args.stopOnEntry)
      return { reason: "entry", description: "Paused on entry" };
    if (
      pos.kind === "event" &&
      pos.event.type === "tool.result" &&
      !pos.event.ok &&
      this.filters.has("toolError")
    )
      return { reason: "tool error", description: `Tool error: ${pos.event.tool}`, text: pos.event.error };
    if (pos.kind === "limit" && this.filters.has("limit"))
      return { reason: "limit reached", description: "Limit reached", text: pos.reason };
    if (
      pos.kind === "event" &&
      pos.event.type === "policy.decision" &&
      pos.event.check === "limit" &&
      this.filters.has("limit")
    )
      return { reason: "limit reached", description: "Limit reached", text: pos.event.reason };
    if (pos.kind === "error" && this.filters.has("modelError"))
      return { reason: "exception", description: "Model call failed", text: pos.reason };
    // A replay stops where it diverged, and at every model call after that.
    const d = this.divergence;
    if (d && pos.kind === "event" && (!d.shown || pos.event.type === "context.snapshot")) {
      d.shown = true;
      return { reason: "exception", description: "Replay diverged", text: d.summary };
    }
    const step = this.stepWants(pos);
    if (step) return { reason: step, description: step === "pause" ? "Paused" : `Step: ${describe(pos)}` };
    return undefined;
  }

  private stepWants(pos: Position): "step" | "pause" | undefined {
    switch (this.mode) {
      case "continue":
        return undefined;
      case "pause":
        return "pause";
      case "next":
        return pos.kind === "event" ||
          pos.kind === "test.step" ||
          pos.kind === "limit" ||
          pos.kind === "error"
          ? "step"
          : undefined;
      case "stepIn": {
        if (pos.kind !== "event") return "step";
        const e = pos.event;
        // Into a call: its input (about to run), then its result; a decision that lets it through is not a stop.
        if (e.type === "policy.decision" && e.decision !== "deny") return undefined;
        if (e.type === "approval" && e.approved) return undefined;
        return "step";
      }
      case "stepOut":
        return pos.kind === "event" &&
          ((pos.event.type === "turn.end" && pos.event.turn >= this.stepTurn) ||
            pos.event.type === "session.end")
          ? "step"
          : undefined;
    }
  }

  /** Resumes a stopped run. False (with nothing done) while an approval waits for an answer. */
  resumeWith(mode: ResumeMode): boolean {
    if (this.approval) return false;
    this.mode = mode;
    this.stepTurn = this.session?.turn ?? 0;
    const r = this.resume;
    this.resume = undefined;
    this.isStopped = false;
    this.stopInfo = undefined;
    r?.();
    return true;
  }

  /** Stops at the next position the engine reaches. */
  pause(): void {
    this.mode = "pause";
    if (this.inputWaiter && !this.isStopped) {
      // Waiting for a user message: nothing runs, so stop right here.
      this.position = { kind: "input" };
      this.stopInfo = { reason: "pause", description: "Paused: waiting for the next user message" };
      this.isStopped = true;
      this.resume = undefined;
      this.events.stopped(this.stopInfo);
    }
  }

  /** Cancels the run: the engine is unwound and the session log ends "stopped". */
  cancel(): void {
    if (this.abort.signal.aborted) return;
    this.abort.abort();
    this.approval?.answer(false);
    this.approval = undefined;
    const r = this.resume;
    this.resume = undefined;
    r?.();
    const w = this.inputWaiter;
    this.inputWaiter = undefined;
    w?.(undefined);
  }

  get done(): boolean {
    return this.finished;
  }

  // ---- user messages ------------------------------------------------------------------

  private consoleMode(): boolean {
    return this.args.inputs === undefined;
  }

  private async nextInput(): Promise<string | undefined> {
    if (this.cancelled) return undefined;
    const queued = this.queue.shift();
    if (queued !== undefined) return queued;
    if (!this.consoleMode()) return undefined;
    this.events.output(
      `Type the next user message in the Debug Console (/end ends the session).\n`,
      "console",
    );
    return new Promise<string | undefined>((resolve) => {
      this.inputWaiter = (line) => {
        this.inputWaiter = undefined;
        resolve(line);
      };
    });
  }

  /** A user message typed in the Debug Console: sent now if the session waits for one, else next. */
  submitMessage(text: string): "sent" | "queued" {
    if (this.inputWaiter) {
      if (this.isStopped && this.position?.kind === "input") {
        this.isStopped = false;
        this.events.continued();
      }
      this.mode = this.mode === "pause" ? "continue" : this.mode;
      this.inputWaiter(text);
      return "sent";
    }
    this.queue.push(text);
    return "queued";
  }

  /** `/end`: no more user messages; the session ends once the current turn has. */
  endInput(): void {
    const w = this.inputWaiter;
    this.inputWaiter = undefined;
    this.queue.length = 0;
    if (w) {
      if (this.isStopped && this.position?.kind === "input") {
        this.isStopped = false;
        this.events.continued();
      }
      w(undefined);
    } else this.args.inputs ??= [];
  }

  // ---- inspection and edits -------------------------------------------------------------

  /** The names expressions can use, at the current position. */
  scope(): Scope {
    const s = this.session;
    const agent = s?.agent();
    const pos = this.position;
    const snap = this.lastSnapshot;
    const input: Json =
      pos?.kind === "memory.write"
        ? { field: pos.write.field, value: pos.write.value }
        : pos?.kind === "approval"
          ? pos.request.input
          : (this.pending?.input ?? null);
    return {
      input,
      memory: (s?.memory ?? {}) as Json,
      context: snap
        ? {
            tokens: snap.tokens.total,
            sections: { ...snap.tokens },
            messages: snap.messages as unknown as Json,
            tools: snap.tools.map((t) => t.name),
            model: snap.model ?? null,
            window: snap.contextWindow ?? null,
            bytes: snap.bytes,
          }
        : null,
      usage: s
        ? {
            inputTokens: s.usage.inputTokens,
            outputTokens: s.usage.outputTokens,
            total: s.usage.inputTokens + s.usage.outputTokens,
            toolCalls: s.toolCalls,
          }
        : null,
      identity: agent
        ? {
            role: agent.identity.role ?? null,
            actsFor: agent.identity.actsFor,
            scopes: agent.identity.scopes,
          }
        : null,
      user: { id: this.prepared.user.id, name: this.prepared.user.name ?? null },
      turn: s?.turn ?? 0,
      agent: s?.activeAgent ?? this.definition.agent,
      tool: this.pending?.tool ?? null,
      call: this.pending
        ? { callId: this.pending.callId, tool: this.pending.tool, input: this.pending.input }
        : null,
      result: this.lastResult
        ? {
            tool: this.lastResult.tool,
            ok: this.lastResult.ok,
            output: this.lastResult.output ?? null,
            error: this.lastResult.error ?? null,
          }
        : null,
      message: this.turnInput ?? null,
      vars: agent?.vars ?? {},
    };
  }

  /** Whether the pending call's input may still change what runs. */
  get pendingEditable(): boolean {
    return this.pendingEditProblem() === undefined;
  }

  /**
   * Why the pending call's input cannot be edited now. Edits apply once the policy has let the
   * call through (they are checked against it again), so that the policy never decides on an
   * input other than the one that runs.
   */
  private pendingEditProblem(): string | undefined {
    const p = this.pending;
    if (!p) return "there is no pending tool call to edit";
    if (this.isReplay) return "a replay plays the recording back: fork the session to change it";
    if (!this.isStopped) return "the run is not stopped";
    const pos = this.position;
    if (pos?.kind === "tool.run" || pos?.kind === "memory.write" || pos?.kind === "approval")
      return undefined;
    if (pos?.kind === "event") {
      const e = pos.event;
      if (e.type === "policy.decision" && e.callId === p.callId && e.decision !== "deny") return undefined;
      if (e.type === "approval" && e.callId === p.callId && e.approved) return undefined;
      if (e.type === "tool.call" && e.callId === p.callId && !this.definition.tools[p.tool]) return undefined;
      if (e.type === "tool.call" && e.callId === p.callId)
        return "the policy has not decided on this call yet: step in to its input (or set a breakpoint on the tool) to edit it";
    }
    return "this call has already run";
  }

  /**
   * Sets a field of the pending tool call's input (`fieldPath` inside the
   * input) to `value`; checked against the tool's input schema and the
   * policy, and recorded as a manual edit. Returns an error message, or undefined.
   */
  async editPendingInput(fieldPath: string[], value: Json): Promise<string | undefined> {
    if (this.isRemote) return REMOTE_EDIT_REFUSED;
    const p = this.pending;
    const s = this.session as AgentSession | undefined;
    if (!p || !s) return "there is no pending tool call to edit";
    const problem = this.pendingEditProblem();
    if (problem) return problem;
    const isMemoryTool = !this.definition.tools[p.tool];
    if (isMemoryTool && (fieldPath[0] !== "value" || p.tool !== MEMORY_TOOL))
      return p.tool === MEMORY_TOOL
        ? "only the value of a memory write can be edited (change other fields in Memory)"
        : `${p.tool} has no input to edit`;
    const next = structuredClone(p.input);
    const before = setPath(next, fieldPath, value);
    if (before === SET_FAILED) return `the input has no field ${fieldPath.join(".")}`;
    if (!isMemoryTool) {
      const spec = this.definition.tools[p.tool];
      const problem = validateJson(spec.parameters, next, "input");
      if (problem) return `not a valid input for ${p.tool}: ${problem}`;
      const verdict = decide(this.definition, s.agent(), p.tool, next, {
        toolCalls: s.toolCalls,
        tokens: s.usage.inputTokens + s.usage.outputTokens,
      });
      if (verdict.decision === "deny") return `the policy would deny this input: ${verdict.reason}`;
    } else {
      const mem = s.memorySpec();
      const field = (next as Record<string, Json>).field;
      const f = mem && typeof field === "string" ? mem.fields[field] : undefined;
      const problem = f ? validateJson(f.schema, value, String(field)) : undefined;
      if (problem) return `not a valid value for ${String(field)}: ${problem}`;
    }
    p.input = next;
    p.edited = true;
    await s.recordEdit({
      target: "tool.input",
      callId: p.callId,
      tool: p.tool,
      field: fieldPath.join("."),
      before,
      after: value,
      by: "debugger",
    });
    this.events.output(
      `edited ${p.tool} input ${fieldPath.join(".")}: ${JSON.stringify(before)} -> ${JSON.stringify(value)}\n`,
      "console",
    );
    return undefined;
  }

  /** Sets a memory field (or a part of one) of the active agent; checked and recorded. */
  async editMemory(fieldPath: string[], value: Json): Promise<string | undefined> {
    if (this.isRemote) return REMOTE_EDIT_REFUSED;
    const s = this.session as AgentSession | undefined;
    if (!s) return "the session has not started";
    if (this.isReplay) return "a replay plays the recording back: fork the session to change it";
    const spec = s.memorySpec();
    if (!spec) return `agent '${s.activeAgent}' has no memory`;
    const f = spec.fields[fieldPath[0]];
    if (!f)
      return `memory '${spec.name}' has no field '${fieldPath[0]}'; fields: ${Object.keys(spec.fields).join(", ")}`;
    const next = structuredClone(s.memory) as Json;
    const before = setPath(next, fieldPath, value, true);
    if (before === SET_FAILED) return `memory has no field ${fieldPath.join(".")}`;
    const fieldValue = (next as Record<string, Json>)[fieldPath[0]];
    const problem = validateJson(f.schema as JsonSchema, fieldValue, fieldPath[0]);
    if (problem) return `not a valid value for ${fieldPath[0]}: ${problem}`;
    s.memory = next as Record<string, Json>;
    await s.recordEdit({
      target: "memory",
      memory: spec.name,
      field: fieldPath.join("."),
      before,
      after: value,
      by: "debugger",
    });
    this.events.output(
      `edited memory ${spec.name}.${fieldPath.join(".")}: ${JSON.stringify(before)} -> ${JSON.stringify(value)}\n`,
      "console",
    );
    return undefined;
  }

  /** Where the current position acts in the spec: the declaration's line. */
  actingLocation(): Location | undefined {
    return actingLocation(this.position, {
      map: this.map,
      definition: this.definition,
      agent: this.session?.activeAgent ?? this.definition.agent,
      testFile: this.prepared.test?.file,
      callInput: (callId) => this.callInput(callId),
    });
  }
}

function clip(s: string | undefined, n = 200): string {
  if (s === undefined) return "";
  return s.length > n ? `${s.slice(0, n)}…` : s;
}
