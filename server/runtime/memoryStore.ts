// Memory that outlives a session (scope user or agent) is kept under
// `.statecraft/memory/` of the workspace, one JSON file per memory and owner.

import * as fs from "node:fs";
import * as path from "node:path";
import type { Json } from "../language/compile";

export interface MemoryStore {
  load(memory: string, owner: string): Record<string, Json> | undefined;
  save(memory: string, owner: string, values: Record<string, Json>): void;
}

const safe = (s: string) =>
  s.replace(/[^A-Za-z0-9_.-]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, "0")}`);

export class FileMemoryStore implements MemoryStore {
  constructor(readonly dir: string) {}

  private file(memory: string, owner: string): string {
    return path.join(this.dir, safe(memory), `${safe(owner)}.json`);
  }

  load(memory: string, owner: string): Record<string, Json> | undefined {
    try {
      return JSON.parse(fs.readFileSync(this.file(memory, owner), "utf8")) as Record<string, Json>;
    } catch {
      // Missing or unreadable: the memory starts from its zero values.
      return undefined;
    }
  }

  save(memory: string, owner: string, values: Record<string, Json>): void {
    const file = this.file(memory, owner);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    // Write then rename, so a crash never leaves half a file.
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(values, null, 2));
    fs.renameSync(tmp, file);
  }
}

export class InMemoryStore implements MemoryStore {
  private readonly data = new Map<string, Record<string, Json>>();
  load(memory: string, owner: string): Record<string, Json> | undefined {
    const v = this.data.get(`${memory}\0${owner}`);
    return v ? structuredClone(v) : undefined;
  }
  save(memory: string, owner: string, values: Record<string, Json>): void {
    this.data.set(`${memory}\0${owner}`, structuredClone(values));
  }
}
