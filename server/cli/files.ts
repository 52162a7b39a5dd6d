// Turns the CLI's file and folder arguments into `.agent` files and loads them.

import * as fs from "node:fs";
import * as path from "node:path";
import { Program } from "../language/program";
import { findAgentFiles, nodeFileSystem } from "../language/nodeFileSystem";
import { UsageError } from "./io";

/** Files named, plus every `.agent` file under folders named; the current folder when none are. */
export function collectAgentFiles(args: string[], cwd: string): string[] {
  const targets = args.length ? args : ["."];
  const out: string[] = [];
  for (const t of targets) {
    const p = path.resolve(cwd, t);
    let stat: fs.Stats;
    try {
      stat = fs.statSync(p);
    } catch {
      throw new UsageError(`No such file or folder: ${t}`);
    }
    if (stat.isDirectory()) {
      const found = findAgentFiles(p);
      if (found.length === 0 && args.length) throw new UsageError(`No .agent files under ${t}`);
      out.push(...found);
    } else out.push(p);
  }
  return [...new Set(out)];
}

/**
 * The project a file or folder belongs to, whose `.statecraft` holds its sessions and memory: the
 * nearest folder up from it that has a `.statecraft`, a `package.json` or a `.git`, else the file's
 * own folder (not the current folder: `statecraft test travel` from the parent must not make one there).
 */
export function projectFolder(target: string): string {
  let start = target;
  try {
    if (!fs.statSync(target).isDirectory()) start = path.dirname(target);
  } catch {
    start = path.dirname(target);
  }
  for (let dir = start; ; dir = path.dirname(dir)) {
    if ([".statecraft", "package.json", ".git"].some((m) => fs.existsSync(path.join(dir, m)))) return dir;
    if (path.dirname(dir) === dir) return start;
  }
}

/** Loads one file (and its imports); a file that cannot be read is a usage error. */
export function loadProgram(files: string[], cwd = process.cwd()): Program {
  const { program, unreadable } = loadBatch(files, cwd);
  if (unreadable.length) throw new UsageError(unreadable[0].message);
  return program;
}

/**
 * Loads files into one Program. A file that cannot be read does not stop the others: it is
 * returned with one line that says why (`a.agent: cannot read the file: permission denied (EACCES)`).
 */
export function loadBatch(
  files: string[],
  cwd: string,
): { program: Program; unreadable: { file: string; message: string }[] } {
  const program = new Program(nodeFileSystem());
  const unreadable: { file: string; message: string }[] = [];
  for (const f of files)
    if (!program.load(f))
      unreadable.push({
        file: f,
        message: `${displayPath(f, cwd)}: ${fileError("cannot read the file", readFailure(f))}`,
      });
  return { program, unreadable };
}

/** Why a file cannot be read: the error that reading it throws. */
function readFailure(file: string): unknown {
  try {
    fs.readFileSync(file);
    return new Error("it could not be read");
  } catch (err) {
    return err;
  }
}

export function displayPath(p: string, cwd: string): string {
  const rel = path.relative(cwd, p);
  return rel && !rel.startsWith("..") && !path.isAbsolute(rel) ? rel : p;
}

/** `1 file`, `2 files`: a count with its noun in the right number. */
export function plural(n: number, noun: string, nouns = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : nouns}`;
}

const FS_REASONS: Record<string, string> = {
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOENT: "no such file or folder",
  EISDIR: "it is a folder",
  ENOTDIR: "a part of the path is not a folder",
  EROFS: "read-only file system",
  ENOSPC: "no space left on the device",
};

/** One line for a failed file operation: `cannot read the file: permission denied (EACCES)`. */
export function fileError(what: string, err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return `${what}: ${(err as Error)?.message ?? String(err)}`;
  return `${what}: ${FS_REASONS[code] ?? code.toLowerCase()} (${code})`;
}
