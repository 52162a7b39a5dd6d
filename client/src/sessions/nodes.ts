// What the Session Explorer shows for a session, a turn and an event: labels,
// descriptions, tooltips and icon names, computed from the model without
// `vscode` (tree.ts turns them into TreeItems). Node ids are stable: built
// from the source, the session id, the turn number and the event's seq, so a
// live refresh keeps what the user expanded and selected.

import type { SessionEvent } from "../../../server/runtime/events";
import type { SessionModel, TurnModel } from "./model";

export type NodeData =
  | { kind: "source"; id: string; sourceId: string }
  | { kind: "session"; id: string; sourceId: string; sessionId: string }
  | { kind: "turn"; id: string; sourceId: string; sessionId: string; turn: number }
  | { kind: "event"; id: string; sourceId: string; sessionId: string; turn: number; seq: number }
  | {
      kind: "snapshot";
      id: string;
      sourceId: string;
      sessionId: string;
      turn: number;
      which: "context" | "memory";
    }
  | { kind: "info"; id: string; text: string; detail?: string; icon?: string };

export interface Display {
  label: string;
  description?: string;
  tooltip?: string;
  /** A codicon name; `color` a theme color id. */
  icon: string;
  color?: string;
}

export const sessionNodeId = (sourceId: string, sessionId: string) => `session:${sourceId}/${sessionId}`;
export const turnNodeId = (sourceId: string, sessionId: string, turn: number) =>
  `turn:${sourceId}/${sessionId}/${turn}`;

/** The session, then its turns (as nodes). */
export function turnNodes(sourceId: string, model: SessionModel): NodeData[] {
  return model.turns.map((t) => ({
    kind: "turn",
    id: turnNodeId(sourceId, model.id, t.turn),
    sourceId,
    sessionId: model.id,
    turn: t.turn,
  }));
}

/** Events worth a node of their own: results, requests and snapshots are folded into others. */
const SHOWN = new Set<SessionEvent["type"]>([
  "model.response",
  "tool.call",
  "policy.decision",
  "approval",
  "memory.write",
  "handoff",
]);

/** A turn's children: its Context and Memory snapshots, then its events in log order. */
export function turnChildren(sourceId: string, sessionId: string, t: TurnModel): NodeData[] {
  const base = { sourceId, sessionId, turn: t.turn };
  const out: NodeData[] = [
    {
      kind: "snapshot",
      id: `snapshot:${sourceId}/${sessionId}/${t.turn}/context`,
      ...base,
      which: "context",
    },
    { kind: "snapshot", id: `snapshot:${sourceId}/${sessionId}/${t.turn}/memory`, ...base, which: "memory" },
  ];
  for (const e of t.events)
    if (SHOWN.has(e.type))
      out.push({ kind: "event", id: `event:${sourceId}/${sessionId}/${e.seq}`, ...base, seq: e.seq });
  return out;
}

/**
 * An event's children: a model call's reasoning, one collapsed line under the call (its summary in the
 * tooltip), never in place of the reply.
 */
export function eventChildren(eventNodeId: string, e: SessionEvent): NodeData[] {
  if (e.type !== "model.response" || !e.reasoning) return [];
  const { summary, tokens } = e.reasoning;
  const size = tokens !== undefined ? ` · ${tokens} tokens` : "";
  return [
    {
      kind: "info",
      id: `${eventNodeId}/reasoning`,
      text: `Reasoning${size}${summary ? `: ${abridge(summary, 60)}` : " (no summary)"}`,
      detail: summary || `The model reasoned${size} and gave no summary.`,
      icon: "lightbulb",
    },
  ];
}

export const abridge = (text: string, max = 60): string => {
  const one = text.replace(/\s+/g, " ").trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
};

const count = (n: number, what: string) => `${n.toLocaleString("en-US")} ${what}${n === 1 ? "" : "s"}`;

