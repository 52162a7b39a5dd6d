// The warm-up `statecraft serve` runs before it listens (server/service/warmUp.ts): scripted turns
// through the service's own turn path in a transaction that is rolled back, on both stores: the
// service reports the turns it ran, and the database keeps nothing of them (no session, event,
// memory row or approval), so a fleet's instances can all warm up against one PostgreSQL.

import { strict as assert } from "node:assert";
import { startService } from "../../server/service";
import { openPglite, openPostgres, type Db } from "../../server/service/db";
import {
  Client,
  doneOf,
  pgliteStore,
  postgresStore,
  removeTempDirs,
  testDefinition,
  type StoreKind,
} from "./helpers";

after(removeTempDirs);

for (const store of [pgliteStore(), postgresStore()] as StoreKind[]) {
  describe(`warm-up on ${store.name}`, function () {
    this.timeout(120_000);
    before(() => store.setup());
    after(() => store.teardown());

    it("runs its turns before listening and keeps nothing of them; real turns then run as usual", async () => {
      const options = await store.options();
      const svc = await startService({ port: 0, ...options, warmUpTurns: 40 });
      let db: Db | undefined;
      try {
        assert.ok(svc.warmUp && "turns" in svc.warmUp, JSON.stringify(svc.warmUp));
        assert.equal(svc.warmUp.turns, 40);
        const c = new Client(svc.url);
        const one = await c.turn("real", {
          input: "hi",
          definition: testDefinition(),
          user: { id: "ada" },
          approve: "all",
          script: [{ reply: "hello" }],
        });
        assert.deepEqual(doneOf(one), { turn: 1, status: "ok" });
        await svc.close();
        db = options.dataDir
          ? await openPglite(options.dataDir)
          : await openPostgres(options.databaseUrl!, 2);
        const count = async (table: string) =>
          (await db!.query<{ n: number }>(`SELECT count(*)::integer AS n FROM ${table}`))[0].n;
        const sessions = await db.query<{ actor: string; id: string }>("SELECT actor, id FROM sessions");
        assert.deepEqual(sessions, [{ actor: "default", id: "real" }]);
        assert.equal(await count("memory"), 1, "the real turn's user memory only");
        assert.equal(await count("approvals"), 0);
        const [actors] = await db.query<{ n: number }>(
          "SELECT count(*)::integer AS n FROM events e JOIN sessions s USING (sid) WHERE s.id <> 'real'",
        );
        assert.equal(actors.n, 0);
      } finally {
        await svc.close();
        await db?.close();
      }
    });

    if (store.name === "postgres")
      it("two instances starting together on one database both warm up, and keep nothing", async () => {
        const options = await store.options();
        const fleet = await Promise.all(
          [0, 1].map(() => startService({ port: 0, ...options, warmUpTurns: 40 })),
        );
        try {
          assert.deepEqual(
            fleet.map((f) => f.warmUp),
            fleet.map((f) => ({ turns: 40, seconds: (f.warmUp as { seconds: number }).seconds })),
          );
        } finally {
          await Promise.all(fleet.map((f) => f.close()));
        }
        const db = await openPostgres(options.databaseUrl!, 2);
        try {
          assert.deepEqual(await db.query("SELECT id FROM sessions WHERE actor = 'statecraft:warm-up'"), []);
        } finally {
          await db.close();
        }
      });
  });
}
