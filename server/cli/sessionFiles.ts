// Finding and reading recorded sessions for the replay, fork and sessions commands.

import * as fs from "node:fs";
import * as path from "node:path";
import type { SessionEvent } from "../protocol/events";
import { ReplayError, type SessionLoader } from "../runtime/replay";
import { readLog, sessionsDir } from "../runtime/sessionLog";
import { displayPath } from "./files";
import { UsageError, type CliIO } from "./io";

/** A session given as a path to its log or as its id in the workspace. */
export function resolveSession(arg: string, workspace: string, cwd: string): string {
  const direct = path.resolve(cwd, arg);
  if (fs.existsSync(direct) && fs.statSync(direct).isFile()) return direct;
  const byId = path.join(sessionsDir(workspace), arg.endsWith(".jsonl") ? arg : `${arg}.jsonl`);
  if (fs.existsSync(byId)) return byId;
  const prefix = listSessionFiles(workspace).filter((f) => path.basename(f).startsWith(arg));
  if (prefix.length === 1) return prefix[0];
  throw new UsageError(
    prefix.length > 1
      ? `'${arg}' matches ${prefix.length} sessions; give more of the id`
      : `no session '${arg}' (not a file, nor an id under ${sessionsDir(workspace)})`,
  );
}

export function listSessionFiles(workspace: string): string[] {
  const dir = sessionsDir(workspace);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".jsonl"))
    .sort()
    .map((f) => path.join(dir, f));
}

/**
 * A log's events; each line that is not a usable event is a warning naming the file and line.
 * `whole`: a log that misses events in the middle (or cannot be read) is an error instead, for
 * what would rebuild or re-run the session from it (replay, fork).
 */
const MAX_WARNINGS = 3;

/** "1, 2, 3" or, for a long list, its first five and how many more. */
const listLines = (lines: number[]) =>
  lines.length <= 5 ? lines.join(", ") : `${lines.slice(0, 5).join(", ")} and ${lines.length - 5} more`;

export function loadSession(file: string, io: CliIO, whole = false): SessionEvent[] {
  const { events, warnings, skipped } = readLog(file);
  // One bad file is a few lines of warning, not one per line of it (a binary file has hundreds).
  for (const w of warnings.slice(0, MAX_WARNINGS)) io.stderr(`warning: ${w}\n`);
  if (warnings.length > MAX_WARNINGS)
    io.stderr(
      `warning: ${path.basename(file)}: ${warnings.length - MAX_WARNINGS} more unusable lines were skipped\n`,
    );
  if (whole && (skipped.length || !events.length))
    throw new UsageError(
      skipped.length
        ? `${displayPath(file, io.cwd)}: line${skipped.length === 1 ? "" : "s"} ${listLines(skipped)} ${skipped.length === 1 ? "is not an event" : "are not events"}: the session cannot be rebuilt from this log`
        : `${displayPath(file, io.cwd)} has no events: it is not a Statecraft session log`,
    );
  return events;
}

/** Loads a fork's parent from the workspace, so that the state the fork started from can be rebuilt. */
export function parentLoader(workspace: string, io: CliIO): SessionLoader {
  return (id) => {
    const file = path.join(sessionsDir(workspace), `${id}.jsonl`);
    if (!fs.existsSync(file))
      throw new ReplayError(
        `the session is a fork of ${id}, whose log is not under ${displayPath(sessionsDir(workspace), io.cwd)}: the state it started from cannot be rebuilt`,
      );
    return loadSession(file, io, true);
  };
}
