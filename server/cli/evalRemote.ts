// Eval case runs on a `kind: stateful` backend (evals.md section 3): each case run is a session in
// the backend's runtime service, like `statecraft run` (remote.ts), mirrored into the local
// `.statecraft/sessions/`. Turns carry the case's scripted model steps (provider local); approvals
// are answered from the case's `approve`/`reject` steps (none: rejected); the checks go to the
// service with the `end` action, which commits them as eval.score events before session.end.
// Instances of the service sharing one PostgreSQL, behind one endpoint, spread the case runs.

import { toWireScript } from "../backends/script";
import { RemoteSession } from "../backends/statefulSession";
import type { CompiledBackend, Json } from "../protocol/definition";
import type { SessionEvent, TurnEndEvent, Usage } from "../protocol/events";
import type { TestFailure } from "../protocol/cli";
import type { ToolActivity, TurnResult } from "../runtime/engine";
import type { CaseSession, CaseSessionRequest, StatefulCaseOpener } from "../runtime/evalRunner";
import type { ScriptStep } from "../runtime/model";
import { connect } from "../service/embedded";

export interface StatefulCases {
  open: StatefulCaseOpener;
  /** Closes the connections (and embedded services) opened for the run. */
  close(): Promise<void>;
}

/** Opens case sessions in runtime services: one connection per backend, shared by the run's case runs. */
export function statefulCases(o: { workspace: string; env: NodeJS.ProcessEnv }): StatefulCases {
  const runtimes = new Map<string, ReturnType<typeof connect>>();
  const runtimeFor = (spec: CompiledBackend, baseDir: string) => {
    let r = runtimes.get(spec.name);
    if (!r) runtimes.set(spec.name, (r = connect(spec, { workspace: o.workspace, baseDir, env: o.env })));
    return r;
  };
  return {
    open: async (request) =>
      openRemoteCase(await runtimeFor(request.spec, request.baseDir), request, o.workspace),
    close: async () => {
      for (const r of runtimes.values()) await (await r.catch(() => undefined))?.close();
    },
  };
}

function openRemoteCase(
  runtime: Awaited<ReturnType<typeof connect>>,
  r: CaseSessionRequest,
  workspace: string,
): CaseSession {
  const approvals = new Map<string, boolean[]>();
  const remote = new RemoteSession({
    client: runtime.client,
    definition: r.definition,
    workspace,
    runtimeEndpoint: runtime.endpoint,
    user: r.user,
    source: r.source,
    approve: "ask",
    approver: (req) => Promise.resolve(approvals.get(req.tool)?.shift() ?? false),
    listener: r.listener,
    eval: r.eval,
  });
  let script: ScriptStep[] = [];
  const turns: TurnResult[] = [];
  const usage: Usage = { inputTokens: 0, outputTokens: 0 };
  const agent = r.definition.agents[r.definition.agent];
  const send = async (text: string): Promise<TurnResult> => {
    const steps = script;
    script = [];
    const sent = await remote.send(text, {
      ...(r.spec.provider === "local" ? { script: toWireScript(steps) } : {}),
      signal: r.signal,
    });
    const result = turnResult(remote.events, sent.turn, sent.status, sent.reason, sent.reply);
    usage.inputTokens += result.usage.inputTokens;
    usage.outputTokens += result.usage.outputTokens;
    turns.push(result);
    return result;
  };
  const lastMemory = () =>
    [...remote.events].reverse().find((e) => e.type === "memory.snapshot") as
      Extract<SessionEvent, { type: "memory.snapshot" }> | undefined;
  return {
    get sessionId() {
      return remote.sessionId;
    },
    file: remote.file,
    state: {
      definition: r.definition,
      usage,
      get turn() {
        return turns.length;
      },
      memoryOf: () => lastMemory()?.values ?? {},
    },
    history: () =>
      remote.events.filter((e): e is TurnEndEvent => e.type === "turn.end").map((e) => e.messages),
    instructions: agent.instructions,
    tools: agent.tools,
    runSteps: async (steps, options, cancelled) => {
      const failures: TestFailure[] = [];
      for (const s of steps) {
        if (cancelled()) break;
        const fail = (message: string) => failures.push({ message, line: s.line, step: s.source });
        switch (s.kind) {
          case "judge.scores":
          case "user.says":
            options.arrange(s);
            break;
          case "model.replies":
            script.push({ kind: "reply", text: s.text });
            break;
          case "model.calls":
            script.push({ kind: "call", tool: s.tool, input: s.input });
            break;
          case "model.hands_off":
            script.push({ kind: "handoff", agent: s.agent });
            break;
          case "tool.returns":
          case "tool.fails":
            fail(`a stateful backend's runtime service runs the tools: '${s.source}' cannot mock ${s.tool}`);
            break;
          case "approve":
          case "reject":
            approvals.set(s.tool, [...(approvals.get(s.tool) ?? []), s.kind === "approve"]);
            break;
          case "send": {
            options.beforeSend?.();
            const t = await send(s.text);
            options.onTurn(t);
            if (t.status !== "ok")
              fail(`the turn ${t.status === "failed" ? "failed" : "was stopped"}: ${t.reason ?? t.status}`);
            break;
          }
          default:
            break;
        }
      }
      return failures;
    },
    send,
    dropScript: () => {
      const left = script.length;
      script = [];
      return left;
    },
    finish: (checks) => remote.end(checks),
    abandon: async () => {
      await remote.end().catch(() => undefined);
    },
  };
}

/** A turn's result, from the events the service sent for it. */
function turnResult(
  events: SessionEvent[],
  turn: number,
  status: string,
  reason: string | undefined,
  reply: string,
): TurnResult {
  const mine = events.filter((e) => "turn" in e && e.turn === turn);
  const tools: ToolActivity[] = [];
  const byCall = new Map<string, ToolActivity>();
  const handoffs: string[] = [];
  const handoffCalls = new Set(mine.flatMap((e) => (e.type === "handoff" ? [e.callId] : [])));
  for (const e of mine) {
    if (e.type === "tool.call" && !handoffCalls.has(e.callId)) {
      const a: ToolActivity = { callId: e.callId, tool: e.tool, input: e.input as Json, status: "ran" };
      byCall.set(e.callId, a);
      tools.push(a);
    } else if (e.type === "tool.result" && byCall.has(e.callId)) {
      const a = byCall.get(e.callId)!;
      a.status = e.ok ? "ran" : "failed";
      if (e.ok) a.output = e.output;
      else a.error = e.error;
    } else if (e.type === "policy.decision" && e.decision === "deny" && byCall.has(e.callId))
      byCall.get(e.callId)!.status = "denied";
    else if (e.type === "approval" && !e.approved && byCall.has(e.callId))
      byCall.get(e.callId)!.status = "denied";
    else if (e.type === "handoff") handoffs.push(e.to);
  }
  const end = mine.find((e): e is TurnEndEvent => e.type === "turn.end");
  return {
    turn,
    reply,
    status: status === "ok" ? "ok" : status === "stopped" ? "stopped" : "failed",
    reason,
    agent: end?.agent ?? "",
    tools,
    handoffs,
    usage: end?.usage ?? { inputTokens: 0, outputTokens: 0 },
  };
}
