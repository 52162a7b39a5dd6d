// Runs `test` blocks: arrange steps (scripted model output, mocked tool
// results, approvals) queue up for the next `send`; expectations check the
// turn before them. Each test is a session recorded like any other.

import * as path from "node:path";
import type { CompareOp } from "../language/ast";
import type { Json } from "../language/compile";
import type { TestFailure, TestResult } from "../protocol/cli";
import type { SessionEvent } from "../protocol/events";
import type { TestIR, TestStepIR } from "../language/compileTests";
import type { EvalStepIR } from "../language/evalIR";
import {
  AgentSession,
  type ApprovalAnswer,
  type ApprovalRequest,
  type MockProvider,
  type TurnResult,
} from "./engine";
import type { McpCaller, ToolOutcome } from "./tools";
import { InMemoryStore, type MemoryStore } from "./memoryStore";
import { BackendError, type BackendFactory, type ModelBackend } from "./model";
import { compileFor, RunError, withBackend, type LoadedProgram } from "./prepare";
import { openSession, type OpenedSession } from "./openSession";

export interface TestRunOptions {
  workspace: string;
  env: NodeJS.ProcessEnv;
  /** Makes the test's backend (backends/index.ts createBackend; provider local gives the scripted one). */
  createBackend: BackendFactory;
  /** Memory that outlives sessions; tests get a fresh in-memory store by default so they stay independent. */
  memoryStore?: MemoryStore;
  mcp?: McpCaller;
  trusted?: boolean;
  /** A new listener for each test's session log (the CLI's telemetry observer). */
  listener?: () => ((event: SessionEvent) => void) | undefined;
}

export function compare(actual: Json | undefined, op: CompareOp, expected: Json): boolean {
  switch (op) {
    case "==":
      return JSON.stringify(actual) === JSON.stringify(expected);
    case "!=":
      return JSON.stringify(actual) !== JSON.stringify(expected);
    case "<":
      return typeof actual === "number" && typeof expected === "number" && actual < expected;
    case "<=":
      return typeof actual === "number" && typeof expected === "number" && actual <= expected;
    case ">":
      return typeof actual === "number" && typeof expected === "number" && actual > expected;
    case ">=":
      return typeof actual === "number" && typeof expected === "number" && actual >= expected;
    case "contains":
      if (typeof actual === "string" && typeof expected === "string") return actual.includes(expected);
      return Array.isArray(actual) && actual.some((x) => JSON.stringify(x) === JSON.stringify(expected));
    case "matches":
      return typeof actual === "string" && typeof expected === "string" && new RegExp(expected).test(actual);
  }
}

/** Whether every field given in `expected` matches the actual input (extra actual fields are fine). */
function inputMatches(actual: Json, expected: Record<string, Json>): boolean {
  if (!actual || typeof actual !== "object" || Array.isArray(actual)) return false;
  return Object.entries(expected).every(
    ([k, v]) => JSON.stringify((actual as Record<string, Json>)[k]) === JSON.stringify(v),
  );
}

const show = (v: Json | undefined) => (v === undefined ? "nothing" : JSON.stringify(v));

export type TestStep = TestIR["steps"][number];
/** A step of a test or of an eval case (which adds `judge scores` and `user says`). */
export type CaseStep = TestStep | (EvalStepIR & { line: number; source: string });

/** The mocks and approvals the arrange steps queue up, as engine options. */
export class TestQueues {
  private readonly mocks = new Map<string, ToolOutcome[]>();
  private readonly approvals = new Map<string, boolean[]>();
  /** `unanswered`: the answer (and who gave it) to an approval no step answered; default a plain no. */
  constructor(private readonly unanswered: ApprovalAnswer | false = false) {}
  readonly mockProvider: MockProvider = (tool) => this.mocks.get(tool)?.shift();
  readonly approver = (req: ApprovalRequest): Promise<boolean | ApprovalAnswer> =>
    Promise.resolve(this.approvals.get(req.tool)?.shift() ?? this.unanswered);

  mock(tool: string, outcome: ToolOutcome): void {
    this.mocks.set(tool, [...(this.mocks.get(tool) ?? []), outcome]);
  }

  approve(tool: string, answer: boolean): void {
    this.approvals.set(tool, [...(this.approvals.get(tool) ?? []), answer]);
  }
}

