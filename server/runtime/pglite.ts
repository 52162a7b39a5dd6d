// Embedded PostgreSQL (PGlite) for this process: its WebAssembly loaded once,
// and a lock file so that one process at a time owns a data folder (two would
// corrupt it). The runtime service's store and `postgres://pglite/...` SQL
// connections open their databases through here.

import * as fs from "node:fs";
import * as path from "node:path";
import type { PGlite } from "@electric-sql/pglite";

/** The embedded database cannot start: a missing file, a folder owned by another process. */
export class EmbeddedDbError extends Error {}

/** PGlite's WebAssembly and file-system bundle: next to dist/cli.js in the build, else from node_modules. */
function pgliteAsset(name: string): string {
  const candidates = [path.join(__dirname, name)];
  try {
    candidates.push(path.join(path.dirname(require.resolve("@electric-sql/pglite")), name));
  } catch {
    // Not installed next to us: only the copy beside the bundle can serve.
  }
  const found = candidates.find((f) => fs.existsSync(f));
  if (!found)
    throw new EmbeddedDbError(
      `the embedded database's file ${name} is missing (looked in ${candidates.join(", ")}); rebuild with npm run build`,
    );
  return found;
}

type WasmModule = NonNullable<import("@electric-sql/pglite").PGliteOptions["pgliteWasmModule"]>;
// The project's TypeScript lib has no WebAssembly declarations; Node has the global.
const wasm = (globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<WasmModule> } })
  .WebAssembly;

let assets: Promise<{ pglite: WasmModule; initdb: WasmModule; bundle: Blob }> | undefined;

/**
 * Loaded explicitly (and once per process): PGlite finds them through
 * import.meta.url, which a CommonJS bundle does not have.
 */
export function pgliteAssets() {
  return (assets ??= (async () => ({
    pglite: await wasm.compile(fs.readFileSync(pgliteAsset("pglite.wasm"))),
    initdb: await wasm.compile(fs.readFileSync(pgliteAsset("initdb.wasm"))),
    bundle: new Blob([fs.readFileSync(pgliteAsset("pglite.data"))]),
  }))());
}

/**
 * The embedded database belongs to one process at a time (two would corrupt
 * it): a lock file beside the data folder holds the owner's pid. A lock left
 * by a process that no longer runs (a crash) is taken over.
 */
const lockedHere = new Set<string>();

export function lockDataDir(dataDir: string, inUse: (pid: number) => string): () => void {
  const file = `${path.resolve(dataDir)}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      if (lockedHere.has(file)) throw Object.assign(new Error("locked"), { code: "EEXIST" });
      fs.writeFileSync(file, String(process.pid), { flag: "wx" });
      lockedHere.add(file);
      return () => {
        lockedHere.delete(file);
        fs.rmSync(file, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const pid = lockedHere.has(file) ? process.pid : Number(fs.readFileSync(file, "utf8").trim());
      let alive = lockedHere.has(file);
      try {
        if (!alive && Number.isInteger(pid) && pid > 0 && pid !== process.pid) {
          process.kill(pid, 0);
          alive = true;
        }
      } catch (e) {
        alive = (e as NodeJS.ErrnoException).code === "EPERM";
      }
      if (alive) throw new EmbeddedDbError(inUse(pid));
      fs.rmSync(file, { force: true });
    }
  }
  throw new EmbeddedDbError(`cannot lock the embedded database in ${dataDir} (${file})`);
}

/** A PGlite database in `dataDir` (made by initdb when new), or in memory without one. */
export async function createPglite(dataDir: string | undefined): Promise<PGlite> {
  // require: the bundler then takes PGlite's CommonJS build, whose WebAssembly glue finds its files
  // through __filename; the ES module build needs import.meta.url, which a CommonJS bundle lacks.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { PGlite } = require("@electric-sql/pglite") as typeof import("@electric-sql/pglite");
  const a = await pgliteAssets();
  return PGlite.create({
    ...(dataDir ? { dataDir: path.resolve(dataDir) } : {}),
    pgliteWasmModule: a.pglite,
    initdbWasmModule: a.initdb,
    fsBundle: a.bundle,
  });
}
