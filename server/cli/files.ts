// Turns the CLI's file and folder arguments into `.agent` files and loads them.

import * as fs from "node:fs";
import * as path from "node:path";
import { Program } from "../language/program";
import { findAgentFiles, nodeFileSystem } from "../runtime/nodeFileSystem";
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

export function loadProgram(files: string[]): Program {
  const program = new Program(nodeFileSystem());
  for (const f of files) {
    if (!program.load(f)) throw new UsageError(`Cannot read ${f}`);
  }
  return program;
}

export function displayPath(p: string, cwd: string): string {
  const rel = path.relative(cwd, p);
  return rel && !rel.startsWith("..") && !path.isAbsolute(rel) ? rel : p;
}
