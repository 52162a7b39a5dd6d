// `statecraft check --connect`: every sql(...) statement of the checked files
// is prepared against its connection (PGlite seeded from a file, and a real
// PostgreSQL server), and a statement the database refuses is an error at the
// character the database points to, exit 1. Without --connect nothing is
// opened; statements that prepare are not reported.

import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { Client } from "pg";
import { checkCommand } from "../../server/cli/check";
import { lines, removeTempDirs, tempDir, writeFile } from "../runtime/helpers";
import { startPostgres, type PostgresServer } from "../service/postgres";
import { runCli } from "./helpers";

after(removeTempDirs);

const SEED = "CREATE TABLE accounts (id text PRIMARY KEY, owner text NOT NULL, tier text NOT NULL);";

const agent = (url: string) =>
  lines(
    `connection warehouse { url: ${url} }`,
    "tool tier {",
    '  description: "The tier of an account"',
    "  input { id: string }",
    '  run: sql(warehouse, "select tier, nope from accounts where id = $1", [input.id])',
    "}",
    "tool owners {",
    '  description: "Owners"',
    '  run: sql(warehouse, "select owner from accounts")',
    "}",
    "context mine {",
    '  from: sql(warehouse, "select tier from acounts where owner = $1", [user.id])',
    "}",
    "agent support {",
    '  instructions: "Help."',
    "  tools: [tier, owners]",
    "  context: [mine]",
    "}",
  );

describe("check --connect", function () {
  this.timeout(120_000);
  let pg: PostgresServer | undefined;
  after(async () => pg?.stop());

  it("reports what PGlite refuses at the statement's character; nothing without --connect", async () => {
    const dir = tempDir();
    writeFile(dir, "seed.sql", SEED);
    const file = writeFile(dir, "main.agent", agent('"postgres://pglite/./wh?seed=./seed.sql"'));
    const plain = await runCli(["check", file], dir);
    assert.equal(plain.code, 0, plain.out + plain.err);
    assert.ok(!fs.existsSync(path.join(dir, "wh")), "no database was opened without --connect");

    const r = await runCli(["check", "--connect", file], dir);
    assert.equal(r.code, 1, r.err);
    assert.equal(
      r.out,
      lines(
        `main.agent:5:37: error sql-prepare: the statement does not prepare on connection 'warehouse': column "nope" does not exist`,
        `main.agent:12:42: error sql-prepare: the statement does not prepare on connection 'warehouse': relation "acounts" does not exist`,
      ),
    );
    assert.match(r.err, /1 file checked: 2 errors, 0 warnings/);
  });

  it("prepares against a PostgreSQL server from the environment, and says when the variable is not set", async () => {
    pg = await startPostgres({ fsync: false });
    const url = await pg.createDatabase();
    const c = new Client({ connectionString: url });
    await c.connect();
    await c.query(SEED);
    await c.end();
    const dir = tempDir();
    const file = writeFile(dir, "main.agent", agent('env("WAREHOUSE_URL")'));
    const run = async (env: NodeJS.ProcessEnv) => {
      let out = "";
      const code = await checkCommand(["--connect", file], {
        cwd: dir,
        env,
        stdout: (t) => (out += t),
        stderr: () => {},
      });
      return { code, out };
    };
    const r = await run({ WAREHOUSE_URL: url });
    assert.equal(r.code, 1);
    assert.deepEqual(
      r.out.split("\n").map((l) => l.split(": error ")[0]),
      ["main.agent:5:37", "main.agent:12:42", ""],
      r.out,
    );
    const unset = await run({});
    assert.equal(unset.code, 1);
    assert.match(
      unset.out,
      /^main\.agent:5:23: error sql-prepare: connection 'warehouse' reads its url from WAREHOUSE_URL, which is not set: --connect cannot reach its database\n/,
    );
  });
});
