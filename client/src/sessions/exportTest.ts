// Turns a recorded session into a `test` block (docs/language.md, "Test
// steps") that reproduces it on the local backend: the recorded model output
// becomes `model calls` / `model replies` / `model hands_off` steps, recorded
// tool results become `tool ... returns / fails` mocks, recorded approvals
// `approve` / `reject`, and what happened becomes `expect` steps. A turn that
// did not finish ok ends the export (a test fails on such a turn).

import type { Json } from "../../../server/protocol/definition";
import type { SessionEvent } from "../../../server/protocol/events";
import type {
  HANDOFF_PREFIX as HandoffPrefix,
  MEMORY_TOOL as MemoryTool,
} from "../../../server/protocol/names";
import type { SessionModel } from "./model";

/** The engine's built-in names (server/protocol/names.ts): typed by them, so a renamed one fails to compile here. */
const HANDOFF_PREFIX: typeof HandoffPrefix = "transfer_to_";
const MEMORY_TOOL: typeof MemoryTool = "remember";

export interface ExportedTest {
  name: string;
  text: string;
  turns: number;
  /** Why the export is not the whole session, or differs from it. */
  notes: string[];
}

/** A string literal of the language: escapes for quotes, backslashes, control characters and `{{`. */
export function stringLiteral(s: string): string {
  let out = '"';
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\t") out += "\\t";
    else if (ch === "\r") out += "\\r";
    else if (code < 0x20 || code === 0x7f) out += `\\u{${code.toString(16)}}`;
    else out += ch;
  }
  // A template opener would be read as `{{ path }}`: escape it.
  return out.replace(/\{\{/g, "\\{{") + '"';
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A JSON value as a value of the language (objects with bare keys where they are identifiers). */
export function valueLiteral(v: Json, indent = ""): string {
  if (v === null) return "null";
  if (typeof v === "string") return stringLiteral(v);
  if (typeof v === "number") return Number.isFinite(v) ? String(v) : "null";
  if (typeof v === "boolean") return String(v);
  if (Array.isArray(v)) return `[${v.map((x) => valueLiteral(x, indent)).join(", ")}]`;
  const entries = Object.entries(v);
  if (!entries.length) return "{}";
  return `{ ${entries.map(([k, x]) => `${IDENT.test(k) ? k : stringLiteral(k)}: ${valueLiteral(x, indent)}`).join(", ")} }`;
}

/** A test name not yet used in `existing` (the agent file's text). */
export function uniqueTestName(base: string, existing: string): string {
  const used = (name: string) => existing.includes(`test ${stringLiteral(name)}`);
  if (!used(base)) return base;
  for (let i = 2; ; i++) if (!used(`${base} (${i})`)) return `${base} (${i})`;
}

export interface ExportOptions {
  /** A backend with provider local that the agent's file declares. */
  localBackend?: string;
}

export function exportTest(model: SessionModel, existing = "", options: ExportOptions = {}): ExportedTest {
  const start = model.start;
  if (!start) throw new Error(`session ${model.id} has no session.start event: it cannot be exported`);
  const notes: string[] = [];
  const name = uniqueTestName(`session ${model.id}`, existing);
  const lines = [
    `// Exported from session ${model.id} (${start.backend.name}, ${start.backend.kind}): the recorded model`,
    "// output is scripted and the recorded tool results are mocked, so it runs offline on the local backend.",
    `test ${stringLiteral(name)} {`,
    `  agent: ${start.agent}`,
    // Scripted model steps need a local backend: the recorded one when it was local, else one the file
    // declares, else the built-in one (a test without `backend:` runs on the agent's own backend).
    `  backend: ${start.backend.provider === "local" ? start.backend.name : (options.localBackend ?? "local")}`,
  ];
  if (start.user)
    lines.push(
      `  user: { id: ${stringLiteral(start.user.id)}${start.user.name !== undefined ? `, name: ${stringLiteral(start.user.name)}` : ""} }`,
    );
  if (start.parent)
    notes.push(
      `the session is a fork of ${start.parent.sessionId}; the test starts without that conversation`,
    );
  if (start.memory && Object.keys(start.memory).length)
    notes.push("the session started from stored memory; the test starts from empty memory");
  let turns = 0;
  for (const t of model.turns) {
    if (t.end?.status !== "ok") {
      notes.push(
        `turn ${t.turn} ${t.end ? `ended ${t.end.status}${t.end.reason ? ` (${t.end.reason})` : ""}` : "did not finish"}; the test stops before it`,
      );
      break;
    }
    lines.push("");
    const arrange: string[] = [];
    const expect: string[] = [];
    const byCall = new Map<string, SessionEvent[]>();
    for (const e of t.events)
      if ("callId" in e && typeof e.callId === "string")
        byCall.set(e.callId, [...(byCall.get(e.callId) ?? []), e]);
    for (const e of t.events) {
      if (e.type === "model.response") {
        for (const c of e.toolCalls) {
          if (c.name.startsWith(HANDOFF_PREFIX))
            arrange.push(`model hands_off ${c.name.slice(HANDOFF_PREFIX.length)}`);
          else arrange.push(`model calls ${c.name} ${valueLiteral(c.input ?? {})}`);
        }
        if (!e.toolCalls.length) arrange.push(`model replies ${stringLiteral(e.text)}`);
        else if (e.text)
          notes.push(`turn ${t.turn}: text the model sent along with tool calls is not scripted`);
      } else if (e.type === "approval") {
        arrange.push(`${e.approved ? "approve" : "reject"} ${e.tool}`);
      } else if (e.type === "tool.result" && e.tool !== MEMORY_TOOL) {
        arrange.push(
          e.ok
            ? `tool ${e.tool} returns ${valueLiteral(e.output ?? null)}`
            : `tool ${e.tool} fails ${stringLiteral(e.error ?? "failed")}`,
        );
      } else if (e.type === "tool.call" && e.tool !== MEMORY_TOOL && !e.tool.startsWith(HANDOFF_PREFIX)) {
        const related = byCall.get(e.callId) ?? [];
        const denied = related.some(
          (x) =>
            (x.type === "policy.decision" && x.decision === "deny") || (x.type === "approval" && !x.approved),
        );
        const ran = related.some((x) => x.type === "tool.result");
        const input = e.input && typeof e.input === "object" && !Array.isArray(e.input) ? e.input : undefined;
        if (denied) expect.push(`expect tool ${e.tool} denied`);
        else if (ran)
          expect.push(
            `expect tool ${e.tool} called${input && Object.keys(input).length ? ` with ${valueLiteral(input)}` : ""}`,
          );
      } else if (e.type === "handoff") {
        expect.push(`expect handoff ${e.to}`);
      } else if (e.type === "memory.write" && e.ok) {
        const value = t.memory?.values[e.field];
        if (value !== undefined) expect.push(`expect memory.${e.field} == ${valueLiteral(value)}`);
      }
    }
    lines.push(...arrange.map((s) => `  ${s}`), `  send ${stringLiteral(t.input)}`, "");
    // One expectation per memory field: each states the value after the turn.
    const unique = [...new Set(expect)];
    if (t.end.reply) unique.push(`expect reply contains ${stringLiteral(t.end.reply)}`);
    lines.push(...unique.map((s) => `  ${s}`));
    turns++;
  }
  if (!turns) throw new Error(`session ${model.id} has no finished turn to export`);
  // Counted from the test's own first turn (a fork's turn numbers continue its parent's).
  lines.push(`  expect turns == ${turns}`, "}");
  return { name, text: lines.join("\n") + "\n", turns, notes };
}
