// Runs one `test` block under the debugger: the same steps as the test runner
// (server/runtime/testRunner.ts: arrange steps queue up for the next `send`,
// expectations check the turn before them) on a session the debugger built
// with its hooks, pausing before each step so a breakpoint on a step line can
// stop there.

import { LocalBackend } from "../backends/local";
import type { Json } from "../language/compile";
import type { TestIR, TestStepIR } from "../language/compileTests";
import type { AgentSession, ApprovalRequest, MockProvider, TurnResult } from "../runtime/engine";
import type { ModelBackend } from "../runtime/model";
import { compare, type TestFailure } from "../runtime/testRunner";
import type { ToolOutcome } from "../runtime/tools";

export type TestStep = TestIR["steps"][number];

/** The mocks and approvals the arrange steps queue up, as engine options. */
export class TestQueues {
  private readonly mocks = new Map<string, ToolOutcome[]>();
  private readonly approvals = new Map<string, boolean[]>();
  readonly mockProvider: MockProvider = (tool) => this.mocks.get(tool)?.shift();
  readonly approver = (req: ApprovalRequest): Promise<boolean> =>
    Promise.resolve(this.approvals.get(req.tool)?.shift() ?? false);

  mock(tool: string, outcome: ToolOutcome): void {
    this.mocks.set(tool, [...(this.mocks.get(tool) ?? []), outcome]);
  }

  approve(tool: string, answer: boolean): void {
    this.approvals.set(tool, [...(this.approvals.get(tool) ?? []), answer]);
  }
}

/**
 * Runs the steps; `beforeStep` is awaited before each one. Returns the
 * failures, each with the line of its step; stops early when `cancelled()`.
 */
export async function runTestSteps(
  test: TestIR,
  session: AgentSession,
  backend: ModelBackend,
  queues: TestQueues,
  beforeStep: (step: TestStep) => Promise<void>,
  cancelled: () => boolean,
): Promise<TestFailure[]> {
  const failures: TestFailure[] = [];
  const fail = (message: string, s: TestStep) => failures.push({ message, line: s.line, step: s.source });
  let last: TurnResult | undefined;
  for (const s of test.steps) {
    await beforeStep(s);
    if (cancelled()) break;
    switch (s.kind) {
      case "model.replies":
        if (backend instanceof LocalBackend) backend.enqueue({ kind: "reply", text: s.text });
        break;
      case "model.calls":
        if (backend instanceof LocalBackend) backend.enqueue({ kind: "call", tool: s.tool, input: s.input });
        break;
      case "model.hands_off":
        if (backend instanceof LocalBackend) backend.enqueue({ kind: "handoff", agent: s.agent });
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
        last = await session.send(s.text);
        if (cancelled()) return failures;
        if (last.status !== "ok")
          fail(`the turn ${last.status === "failed" ? "failed" : "was stopped"}: ${last.reason}`, s);
        if (backend instanceof LocalBackend && backend.pending > 0) {
          fail(
            `${backend.pending} scripted model step${backend.pending === 1 ? " was" : "s were"} not used by this turn`,
            s,
          );
          backend.clear();
        }
        break;
      }
      default: {
        const problem = expectation(s, last, session);
        if (problem) fail(problem, s);
      }
    }
  }
  return failures;
}

const show = (v: Json | undefined) => (v === undefined ? "nothing" : JSON.stringify(v));

function inputMatches(actual: Json, expected: Record<string, Json>): boolean {
  if (!actual || typeof actual !== "object" || Array.isArray(actual)) return false;
  return Object.entries(expected).every(
    ([k, v]) => JSON.stringify((actual as Record<string, Json>)[k]) === JSON.stringify(v),
  );
}

function expectation(s: TestStepIR, last: TurnResult | undefined, session: AgentSession): string | undefined {
  if (!last && s.kind !== "expect.tokens" && s.kind !== "expect.turns")
    return "no 'send' before this expectation";
  switch (s.kind) {
    case "expect.reply": {
      const ok = s.op === "contains" ? last!.reply.includes(s.text) : new RegExp(s.text).test(last!.reply);
      return ok
        ? undefined
        : `expected the reply to ${s.op === "contains" ? "contain" : "match"} ${JSON.stringify(s.text)}; the reply was ${JSON.stringify(last!.reply)}`;
    }
    case "expect.tool": {
      const acts = last!.tools.filter((t) => t.tool === s.tool);
      const ran = acts.filter((t) => t.status === "ran" || t.status === "failed");
      const summary = last!.tools.length
        ? `this turn's tools: ${last!.tools.map((t) => `${t.tool} (${t.status})`).join(", ")}`
        : "no tool was called in this turn";
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
      let v: Json | undefined = session.memory;
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
