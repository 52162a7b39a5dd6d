// Runs an `eval` (evals.md sections 1 and 3): every case x trial x backend is a case run, a recorded
// session tagged with `session.start.eval`, run `concurrency` at a time. A case's steps run through
// the test runner's step machinery; its expectations, trajectory, judge and score criteria are
// checked after the whole case, each written as an `eval.score` event before `session.end`. The
// result is the run's JSON (protocol/evals.ts), which `writeEvalRun` puts under .statecraft/evals/.

import * as fs from "node:fs";
import * as path from "node:path";
import type { EvalCaseIR, EvalCriterionIR, EvalIR } from "../language/evalIR";
import type { CompiledBackend, CompiledDefinition } from "../protocol/definition";
import type { TestFailure } from "../protocol/cli";
import type { EvalCheck, EvalSessionTag, Message, SessionEvent, Usage } from "../protocol/events";
import { EVAL_RUN_FORMAT, type EvalBackendSummary, type EvalCaseRun, type EvalRun } from "../protocol/evals";
import type { TurnResult } from "./engine";
import { judge, nextUserMessage } from "./evalJudges";
import { InMemoryStore, type MemoryStore } from "./memoryStore";
import { BackendError, type BackendFactory, type ModelBackend } from "./model";
import { openSession } from "./openSession";
import { backendSpec, compileFor, RunError, withBackend, type LoadedProgram } from "./prepare";
import { childEnv } from "./secrets";
import { newSessionId } from "./sessionLog";
import {
  checkAfterCase,
  runTestSteps,
  TestQueues,
  type CaseState,
  type CaseStep,
  type CaseStepOptions,
} from "./testRunner";
import { DEFAULT_TIMEOUT_MS, runJsonProcess, type McpCaller } from "./tools";

/** Who answered an approval no `approve`/`reject` step answered: evals reject it, and say so. */
export const UNANSWERED_APPROVAL = "eval (no approve step: rejected)";

export interface EvalRunOptions {
  /** Sessions go to <workspace>/.statecraft/sessions/, the run to .statecraft/evals/. */
  workspace: string;
  env: NodeJS.ProcessEnv;
  /** Makes the model backends (backends/index.ts createBackend), the agent's, the judge's and the simulated user's. */
  createBackend: BackendFactory;
  trusted?: boolean;
  mcp?: McpCaller;
  /** Memory that outlives sessions: by default each case run gets a fresh one, so runs stay independent. */
  memoryStore?: () => MemoryStore;
  /** Overrides of the eval's own settings (the CLI's --backend, --trials, --concurrency). */
  backends?: string[];
  trials?: number;
  concurrency?: number;
  /** Only the cases whose name contains this text. */
  caseFilter?: string;
  /** Aborting cancels the case runs in flight; the run keeps what finished, with status `interrupted`. */
  signal?: AbortSignal;
  /** The run's id; default a new one. */
  runId?: string;
  /** Told when a case run finishes (the CLI's progress). */
  onCaseRun?: (run: EvalCaseRun) => void;
  /** Opens case sessions on `kind: stateful` backends (in their runtime service); without it they cannot run. */
  openStateful?: StatefulCaseOpener;
  /** A new observer for each case session's events (the CLI's telemetry, when an endpoint is set). */
  observe?: () => ((event: SessionEvent) => void) | undefined;
}

interface Job {
  case: EvalCaseIR;
  trial: number;
  backend: string;
}

/** The case runs an eval makes with these options, in order (case, then backend, then trial). */
export function evalJobs(ev: EvalIR, o: Pick<EvalRunOptions, "backends" | "trials" | "caseFilter">): Job[] {
  const backends = o.backends?.length ? o.backends : ev.backends;
  const trials = o.trials ?? ev.trials;
  const jobs: Job[] = [];
  for (const c of ev.cases) {
    if (o.caseFilter !== undefined && !c.name.includes(o.caseFilter)) continue;
    for (const backend of backends)
      for (let trial = 1; trial <= trials; trial++) jobs.push({ case: c, trial, backend });
  }
  return jobs;
}

