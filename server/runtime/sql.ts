// SQL on connections (connections.md section 2): PostgreSQL servers through a
// `pg` pool, and embedded PGlite for `postgres://pglite/<path>` (offline
// examples and tests), with the same semantics on both: parameters bound to
// $1..$n (never interpolated), a READ ONLY transaction unless the tool may
// write, a statement timeout, and a row limit that says when it cut.
//
// One round trip per call: a statement runs as its own transaction on a
// database session whose defaults are READ ONLY (default_transaction_read_only)
// and the tool's statement_timeout; the defaults are set again only when a call
// needs others than the session has. A read is wrapped in a LIMIT of
// max_rows + 1, so the database never sends more than one row past the cut.

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

/** The defaults a statement runs under: READ ONLY or not, and its statement_timeout. */
export interface SqlSettings {
  readOnly: boolean;
  timeoutMs: number;
}

export interface SqlDatabase {
  readonly kind: "pglite" | "postgres";
  /** Runs one statement as its own transaction under `settings`. */
  run(settings: SqlSettings, text: string, params: unknown[]): Promise<SqlRows>;
  close(): Promise<void>;
}

const same = (a: SqlSettings | undefined, b: SqlSettings) =>
  a !== undefined && a.readOnly === b.readOnly && a.timeoutMs === b.timeoutMs;

const settingsSql = (s: SqlSettings) =>
  `SET default_transaction_read_only = ${s.readOnly ? "on" : "off"}; ` +
  `SET statement_timeout = ${Math.max(1, Math.round(s.timeoutMs))}`;

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
  /** What each pooled session's defaults are now. */
  const current = new WeakMap<object, SqlSettings>();
  return {
    kind: "postgres",
    async run(settings, text, params) {
      const client = await pool.connect();
      try {
        if (!same(current.get(client), settings)) {
          current.delete(client);
          await client.query(settingsSql(settings));
          current.set(client, { ...settings });
        }
        const r = await client.query(text, params);
        return { rows: r.rows as Record<string, unknown>[], rowCount: r.rowCount ?? r.rows.length };
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
interface Embedded {
  db: Promise<PGlite>;
  refs: number;
  unlock: () => void;
  run: SqlDatabase["run"];
}
const open = new Map<string, Embedded>();

/** Runs statements on one PGlite one at a time: a call's settings and its statement are never split. */
function embeddedRunner(db: Promise<PGlite>): SqlDatabase["run"] {
  let current: SqlSettings | undefined;
  let queue: Promise<unknown> = Promise.resolve();
  return (settings, text, params) => {
    const next = queue.then(async () => {
      const pg = await db;
      if (!same(current, settings)) {
        current = undefined;
        await pg.exec(settingsSql(settings));
        current = { ...settings };
      }
      const r = await pg.query<Record<string, unknown>>(text, params);
      return { rows: r.rows, rowCount: r.affectedRows || r.rows.length };
    });
    queue = next.catch(() => undefined);
    return next;
  };
}

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
    shared = { db, refs: 0, unlock, run: embeddedRunner(db) };
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
  // PGlite cannot interrupt a running statement (no timer signal in WebAssembly): statement_timeout
  // is accepted and has no effect there; the server driver enforces it.
  let closed = false;
  return {
    kind: "pglite",
    run: (settings, text, params) => entry.run(settings, text, params),
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

/** A query that can be a subquery (SELECT, VALUES, TABLE and WITH ... SELECT): cut by an outer LIMIT. */
const READS = /^(?:\s|--[^\n]*\n|\/\*[\s\S]*?\*\/)*(select|with|values|table)\b/i;

/**
 * Runs one statement: a read as a subquery under LIMIT `maxRows + 1` (the extra row says the result
 * was cut), anything else as written with its returned rows cut to `maxRows`.
 */
export async function runStatement(db: SqlDatabase, run: StatementRun): Promise<StatementResult> {
  const limit = Math.max(0, Math.floor(run.maxRows));
  const settings = { readOnly: !run.write, timeoutMs: run.timeoutMs };
  const read = READS.test(run.statement);
  const text = read
    ? `SELECT * FROM (\n${run.statement.replace(/[\s;]+$/, "")}\n) AS statecraft_rows LIMIT ${limit + 1}`
    : run.statement;
  const r = await db.run(settings, text, run.params);
  const truncated = r.rows.length > limit;
  const rows = r.rows.slice(0, limit);
  return { rows: rows.map((x) => toJson(x)), rowCount: read ? rows.length : r.rowCount, truncated };
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
  const settings = { readOnly: true, timeoutMs: DEFAULT_SQL_TIMEOUT_MS };
  try {
    await db.run(settings, `${prefix}${statement.replace(/[\s;]+$/, "")}`, []);
  } catch (err) {
    const e = err as Error & { code?: string; position?: string };
    const at = e.position ? Number(e.position) - prefix.length : undefined;
    throw new SqlFailure(e.message, e.code, at !== undefined && at > 0 ? at : undefined);
  }
  // A prepared statement lives as long as the database session: gone before the next check.
  await db.run(settings, "DEALLOCATE statecraft_check", []);
}
