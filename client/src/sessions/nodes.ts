// The Session Explorer's tree without `vscode`: the nodes (source -> session
// -> turn -> snapshots and events), each node's children and parent, and what
// it shows (label, description, tooltip, icon), computed from the store and
// the model; tree.ts turns them into TreeItems. Node ids are stable: built
// from the source, the session id, the turn number and the event's seq, so a
// live refresh keeps what the user expanded and selected.

import type { CallIdentity, EvalCheck, SessionEvent } from "../../../server/protocol/events";
import type { SessionModel, TurnModel } from "./model";
import { renderContext, renderMemory } from "./render";
import type { SessionStore, Source } from "./store";

type EventType = SessionEvent["type"];

export type NodeData =
  | { kind: "source"; id: string; sourceId: string }
  /** The sessions `statecraft test` and the Testing view recorded, grouped so that runs stay in view. */
  | { kind: "tests"; id: string; sourceId: string }
  /** The sessions of eval case runs (`session.start.eval`), grouped like test runs. */
  | { kind: "evals"; id: string; sourceId: string }
  | { kind: "session"; id: string; sourceId: string; sessionId: string; group?: "tests" | "evals" }
  /** A criterion an eval case run checked (its `eval.score` event), under the session. */
  | { kind: "check"; id: string; sourceId: string; sessionId: string; seq: number }
  | { kind: "turn"; id: string; sourceId: string; sessionId: string; turn: number }
  | { kind: "event"; id: string; sourceId: string; sessionId: string; turn: number; seq: number }
  | {
      kind: "snapshot";
      id: string;
      sourceId: string;
      sessionId: string;
      turn: number;
      which: SnapshotKind;
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

export const sourceNodeId = (sourceId: string) => `source:${sourceId}`;
export const testsNodeId = (sourceId: string) => `tests:${sourceId}`;
export const evalsNodeId = (sourceId: string) => `evals:${sourceId}`;
export const sessionNodeId = (sourceId: string, sessionId: string) => `session:${sourceId}/${sessionId}`;
export const turnNodeId = (sourceId: string, sessionId: string, turn: number) =>
  `turn:${sourceId}/${sessionId}/${turn}`;

/** A node's children: every source at the top (none when no source has anything to show). */
export async function childrenOf(store: SessionStore, element?: NodeData): Promise<NodeData[]> {
  const sources = store.all();
  if (!element) {
    // No session anywhere: the view's welcome content (package.json viewsWelcome) shows instead.
    if (!sources.some((s) => s.error || sessionIds(s).length)) return [];
    return sources.map((s) => ({ kind: "source", id: sourceNodeId(s.id), sourceId: s.id }));
  }
  switch (element.kind) {
    case "source": {
      const source = store.source(element.sourceId);
      if (!source) return [];
      const tests = new Set(groupSessionIds(source, "tests"));
      const evals = new Set(groupSessionIds(source, "evals"));
      return [
        ...sourceInfo(source, element.id),
        ...sessionIds(source)
          .filter((id) => !tests.has(id) && !evals.has(id))
          .map((sessionId) => sessionNode(source.id, sessionId)),
        ...(evals.size ? [{ kind: "evals" as const, id: evalsNodeId(source.id), sourceId: source.id }] : []),
        ...(tests.size ? [{ kind: "tests" as const, id: testsNodeId(source.id), sourceId: source.id }] : []),
      ];
    }
    case "tests":
    case "evals": {
      const source = store.source(element.sourceId);
      return source
        ? groupSessionIds(source, element.kind).map((sessionId) =>
            sessionNode(source.id, sessionId, element.kind),
          )
        : [];
    }
    case "session": {
      let model: SessionModel | undefined;
      try {
        model = await store.model(element);
      } catch (err) {
        return [{ kind: "info", id: `${element.id}/error`, text: (err as Error).message, icon: "error" }];
      }
      if (!model) return [];
      const warnings = model.warnings.map((w, i) => ({
        kind: "info" as const,
        id: `${element.id}/warning/${i}`,
        text: w,
        icon: "warning",
      }));
      const checks = model.evalScores.map((e) => ({
        kind: "check" as const,
        id: `check:${element.sourceId}/${model.id}/${e.seq}`,
        sourceId: element.sourceId,
        sessionId: model.id,
        seq: e.seq,
      }));
      return [...warnings, ...checks, ...turnNodes(element.sourceId, model)];
    }
    case "turn": {
      const t = (await store.model(element))?.turn(element.turn);
      return t ? turnChildren(element.sourceId, element.sessionId, t) : [];
    }
    case "event": {
      const e = (await store.model(element))?.turn(element.turn)?.events.find((x) => x.seq === element.seq);
      return e ? eventChildren(element.id, e) : [];
    }
    default:
      return [];
  }
}

/** The id of a node's parent; undefined for a source and an info line. */
export function parentId(element: NodeData): string | undefined {
  switch (element.kind) {
    case "tests":
    case "evals":
      return sourceNodeId(element.sourceId);
    case "session":
      return element.group === "tests"
        ? testsNodeId(element.sourceId)
        : element.group === "evals"
          ? evalsNodeId(element.sourceId)
          : sourceNodeId(element.sourceId);
    case "check":
      return sessionNodeId(element.sourceId, element.sessionId);
    case "turn":
      return sessionNodeId(element.sourceId, element.sessionId);
    case "event":
    case "snapshot":
      return turnNodeId(element.sourceId, element.sessionId, element.turn);
    default:
      return undefined;
  }
}

/** What a node shows, looked up in the store (a node whose session or turn is gone still reads). */
export async function describeNode(store: SessionStore, element: NodeData): Promise<Display> {
  switch (element.kind) {
    case "source": {
      const source = store.source(element.sourceId);
      return {
        label: source?.label ?? element.sourceId,
        description:
          source?.kind === "runtime" ? `${source.config.url} · stateful runtime` : ".statecraft/sessions",
        icon: source?.kind === "runtime" ? "cloud" : "folder",
      };
    }
    case "tests": {
      const source = store.source(element.sourceId);
      const n = source ? groupSessionIds(source, "tests").length : 0;
      return {
        label: "Test runs",
        description: `${n} session${n === 1 ? "" : "s"}`,
        tooltip: "Sessions recorded by statecraft test and the Testing view, one per test run",
        icon: "beaker",
      };
    }
    case "evals": {
      const source = store.source(element.sourceId);
      const ids = source ? groupSessionIds(source, "evals") : [];
      const runs = new Set(
        ids.map((id) => source?.kind === "folder" && source.session(id)?.start?.eval?.run),
      );
      return {
        label: "Eval runs",
        description: `${count(ids.length, "session")} · ${count(runs.size, "run")}`,
        tooltip:
          "Sessions recorded by statecraft eval, one per case run (case, trial and backend); the Evals view shows the runs",
        icon: "checklist",
      };
    }
    case "check": {
      const e = (await store.model(element))?.evalScores.find((x) => x.seq === element.seq);
      return e ? describeCheck(e) : { label: `criterion ${element.seq}`, icon: "circle-small" };
    }
    case "session": {
      const source = store.source(element.sourceId);
      if (source?.kind === "runtime") return runtimeDisplay(source, element.sessionId);
      const model = source?.session(element.sessionId);
      return model ? describeSession(model) : { label: element.sessionId, icon: "comment-discussion" };
    }
    case "turn": {
      const t = (await store.model(element))?.turn(element.turn);
      return t ? describeTurn(t) : { label: `Turn ${element.turn}`, icon: "comment" };
    }
    case "snapshot": {
      const t = (await store.model(element))?.turn(element.turn);
      return t
        ? describeSnapshot(t, element.which)
        : { label: SNAPSHOT_KINDS[element.which].label, icon: SNAPSHOT_KINDS[element.which].icon };
    }
    case "event": {
      const t = (await store.model(element))?.turn(element.turn);
      const e = t?.events.find((x) => x.seq === element.seq);
      return t && e ? describeEvent(t, e) : { label: `event ${element.seq}`, icon: "circle-small" };
    }
    case "info":
      return { label: element.text, tooltip: element.detail ?? element.text, icon: element.icon ?? "info" };
  }
}

function sessionIds(source: Source): string[] {
  return source.kind === "folder" ? source.sessions().map((s) => s.id) : source.summaries.map((s) => s.id);
}

/**
 * A folder's sessions recorded by test runs (`session.start.test`) or eval case runs
 * (`session.start.eval`); a runtime's are listed as they are.
 */
function groupSessionIds(source: Source, group: "tests" | "evals"): string[] {
  return source.kind === "folder"
    ? source
        .sessions()
        .filter((s) => (group === "tests" ? s.start?.test && !s.start.eval : s.start?.eval))
        .map((s) => s.id)
    : [];
}

function sessionNode(sourceId: string, sessionId: string, group?: "tests" | "evals"): NodeData {
  return {
    kind: "session",
    id: sessionNodeId(sourceId, sessionId),
    sourceId,
    sessionId,
    ...(group && { group }),
  };
}

function sourceInfo(source: Source, parentId: string): NodeData[] {
  if (source.error) return [{ kind: "info", id: `${parentId}/error`, text: source.error, icon: "error" }];
  if (!sessionIds(source).length)
    return [{ kind: "info", id: `${parentId}/empty`, text: "No sessions yet", icon: "info" }];
  return [];
}

/** A runtime session from its summary (its events are fetched only when it is opened). */
function runtimeDisplay(source: Extract<Source, { kind: "runtime" }>, id: string): Display {
  const s = source.summary(id);
  if (!s) return { label: id, icon: "comment-discussion" };
  return {
    label: s.agent,
    description: [
      s.backend.kind,
      s.status,
      `${s.turns} turn${s.turns === 1 ? "" : "s"}`,
      s.updatedAt.slice(11, 19),
    ].join(" · "),
    tooltip: `session ${s.id} on ${source.config.name}\nagent ${s.agent} on ${s.backend.name} (${s.backend.kind}, ${s.backend.provider})\n${s.status}, ${s.turns} turns\nupdated ${s.updatedAt}`,
    icon: s.status === "running" ? "loading~spin" : "comment-discussion",
  };
}

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

/** A turn's children: its snapshots (Context, Memory), then its shown events in log order. */
export function turnChildren(sourceId: string, sessionId: string, t: TurnModel): NodeData[] {
  const base = { sourceId, sessionId, turn: t.turn };
  const out: NodeData[] = SNAPSHOT_KIND_NAMES.map((which) => ({
    kind: "snapshot",
    id: `snapshot:${sourceId}/${sessionId}/${t.turn}/${which}`,
    ...base,
    which,
  }));
  for (const e of t.events)
    if (isShown(e))
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
  const tag = s?.eval;
  const what = tag ? `${tag.eval}: "${tag.case}"` : s?.test ? `test "${s.test}"` : (s?.agent ?? model.id);
  const kind = s?.backend.kind ?? "?";
  const checks = model.evalScores;
  const failing = checks.filter((c) => !c.passed).length;
  const verdict = checks.length
    ? failing
      ? `✗ ${failing} of ${count(checks.length, "criterion").replace(/criterions$/, "criteria")} failed`
      : `✓ ${count(checks.length, "criterion").replace(/criterions$/, "criteria")}`
    : undefined;
  const tooltip = [
    `session ${model.id}`,
    tag
      ? `eval ${tag.eval}, case "${tag.case}", trial ${tag.trial} on ${tag.backend} (run ${tag.run})${verdict ? `: ${verdict}` : ""}`
      : undefined,
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
  const icon =
    status !== "running" && checks.length
      ? failing
        ? STATUS_ICON.failed
        : STATUS_ICON.ok
      : (STATUS_ICON[status] ?? { icon: "comment-discussion" });
  return {
    label: what,
    description: [
      tag ? `${tag.backend} · trial ${tag.trial}` : undefined,
      verdict,
      kind,
      status,
      count(model.turnCount, "turn"),
      shortTime(s?.ts ?? model.updatedAt, now),
    ]
      .filter(Boolean)
      .join(" · "),
    tooltip: tooltip.join("\n"),
    ...icon,
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

/** The identity a call through a connection used: "as ada via mail" / "as service via crm", and a sentence. */
function identityText(i: CallIdentity): { short: string; long: string } {
  return i.as === "user"
    ? {
        short: `as ${i.user ?? "the user"} via ${i.connection}`,
        long: `Called as the user${i.user ? ` '${i.user}'` : ""} (their token) through connection '${i.connection}'`,
      }
    : {
        short: `as service via ${i.connection}`,
        long: `Called as the agent's service identity through connection '${i.connection}'`,
      };
}

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

type EventOf<T extends EventType> = Extract<SessionEvent, { type: T }>;

/**
 * How an event shows as a node of its own, under its turn or (an event of no turn) under its
 * session, or where it shows instead (`folded`).
 */
type EventNode<T extends EventType> =
  | { shown: "turn"; describe: (e: EventOf<T>, t: TurnModel) => Display }
  | { shown: "session"; describe: (e: EventOf<T>) => Display }
  | { shown: false; folded: string };

/**
 * Every event type of a session log, and how the Session Explorer shows it: a new event type is one
 * entry here (the compiler asks for it). Shown events are listed under their turn in log order.
 */
export const EVENT_NODES: { [T in EventType]: EventNode<T> } = {
  "session.start": { shown: false, folded: "the session's node" },
  "session.end": { shown: false, folded: "the session's node" },
  "eval.score": { shown: "session", describe: (e) => describeCheck(e) },
  "turn.start": { shown: false, folded: "the turn's node" },
  "turn.end": { shown: false, folded: "the turn's node" },
  "context.snapshot": { shown: false, folded: "the turn's Context snapshot" },
  "memory.snapshot": { shown: false, folded: "the turn's Memory snapshot" },
  "model.request": { shown: false, folded: "the turn's Context snapshot (bytes sent)" },
  "tool.result": { shown: false, folded: "its tool call" },
  "model.response": {
    shown: "turn",
    describe: (e) => {
      const what = e.toolCalls.length
        ? `→ ${e.toolCalls.map((c) => c.name).join(", ")}`
        : `replied “${abridge(e.text, 40)}”`;
      return {
        label: `Model call ${e.step + 1}`,
        description: `${what} · ${e.usage.inputTokens}+${e.usage.outputTokens} tokens · ${Math.round(e.latencyMs)} ms`,
        tooltip: `${e.stopReason}\n${e.text || "(no text)"}${e.toolCalls.map((c) => `\n→ ${c.name} ${JSON.stringify(c.input)}`).join("")}`,
        icon: "sparkle",
      };
    },
  },
  "tool.call": {
    shown: "turn",
    describe: (e, t) => {
      const status = toolCallStatus(t, e.callId);
      const result = t.events.find((x) => x.type === "tool.result" && x.callId === e.callId);
      const identity = e.identity ? identityText(e.identity) : undefined;
      return {
        label: `Tool ${e.tool}`,
        description: [status.text, identity?.short, json(e.input, 50)].filter(Boolean).join(" · "),
        tooltip: `${e.tool} ${JSON.stringify(e.input, null, 2)}\n${status.text}${identity ? `\n${identity.long}` : ""}${
          result?.type === "tool.result" && result.ok ? `\n→ ${json(result.output, 400)}` : ""
        }`,
        icon: status.ok === false ? "error" : "tools",
        ...(status.ok === false ? { color: "testing.iconFailed" } : {}),
      };
    },
  },
  "policy.decision": {
    shown: "turn",
    describe: (e) => ({
      label: `Policy: ${e.decision} ${e.tool}`,
      description: [e.check && e.check !== "none" ? e.check : undefined, e.reason].filter(Boolean).join(": "),
      tooltip: `${e.tool}: ${e.decision}${e.check ? ` (check ${e.check})` : ""}${e.reason ? `\n${e.reason}` : ""}`,
      icon: e.decision === "approval" ? "question" : "shield",
      ...(e.decision === "deny" ? { color: "testing.iconFailed" } : {}),
    }),
  },
  approval: {
    shown: "turn",
    describe: (e) => ({
      label: `Approval: ${e.tool} ${e.approved ? "approved" : "refused"}`,
      description: `by ${e.by}`,
      icon: e.approved ? "check" : "circle-slash",
      ...(e.approved ? {} : { color: "testing.iconFailed" }),
    }),
  },
  "memory.write": {
    shown: "turn",
    describe: (e) => ({
      label: `Memory: ${e.field} = ${json(e.value, 40)}`,
      description: e.ok ? (e.memory ? `memory ${e.memory}` : "") : `rejected: ${e.error ?? ""}`,
      icon: "database",
      ...(e.ok ? {} : { color: "testing.iconFailed" }),
    }),
  },
  handoff: {
    shown: "turn",
    describe: (e) => ({ label: `Handoff: ${e.from} → ${e.to}`, icon: "arrow-swap" }),
  },
  "manual.edit": {
    shown: "turn",
    describe: (e) => ({
      label: `Edited by hand: ${e.target === "memory" ? `memory ${e.field}` : `${e.tool ?? "tool"} input ${e.field}`}`,
      description: `${json(e.before ?? null, 30)} → ${json(e.after, 30)} · by the ${e.by}`,
      tooltip: `A change made in the ${e.by} before the step ran\n${e.field}: ${JSON.stringify(e.before)} → ${JSON.stringify(e.after)}`,
      icon: "edit",
      color: "charts.yellow",
    }),
  },
};

/** The entry of an event's type; undefined for a type this version does not know (a newer log). */
function eventNode(e: SessionEvent): EventNode<EventType> | undefined {
  return Object.hasOwn(EVENT_NODES, e.type) ? (EVENT_NODES[e.type] as EventNode<EventType>) : undefined;
}

export function isShown(e: SessionEvent): boolean {
  return eventNode(e)?.shown === "turn";
}

export function describeEvent(t: TurnModel, e: SessionEvent): Display {
  const node = eventNode(e);
  return node?.shown === "turn" ? node.describe(e, t) : { label: e.type, icon: "circle-small" };
}

/** " 0.40 < 0.70" for a scored criterion, "" otherwise. */
export function scoreText(k: EvalCheck): string {
  if (typeof k.score !== "number") return "";
  const threshold =
    typeof k.threshold === "number" ? ` ${k.score >= k.threshold ? "≥" : "<"} ${k.threshold.toFixed(2)}` : "";
  return ` ${k.score.toFixed(2)}${threshold}`;
}

/**
 * An eval criterion with its outcome (an `eval.score` event, or a check of the run's JSON): the label
 * says what was checked, the description the score and the reason.
 */
export function describeCheck(k: EvalCheck): Display {
  const score = scoreText(k).trim();
  return {
    label: abridge(k.criterion, 70),
    description: [score || undefined, abridge(k.reason, 120)].filter(Boolean).join(": "),
    tooltip: [
      `${k.kind} criterion: ${k.criterion}`,
      `${k.passed ? "passed" : "failed"}${score ? ` (score ${score})` : ""}: ${k.reason}`,
      k.precision !== undefined || k.recall !== undefined
        ? `precision ${k.precision?.toFixed(2) ?? "?"}, recall ${k.recall?.toFixed(2) ?? "?"}`
        : undefined,
      k.judgeBackend ? `judged by ${k.judgeBackend}` : undefined,
      k.file ? `written at ${k.file}${k.line ? `:${k.line}` : ""}` : undefined,
    ]
      .filter(Boolean)
      .join("\n"),
    ...(k.passed
      ? { icon: "pass", color: "testing.iconPassed" }
      : { icon: "error", color: "testing.iconFailed" }),
  };
}

interface SnapshotSpec {
  /** The node's label, and the name in a comparison's title. */
  label: string;
  icon: string;
  tooltip: string;
  /** What the turn's snapshot holds, in a few words. */
  description: (t: TurnModel) => string;
  /** The read-only document the node opens (render.ts). */
  render: (model: SessionModel, t: TurnModel) => string;
}

/**
 * The snapshots a turn has, each a node under the turn and a document (`turn-N/KIND.md`): a new
 * snapshot kind is one entry here.
 */
export const SNAPSHOT_KINDS = {
  context: {
    label: "Context",
    icon: "layers",
    tooltip: "What the model was sent in this turn: messages, tool schemas, tokens per section, bytes",
    description: (t) => {
      const last = t.contexts[t.contexts.length - 1];
      if (!last) return "no model call";
      const window = last.contextWindow ? ` of ${last.contextWindow.toLocaleString("en-US")}` : "";
      return `${count(last.tokens.total, "token")}${window} · ${count(t.contexts.length, "call")}`;
    },
    render: renderContext,
  },
  memory: {
    label: "Memory",
    icon: "database",
    tooltip: "The agent's memory after this turn",
    description: (t) => {
      const n = Object.keys(t.memory?.values ?? {}).length;
      return t.memory ? (n ? count(n, "field") : "empty") : "no snapshot";
    },
    render: renderMemory,
  },
} satisfies Record<string, SnapshotSpec>;

export type SnapshotKind = keyof typeof SNAPSHOT_KINDS;

/** The snapshot kinds in the order a turn lists them. */
export const SNAPSHOT_KIND_NAMES = Object.keys(SNAPSHOT_KINDS) as SnapshotKind[];

export const isSnapshotKind = (x: unknown): x is SnapshotKind =>
  typeof x === "string" && Object.hasOwn(SNAPSHOT_KINDS, x);

export function describeSnapshot(t: TurnModel, which: SnapshotKind): Display {
  const { label, icon, tooltip, description } = SNAPSHOT_KINDS[which];
  return { label, icon, tooltip, description: description(t) };
}