export async function runEval(loaded: LoadedProgram, ev: EvalIR, options: EvalRunOptions): Promise<EvalRun> {
  const startedAt = new Date();
  const run = options.runId ?? newSessionId(startedAt);
  const backends = options.backends?.length ? options.backends : ev.backends;
  const trials = options.trials ?? ev.trials;
  const own = compileFor(loaded, ev.agent);
  // One compiled definition per backend, checked before anything runs: an unknown backend is a RunError.
  const definitions = new Map<string, CompiledDefinition>(
    backends.map((b) => [b, own.agents[own.agent].backend === b ? own : withBackend(loaded, own, b)]),
  );
  const judgeSpec = ev.judge ? backendSpec(loaded, ev.judge) : undefined;
  const simulators = new Map<string, CompiledBackend>();
  for (const c of ev.cases)
    if (c.simulate && !simulators.has(c.simulate.backend))
      simulators.set(c.simulate.backend, backendSpec(loaded, c.simulate.backend));
  const ctx: CaseContext = { loaded, ev, run, options, definitions, judgeSpec, simulators };
  const jobs = evalJobs(ev, { ...options, backends, trials });
  const done: (EvalCaseRun | undefined)[] = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length && !options.signal?.aborted) {
      const i = next++;
      done[i] = await runCase(ctx, jobs[i]);
      if (done[i]) options.onCaseRun?.(done[i]!);
    }
  };
  const concurrency = Math.max(1, options.concurrency ?? ev.concurrency);
  await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, worker));
  const cases = done.filter((c): c is EvalCaseRun => c !== undefined);
  const summary = summarize(cases, backends);
  const meets = backends.every((b) => summary[b].runs > 0 && summary[b].passRate >= ev.passRate);
  return {
    format: EVAL_RUN_FORMAT,
    run,
    eval: ev.name,
    file: relative(options.workspace, ev.file),
    startedAt: startedAt.toISOString(),
    endedAt: new Date().toISOString(),
    definitionHash: own.hash,
    backends,
    status: options.signal?.aborted ? "interrupted" : meets ? "passed" : "failed",
    passRate: ev.passRate,
    trials,
    cases,
    summary,
  };
}

/** The run's JSON, at .statecraft/evals/<run>.json; returns the file. */
export function writeEvalRun(workspace: string, run: EvalRun): string {
  const file = path.join(evalsDir(workspace), `${run.run}.json`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(run, null, 2) + "\n");
  return file;
}

export function evalsDir(workspace: string): string {
  return path.join(workspace, ".statecraft", "evals");
}

const relative = (from: string, file: string) => path.relative(from, file).split(path.sep).join("/");
const zero = (): Usage => ({ inputTokens: 0, outputTokens: 0 });
const add = (a: Usage, b: Usage | undefined) => {
  if (!b) return;
  a.inputTokens += b.inputTokens;
  a.outputTokens += b.outputTokens;
};

interface CaseContext {
  loaded: LoadedProgram;
  ev: EvalIR;
  run: string;
  options: EvalRunOptions;
  definitions: Map<string, CompiledDefinition>;
  judgeSpec?: CompiledBackend;
  simulators: Map<string, CompiledBackend>;
}

/**
 * A case run's session, local (an AgentSession on this machine) or stateful (in a runtime service,
 * mirrored here): what the runner needs to drive it and check it.
 */
export interface CaseSession {
  readonly sessionId: string;
  /** The session log on this machine (a stateful session's mirror). */
  readonly file: string;
  /** Turn count, agent usage, memory: what expectations read (testRunner.ts CaseState). */
  readonly state: CaseState;
  /** The conversation so far, turn by turn (what judges and the simulated user read). */
  history(): Message[][];
  /** The agent's instructions and tool names (the built-in judges' {instructions} and {tools}). */
  readonly instructions: string;
  readonly tools: string[];
  /** Runs the case's steps (sends, arrange steps, approvals); expectations are left for after the case. */
  runSteps(steps: CaseStep[], options: CaseStepOptions, cancelled: () => boolean): Promise<TestFailure[]>;
  /** One turn (the simulated user's message). */
  send(text: string): Promise<TurnResult>;
  /** Scripted model steps not used yet (local provider), dropped. */
  dropScript(): number;
  /** Records the checks (eval.score events) and ends the session. */
  finish(checks: EvalCheck[], passed: boolean): Promise<void>;
  /** Ends the session as stopped (cancelled) or failed (an error), without checks. */
  abandon(status: "stopped" | "failed", reason: string): Promise<void>;
}

/** What a case session is opened with. */
export interface CaseSessionRequest {
  definition: CompiledDefinition;
  spec: CompiledBackend;
  baseDir: string;
  user?: { id: string; name?: string };
  source: string;
  eval: EvalSessionTag;
  /** Told of every event (local: as written; stateful: as mirrored). */
  listener: (event: SessionEvent) => void;
  signal?: AbortSignal;
}

/**
 * Opens the session of a case run on a `kind: stateful` backend, in its runtime service
 * (cli/evalRemote.ts): injected, since the runtime does not reach services.
 */
export type StatefulCaseOpener = (request: CaseSessionRequest) => Promise<CaseSession>;

