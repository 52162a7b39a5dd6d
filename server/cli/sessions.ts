// `statecraft sessions [list|show ID]`: what is recorded, readable.

import * as path from "node:path";
import { parseArgs } from "node:util";
import type { SessionEvent } from "../protocol/events";
import { turnFigures } from "../runtime/replay";
import { displayPath, plural } from "./files";
import { UsageError, type CliIO, type Flags } from "./io";
import { listSessionFiles, loadSession, resolveSession } from "./sessionFiles";

function summary(events: SessionEvent[]) {
  const start = events.find((e) => e.type === "session.start");
  const end = events.find((e) => e.type === "session.end");
  const turns = events.filter((e) => e.type === "turn.end").length;
  const lastTurnEnd = [...events].reverse().find((e) => e.type === "turn.end");
  const status = end?.type === "session.end" ? end.status : lastTurnEnd ? "unfinished" : "empty";
  return { start: start?.type === "session.start" ? start : undefined, status, turns };
}

/** The flags of `statecraft sessions` (the docs test parses the documented commands against them). */
export const SESSIONS_FLAGS = {
  workspace: { type: "string" },
  format: { type: "string", default: "text" },
  // list: also the sessions of test runs (left out by default: each `statecraft test` adds one per test).
  all: { type: "boolean" },
} satisfies Flags;

export function sessionsCommand(argv: string[], io: CliIO): number {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: SESSIONS_FLAGS,
  });
  if (values.format !== "text" && values.format !== "json")
    throw new UsageError(`--format must be text or json, not '${values.format}'`);
  const workspace = path.resolve(io.cwd, values.workspace ?? ".");
  const [sub = "list", id] = positionals;
  if (sub === "list") {
    // A log that cannot be used is a warning naming its file and line; the other sessions are listed.
    // A log without a usable session.start has nothing to list (its warning said why).
    const every = listSessionFiles(workspace)
      .map((f) => ({ file: f, ...summary(loadSession(f, io)) }))
      .filter((r) => r.start);
    const rows = values.all ? every : every.filter((r) => !r.start?.test);
    const hidden = every.length - rows.length;
    if (hidden && values.format !== "json")
      io.stderr(`${plural(hidden, "test session")} not shown (--all shows them)\n`);
    if (values.format === "json") {
      io.stdout(
        JSON.stringify(
          rows.map((r) => ({
            id: path.basename(r.file, ".jsonl"),
            file: displayPath(r.file, io.cwd),
            agent: r.start?.agent,
            backend: r.start?.backend,
            status: r.status,
            turns: r.turns,
            started: r.start?.ts,
            test: r.start?.test,
            parent: r.start?.parent,
          })),
          null,
          2,
        ) + "\n",
      );
      return 0;
    }
    if (!rows.length) {
      io.stderr(
        `no sessions under ${displayPath(path.join(workspace, ".statecraft", "sessions"), io.cwd)}: run an agent or its tests first\n`,
      );
      return 0;
    }
    for (const r of rows) {
      const s = r.start;
      const what = s?.test
        ? `test "${s.test}"`
        : s?.parent
          ? `fork of ${s.parent.sessionId}@${s.parent.turn}`
          : "";
      io.stdout(
        `${path.basename(r.file, ".jsonl")}  ${(s?.agent ?? "?").padEnd(12)} ${(s?.backend.kind ?? "?").padEnd(9)} ${r.status.padEnd(10)} ${String(r.turns).padStart(3)} turn${r.turns === 1 ? " " : "s"}  ${what}\n`,
      );
    }
    return 0;
  }
  if (sub === "show") {
    if (!id) throw new UsageError("usage: statecraft sessions show ID");
    const file = resolveSession(id, workspace, io.cwd);
    const events = loadSession(file, io);
    const { start, status } = summary(events);
    if (!start) throw new UsageError(`${id} is not a Statecraft session log`);
    io.stdout(
      `session ${start.sessionId}: agent ${start.agent} on ${start.backend.name} (${start.backend.kind}, ${start.backend.provider}${start.backend.model ? ` ${start.backend.model}` : ""}), ${status}\n`,
    );
    io.stdout(
      `definition ${start.hash}${start.user ? `, user ${start.user.id}` : ""}${start.source ? `, from ${start.source}` : ""}\n`,
    );
    if (start.parent)
      io.stdout(`forked from session ${start.parent.sessionId} after turn ${start.parent.turn}\n`);
    if (start.test) io.stdout(`test "${start.test}"\n`);
    for (const [turn, t] of turnFigures(events)) {
      io.stdout(`\nturn ${turn}\n  user:  ${t.input}\n`);
      for (const e of events) {
        if (!("turn" in e) || e.turn !== turn) continue;
        if (e.type === "tool.result")
          io.stdout(
            `  tool:  ${e.tool} ${e.ok ? "-> " + JSON.stringify(e.output).slice(0, 120) : "failed: " + e.error}\n`,
          );
        if (e.type === "policy.decision" && e.decision !== "allow")
          io.stdout(`  policy: ${e.tool} ${e.decision}: ${e.reason}\n`);
        if (e.type === "memory.write")
          io.stdout(
            `  memory: ${e.field} = ${JSON.stringify(e.value)}${e.ok ? "" : ` (rejected: ${e.error})`}\n`,
          );
        if (e.type === "approval")
          io.stdout(`  approval: ${e.tool} ${e.approved ? "approved" : "refused"} by ${e.by}\n`);
        if (e.type === "handoff") io.stdout(`  handoff: ${e.from} -> ${e.to}\n`);
      }
      io.stdout(
        `  reply: ${t.reply}\n  ${plural(t.tokens, "token")}, ${plural(t.bytes, "byte")} sent, model ${Math.round(t.latencyMs)} ms\n`,
      );
    }
    return 0;
  }
  throw new UsageError(`unknown subcommand '${sub}': use list or show ID`);
}
