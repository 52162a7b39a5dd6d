// Connections benchmarks (issue 14): what going through a connection adds.
// - An http tool call on an oauth2 connection whose token is cached, against
//   a loopback server, next to a bare fetch of the same URL with the same
//   header (samples interleaved, so both see the same machine).
// - A 100-row sql tool call (READ ONLY transaction, statement_timeout, a
//   cursor fetching max_rows + 1) on PGlite and on a PostgreSQL server, next
//   to the bare driver's query of the same rows.
// - Redaction of a 10 KiB event by a run with 5 secrets, with and without
//   secrets in it.
// Prints figures, never fails on time; throws when a call does not do its work.

import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { Pool } from "pg";
import type { CompiledDefinition, Json } from "../../server/protocol/definition";
import { Connections } from "../../server/runtime/connections";
import { createPglite } from "../../server/runtime/pglite";
import { Redactor } from "../../server/runtime/secrets";
import { runTool, type ToolRunContext } from "../../server/runtime/tools";
import { defineWithConnections } from "../runtime/connectionHelpers";
import { startPostgres } from "../service/postgres";
import { fmt, measure, printTable, stats, type Row } from "./harness";

const HTTP_CALLS = 2_000;
const SQL_CALLS = 300;

const SEED = `CREATE TABLE orders (id integer PRIMARY KEY, customer text NOT NULL, status text NOT NULL, total numeric(10,2) NOT NULL);
INSERT INTO orders SELECT g, 'cust-' || (g % 7), CASE WHEN g % 3 = 0 THEN 'closed' ELSE 'open' END, g * 1.25 FROM generate_series(1, 500) g;`;
const STATEMENT = "select id, customer, status, total from orders where id > $1 order by id";
const BARE = "select id, customer, status, total from orders where id > $1 order by id limit 100";