async function openLocalCase(ctx: CaseContext, r: CaseSessionRequest): Promise<CaseSession> {
  const o = ctx.options;
  const backend = o.createBackend(r.spec, { env: o.env });
  const queues = new TestQueues({ approved: false, by: UNANSWERED_APPROVAL });
  const opened = await openSession({
    definition: r.definition,
    baseDir: r.baseDir,
    backend,
    backendName: r.spec.name,
    workspace: o.workspace,
    env: o.env,
    user: r.user,
    mocks: queues.mockProvider,
    approver: queues.approver,
    memoryStore: o.memoryStore?.() ?? new InMemoryStore(),
    mcp: o.mcp,
    trusted: o.trusted ?? true,
    source: r.source,
    eval: r.eval,
    signal: r.signal,
    listener: r.listener,
  });
  const session = opened.session;
  const agent = session.agent(session.definition.agent);
  return {
    sessionId: opened.sessionId,
    file: opened.file,
    state: session,
    history: () => session.history,
    instructions: agent.instructions,
    tools: session.toolSchemas(agent).map((t) => t.name),
    runSteps: (steps, options, cancelled) =>
      runTestSteps({ steps }, session, backend, queues, undefined, cancelled, options),
    send: (text) => session.send(text),
    dropScript: () => {
      const left = backend.scripted?.pending ?? 0;
      backend.scripted?.clear();
      return left;
    },
    finish: async (checks, passed) => {
      for (const k of checks) await session.recordScore(k);
      await opened.close(passed ? "ok" : "failed");
    },
    abandon: (status, reason) => opened.close(status, reason),
  };
}

/** One case run: undefined when the run was cancelled before it finished (it is left out of the run). */
async function runCase(ctx: CaseContext, job: Job): Promise<EvalCaseRun | undefined> {
  const { ev, options } = ctx;
  const c = job.case;
  const signal = options.signal;
  const folder = path.dirname(ev.file);
  const definition = ctx.definitions.get(job.backend)!;
  const spec = definition.backends[definition.agents[definition.agent].backend];
  const make = (s: CompiledBackend) => options.createBackend(s, { env: options.env });
  const result: EvalCaseRun = {
    case: c.name,
    trial: job.trial,
    backend: job.backend,
    session: "",
    passed: false,
    checks: [],
    usage: zero(),
    judgeUsage: zero(),
    latencyMs: 0,
    bytesSent: 0,
    file: relative(folder, c.file),
    line: c.line,
  };
  let opened: CaseSession | undefined;
  let lastRequestBytes = 0;
  const observer = options.observe?.();
  const listener = (e: SessionEvent) => {
    if (e.type === "model.request") lastRequestBytes = e.bytes;
    else if (e.type === "model.response") result.bytesSent += e.wireBytes ?? lastRequestBytes;
    observer?.(e);
  };
  try {
    const judgeBackend = ctx.judgeSpec && make(ctx.judgeSpec);
    const simSpec = c.simulate && ctx.simulators.get(c.simulate.backend);
    const simulator = simSpec && make(simSpec);
    const request: CaseSessionRequest = {
      definition,
      spec,
      baseDir: path.dirname(ctx.loaded.root),
      user: c.user,
      source: relative(options.workspace, ctx.loaded.root),
      eval: { run: ctx.run, eval: ev.name, case: c.name, trial: job.trial, backend: job.backend },
      listener,
      signal,
    };
    if (spec.kind === "stateful" && !options.openStateful)
      throw new RunError(
        `backend '${spec.name}' is stateful: this caller cannot open runtime service sessions`,
      );
    opened =
      spec.kind === "stateful" ? await options.openStateful!(request) : await openLocalCase(ctx, request);
    result.session = opened.sessionId;
    const session = opened;
    const turns: TurnResult[] = [];
    let sentAt = performance.now();
    const onTurn = (t: TurnResult) => {
      turns.push(t);
      result.latencyMs += performance.now() - sentAt;
    };
    const failures = await session.runSteps(
      c.steps as CaseStep[],
      {
        arrange: (s) => {
          const target = s.kind === "judge.scores" ? judgeBackend : simulator;
          target?.scripted?.enqueue({
            kind: "reply",
            text: JSON.stringify(
              s.kind === "judge.scores"
                ? { score: s.score, reason: s.reason }
                : { message: s.text, done: false },
            ),
          });
        },
        beforeSend: () => (sentAt = performance.now()),
        onTurn,
      },
      () => signal?.aborted === true,
    );
    const checks: EvalCheck[] = failures.map((f) => ({
      criterion: f.step ?? c.name,
      kind: "expect",
      passed: false,
      reason: f.message,
      file: result.file,
      line: f.line,
    }));
    if (c.simulate && simulator && !signal?.aborted) {
      const problem = await simulate(
        c,
        simulator,
        simSpec!.model,
        session,
        result,
        onTurn,
        (t) => (sentAt = t),
        signal,
      );
      if (problem)
        checks.push({
          criterion: "simulate",
          kind: "expect",
          passed: false,
          reason: problem,
          file: result.file,
          line: c.simulate.line,
        });
    }
    if (signal?.aborted) {
      await session.abandon("stopped", "cancelled");
      return undefined;
    }
    for (const { step, problem } of checkAfterCase(c.steps as CaseStep[], turns, session.state))
      checks.push({
        criterion: step.source,
        kind: "expect",
        passed: problem === undefined,
        reason: problem ?? "holds",
        file: result.file,
        line: step.line,
      });
    for (const criterion of [...c.criteria, ...ev.judges]) {
      if (signal?.aborted) break;
      checks.push(await check(ctx, c, criterion, { session, turns, judgeBackend }));
    }
    if (signal?.aborted) {
      await session.abandon("stopped", "cancelled");
      return undefined;
    }
    for (const k of checks) add(result.judgeUsage, k.usage);
    result.checks = checks;
    result.usage = { ...session.state.usage };
    result.latencyMs = Math.round(result.latencyMs * 10) / 10;
    result.passed = checks.every((k) => k.passed);
    await session.finish(checks, result.passed);
    return result;
  } catch (err) {
    if (signal?.aborted) {
      await opened?.abandon("stopped", "cancelled");
      return undefined;
    }
    if (!(err instanceof BackendError || err instanceof RunError)) throw err;
    result.error = err.message;
    result.passed = false;
    if (opened) result.usage = { ...opened.state.usage };
    await opened?.abandon("failed", err.message);
    return result;
  }
}

