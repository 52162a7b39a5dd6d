// The runtime service's store: PostgreSQL through one SQL dialect, either
// embedded (PGlite, one connection, in a data folder) or a PostgreSQL server
// (`pg` pool) that several service instances share. Versioned migrations run
// in one transaction under an advisory lock, so instances starting together
// never apply one twice.

import * as fs from "node:fs";
import * as path from "node:path";
import type { PGlite } from "@electric-sql/pglite";
import type { PoolClient } from "pg";
import { createPglite, EmbeddedDbError, lockDataDir, pgliteAssets } from "../runtime/pglite";
import { endSentence } from "../runtime/sentence";

export interface Queryable {
  /** `name`: a statement run on every turn, whose text never changes, prepared once per connection. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[], name?: string): Promise<T[]>;
}

export interface Db extends Queryable {
  readonly kind: "pglite" | "postgres";
  /**
   * For statements whose loss in a crash of the database server is harmless (taking, renewing or
   * giving back a turn lease, creating a session row): on PostgreSQL they do not wait for the
   * write-ahead log to reach the disk (synchronous_commit off). They are still durable before any
   * event that follows them, since a commit that waits flushes the log up to itself.
   */
  readonly relaxed: Queryable;
  /** How many group commits may be in flight at once (server.ts: one connection each). */
  readonly commitConcurrency: number;
  /**
   * Runs `fn` on each connection kept open (one for PGlite), `relaxed` saying which pool it is in:
   * to prepare the statements every turn runs before the first turns come.
   */
  eachConnection(fn: (q: Queryable, relaxed: boolean) => Promise<void>): Promise<void>;
  /** Runs `fn` in one transaction (committed when it returns, rolled back when it throws). */
  tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export class StoreError extends Error {}

/** One entry per schema version, applied in order; never edit a shipped one, add the next. */
export const MIGRATIONS: { version: number; name: string; sql: string }[] = [
  {
    version: 1,
    name: "sessions, events, memory, idempotency keys, approvals",
    sql: `
CREATE TABLE sessions (
  sid serial PRIMARY KEY,
  actor text NOT NULL,
  id text NOT NULL,
  agent text NOT NULL,
  definition json NOT NULL,
  hash text NOT NULL,
  backend json NOT NULL,
  "user" json,
  source text,
  parent json,
  base json,
  ended boolean NOT NULL DEFAULT false,
  turns integer NOT NULL DEFAULT 0,
  open_turn integer,
  last_seq integer NOT NULL DEFAULT 0,
  lease_owner text,
  lease_until timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (actor, id)
);
CREATE TABLE events (
  sid integer NOT NULL REFERENCES sessions(sid) ON DELETE CASCADE,
  seq integer NOT NULL,
  type text NOT NULL,
  turn integer,
  body json NOT NULL,
  PRIMARY KEY (sid, seq)
);
CREATE INDEX events_by_type ON events (sid, type);
CREATE TABLE memory (
  actor text NOT NULL,
  memory text NOT NULL,
  owner text NOT NULL,
  "values" json NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (actor, memory, owner)
);
CREATE TABLE idempotency (
  actor text NOT NULL,
  key text NOT NULL,
  sid integer NOT NULL REFERENCES sessions(sid) ON DELETE CASCADE,
  turn integer NOT NULL,
  first_seq integer NOT NULL,
  request_hash text NOT NULL,
  status text,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (actor, key)
);
CREATE TABLE approvals (
  sid integer NOT NULL REFERENCES sessions(sid) ON DELETE CASCADE,
  call_id text NOT NULL,
  turn integer NOT NULL,
  tool text NOT NULL,
  approved boolean,
  decided_by text,
  created_at timestamptz NOT NULL DEFAULT now(),
  decided_at timestamptz,
  PRIMARY KEY (sid, call_id)
);
`,
  },
  {
    version: 2,
    name: "the token vault: users' delegated tokens, encrypted (vault.ts)",
    sql: `
CREATE TABLE user_tokens (
  actor text NOT NULL,
  user_id text NOT NULL,
  name text NOT NULL,
  sealed bytea NOT NULL,
  expires_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (actor, user_id, name)
);
`,
  },
];

/** Arbitrary but fixed: the advisory lock key migrations take. */
const MIGRATION_LOCK = 741_902_113;

export async function migrate(db: Db): Promise<number[]> {
  return db.tx(async (q) => {
    await q.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`);
    await q.query(
      `CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL,
       applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const done = new Set(
      (await q.query<{ version: number }>("SELECT version FROM schema_migrations")).map((r) => r.version),
    );
    const known = Math.max(...MIGRATIONS.map((m) => m.version));
    const newer = [...done].filter((v) => v > known);
    if (newer.length)
      throw new StoreError(
        `the database has schema version ${Math.max(...newer)}, newer than this build of Statecraft knows (${known}); ` +
          `upgrade statecraft, or point the service at another database`,
      );
    const applied: number[] = [];
    for (const m of MIGRATIONS) {
      if (done.has(m.version)) continue;
      for (const stmt of m.sql.split(/;\s*\n/).filter((s) => s.trim())) await q.query(stmt);
      await q.query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", [m.version, m.name]);
      applied.push(m.version);
    }
    return applied;
  });
}

// ---- PGlite -------------------------------------------------------------------------

/** The embedded database's folder, made if missing; a file there, or a folder this process cannot write, is a StoreError naming it. */
function dataFolder(dataDir: string): void {
  const fail = (why: string) =>
    new StoreError(
      `cannot use ${dataDir} for the embedded database: ${why}; pass --data with another folder`,
    );
  if (fs.existsSync(dataDir) && !fs.statSync(dataDir).isDirectory()) throw fail("it is a file, not a folder");
  try {
    fs.mkdirSync(dataDir, { recursive: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw fail(
      code === "EEXIST" || code === "ENOTDIR"
        ? "it (or a folder above it) is a file, not a folder"
        : `it cannot be created (${code ?? (err as Error).message})`,
    );
  }
  try {
    fs.accessSync(dataDir, fs.constants.W_OK | fs.constants.X_OK);
  } catch (err) {
    throw fail(`this process cannot write to it (${(err as NodeJS.ErrnoException).code ?? "EACCES"})`);
  }
}

export async function openPglite(dataDir: string): Promise<Db> {
  dataFolder(dataDir);
  let unlock: () => void;
  let pg: PGlite;
  try {
    await pgliteAssets();
    unlock = lockDataDir(
      dataDir,
      (pid) =>
        `the embedded database in ${dataDir} is in use by another statecraft serve (pid ${pid}); ` +
        `stop it, or pass --data with another folder (or --database-url to share a PostgreSQL server)`,
    );
  } catch (err) {
    throw err instanceof EmbeddedDbError ? new StoreError(err.message) : err;
  }
  try {
    pg = await createPglite(dataDir);
  } catch (err) {
    unlock();
    throw new StoreError(
      endSentence(`cannot open the embedded database in ${dataDir}: ${(err as Error).message}`) +
        ` Pass --data with another folder if this one is not a Statecraft runtime database`,
    );
  }
  const wrap = (exec: { query: typeof pg.query }): Queryable => ({
    // One connection in this thread: nothing to prepare per connection, PGlite parses each statement.
    async query<T>(sql: string, params?: unknown[]): Promise<T[]> {
      return (await exec.query<T>(sql, params)).rows;
    },
  });
  const base = wrap(pg);
  // PGlite runs in this thread and answers without any I/O, so a turn on the local model would run
  // from its first statement to its last without the event loop ever reading another request: a
  // second turn on the session arrived after the first ended (instead of meeting its lease: 409),
  // and /ping and every other session waited. Each statement and transaction yields to I/O after it.
  const yieldToIo = () => new Promise<void>((resolve) => setImmediate(resolve));
  const query = async <T>(sql: string, params?: unknown[]) => {
    const rows = await base.query<T>(sql, params);
    await yieldToIo();
    return rows;
  };
  return {
    kind: "pglite",
    query,
    relaxed: { query },
    commitConcurrency: 1,
    eachConnection: (fn) => fn({ query }, false),
    tx: async (fn) => {
      const result = await pg.transaction((t) => fn(wrap(t)));
      await yieldToIo();
      return result;
    },
    close: async () => {
      try {
        await pg.close();
      } finally {
        unlock();
      }
    },
  };
}

// ---- PostgreSQL server --------------------------------------------------------------

/** Group commits (and batches of lease claims) in flight at once on a PostgreSQL server. */
const COMMIT_CONCURRENCY = 2;

/**
 * Two pools: `max` connections whose commits wait for the log flush (events, group commits, every
 * answer a client is told is stored), and `max` for the relaxed statements (leases), whose commits
 * do not. Every turn takes one relaxed statement and shares a few group commits, so the default
 * (16 + 16) serves a thousand concurrent sessions without queueing long for a connection, and a
 * fleet of a few instances stays within PostgreSQL's default max_connections (100).
 */
export async function openPostgres(url: string, max = 16): Promise<Db> {
  const { Pool } = await import("pg");
  type PgPool = InstanceType<typeof Pool>;
  // The connections every turn uses (group commits on `pool`; lease claims and new sessions on
  // `relaxedPool`, COMMIT_CONCURRENCY batches of each in flight) are opened before the service takes
  // requests and kept open: a burst of first turns must not wait for PostgreSQL to start backends.
  const warm = {
    pool: Math.min(max, COMMIT_CONCURRENCY + 1),
    relaxed: Math.min(max, 2 * COMMIT_CONCURRENCY),
  };
  const pool = new Pool({ connectionString: url, max, min: warm.pool });
  const relaxedPool = new Pool({
    connectionString: url,
    max,
    min: warm.relaxed,
    options: "-c synchronous_commit=off",
  });
  // An idle client's error (server restart) must not crash the service: the next query reconnects.
  pool.on("error", () => {});
  relaxedPool.on("error", () => {});
  const run = async <T>(p: PgPool, sql: string, params?: unknown[], name?: string): Promise<T[]> =>
    (await p.query(name ? { name, text: sql, values: params } : { text: sql, values: params })).rows as T[];
  const asQueryable = (client: PoolClient): Queryable => ({
    query: async <R>(sql: string, params?: unknown[], name?: string) =>
      (await client.query(name ? { name, text: sql, values: params } : { text: sql, values: params }))
        .rows as R[],
  });
  /** Runs `fn` on `n` connections of the pool at once (so on n different ones). */
  const onEach = async (p: PgPool, n: number, fn: (q: Queryable) => Promise<unknown>) => {
    const clients = await Promise.all(Array.from({ length: n }, () => p.connect()));
    try {
      await Promise.all(clients.map((c) => fn(asQueryable(c))));
    } finally {
      for (const c of clients) c.release();
    }
  };
  const select1 = (q: Queryable) => q.query("SELECT 1");
  try {
    await Promise.all([onEach(pool, warm.pool, select1), onEach(relaxedPool, warm.relaxed, select1)]);
  } catch (err) {
    await pool.end().catch(() => {});
    await relaxedPool.end().catch(() => {});
    throw new StoreError(
      endSentence(`cannot connect to PostgreSQL at ${redactUrl(url)}: ${(err as Error).message}`) +
        ` Check --database-url / DATABASE_URL and that the server is running`,
    );
  }
  return {
    kind: "postgres",
    query: (sql, params, name) => run(pool, sql, params, name),
    relaxed: { query: (sql, params, name) => run(relaxedPool, sql, params, name) },
    commitConcurrency: COMMIT_CONCURRENCY,
    eachConnection: async (fn) => {
      await Promise.all([
        onEach(pool, warm.pool, (q) => fn(q, false)),
        onEach(relaxedPool, warm.relaxed, (q) => fn(q, true)),
      ]);
    },
    async tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        const out = await fn(asQueryable(client));
        await client.query("COMMIT");
        return out;
      } catch (err) {
        await client.query("ROLLBACK").catch(() => {});
        throw err;
      } finally {
        client.release();
      }
    },
    close: async () => {
      await Promise.all([pool.end(), relaxedPool.end()]);
    },
  };
}

/** A database URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(an unparsable URL)";
  }
}

export async function openDb(o: { dataDir?: string; databaseUrl?: string }): Promise<Db> {
  const db = o.databaseUrl
    ? await openPostgres(o.databaseUrl)
    : await openPglite(o.dataDir ?? path.join(".statecraft", "runtime"));
  try {
    await migrate(db);
  } catch (err) {
    await db.close().catch(() => {});
    throw err;
  }
  return db;
}
