// Read-only documents of a session: a turn's context snapshot (the messages
// as sent, tool schemas, tokens per section, bytes) and memory snapshot, an
// event, and the turn-by-turn rendering two sessions are compared on. Plain
// text (Markdown), so that VS Code's diff editor can compare two of them.

import type { ContextSnapshotEvent, Message, SessionEvent } from "../../../server/protocol/events";
import type { SessionModel, TurnModel } from "./model";

const n = (x: number) => x.toLocaleString("en-US");
const pct = (part: number, whole: number) => `${((100 * part) / whole).toFixed(part < whole / 100 ? 2 : 1)}%`;

function header(model: SessionModel, t: TurnModel, what: string): string[] {
  const s = model.start;
  return [
    `# ${what} · turn ${t.turn}`,
    "",
    `session ${model.id} · agent ${t.agent}` +
      (s ? ` · backend ${s.backend.name} (${s.backend.kind}, ${s.backend.provider})` : ""),
    `user: ${t.input}`,
  ];
}

function messageText(m: Message): string[] {
  switch (m.role) {
    case "assistant": {
      const lines = m.content ? [m.content] : [];
      for (const c of m.toolCalls ?? []) lines.push(`→ call ${c.name} (${c.id}) ${JSON.stringify(c.input)}`);
      return lines.length ? lines : ["(empty)"];
    }
    case "tool":
      return [`${m.isError ? "(error) " : ""}${m.content}`];
    default:
      return [m.content];
  }
}

function messageTitle(m: Message, i: number): string {
  if (m.role === "tool") return `${i + 1}. tool ${m.name} (${m.toolCallId})`;
  return `${i + 1}. ${m.role}`;
}

/** The context the model was sent in a turn: its last model call in full, and every call's figures. */
export function renderContext(model: SessionModel, t: TurnModel): string {
  const out = header(model, t, "Context");
  const last: ContextSnapshotEvent | undefined = t.contexts[t.contexts.length - 1];
  if (!last) {
    out.push("", "No model call was made in this turn (it failed or was stopped before one).");
    return out.join("\n") + "\n";
  }
  const window = last.contextWindow;
  const stateful = model.start?.backend.kind === "stateful";
  out.push(
    `model ${last.model ?? "(backend default)"}${window ? ` · context window ${n(window)} tokens` : ""}`,
    "",
    `## Tokens (model call ${last.step + 1} of ${t.contexts.length}${last.tokens.exact ? "" : ", estimated"})`,
    "",
    "| section | tokens |",
    "|---|---:|",
  );
  for (const k of ["instructions", "context", "memory", "history", "tools"] as const)
    out.push(`| ${k} | ${n(last.tokens[k])} |`);
  out.push(
    `| **total** | **${n(last.tokens.total)}**${window ? ` (${pct(last.tokens.total, window)} of the window)` : ""} |`,
  );
  out.push(
    "",
    `## Bytes sent (${stateful ? "stateful: only what is new is sent; the runtime keeps the conversation" : "stateless: the whole context is sent on every call"})`,
    "",
    "| model call | bytes | tokens |",
    "|---:|---:|---:|",
  );
  for (const c of t.contexts) out.push(`| ${c.step + 1} | ${n(c.bytes)} | ${n(c.tokens.total)} |`);
  out.push(`| **turn** | **${n(t.contexts.reduce((a, c) => a + c.bytes, 0))}** | |`);
  out.push("", `## Messages (${last.messages.length})`);
  last.messages.forEach((m, i) => out.push("", `### ${messageTitle(m, i)}`, "", ...messageText(m)));
  out.push("", `## Tools (${last.tools.length})`);
  for (const tool of last.tools)
    out.push(
      "",
      `### ${tool.name}`,
      "",
      tool.description,
      "",
      "```json",
      JSON.stringify(tool.parameters, null, 2),
      "```",
    );
  return out.join("\n") + "\n";
}

