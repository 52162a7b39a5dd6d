// sql tools and contexts on connections (connections.md section 2), the same
// cases on embedded PGlite (`postgres://pglite/<folder>?seed=<file>`) and on a
// real PostgreSQL server: parameters bound, never interpolated; READ ONLY
// unless write: true (and then an approval); the row limit and `truncated`;
// the statement timeout (on the server: PGlite cannot interrupt a statement).

import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { Client } from "pg";
import type { CompiledDefinition, Json, RunIR } from "../../server/protocol/definition";
import { openSqlDatabase, type SqlDatabase } from "../../server/runtime/sql";
import { startPostgres, type PostgresServer } from "../service/postgres";
import { defineWithConnections, type ToolSpec } from "./connectionHelpers";
import { only, removeTempDirs, startSession, systemText, snapshot, tempDir, writeFile } from "./helpers";

after(removeTempDirs);

const SEED = `
CREATE TABLE accounts (id text PRIMARY KEY, owner text NOT NULL, name text NOT NULL, tier text NOT NULL);
INSERT INTO accounts VALUES ('acc-1', 'ada', 'Ada Ltd', 'gold'), ('acc-2', 'bob', 'Bob plc', 'silver');
CREATE TABLE numbers (n integer PRIMARY KEY);
INSERT INTO numbers SELECT g FROM generate_series(1, 300) g;
`;

const sql = (statement: string, ...params: ({ path: string[] } | { value: string })[]): RunIR => ({
  kind: "sql",
  connection: "warehouse",
  statement,
  params,
});
const q = { path: ["input", "q"] };

const TOOLS: Record<string, ToolSpec> = {
  tier: { run: sql("select name, tier from accounts where owner = $1", q) },
  numbers: { run: sql("select n from numbers order by n") },
  five: { run: sql("select n from numbers order by n"), maxRows: 5 },
  exactly_five: { run: sql("select n from numbers where n <= 5 order by n"), maxRows: 5 },
  sneaky_insert: { run: sql("insert into accounts values ('acc-9', $1, 'Eve', 'gold')", q) },
  add_account: {
    run: sql("insert into accounts values ($1, 'carol', 'Carol', 'bronze') returning id, tier", q),
    write: true,
  },
  slow: { run: sql("select pg_sleep(5)"), timeoutMs: 300 },
};

interface Driver {
  name: string;
  /** A fresh seeded database's URL and the folder relative paths start from. */
  database(): Promise<{ url: string; baseDir: string }>;
  count(url: string, baseDir: string, table: string): Promise<number>;
}

let pg: PostgresServer | undefined;
let held: SqlDatabase | undefined;
after(async function () {
  this.timeout(60_000);
  await held?.close();
  await pg?.stop();
});

const drivers: Driver[] = [
  {
    name: "PGlite",
    async database() {
      const baseDir = tempDir();
      writeFile(baseDir, "seed/warehouse.sql", SEED);
      const url = "postgres://pglite/./data/warehouse?seed=./seed/warehouse.sql";
      // Held open across the cases: the sessions share this process's instance instead of reopening it.
      held = await openSqlDatabase(url, baseDir);
      return { url, baseDir };
    },
    async count(_url, _baseDir, table) {
      const r = await held!.run(
        { readOnly: true, timeoutMs: 1000 },
        `select count(*)::int as n from ${table}`,
        [],
      );
      return r.rows[0].n as number;
    },
  },
  {
    name: "PostgreSQL",
    async database() {
      pg ??= await startPostgres({ fsync: false });
      const url = await pg.createDatabase();
      const c = new Client({ connectionString: url });
      await c.connect();
      await c.query(SEED);
      await c.end();
      return { url, baseDir: tempDir() };
    },
    async count(url, _baseDir, table) {
      const c = new Client({ connectionString: url });
      await c.connect();
      const r = await c.query<{ n: number }>(`select count(*)::int as n from ${table}`);
      await c.end();
      return r.rows[0].n;
    },
  },
];

const call = (tool: string, qv?: string) => ({
  kind: "call" as const,
  tool,
  input: (qv === undefined ? {} : { q: qv }) as Json,
});

