// The Session Explorer's sources: a workspace folder's `.statecraft/sessions/`
// (each log read incrementally: a file that grows is read from where the last
// read stopped) and the configured stateful runtimes (listed over HTTP, a
// session's events fetched when it is opened). No `vscode`: the extension
// feeds file-change notifications in and listens for changes.

import * as fs from "node:fs/promises";
import * as path from "node:path";
import { LogReader, modelFromEvents, SessionModel } from "./model";
import { RuntimeClient, type RuntimeConfig, type RuntimeSessionSummary } from "./runtimeClient";

export const SESSIONS_DIR = path.join(".statecraft", "sessions");

/** What a session is, whatever its source. */
export interface SessionRef {
  sourceId: string;
  sessionId: string;
}

interface LocalEntry {
  file: string;
  reader: LogReader;
  model: SessionModel;
  /** Reads of one file run one after the other. */
  busy: Promise<void>;
}

const READ_CHUNK = 1 << 20;

/** One workspace folder's recorded sessions. */
export class FolderSource {
  readonly kind = "folder";
  private readonly entries = new Map<string, LocalEntry>();
  error?: string;

  constructor(
    readonly id: string,
    readonly label: string,
    /** The workspace folder. */
    readonly root: string,
  ) {}

  get dir(): string {
    return path.join(this.root, SESSIONS_DIR);
  }

  /** The sessions, newest first (ids start with their time). */
  sessions(): SessionModel[] {
    return [...this.entries.values()].map((e) => e.model).sort((a, b) => (a.id < b.id ? 1 : -1));
  }

  session(id: string): SessionModel | undefined {
    return this.entries.get(id)?.model;
  }

  fileOf(id: string): string | undefined {
    return this.entries.get(id)?.file;
  }

  /** Reads the folder: new logs are read, grown ones read on, vanished ones dropped. */
  async scan(): Promise<void> {
    let names: string[];
    try {
      names = (await fs.readdir(this.dir)).filter((n) => n.endsWith(".jsonl"));
      this.error = undefined;
    } catch (err) {
      names = [];
      this.error = (err as NodeJS.ErrnoException).code === "ENOENT" ? undefined : (err as Error).message;
    }
    const present = new Set(names.map((n) => n.slice(0, -".jsonl".length)));
    for (const id of [...this.entries.keys()]) if (!present.has(id)) this.entries.delete(id);
    await Promise.all(names.map((n) => this.update(path.join(this.dir, n))));
  }

  /** A log changed (or appeared): read what was appended. Returns false when nothing changed. */
  update(file: string): Promise<boolean> {
    const id = path.basename(file, ".jsonl");
    let entry = this.entries.get(id);
    if (!entry) {
      const model = new SessionModel(id);
      entry = { file, model, reader: new LogReader(model, path.basename(file)), busy: Promise.resolve() };
      this.entries.set(id, entry);
    }
    const e = entry;
    const run = e.busy.then(() => this.readOn(e));
    e.busy = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  remove(file: string): boolean {
    return this.entries.delete(path.basename(file, ".jsonl"));
  }

  private async readOn(e: LocalEntry): Promise<boolean> {
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(e.file, "r");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") {
        this.entries.delete(e.model.id);
        return true;
      }
      throw err;
    }
    try {
      const { size } = await handle.stat();
      if (size < e.reader.offset) {
        // Rewritten shorter (not appended to): start over.
        const model = new SessionModel(e.model.id);
        e.model = model;
        e.reader = new LogReader(model, path.basename(e.file));
      }
      if (size === e.reader.offset) return false;
      const buffer = Buffer.allocUnsafe(Math.min(READ_CHUNK, size - e.reader.offset));
      while (e.reader.offset < size) {
        const { bytesRead } = await handle.read(
          buffer,
          0,
          Math.min(buffer.length, size - e.reader.offset),
          e.reader.offset,
        );
        if (bytesRead === 0) break;
        e.reader.feed(buffer.subarray(0, bytesRead));
      }
      return true;
    } finally {
      await handle.close();
    }
  }
}

/** A stateful runtime's sessions. */
export class RuntimeSource {
  readonly kind = "runtime";
  summaries: RuntimeSessionSummary[] = [];
  error?: string;
  private readonly models = new Map<string, { updatedAt: string; model: Promise<SessionModel> }>();

  constructor(
    readonly id: string,
    readonly config: RuntimeConfig,
    readonly client: RuntimeClient,
  ) {}

  get label(): string {
    return this.config.name;
  }

  async scan(): Promise<void> {
    try {
      this.summaries = await this.client.listSessions();
      this.error = undefined;
    } catch (err) {
      this.summaries = [];
      this.error = (err as Error).message;
    }
  }

  summary(id: string): RuntimeSessionSummary | undefined {
    return this.summaries.find((s) => s.id === id);
  }

  /** The session's events as a model, fetched once per version (its updatedAt) of the session. */
  load(id: string): Promise<SessionModel> {
    const version = this.summary(id)?.updatedAt ?? "";
    const cached = this.models.get(id);
    if (cached && cached.updatedAt === version) return cached.model;
    const model = this.client.events(id).then((events) => modelFromEvents(id, events));
    this.models.set(id, { updatedAt: version, model });
    model.catch(() => this.models.delete(id));
    return model;
  }

  /** A model already fetched (for documents opened from the tree). */
  loaded(id: string): Promise<SessionModel> | undefined {
    return this.models.get(id)?.model;
  }
}

export type Source = FolderSource | RuntimeSource;

/** Every source, and the listeners to tell when something in them changed. */
export class SessionStore {
  private sources: Source[] = [];
  private readonly listeners = new Set<() => void>();

  setSources(sources: Source[]): void {
    this.sources = sources;
    this.changed();
  }

  all(): Source[] {
    return this.sources;
  }

  source(id: string): Source | undefined {
    return this.sources.find((s) => s.id === id);
  }

  /** A session's model, fetched from its runtime when needed. */
  async model(ref: SessionRef): Promise<SessionModel | undefined> {
    const source = this.source(ref.sourceId);
    if (!source) return undefined;
    return source.kind === "folder" ? source.session(ref.sessionId) : source.load(ref.sessionId);
  }

  onDidChange(listener: () => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  changed(): void {
    for (const l of this.listeners) l();
  }
}
