// The recorded eval runs of the workspace: each folder's `.statecraft/evals/<run>.json` (the EvalRun
// that `statecraft eval` writes, server/protocol/evals.ts), read when they appear or change. A file
// that is not an eval run (torn, hand-edited, another format) is one warning and is left out; the
// other runs still show. No `vscode`: the extension feeds file-change notifications in.

import * as fs from "node:fs/promises";
import * as path from "node:path";
import type { EvalRun } from "../../../server/protocol/evals";

export const EVALS_DIR = path.join(".statecraft", "evals");

interface Entry {
  file: string;
  /** What the file was when read: a change notification for an unchanged file reads nothing. */
  stamp: string;
  run?: EvalRun;
  warning?: string;
}

/** One workspace folder's eval runs. */
export class EvalRunFolder {
  private readonly entries = new Map<string, Entry>();
  /** The folder could not be listed (other than not existing yet). */
  error?: string;

  constructor(
    readonly id: string,
    readonly label: string,
    /** The workspace folder: runs are in its .statecraft/evals/, session ids refer to its .statecraft/sessions/. */
    readonly root: string,
  ) {}

  get dir(): string {
    return path.join(this.root, EVALS_DIR);
  }

  /** The runs, newest first (by start time, then id). */
  runs(): EvalRun[] {
    return [...this.entries.values()]
      .flatMap((e) => (e.run ? [e.run] : []))
      .sort((a, b) => (a.startedAt === b.startedAt ? cmp(b.run, a.run) : cmp(b.startedAt, a.startedAt)));
  }

  run(id: string): EvalRun | undefined {
    return [...this.entries.values()].find((e) => e.run?.run === id)?.run;
  }

  /** The run's file. */
  fileOf(id: string): string | undefined {
    return [...this.entries.values()].find((e) => e.run?.run === id)?.file;
  }

  /** One line per file that could not be read as a run, in file-name order. */
  warnings(): string[] {
    return [...this.entries.values()]
      .filter((e) => e.warning)
      .sort((a, b) => cmp(a.file, b.file))
      .map((e) => e.warning!);
  }

  /** Reads the folder: new and changed files are read, vanished ones dropped. */
  async scan(): Promise<void> {
    let names: string[];
    try {
      names = (await fs.readdir(this.dir)).filter((n) => n.endsWith(".json"));
      this.error = undefined;
    } catch (err) {
      names = [];
      this.error = (err as NodeJS.ErrnoException).code === "ENOENT" ? undefined : (err as Error).message;
    }
    const present = new Set(names.map((n) => path.join(this.dir, n)));
    for (const file of [...this.entries.keys()]) if (!present.has(file)) this.entries.delete(file);
    await Promise.all([...present].map((f) => this.update(f)));
  }

  /** A run file appeared or changed: read it. Returns false when it had not changed. */
  async update(file: string): Promise<boolean> {
    let stamp: string;
    let text: string;
    try {
      const stat = await fs.stat(file);
      stamp = `${stat.size}:${stat.mtimeMs}`;
      if (this.entries.get(file)?.stamp === stamp) return false;
      text = await fs.readFile(file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return this.remove(file);
      this.entries.set(file, {
        file,
        stamp: "",
        warning: `${path.basename(file)}: ${(err as Error).message}`,
      });
      return true;
    }
    this.entries.set(file, { file, stamp, ...parseRun(path.basename(file), text) });
    return true;
  }

  remove(file: string): boolean {
    return this.entries.delete(file);
  }
}

/** A run file's text as a run, or the one line saying why it is not one. */
export function parseRun(name: string, text: string): { run: EvalRun } | { warning: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { warning: `${name}: not valid JSON (${(err as Error).message}); the run is not shown` };
  }
  const missing = missingFields(value);
  if (missing.length)
    return {
      warning: `${name}: not an eval run (${missing.join(", ")} missing or of the wrong type); the run is not shown`,
    };
  return { run: value as EvalRun };
}

/** The fields the view reads, checked so that a wrong file cannot break the tree. */
function missingFields(v: unknown): string[] {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return ["an object"];
  const r = v as Record<string, unknown>;
  const out: string[] = [];
  for (const k of ["run", "eval", "file", "startedAt", "status"]) if (typeof r[k] !== "string") out.push(k);
  if (typeof r.passRate !== "number") out.push("passRate");
  if (!Array.isArray(r.backends) || !r.backends.every((b) => typeof b === "string")) out.push("backends");
  if (typeof r.summary !== "object" || r.summary === null) out.push("summary");
  if (!Array.isArray(r.cases) || !r.cases.every(isCaseRun)) out.push("cases");
  return out;
}

function isCaseRun(v: unknown): boolean {
  if (typeof v !== "object" || v === null) return false;
  const c = v as Record<string, unknown>;
  return (
    typeof c.case === "string" &&
    typeof c.trial === "number" &&
    typeof c.backend === "string" &&
    typeof c.session === "string" &&
    typeof c.passed === "boolean" &&
    Array.isArray(c.checks) &&
    c.checks.every(
      (k) =>
        typeof k === "object" &&
        k !== null &&
        typeof (k as Record<string, unknown>).criterion === "string" &&
        typeof (k as Record<string, unknown>).passed === "boolean",
    )
  );
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Every folder's runs, and the listeners to tell when something changed. */
export class EvalRunStore {
  private folders: EvalRunFolder[] = [];
  private readonly listeners = new Set<() => void>();

  setFolders(folders: EvalRunFolder[]): void {
    this.folders = folders;
    this.changed();
  }

  all(): EvalRunFolder[] {
    return this.folders;
  }

  folder(id: string): EvalRunFolder | undefined {
    return this.folders.find((f) => f.id === id);
  }

  /** A run by id, in whichever folder holds it. */
  find(runId: string): { folder: EvalRunFolder; run: EvalRun } | undefined {
    for (const folder of this.folders) {
      const run = folder.run(runId);
      if (run) return { folder, run };
    }
    return undefined;
  }

  onDidChange(listener: () => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  changed(): void {
    for (const l of this.listeners) l();
  }
}