/** Plays the simulated user: its next message or done, up to max_turns. A problem ends it, with the reason. */
async function simulate(
  c: EvalCaseIR,
  simulator: ModelBackend,
  model: string | undefined,
  session: CaseSession,
  result: EvalCaseRun,
  onTurn: (t: TurnResult) => void,
  startTurn: (at: number) => void,
  signal: AbortSignal | undefined,
): Promise<string | undefined> {
  const sim = c.simulate!;
  for (let n = 0; n < sim.maxTurns && !signal?.aborted; n++) {
    const next = await nextUserMessage(
      simulator,
      model,
      { persona: sim.persona, goal: sim.goal, history: session.history() },
      result.judgeUsage,
      signal,
    );
    if (next.problem) return next.problem;
    if (next.done || next.message === undefined) break;
    startTurn(performance.now());
    const turn = await session.send(next.message);
    onTurn(turn);
    if (turn.status !== "ok")
      return `turn ${turn.turn} ${turn.status === "failed" ? "failed" : "was stopped"}: ${turn.reason}`;
  }
  // A scripted agent must have used its whole script by the end of a simulated conversation.
  const left = session.dropScript();
  if (left > 0)
    return `${left} scripted model step${left === 1 ? " was" : "s were"} not used by the conversation`;
  return undefined;
}