/** Alternates `a` and `b`, `n` samples each, and returns their medians in ms. */
async function interleaved(a: () => Promise<void>, b: () => Promise<void>, n: number) {
  for (let i = 0; i < Math.max(20, n >> 3); i++) {
    await a();
    await b();
  }
  const sa: number[] = [];
  const sb: number[] = [];
  for (let i = 0; i < n; i++) {
    let t0 = process.hrtime.bigint();
    await a();
    sa.push(Number(process.hrtime.bigint() - t0) / 1e6);
    t0 = process.hrtime.bigint();
    await b();
    sb.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return { a: stats(sa), b: stats(sb) };
}

function context(connections: Connections): ToolRunContext {
  return { baseDir: os.tmpdir(), scope: {}, sessionId: "s-bench", trusted: true, connections };
}

async function httpBench(): Promise<Row[]> {
  let tokenRequests = 0;
  const body = JSON.stringify({
    id: "A1003",
    status: "shipped",
    total: 129.99,
    items: [{ sku: "X", quantity: 2 }],
  });
  const server = http.createServer((req, res) => {
    if (req.url === "/token") {
      tokenRequests++;
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({ access_token: "at-bench-0123456789abcdef", token_type: "Bearer", expires_in: 3600 }),
      );
      return;
    }
    res.writeHead(req.headers.authorization === "Bearer at-bench-0123456789abcdef" ? 200 : 401, {
      "content-type": "application/json",
    });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const def = defineWithConnections(
      {
        crm: {
          url: `${base}/api`,
          auth: {
            kind: "oauth2",
            tokenUrl: `${base}/token`,
            clientId: { env: "CRM_CLIENT_ID" },
            clientSecret: { env: "CRM_CLIENT_SECRET" },
            scopes: ["orders.read"],
          },
        },
      },
      { orders: { run: { kind: "http", method: "GET", url: "/orders/{{input.q}}", connection: "crm" } } },
    );
    const connections = new Connections({
      definition: def,
      baseDir: os.tmpdir(),
      env: { CRM_CLIENT_ID: "bench", CRM_CLIENT_SECRET: "bench-secret-0123" },
    });
    const ctx = context(connections);
    const tool = async () => {
      const out = await runTool(def.tools.orders, { q: "A1003" }, ctx);
      if (!out.ok) throw new Error(`connections bench: the http tool failed: ${out.error}`);
    };
    const bare = async () => {
      const res = await fetch(`${base}/api/orders/A1003`, {
        headers: { accept: "application/json", authorization: "Bearer at-bench-0123456789abcdef" },
      });
      JSON.parse(await res.text());
    };
    const { a, b } = await interleaved(tool, bare, HTTP_CALLS);
    if (tokenRequests !== 1)
      throw new Error(`connections bench: ${tokenRequests} token requests, expected 1`);
    return [
      { name: "http tool call, cached OAuth token (median)", value: `${fmt(a.median)} ms` },
      { name: "bare fetch of the same URL (median)", value: `${fmt(b.median)} ms` },
      {
        name: "added by the connection",
        value: `${fmt(a.median - b.median)} ms (x${(a.median / b.median).toFixed(2)})`,
        target: "< 0.5 ms",
      },
    ];
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

async function sqlBench(
  label: string,
  url: string,
  baseDir: string,
  bareQuery: () => Promise<number>,
): Promise<Row[]> {
  const def: CompiledDefinition = defineWithConnections(
    { warehouse: { url } },
    {
      open_orders: {
        run: {
          kind: "sql",
          connection: "warehouse",
          statement: STATEMENT,
          params: [{ path: ["input", "q"] }],
        },
      },
    },
  );
  def.tools.open_orders.parameters = { type: "object", properties: { q: { type: "integer" } } };
  const connections = new Connections({ definition: def, baseDir, env: {} });
  try {
    const tool = async () => {
      const out = await runTool(def.tools.open_orders, { q: 0 } as Json, context(connections));
      const rows = out.ok ? (out.output as { rows: unknown[]; truncated: boolean }) : undefined;
      if (rows?.rows.length !== 100 || !rows.truncated)
        throw new Error(
          `connections bench: the sql tool on ${label} did not return 100 rows: ${JSON.stringify(out).slice(0, 300)}`,
        );
    };
    const bare = async () => {
      const n = await bareQuery();
      if (n !== 100) throw new Error(`connections bench: the bare ${label} query returned ${n} rows`);
    };
    const { a, b } = await interleaved(tool, bare, SQL_CALLS);
    return [
      { name: `sql tool call, 100 rows, ${label} (median)`, value: `${fmt(a.median)} ms` },
      { name: `bare driver query, 100 rows, ${label} (median)`, value: `${fmt(b.median)} ms` },
      { name: `ratio on ${label}`, value: `x${(a.median / b.median).toFixed(2)}` },
    ];
  } finally {
    await connections.close();
  }
}

function redactionBench(): Row[] {
  const secrets = [
    "sk-proj-0123456789abcdefghijklmnop",
    "at-oauth-9f8e7d6c5b4a39281706",
    "ut-ada-1a2b3c4d5e6f7a8b",
    'p"a\\ss-9f8e7d6c',
    Buffer.from("ada:p4ss-w0rd-8c9d").toString("base64"),
  ].map((value, i) => ({ name: `SECRET_${i}`, value }));
  const redactor = new Redactor(secrets);
  const line = (i: number) => ({
    id: `A${1000 + i}`,
    status: i % 2 ? "shipped" : "open",
    note: "x".repeat(60),
  });
  const clean = {
    type: "tool.result",
    turn: 3,
    callId: "call_7",
    tool: "lookup_order",
    ok: true,
    output: { rows: Array.from({ length: 100 }, (_, i) => line(i)), rowCount: 100, truncated: true },
  };
  const size = Buffer.byteLength(JSON.stringify(clean));
  const dirty = structuredClone(clean);
  secrets.forEach((s, i) => (dirty.output.rows[i * 20].note = `token ${s.value} here`));
  const none = measure(() => void redactor.json(clean), 5_000);
  const five = measure(() => void redactor.json(dirty), 5_000);
  const redacted = redactor.json(dirty);
  if (secrets.some((s, i) => redacted.output.rows[i * 20].note !== `token [secret:${s.name}] here`))
    throw new Error("connections bench: the redactor left a secret");
  if (redactor.json(clean) !== clean || redacted.output.rows[1] !== dirty.output.rows[1])
    throw new Error("connections bench: the redactor copied what holds no secret");
  return [
    {
      name: `redact a ${(size / 1024).toFixed(1)} KiB event, 5 secrets, none in it (median)`,
      value: `${fmt(none.median * 1000)} µs`,
      target: "< 50 µs",
    },
    {
      name: `the same event with the 5 secrets in it (median)`,
      value: `${fmt(five.median * 1000)} µs`,
      target: "< 50 µs",
    },
  ];
}

export async function runConnectionsBench(): Promise<void> {
  printTable("connections: http through an oauth2 connection vs bare fetch (loopback)", await httpBench());

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "statecraft-bench-sql-"));
  try {
    fs.writeFileSync(path.join(dir, "seed.sql"), SEED);
    const bare = await createPglite(undefined);
    await bare.exec(SEED);
    const pgliteRows = await sqlBench(
      "PGlite",
      "postgres://pglite/:memory:?seed=./seed.sql",
      dir,
      async () => {
        return (await bare.query(BARE, [0])).rows.length;
      },
    );
    await bare.close();
    const server = await startPostgres({ fsync: false });
    try {
      const url = await server.createDatabase("bench_connections");
      const pool = new Pool({ connectionString: url, max: 4 });
      await pool.query(SEED);
      const pgRows = await sqlBench(
        "PostgreSQL",
        url,
        dir,
        async () => (await pool.query(BARE, [0])).rows.length,
      );
      await pool.end();
      printTable("connections: 100-row sql tool call vs the bare driver query", [...pgliteRows, ...pgRows]);
    } finally {
      await server.stop();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }

  printTable("connections: redaction of a recorded event", redactionBench());
}
