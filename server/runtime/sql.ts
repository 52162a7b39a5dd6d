// SQL on connections (connections.md section 2): PostgreSQL servers through a
// `pg` pool, and embedded PGlite for `postgres://pglite/<path>` (offline
// examples and tests), with the same semantics on both: parameters bound to
// $1..$n (never interpolated), a READ ONLY transaction unless the tool may
// write, a statement timeout, and a row limit that says when it cut.

import * as fs from "node:fs";
import * as path from "node:path";
import type { PGlite } from "@electric-sql/pglite";
import type { Json } from "../protocol/definition";
import { createPglite, lockDataDir } from "./pglite";

export interface SqlRows {
  rows: Record<string, unknown>[];
  /** Rows returned, or affected by a write without RETURNING. */
  rowCount: number;
}

export type SqlExec = (text: string, params?: unknown[]) => Promise<SqlRows>;

export interface SqlDatabase {
  readonly kind: "pglite" | "postgres";
  /** Runs `fn` in one transaction on one session of the database: committed when it returns, else rolled back. */
  transaction<T>(begin: string, fn: (exec: SqlExec) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** A statement the database refused: `position` is the 1-based character of the statement it points at. */
export class SqlFailure extends Error {
  constructor(
    message: string,
    readonly code?: string,
    readonly position?: number,
  ) {
    super(message);
  }
}

export const DEFAULT_SQL_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_ROWS = 100;

/** `postgres://pglite/<path>[?seed=<file.sql>]`: an embedded database in a folder (or `:memory:`). */
export function parsePgliteUrl(url: string): { dir: string; seed?: string } | undefined {
  const m = /^postgres(?:ql)?:\/\/pglite(\/[^?#]*)?(?:\?([^#]*))?$/i.exec(url);
  if (!m) return undefined;
  const seed = new URLSearchParams(m[2] ?? "").get("seed") ?? undefined;
  return { dir: decodeURIComponent((m[1] ?? "/").slice(1)), seed };
}

export function isSqlUrl(url: string): boolean {
  return /^postgres(?:ql)?:\/\//i.test(url);
}

/** Opens the database of a SQL connection's URL; relative PGlite paths start at `baseDir`. */
export async function openSqlDatabase(url: string, baseDir: string): Promise<SqlDatabase> {
  const embedded = parsePgliteUrl(url);
  if (embedded) {
    if (!embedded.dir)
      throw new SqlFailure(
        `${url} names no folder: write postgres://pglite/<folder> (relative to the agent file) or postgres://pglite/:memory:`,
      );
    return openEmbedded(embedded.dir, embedded.seed, baseDir);
  }
  return openServer(url);
}

// ---- PostgreSQL server ------------------------------------------------------------------

async function openServer(url: string): Promise<SqlDatabase> {
  const { Pool } = await import("pg");
  const pool = new Pool({ connectionString: url, max: 4, connectionTimeoutMillis: DEFAULT_SQL_TIMEOUT_MS });
  // An idle client's error (a server restart) must not crash the run: the next call reconnects.
  pool.on("error", () => {});
  return {
    kind: "postgres",
    async transaction(begin, fn) {
      const client = await pool.connect();
      try {
        await client.query(begin);
        const out = await fn(async (text, params) => {
          const r = await client.query(text, params);
          return { rows: r.rows as Record<string, unknown>[], rowCount: r.rowCount ?? r.rows.length };
        });
        await client.query("COMMIT");
        return out;
      } catch (err) {
        await client.query("ROLLBACK").catch(() => {});
        throw err;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}

// ---- PGlite --------------------------------------------------------------------------

/**
 * One PGlite per data folder per process, shared by the sessions that use it (a folder belongs to one
 * process at a time: lockDataDir) and closed when the last lets go.
 */
const open = new Map<string, { db: Promise<PGlite>; refs: number; unlock: () => void }>();

async function openEmbedded(dir: string, seed: string | undefined, baseDir: string): Promise<SqlDatabase> {
  const memory = dir === ":memory:";
  const folder = memory ? undefined : path.resolve(baseDir, dir);
  let shared = folder ? open.get(folder) : undefined;
  if (!shared) {
    // The lock file sits beside the folder: its parent must exist.
    if (folder) fs.mkdirSync(path.dirname(folder), { recursive: true });
    const unlock = folder
      ? lockDataDir(
          folder,
          (pid) => `the embedded database in ${folder} is in use by another process (pid ${pid})`,
        )
      : () => {};
    const db = startEmbedded(folder, seed && path.resolve(baseDir, seed));
    shared = { db, refs: 0, unlock };
    if (folder) open.set(folder, shared);
    db.catch(() => {
      if (folder) open.delete(folder);
      unlock();
    });
  }
  shared.refs++;
  const entry = shared;
  const pg = await entry.db.catch((err: unknown) => {
    entry.refs--;
    throw err;
  });
  let closed = false;
  return {
    kind: "pglite",
    async transaction(begin, fn) {
      // PGlite's own transaction() starts with a plain BEGIN: this one says READ ONLY when it must.
      return pg.transaction(async (tx) => {
        if (begin !== "BEGIN") await tx.query(begin.replace(/^BEGIN/, "SET TRANSACTION"));
        return fn(async (text, params) => {
          const r = await tx.query<Record<string, unknown>>(text, params);
          return { rows: r.rows, rowCount: r.affectedRows || r.rows.length };
        });
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      if (--entry.refs > 0) return;
      if (folder) open.delete(folder);
      try {
        await pg.close();
      } finally {
        entry.unlock();
      }
    },
  };
}

async function startEmbedded(folder: string | undefined, seed: string | undefined): Promise<PGlite> {
  const fresh = !folder || !fs.existsSync(folder) || fs.readdirSync(folder).length === 0;
  let seedSql: string | undefined;
  if (seed && fresh) {
    try {
      seedSql = fs.readFileSync(seed, "utf8");
    } catch (err) {
      throw new SqlFailure(
        `cannot read the seed file ${seed}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
  }
  if (folder) fs.mkdirSync(folder, { recursive: true });
  const pg = await createPglite(folder);
  if (seedSql !== undefined) {
    try {
      await pg.exec(seedSql);
    } catch (err) {
      await pg.close().catch(() => {});
      // A half-seeded database would never be seeded again: start over next time.
      if (folder) fs.rmSync(folder, { recursive: true, force: true });
      throw new SqlFailure(`the seed file ${seed} failed: ${(err as Error).message}`);
    }
  }
  return pg;
}

// ---- statements --------------------------------------------------------------------------

export interface StatementRun {
  statement: string;
  params: unknown[];
  write: boolean;
  maxRows: number;
  timeoutMs: number;
}

export interface StatementResult {
  rows: Json[];
  rowCount: number;
  truncated: boolean;
}

/** A query whose rows a cursor can hold (DECLARE takes only SELECT, VALUES, TABLE and WITH ... SELECT). */
const READS = /^(?:\s|--[^\n]*\n|\/\*[\s\S]*?\*\/)*(select|with|values|table)\b/i;

/**
 * Runs one statement: reads through a cursor that fetches at most `maxRows + 1` rows (the extra one
 * says the result was cut), writes directly with their returned rows cut to `maxRows`.
 */
export async function runStatement(db: SqlDatabase, run: StatementRun): Promise<StatementResult> {
  const begin = run.write ? "BEGIN" : "BEGIN READ ONLY";
  const limit = Math.max(0, Math.floor(run.maxRows));
  return db.transaction(begin, async (exec) => {
    await exec(`SET LOCAL statement_timeout = ${Math.max(1, Math.round(run.timeoutMs))}`);
    let rows: Record<string, unknown>[];
    let rowCount: number;
    if (!run.write && READS.test(run.statement)) {
      await exec(`DECLARE statecraft_rows NO SCROLL CURSOR FOR ${run.statement}`, run.params);
      rows = (await exec(`FETCH ${limit + 1} FROM statecraft_rows`)).rows;
      rowCount = Math.min(rows.length, limit);
    } else {
      const r = await exec(run.statement, run.params);
      rows = r.rows;
      rowCount = r.rowCount;
    }
    const truncated = rows.length > limit;
    return { rows: rows.slice(0, limit).map((r) => toJson(r)), rowCount, truncated };
  });
}

/** A driver's value as JSON: dates as ISO text, big integers as numbers when exact (else text), bytes as \x hex. */
function toJson(v: unknown): Json {
  if (v === null || v === undefined) return null;
  if (typeof v === "string" || typeof v === "boolean") return v;
  if (typeof v === "number") return Number.isFinite(v) ? v : String(v);
  if (typeof v === "bigint") return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? String(v) : v.toISOString();
  if (v instanceof Uint8Array) return `\\x${Buffer.from(v).toString("hex")}`;
  if (Array.isArray(v)) return v.map(toJson);
  if (typeof v === "object")
    return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, toJson(x)]));
  return String(v);
}

/** The database's error as one line: what failed and, for the usual causes, what to change. */
export function describeSqlError(
  err: unknown,
  what: string,
  run: { write: boolean; timeoutMs: number },
): SqlFailure {
  if (err instanceof SqlFailure) return err;
  const e = err as Error & { code?: string; position?: string };
  const position = e.position ? Number(e.position) : undefined;
  switch (e.code) {
    case "25006":
      return new SqlFailure(
        `${what} tried to write in a READ ONLY transaction (${e.message}); a tool that writes says write: true`,
        e.code,
      );
    case "57014":
      return new SqlFailure(
        `${what} timed out after ${run.timeoutMs} ms (statement_timeout) and was cancelled`,
        e.code,
      );
  }
  return new SqlFailure(`${what} failed: ${e.message}`, e.code, position);
}

/** Checks that `statement` prepares (parses, names existing tables and columns) without running it. */
export async function prepareStatement(db: SqlDatabase, statement: string): Promise<void> {
  const prefix = "PREPARE statecraft_check AS ";
  await db.transaction("BEGIN READ ONLY", async (exec) => {
    try {
      await exec(`${prefix}${statement}`);
      // A prepared statement outlives the transaction: gone before the next check prepares one.
      await exec("DEALLOCATE statecraft_check");
    } catch (err) {
      const e = err as Error & { code?: string; position?: string };
      const at = e.position ? Number(e.position) - prefix.length : undefined;
      throw new SqlFailure(e.message, e.code, at !== undefined && at > 0 ? at : undefined);
    }
  });
}