async function check(
  ctx: CaseContext,
  c: EvalCaseIR,
  k: EvalCriterionIR,
  run: { session: CaseSession; turns: TurnResult[]; judgeBackend?: ModelBackend },
): Promise<EvalCheck> {
  const where = { file: relative(path.dirname(ctx.ev.file), k.file), line: k.line };
  switch (k.kind) {
    case "trajectory": {
      const called = run.turns.flatMap((t) => t.tools.map((x) => x.tool));
      const t = trajectory(k.tools, called, k.mode);
      return {
        criterion: `trajectory [${k.tools.join(", ")}] ${k.mode}`,
        kind: "trajectory",
        score: t.recall,
        precision: t.precision,
        recall: t.recall,
        passed: t.passed,
        reason: t.reason,
        ...where,
      };
    }
    case "judge": {
      const criterion = k.builtin ? `judge ${k.builtin}` : `judge ${JSON.stringify(k.criterion)}`;
      const base = { criterion, kind: "judge" as const, threshold: k.atLeast, ...where };
      if (!run.judgeBackend || !ctx.judgeSpec)
        return {
          ...base,
          passed: false,
          reason: "the eval has no judge backend: add judge: NAME to the eval",
        };
      const session = run.session;
      const j = await judge(
        run.judgeBackend,
        ctx.judgeSpec.model,
        {
          criterion: k.criterion,
          builtin: k.builtin,
          history: session.history(),
          expected: c.expected,
          goal: c.goal ?? c.simulate?.goal,
          instructions: session.instructions,
          tools: session.tools,
        },
        ctx.options.signal,
      );
      return {
        ...base,
        ...(j.score !== undefined ? { score: j.score } : {}),
        passed: j.score !== undefined && j.score >= k.atLeast,
        reason: j.reason,
        judgeBackend: ctx.judgeSpec.name,
        usage: j.usage,
      };
    }
    case "score": {
      const criterion = `score command(${[k.executable, ...k.args].map((a) => JSON.stringify(a)).join(", ")})`;
      const base = { criterion, kind: "score" as const, threshold: k.atLeast, ...where };
      if (ctx.options.trusted === false)
        return { ...base, passed: false, reason: "score commands do not run in an untrusted workspace" };
      const out = await runJsonProcess(k.executable, k.args, {
        cwd: path.resolve(path.dirname(k.file), k.cwd),
        env: childEnv(ctx.options.env, undefined),
        stdin: fs.readFileSync(run.session.file, "utf8"),
        timeout: DEFAULT_TIMEOUT_MS,
        signal: ctx.options.signal,
      });
      if (!out.ok) return { ...base, passed: false, reason: out.error };
      const v = out.output;
      const score = v && typeof v === "object" && !Array.isArray(v) ? v.score : undefined;
      const reason = v && typeof v === "object" && !Array.isArray(v) ? v.reason : undefined;
      if (typeof score !== "number" || score < 0 || score > 1)
        return {
          ...base,
          passed: false,
          reason: `${k.executable} printed ${JSON.stringify(v).slice(0, 200)}, not {"score": 0..1, "reason": "..."}`,
        };
      return { ...base, score, passed: score >= k.atLeast, reason: typeof reason === "string" ? reason : "" };
    }
  }
}

/**
 * `expect trajectory`: `exact` the same list, `in_order` the list is a subsequence of the calls,
 * `any_order` every listed tool was called. Precision: of the calls, the share to a listed tool;
 * recall: of the listed tools, the share called.
 */
export function trajectory(
  listed: string[],
  called: string[],
  mode: "in_order" | "exact" | "any_order",
): { passed: boolean; precision: number; recall: number; reason: string } {
  const precision = called.length ? called.filter((t) => listed.includes(t)).length / called.length : 1;
  const recall = listed.length ? listed.filter((t) => called.includes(t)).length / listed.length : 1;
  let passed: boolean;
  if (mode === "exact") passed = listed.length === called.length && listed.every((t, i) => called[i] === t);
  else if (mode === "any_order") passed = listed.every((t) => called.includes(t));
  else {
    let i = 0;
    for (const t of called) if (i < listed.length && t === listed[i]) i++;
    passed = i === listed.length;
  }
  const calls = called.length ? `the calls were [${called.join(", ")}]` : "no tool was called";
  return {
    passed,
    precision,
    recall,
    reason: passed ? `holds: ${calls}` : `${calls}, not [${listed.join(", ")}] ${mode}`,
  };
}

/** Per backend: runs, passes, the mean judge/score score, tokens, p50/p95 latency and bytes sent. */
export function summarize(cases: EvalCaseRun[], backends: string[]): Record<string, EvalBackendSummary> {
  const out: Record<string, EvalBackendSummary> = {};
  for (const b of backends) {
    const runs = cases.filter((c) => c.backend === b);
    const scores = runs.flatMap((c) =>
      c.checks
        .filter((k) => (k.kind === "judge" || k.kind === "score") && k.score !== undefined)
        .map((k) => k.score!),
    );
    const latencies = runs.map((c) => c.latencyMs).sort((x, y) => x - y);
    const passed = runs.filter((c) => c.passed).length;
    out[b] = {
      runs: runs.length,
      passed,
      passRate: runs.length ? passed / runs.length : 0,
      meanScore: scores.length ? scores.reduce((x, y) => x + y, 0) / scores.length : null,
      inputTokens: runs.reduce((a, c) => a + c.usage.inputTokens, 0),
      outputTokens: runs.reduce((a, c) => a + c.usage.outputTokens, 0),
      p50LatencyMs: percentile(latencies, 0.5),
      p95LatencyMs: percentile(latencies, 0.95),
      bytesSent: runs.reduce((a, c) => a + c.bytesSent, 0),
    };
  }
  return out;
}

/** Nearest-rank percentile of sorted values (0 when there are none), rounded to 0.1 ms. */
function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return 0;
  const v = sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
  return Math.round(v * 10) / 10;
}