/** The memory after a turn, and what the turn wrote to it. */
export function renderMemory(model: SessionModel, t: TurnModel): string {
  const out = header(model, t, "Memory");
  const snap = t.memory;
  if (!snap) {
    out.push("", "No memory snapshot in this turn (the turn did not finish).");
    return out.join("\n") + "\n";
  }
  out.push(
    "",
    snap.memory
      ? `memory ${snap.memory}${snap.scope ? ` (scope ${snap.scope})` : ""}`
      : "the agent declares no memory",
    "",
    "## Values after the turn",
    "",
    "```json",
    JSON.stringify(snap.values, null, 2),
    "```",
  );
  const writes = t.events.filter((e) => e.type === "memory.write");
  out.push("", `## Writes in this turn (${writes.length})`);
  for (const w of writes)
    if (w.type === "memory.write")
      out.push(`- ${w.field} = ${JSON.stringify(w.value)}${w.ok ? "" : ` (rejected: ${w.error ?? ""})`}`);
  if (snap.summary !== undefined) out.push("", "## Summary of older turns", "", snap.summary);
  return out.join("\n") + "\n";
}

export function renderEvent(e: SessionEvent): string {
  return JSON.stringify(e, null, 2) + "\n";
}

/** One line per thing that happened in a turn; two sessions are compared line by line. */
export function turnLines(t: TurnModel): string[] {
  const lines = [`user: ${t.input}`];
  for (const e of t.events) {
    switch (e.type) {
      case "model.response":
        if (e.text) lines.push(`model: ${e.text.replace(/\n/g, "\\n")}`);
        for (const c of e.toolCalls) lines.push(`model calls ${c.name} ${JSON.stringify(c.input)}`);
        break;
      case "policy.decision":
        if (e.decision !== "allow")
          lines.push(`policy: ${e.tool} ${e.decision}${e.reason ? `: ${e.reason}` : ""}`);
        break;
      case "approval":
        lines.push(`approval: ${e.tool} ${e.approved ? "approved" : "refused"}`);
        break;
      case "tool.result":
        lines.push(
          `tool ${e.tool} ${e.ok ? `returned ${JSON.stringify(e.output)}` : `failed: ${e.error ?? ""}`}`,
        );
        break;
      case "memory.write":
        lines.push(`memory ${e.field} = ${JSON.stringify(e.value)}${e.ok ? "" : " (rejected)"}`);
        break;
      case "handoff":
        lines.push(`handoff ${e.from} -> ${e.to}`);
        break;
      case "manual.edit":
        lines.push(
          `edited by the ${e.by}: ${e.target === "memory" ? "memory" : `${e.tool ?? "tool"} input`} ${e.field} ${JSON.stringify(e.before)} -> ${JSON.stringify(e.after)}`,
        );
        break;
      case "turn.end":
        lines.push(`reply: ${e.reply.replace(/\n/g, "\\n")}`, `status: ${e.status}`);
        break;
    }
  }
  return lines;
}

/** A session turn by turn, as compared by Compare Sessions. */
export function renderSession(model: SessionModel): string {
  const s = model.start;
  const out = [
    `# session ${model.id}`,
    s ? `agent ${s.agent} · backend ${s.backend.name} (${s.backend.kind})` : "(no session.start)",
  ];
  for (const t of model.turns) out.push("", `## turn ${t.turn}`, ...turnLines(t));
  return out.join("\n") + "\n";
}

export interface Divergence {
  turn: number;
  /** 1-based line within the turn's rendering. */
  line: number;
  a?: string;
  b?: string;
}

/** The first turn (and the first thing in it) where two sessions differ; undefined when they agree. */
export function firstDivergence(a: SessionModel, b: SessionModel): Divergence | undefined {
  const turns = Math.max(a.turns.length, b.turns.length);
  for (let i = 0; i < turns; i++) {
    const ta = a.turns[i];
    const tb = b.turns[i];
    const la = ta ? turnLines(ta) : [];
    const lb = tb ? turnLines(tb) : [];
    for (let j = 0; j < Math.max(la.length, lb.length); j++)
      if (la[j] !== lb[j]) return { turn: (ta ?? tb)!.turn, line: j + 1, a: la[j], b: lb[j] };
  }
  return undefined;
}

export function describeDivergence(a: SessionModel, b: SessionModel): string {
  const d = firstDivergence(a, b);
  if (!d) return `Sessions ${a.id} and ${b.id} do the same thing in every turn.`;
  const show = (x: string | undefined) =>
    x === undefined ? "(nothing)" : `“${x.length > 120 ? x.slice(0, 119) + "…" : x}”`;
  return `Sessions diverge at turn ${d.turn}, line ${d.line}: ${a.id} has ${show(d.a)}, ${b.id} has ${show(d.b)}.`;
}