/** How an eval case runs its steps (runtime/evalRunner.ts) where a test's differ. */
export interface CaseStepOptions {
  /** The eval arrange steps (`judge scores`, `user says`): queued by the caller. */
  arrange(step: Extract<CaseStep, { kind: "judge.scores" | "user.says" }>): void;
  /** Called right before each turn is sent (the eval's latency clock). */
  beforeSend?(): void;
  /** Told of every turn's result; expectations are left to `checkAfterCase`, after the whole case. */
  onTurn(result: TurnResult): void;
}

/**
 * Runs the steps; `beforeStep` is awaited before each one. Returns the
 * failures, each with the line of its step; stops early when `cancelled()`.
 * With `evalCase`, expectations are skipped here (evals check them after the whole case).
 */
export async function runTestSteps(
  test: { steps: CaseStep[] },
  session: AgentSession,
  backend: ModelBackend,
  queues: TestQueues,
  beforeStep: (step: TestStep) => Promise<void> = () => Promise.resolve(),
  cancelled: () => boolean = () => false,
  evalCase?: CaseStepOptions,
): Promise<TestFailure[]> {
  const failures: TestFailure[] = [];
  const fail = (message: string, s: CaseStep) => failures.push({ message, line: s.line, step: s.source });
  let last: TurnResult | undefined;
  for (const s of test.steps) {
    if (s.kind === "judge.scores" || s.kind === "user.says") {
      evalCase?.arrange(s);
      continue;
    }
    await beforeStep(s);
    if (cancelled()) break;
    switch (s.kind) {
      case "model.replies":
        backend.scripted?.enqueue({ kind: "reply", text: s.text });
        break;
      case "model.calls":
        backend.scripted?.enqueue({ kind: "call", tool: s.tool, input: s.input });
        break;
      case "model.hands_off":
        backend.scripted?.enqueue({ kind: "handoff", agent: s.agent });
        break;
      case "tool.returns":
        queues.mock(s.tool, { ok: true, output: s.value });
        break;
      case "tool.fails":
        queues.mock(s.tool, { ok: false, error: s.message });
        break;
      case "approve":
      case "reject":
        queues.approve(s.tool, s.kind === "approve");
        break;
      case "send": {
        evalCase?.beforeSend?.();
        last = await session.send(s.text);
        evalCase?.onTurn(last);
        if (cancelled()) return failures;
        if (last.status !== "ok")
          fail(`the turn ${last.status === "failed" ? "failed" : "was stopped"}: ${last.reason}`, s);
        const script = backend.scripted;
        if (script && script.pending > 0) {
          fail(
            `${script.pending} scripted model step${script.pending === 1 ? " was" : "s were"} not used by this turn`,
            s,
          );
          script.clear();
        }
        break;
      }
      default: {
        if (evalCase) break;
        const problem = expectation(s, last, session);
        if (problem) fail(problem, s);
      }
    }
  }
  return failures;
}

export async function runTest(
  loaded: LoadedProgram,
  test: TestIR,
  options: TestRunOptions,
): Promise<TestResult> {
  const t0 = performance.now();
  const result: TestResult = {
    name: test.name,
    file: test.file,
    line: test.line,
    passed: true,
    failures: [],
    durationMs: 0,
  };
  const fail = (message: string, step?: { line: number; source: string }) => {
    result.passed = false;
    result.failures.push({ message, line: step?.line ?? test.line, step: step?.source });
  };
  let opened: OpenedSession | undefined;
  try {
    // A test names its backend, or runs on the built-in local one (language.md, tests): an agent whose
    // own backend is a local one keeps it, any other is swapped for local so the test stays offline.
    const own = compileFor(loaded, test.agent, test.backend);
    const definition =
      test.backend || own.backends[own.agents[own.agent].backend].provider === "local"
        ? own
        : withBackend(loaded, own, "local");
    const backendSpec = definition.backends[definition.agents[definition.agent].backend];
    const backend = options.createBackend(backendSpec, { env: options.env });
    const queues = new TestQueues();
    opened = await openSession({
      definition,
      baseDir: path.dirname(loaded.root),
      backend,
      backendName: backendSpec.name,
      workspace: options.workspace,
      env: options.env,
      user: test.user,
      mocks: queues.mockProvider,
      memoryStore: options.memoryStore ?? new InMemoryStore(),
      mcp: options.mcp,
      trusted: options.trusted ?? true,
      source: path.relative(options.workspace, test.file).split(path.sep).join("/"),
      test: test.name,
      approver: queues.approver,
      listener: options.listener?.(),
    });
    result.sessionFile = opened.file;
    const failures = await runTestSteps(test, opened.session, backend, queues);
    if (failures.length) result.passed = false;
    result.failures.push(...failures);
    await opened.close(result.passed ? "ok" : "failed");
  } catch (err) {
    // A test that cannot run (a backend that is not configured, a bug) fails with the reason; the others go on.
    const message =
      err instanceof BackendError || err instanceof RunError ? err.message : `internal error: ${String(err)}`;
    fail(message);
    await opened?.close("failed", message);
  }
  result.durationMs = performance.now() - t0;
  return result;
}

