// The language core's FileSystem over Node's fs, optionally with overlays
// (unsaved editor buffers) that take precedence over what is on disk. The
// language core itself reads only through the FileSystem it is given; this
// is what its hosts (the language server, the runtime, the CLI) give it.

import * as fs from "node:fs";
import * as path from "node:path";
import { decodeUtf8 } from "./encoding";
import type { FileSystem } from "./program";

export function nodeFileSystem(overlays?: Map<string, string>): FileSystem {
  return {
    readFile(p: string): string | undefined {
      const overlay = overlays?.get(path.resolve(p));
      if (overlay !== undefined) return overlay;
      try {
        return fs.readFileSync(p, "utf8");
      } catch {
        // Unreadable and missing are the same to callers: they report import-not-found.
        return undefined;
      }
    },
    exists(p: string): boolean {
      return overlays?.has(path.resolve(p)) === true || fs.existsSync(p);
    },
    invalidEncoding(p: string, text: string) {
      // The text (read from disk, or an editor's buffer of the file) is what the bytes on disk decode to.
      const decoded = readText(p);
      return decoded?.invalid && decoded.text === text ? decoded.invalid : undefined;
    },
  };
}

/** A file's bytes as UTF-8 text, with where they are not UTF-8; undefined when it cannot be read. */
export function readText(p: string): ReturnType<typeof decodeUtf8> | undefined {
  try {
    return decodeUtf8(fs.readFileSync(p));
  } catch {
    return undefined;
  }
}

/** Every `.agent` file under `dir`, skipping node_modules and dot-folders, in a stable order. */
export function findAgentFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (e.name.startsWith(".") || e.name === "node_modules") continue;
      const full = path.join(d, e.name);
      if (e.isDirectory()) walk(full);
      else if (e.isFile() && e.name.endsWith(".agent")) out.push(path.resolve(full));
    }
  };
  walk(dir);
  return out;
}