for (const driver of drivers) {
  describe(`sql tools on ${driver.name}`, function () {
    this.timeout(60_000);
    let url: string;
    let baseDir: string;
    let def: CompiledDefinition;
    before(async () => {
      ({ url, baseDir } = await driver.database());
      def = defineWithConnections({ warehouse: { url: { env: "WAREHOUSE_URL" } } }, TOOLS);
    });

    async function run(...calls: ReturnType<typeof call>[]) {
      const h = await startSession(def, {
        baseDir,
        env: { WAREHOUSE_URL: url },
        approver: async () => true,
        script: [...calls, { kind: "reply", text: "Done." }],
      });
      try {
        const r = await h.session.send("Go.");
        return { ...r, events: h.events };
      } finally {
        await h.session.release();
      }
    }

    it("binds parameters: the result is rows, rowCount and truncated; the call acts as the service", async () => {
      const r = await run(call("tier", "ada"));
      assert.deepEqual(r.tools[0].output, {
        rows: [{ name: "Ada Ltd", tier: "gold" }],
        rowCount: 1,
        truncated: false,
      });
      assert.deepEqual(only(r.events, "tool.call").identity, { as: "service", connection: "warehouse" });
    });

    it("never interpolates a parameter: an injection string stays data", async () => {
      const r = await run(call("tier", "x' OR '1'='1"), call("tier", "'; DROP TABLE accounts; --"));
      for (const t of r.tools)
        assert.deepEqual(t.output, { rows: [], rowCount: 0, truncated: false }, JSON.stringify(t));
      assert.equal(await driver.count(url, baseDir, "accounts"), 2, "the table is still there, unchanged");
    });

    it("refuses a write in a tool without write: true (READ ONLY transaction)", async () => {
      const r = await run(call("sneaky_insert", "eve"));
      assert.equal(r.tools[0].status, "failed");
      assert.match(
        r.tools[0].error ?? "",
        /^sql on connection 'warehouse' \(sneaky_insert\) tried to write in a READ ONLY transaction \(cannot execute INSERT in a read-only transaction\); a tool that writes says write: true$/,
      );
      assert.equal(await driver.count(url, baseDir, "accounts"), 2);
    });

    it("write: true writes, after an approval; the next read-only call cannot", async () => {
      const r = await run(call("add_account", "acc-3"), call("sneaky_insert", "eve"));
      assert.match(r.tools[1].error ?? "", /tried to write in a READ ONLY transaction/);
      assert.deepEqual(r.tools[0].output, {
        rows: [{ id: "acc-3", tier: "bronze" }],
        rowCount: 1,
        truncated: false,
      });
      const decision = r.events.find((e) => e.type === "policy.decision" && e.tool === "add_account");
      assert.ok(decision?.type === "policy.decision");
      assert.equal(decision.decision, "approval");
      assert.equal(
        decision.reason,
        "add_account writes to connection 'warehouse' (write: true) and requires approval",
      );
      assert.equal(only(r.events, "approval").approved, true, "only the write asked for one");
      assert.equal(await driver.count(url, baseDir, "accounts"), 3);
    });

    it("cuts the rows at max_rows (default 100) and says so", async () => {
      const r = await run(call("numbers"), call("five"), call("exactly_five"));
      const [all, five, exactly] = r.tools.map(
        (t) => t.output as { rows: { n: number }[]; rowCount: number; truncated: boolean },
      );
      assert.equal(all.rows.length, 100);
      assert.deepEqual([all.rowCount, all.truncated, all.rows[99].n], [100, true, 100]);
      assert.deepEqual(five, { rows: [1, 2, 3, 4, 5].map((n) => ({ n })), rowCount: 5, truncated: true });
      assert.deepEqual(exactly, { rows: [1, 2, 3, 4, 5].map((n) => ({ n })), rowCount: 5, truncated: false });
    });

    it("a context reads rows through the connection with the user's id bound", async () => {
      const withContext = defineWithConnections(
        { warehouse: { url: { env: "WAREHOUSE_URL" } } },
        { tier: TOOLS.tier },
        {
          contexts: [
            "context my_accounts {",
            '  from: file("replaced-below.md")',
            "  refresh: per_session",
            "}",
          ].join("\n"),
          agentContext: ["my_accounts"],
        },
      );
      withContext.contexts.my_accounts.from = sql("select name, tier from accounts where owner = $1", {
        path: ["user", "id"],
      });
      const h = await startSession(withContext, {
        baseDir,
        env: { WAREHOUSE_URL: url },
        user: { id: "bob", name: "Bob" },
        script: [{ kind: "reply", text: "Hi Bob." }],
      });
      await h.session.send("Hi");
      await h.session.release();
      const text = systemText(snapshot(h.events, 1));
      assert.match(text, /## Context: my_accounts\n/);
      assert.match(text, /"name": "Bob plc",\s+"tier": "silver"/);
      assert.ok(!text.includes("Ada Ltd"), "only the user's own rows");
    });

    if (driver.name === "PostgreSQL")
      it("cancels a statement that runs past the tool's timeout_ms (statement_timeout)", async () => {
        const t0 = Date.now();
        const r = await run(call("slow"));
        assert.equal(
          r.tools[0].error,
          "sql on connection 'warehouse' (slow) timed out after 300 ms (statement_timeout) and was cancelled",
        );
        assert.ok(Date.now() - t0 < 4000, "it did not wait for pg_sleep(5)");
      });
  });
}

describe("sql on PGlite: the seed file", function () {
  this.timeout(60_000);

  it("seeds a new folder once; later sessions keep what was written", async () => {
    const baseDir = tempDir();
    writeFile(baseDir, "seed.sql", SEED);
    const def = defineWithConnections(
      { warehouse: { url: "postgres://pglite/./wh?seed=./seed.sql" } },
      { add_account: TOOLS.add_account, tier: TOOLS.tier },
    );
    const session = async (...calls: ReturnType<typeof call>[]) => {
      const h = await startSession(def, {
        baseDir,
        approver: async () => true,
        script: [...calls, { kind: "reply", text: "ok" }],
      });
      const r = await h.session.send("go");
      await h.session.release();
      return r;
    };
    assert.equal((await session(call("add_account", "acc-7"))).tools[0].status, "ran");
    assert.ok(fs.existsSync(path.join(baseDir, "wh")), "the folder is relative to the agent file's");
    const again = await session(call("tier", "carol"));
    assert.deepEqual(again.tools[0].output, {
      rows: [{ name: "Carol", tier: "bronze" }],
      rowCount: 1,
      truncated: false,
    });
  });

  it("a seed that fails leaves no half-made database and says which file", async () => {
    const baseDir = tempDir();
    writeFile(baseDir, "bad.sql", "CREATE TABLE t (x int); INSERT INTO nowhere VALUES (1);");
    const def = defineWithConnections(
      { warehouse: { url: "postgres://pglite/./wh?seed=./bad.sql" } },
      { tier: TOOLS.tier },
    );
    const h = await startSession(def, {
      baseDir,
      script: [call("tier", "ada"), { kind: "reply", text: "ok" }],
    });
    const r = await h.session.send("go");
    await h.session.release();
    assert.equal(
      r.tools[0].error,
      `the seed file ${path.join(baseDir, "bad.sql")} failed: relation "nowhere" does not exist`,
    );
    assert.ok(!fs.existsSync(path.join(baseDir, "wh")));
  });
});