/** "05:43:58" for today, "2026-11-25 05:43" for other days. */
export function shortTime(iso: string | undefined, now = new Date()): string {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const pad = (n: number) => String(n).padStart(2, "0");
  const sameDay = d.toDateString() === now.toDateString();
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}${sameDay ? `:${pad(d.getSeconds())}` : ""}`;
  return sameDay ? time : `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time}`;
}

const STATUS_ICON: Record<string, { icon: string; color?: string }> = {
  running: { icon: "loading~spin" },
  ok: { icon: "pass", color: "testing.iconPassed" },
  failed: { icon: "error", color: "testing.iconFailed" },
  stopped: { icon: "debug-stop", color: "testing.iconFailed" },
  unfinished: { icon: "warning", color: "list.warningForeground" },
  idle: { icon: "circle-outline" },
  empty: { icon: "circle-outline" },
};

export function describeSession(model: SessionModel, now?: Date): Display {
  const s = model.start;
  const status = model.status;
  const what = s?.test ? `test "${s.test}"` : (s?.agent ?? model.id);
  const kind = s?.backend.kind ?? "?";
  const tooltip = [
    `session ${model.id}`,
    s
      ? `agent ${s.agent} on ${s.backend.name} (${kind}, ${s.backend.provider}${s.backend.model ? ` ${s.backend.model}` : ""})`
      : "no session.start event: not a Statecraft session log",
    s?.user ? `user ${s.user.id}${s.user.name ? ` (${s.user.name})` : ""}` : undefined,
    s?.parent ? `fork of ${s.parent.sessionId} after turn ${s.parent.turn}` : undefined,
    s?.source ? `agent file ${s.source}` : undefined,
    `${status}, ${count(model.turnCount, "turn")}, ${count(model.events.length, "event")}`,
    s ? `started ${s.ts}` : undefined,
    ...model.warnings.map((w) => `⚠ ${w}`),
  ].filter((x): x is string => x !== undefined);
  return {
    label: what,
    description: [kind, status, count(model.turnCount, "turn"), shortTime(s?.ts ?? model.updatedAt, now)]
      .filter(Boolean)
      .join(" · "),
    tooltip: tooltip.join("\n"),
    ...(STATUS_ICON[status] ?? { icon: "comment-discussion" }),
  };
}

export function describeTurn(t: TurnModel): Display {
  const status = t.end?.status ?? "running";
  const tokens = t.usage.inputTokens + t.usage.outputTokens;
  return {
    label: `Turn ${t.turn}: ${abridge(t.input)}`,
    description: [
      status === "ok" ? undefined : status,
      count(tokens, "token"),
      `${t.bytes.toLocaleString("en-US")} B sent`,
    ]
      .filter(Boolean)
      .join(" · "),
    tooltip: [
      `turn ${t.turn} (agent ${t.agent}): ${status}${t.end?.reason ? `: ${t.end.reason}` : ""}`,
      `user: ${t.input}`,
      t.end ? `reply: ${t.end.reply}` : "no reply yet",
      `${count(t.contexts.length, "model call")}, ${tokens} tokens, ${t.bytes} bytes sent`,
    ].join("\n"),
    icon: status === "ok" ? "comment" : status === "running" ? "loading~spin" : "comment-unresolved",
    ...(status === "ok" || status === "running" ? {} : { color: "testing.iconFailed" }),
  };
}

const json = (v: unknown, max = 80) => abridge(JSON.stringify(v) ?? "undefined", max);

/** How a tool call ended, from the other events of its turn. */
export function toolCallStatus(t: TurnModel, callId: string): { text: string; ok?: boolean } {
  let text: { text: string; ok?: boolean } = { text: "running" };
  for (const e of t.events) {
    if (!("callId" in e) || e.callId !== callId) continue;
    if (e.type === "policy.decision" && e.decision === "deny") text = { text: "denied", ok: false };
    if (e.type === "policy.decision" && e.decision === "approval") text = { text: "awaiting approval" };
    if (e.type === "approval" && !e.approved) text = { text: "approval refused", ok: false };
    if (e.type === "tool.result")
      text = e.ok
        ? {
            text: `ok · ${Math.round(e.latencyMs)} ms${e.origin && e.origin !== "run" ? ` (${e.origin})` : ""}`,
            ok: true,
          }
        : { text: `failed: ${abridge(e.error ?? "", 60)}`, ok: false };
    if (e.type === "memory.write") text = e.ok ? { text: "ok", ok: true } : { text: "rejected", ok: false };
    if (e.type === "handoff") text = { text: `handed off to ${e.to}`, ok: true };
  }
  return text;
}

export function describeEvent(t: TurnModel, e: SessionEvent): Display {
  switch (e.type) {
    case "model.response": {
      const what = e.toolCalls.length
        ? `→ ${e.toolCalls.map((c) => c.name).join(", ")}`
        : `replied “${abridge(e.text, 40)}”`;
      return {
        label: `Model call ${e.step + 1}`,
        description: `${what} · ${e.usage.inputTokens}+${e.usage.outputTokens} tokens · ${Math.round(e.latencyMs)} ms`,
        tooltip: `${e.stopReason}\n${e.text || "(no text)"}${e.toolCalls.map((c) => `\n→ ${c.name} ${JSON.stringify(c.input)}`).join("")}`,
        icon: "sparkle",
      };
    }
    case "tool.call": {
      const status = toolCallStatus(t, e.callId);
      const result = t.events.find((x) => x.type === "tool.result" && x.callId === e.callId);
      return {
        label: `Tool ${e.tool}`,
        description: `${status.text} · ${json(e.input, 50)}`,
        tooltip: `${e.tool} ${JSON.stringify(e.input, null, 2)}\n${status.text}${
          result?.type === "tool.result" && result.ok ? `\n→ ${json(result.output, 400)}` : ""
        }`,
        icon: status.ok === false ? "error" : "tools",
        ...(status.ok === false ? { color: "testing.iconFailed" } : {}),
      };
    }
    case "policy.decision":
      return {
        label: `Policy: ${e.decision} ${e.tool}`,
        description: [e.check && e.check !== "none" ? e.check : undefined, e.reason]
          .filter(Boolean)
          .join(": "),
        tooltip: `${e.tool}: ${e.decision}${e.check ? ` (check ${e.check})` : ""}${e.reason ? `\n${e.reason}` : ""}`,
        icon: e.decision === "deny" ? "shield" : e.decision === "approval" ? "question" : "shield",
        ...(e.decision === "deny" ? { color: "testing.iconFailed" } : {}),
      };
    case "approval":
      return {
        label: `Approval: ${e.tool} ${e.approved ? "approved" : "refused"}`,
        description: `by ${e.by}`,
        icon: e.approved ? "check" : "circle-slash",
        ...(e.approved ? {} : { color: "testing.iconFailed" }),
      };
    case "memory.write":
      return {
        label: `Memory: ${e.field} = ${json(e.value, 40)}`,
        description: e.ok ? (e.memory ? `memory ${e.memory}` : "") : `rejected: ${e.error ?? ""}`,
        icon: "database",
        ...(e.ok ? {} : { color: "testing.iconFailed" }),
      };
    case "handoff":
      return { label: `Handoff: ${e.from} → ${e.to}`, icon: "arrow-swap" };
    case "manual.edit":
      return {
        label: `Edited by hand: ${e.target === "memory" ? `memory ${e.field}` : `${e.tool ?? "tool"} input ${e.field}`}`,
        description: `${json(e.before ?? null, 30)} → ${json(e.after, 30)} · by the ${e.by}`,
        tooltip: `A change made in the ${e.by} before the step ran\n${e.field}: ${JSON.stringify(e.before)} → ${JSON.stringify(e.after)}`,
        icon: "edit",
        color: "charts.yellow",
      };
    default:
      return { label: e.type, icon: "circle-small" };
  }
}

export function describeSnapshot(t: TurnModel, which: "context" | "memory"): Display {
  if (which === "context") {
    const last = t.contexts[t.contexts.length - 1];
    return {
      label: "Context",
      description: last
        ? `${count(last.tokens.total, "token")}${last.contextWindow ? ` of ${last.contextWindow.toLocaleString("en-US")}` : ""} · ${count(t.contexts.length, "call")}`
        : "no model call",
      tooltip: "What the model was sent in this turn: messages, tool schemas, tokens per section, bytes",
      icon: "layers",
    };
  }
  const values = t.memory?.values ?? {};
  const n = Object.keys(values).length;
  return {
    label: "Memory",
    description: t.memory ? (n ? count(n, "field") : "empty") : "no snapshot",
    tooltip: "The agent's memory after this turn",
    icon: "database",
  };
}