/**
 * An eval case's expectations, after the whole case (evals.md section 1): tool and handoff
 * expectations look at every turn, reply expectations at the last reply. Each expectation with
 * what it saw (undefined: it holds).
 */
export function checkAfterCase(
  steps: CaseStep[],
  turns: TurnResult[],
  session: CaseState,
): { step: TestStep; problem?: string }[] {
  const last = turns.at(-1);
  const whole: TurnResult | undefined = last && {
    ...last,
    tools: turns.flatMap((t) => t.tools),
    handoffs: turns.flatMap((t) => t.handoffs),
  };
  return steps
    .filter((s): s is TestStep => s.kind.startsWith("expect."))
    .map((step) => ({ step, problem: expectation(step, whole, session, "the case") }));
}

/** What expectations read of a session besides its turns: a local one, or a stateful one's mirror. */
export type CaseState = Pick<AgentSession, "definition" | "usage" | "turn" | "memoryOf">;

function expectation(
  s: TestStepIR,
  last: TurnResult | undefined,
  session: CaseState,
  scope = "this turn",
): string | undefined {
  if (!last && s.kind !== "expect.tokens" && s.kind !== "expect.turns")
    return scope === "this turn" ? "no 'send' before this expectation" : `${scope} had no turn`;
  switch (s.kind) {
    case "expect.reply": {
      const reply = last!.reply;
      const ok = s.op === "contains" ? reply.includes(s.text) : new RegExp(s.text).test(reply);
      return ok
        ? undefined
        : `expected the reply to ${s.op === "contains" ? "contain" : "match"} ${JSON.stringify(s.text)}; the reply was ${JSON.stringify(reply)}`;
    }
    case "expect.tool": {
      const acts = last!.tools.filter((t) => t.tool === s.tool);
      const ran = acts.filter((t) => t.status === "ran" || t.status === "failed");
      const summary = last!.tools.length
        ? `${scope === "this turn" ? "this turn's" : `${scope}'s`} tools: ${last!.tools.map((t) => `${t.tool} (${t.status})`).join(", ")}`
        : `no tool was called in ${scope}`;
      if (s.outcome === "denied")
        return acts.some((t) => t.status === "denied")
          ? undefined
          : `expected ${s.tool} to be denied; ${summary}`;
      if (s.outcome === "not_called")
        return ran.length === 0 ? undefined : `expected ${s.tool} not to be called; ${summary}`;
      if (!ran.length) return `expected ${s.tool} to be called; ${summary}`;
      if (s.with && !ran.some((t) => inputMatches(t.input, s.with!)))
        return `expected ${s.tool} to be called with ${JSON.stringify(s.with)}; it was called with ${ran.map((t) => JSON.stringify(t.input)).join(", ")}`;
      return undefined;
    }
    case "expect.handoff":
      return last!.handoffs.includes(s.agent)
        ? undefined
        : `expected a handoff to ${s.agent}; ${last!.handoffs.length ? `handed off to ${last!.handoffs.join(", ")}` : "there was no handoff"}`;
    case "expect.memory": {
      // The memory the test's agent wrote, even when the turn handed off to an agent with another one.
      let v: Json | undefined = session.memoryOf(session.definition.agent);
      for (const seg of s.path)
        v = v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, Json>)[seg] : undefined;
      return compare(v, s.op, s.value)
        ? undefined
        : `expected memory.${s.path.join(".")} ${s.op} ${show(s.value)}; it is ${show(v)}`;
    }
    case "expect.tokens": {
      const used = session.usage.inputTokens + session.usage.outputTokens;
      return compare(used, s.op, s.value)
        ? undefined
        : `expected tokens ${s.op} ${show(s.value)}; ${used} were used`;
    }
    case "expect.turns":
      return compare(session.turn, s.op, s.value)
        ? undefined
        : `expected turns ${s.op} ${show(s.value)}; there ${session.turn === 1 ? "was 1 turn" : `were ${session.turn} turns`}`;
    default:
      return undefined;
  }
}
