// The runtime service's token vault (connections.md section 4), on both stores: PUT, GET and DELETE of a
// user's delegated tokens, values never answered, another actor's token as missing as none, the stored
// bytes (read from the table itself) without the token, the resolver the turn code calls, expiry, and the
// service's answers without a key (a refusal that says what to set) and with a bad one (it does not start).

import { strict as assert } from "node:assert";
import { randomBytes } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { ServiceConfigError, startService, type RunningService } from "../../server/service";
import { openPglite, openPostgres, type Db } from "../../server/service/db";
import { TokenVault } from "../../server/service/vault";
import { compileSource, lines } from "../runtime/helpers";
import {
  Client,
  eventsOf,
  freshPgliteDir,
  pgliteStore,
  postgresStore,
  removeTempDirs,
  type StoreKind,
} from "./helpers";

after(removeTempDirs);

const TOKENS = { "alice-token": "alice", "bob-token": "bob" };
const KEY = randomBytes(32);
const ENV = { STATECRAFT_VAULT_KEY: KEY.toString("base64") };
const ALICE_MAIL = "ya29.alice-mail-token-0123456789abcdef";
const BOB_MAIL = "ya29.bob-mail-token-fedcba9876543210";

for (const store of [pgliteStore(), postgresStore()] as StoreKind[]) {
  describe(`token vault on ${store.name}`, function () {
    this.timeout(120_000);
    let svc: RunningService | undefined;
    let options: Awaited<ReturnType<StoreKind["options"]>>;
    let alice: Client;
    let bob: Client;

    before(async () => {
      await store.setup();
      options = await store.options();
      svc = await startService({ port: 0, ...options, tokens: TOKENS, env: ENV });
      alice = new Client(svc.url, "alice-token");
      bob = new Client(svc.url, "bob-token");
    });
    after(async () => {
      await svc?.close();
      await store.teardown();
    });

    /** The store itself, once the service is closed (PGlite has one connection). */
    async function openStore(): Promise<Db> {
      await svc?.close();
      svc = undefined;
      return options.dataDir ? openPglite(options.dataDir) : openPostgres(options.databaseUrl!, 2);
    }

    it("stores, lists (names and expiry, never values), isolates per actor and deletes", async () => {
      const put = await alice.json("PUT", "/users/ada/tokens/mail", {
        token: ALICE_MAIL,
        expires_at: "2099-01-31T12:00:00Z",
      });
      assert.equal(put.status, 200, JSON.stringify(put.body));
      assert.equal(put.body.name, "mail");
      assert.equal(put.body.expires_at, "2099-01-31T12:00:00.000Z");
      assert.ok(!JSON.stringify(put.body).includes(ALICE_MAIL));
      assert.equal((await alice.json("PUT", "/users/ada/tokens/crm", { token: "crm-token-1" })).status, 200);

      const list = await alice.json("GET", "/users/ada/tokens");
      assert.equal(list.status, 200);
      assert.deepEqual(
        list.body.tokens.map((t: { name: string; expires_at: string | null }) => [t.name, t.expires_at]),
        [
          ["crm", null],
          ["mail", "2099-01-31T12:00:00.000Z"],
        ],
      );
      assert.ok(!JSON.stringify(list.body).includes(ALICE_MAIL));

      // Bob's actor sees none of alice's: listing, deleting.
      assert.equal((await bob.json("GET", "/users/ada/tokens")).status, 404);
      assert.equal((await bob.json("DELETE", "/users/ada/tokens/mail")).status, 404);
      // Bob may keep his own token for the same user and name; alice's stays hers.
      assert.equal((await bob.json("PUT", "/users/ada/tokens/mail", { token: BOB_MAIL })).status, 200);

      assert.equal((await alice.json("DELETE", "/users/ada/tokens/crm")).status, 204);
      assert.equal((await alice.json("DELETE", "/users/ada/tokens/crm")).status, 404);
      const after = await alice.json("GET", "/users/ada/tokens");
      assert.deepEqual(
        after.body.tokens.map((t: { name: string }) => t.name),
        ["mail"],
      );
    });

    it("refuses bad input with a message, and changes nothing", async () => {
      const bad = [
        await alice.json("PUT", "/users/ada/tokens/no-dashes", { token: "x" }),
        await alice.json("PUT", "/users/ada/tokens/mail", { token: "" }),
        await alice.json("PUT", "/users/ada/tokens/mail", { token: "x", expires_at: "soon" }),
        await alice.json("PUT", "/users/ada/tokens/mail", { token: "x", value: "y" }),
      ];
      for (const r of bad) {
        assert.equal(r.status, 400, JSON.stringify(r.body));
        assert.ok(r.body.error.message.length > 10);
      }
      assert.match(bad[0].body.error.message, /not a token name/);
      assert.match(bad[2].body.error.message, /ISO 8601/);
    });

    it("a turn's user_token call sends the caller's user's token from the vault, records the identity and never the token", async () => {
      const seen: (string | undefined)[] = [];
      const api = http.createServer((req, res) => {
        seen.push(req.headers.authorization);
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ unread: 2, echoed: req.headers.authorization }));
      });
      await new Promise<void>((resolve) => api.listen(0, "127.0.0.1", resolve));
      try {
        const port = (api.address() as AddressInfo).port;
        const definition = compileSource(
          lines(
            `connection inbox { url: "http://127.0.0.1:${port}" auth: user_token("inbox") }`,
            "tool read_mail {",
            '  description: "Count unread mail"',
            '  run: http("GET", inbox, "/unread")',
            "}",
            "agent mailer {",
            '  instructions: "Read mail"',
            "  tools: [read_mail]",
            "  identity { acts_for: user }",
            "}",
          ),
        );
        const token = "ya29.inbox-token-for-ada-42";
        assert.equal((await alice.json("PUT", "/users/ada/tokens/inbox", { token })).status, 200);
        const turn = (c: Client, id: string) =>
          c.turn(id, {
            input: "How much unread mail?",
            definition,
            user: { id: "ada" },
            script: [{ call: "read_mail", input: {} }, { reply: "You have mail." }],
            approve: "all",
          });
        const mine = eventsOf(await turn(alice, `vault-turn-${store.name}-a`));
        assert.deepEqual(seen, [`Bearer ${token}`]);
        const call = mine.find((e) => e.type === "tool.call");
        assert.deepEqual(call?.type === "tool.call" && call.identity, {
          as: "user",
          connection: "inbox",
          user: "ada",
        });
        const result = mine.find((e) => e.type === "tool.result");
        assert.equal(result?.type === "tool.result" && result.ok, true, JSON.stringify(result));
        assert.ok(!JSON.stringify(mine).includes(token), "the token is redacted from every event");
        assert.match(JSON.stringify(result), /\[secret:/);

        // Bob's actor has no inbox token for ada: the call fails saying so, and nothing is sent.
        const theirs = eventsOf(await turn(bob, `vault-turn-${store.name}-b`));
        const failed = theirs.find((e) => e.type === "tool.result");
        assert.equal(failed?.type === "tool.result" && failed.ok, false);
        assert.match(failed?.type === "tool.result" ? (failed.error ?? "") : "", /has not connected 'inbox'/);
        assert.equal(seen.length, 1);
      } finally {
        await new Promise((resolve) => api.close(resolve));
      }
    });

    it("keeps only ciphertext in the table, which the resolver opens per actor, user and name", async () => {
      const db = await openStore();
      try {
        const rows = await db.query<{ actor: string; sealed: Uint8Array }>(
          "SELECT actor, sealed FROM user_tokens WHERE user_id = 'ada' AND name = 'mail' ORDER BY actor",
        );
        assert.deepEqual(
          rows.map((r) => r.actor),
          ["alice", "bob"],
        );
        for (const [row, token] of [
          [rows[0], ALICE_MAIL],
          [rows[1], BOB_MAIL],
        ] as const) {
          const bytes = Buffer.from(row.sealed);
          assert.ok(bytes.length >= token.length + 28, "iv + ciphertext + tag");
          for (const form of [
            token,
            Buffer.from(token).toString("base64"),
            Buffer.from(token).toString("hex"),
          ])
            assert.equal(
              bytes.indexOf(form),
              -1,
              `the stored bytes hold the token (${form.slice(0, 12)}...)`,
            );
          assert.ok(!bytes.toString("latin1").includes("ya29."));
        }
        const vault = new TokenVault(db, KEY);
        assert.equal(await vault.resolve("alice", "ada", "mail"), ALICE_MAIL);
        assert.equal(await vault.resolve("bob", "ada", "mail"), BOB_MAIL);
        assert.equal(await vault.resolve("carol", "ada", "mail"), undefined);
        assert.equal(await vault.resolve("alice", "bert", "mail"), undefined);
        assert.equal(await vault.resolve("alice", "ada", "calendar"), undefined);
        // The hook the turn code gets: the user of the turn, under the caller's actor only.
        assert.equal(await vault.userTokens("alice").get({ name: "mail", user: { id: "ada" } }), ALICE_MAIL);
        assert.equal(await vault.userTokens("alice").get({ name: "mail" }), undefined);
        // A row moved to another actor does not open: the actor, user and name are bound to the ciphertext.
        await db.query("UPDATE user_tokens SET sealed = $1 WHERE actor = 'bob' AND user_id = 'ada'", [
          rows[0].sealed,
        ]);
        await assert.rejects(vault.resolve("bob", "ada", "mail"), /cannot be decrypted/);
        // Another key opens nothing.
        await assert.rejects(
          new TokenVault(db, randomBytes(32)).resolve("alice", "ada", "mail"),
          /cannot be decrypted/,
        );
        // An expired token is not used.
        await vault.put("alice", "ada", "old", {
          token: "expired-token",
          expires_at: "2000-01-01T00:00:00Z",
        });
        assert.equal(await vault.resolve("alice", "ada", "old"), undefined);
      } finally {
        await db.close();
      }
    });
  });
}

describe("token vault: the key", function () {
  this.timeout(120_000);

  it("without STATECRAFT_VAULT_KEY the service stores no token and says what to set", async () => {
    const svc = await startService({ port: 0, dataDir: await freshPgliteDir(), tokens: TOKENS, env: {} });
    try {
      const alice = new Client(svc.url, "alice-token");
      const r = await alice.json("PUT", "/users/ada/tokens/mail", { token: ALICE_MAIL });
      assert.equal(r.status, 503);
      assert.equal(r.body.error.code, "unavailable");
      assert.match(r.body.error.message, /started without STATECRAFT_VAULT_KEY \(32 bytes in base64/);
      assert.equal((await alice.json("GET", "/users/ada/tokens")).status, 404, "nothing was stored");
    } finally {
      await svc.close();
    }
  });

  for (const [what, key] of [
    ["too short", Buffer.alloc(16).toString("base64")],
    ["not base64", "this is not a key!"],
  ])
    it(`a key that is ${what} stops the service at startup with one line`, async () => {
      await assert.rejects(
        startService({ port: 0, dataDir: await freshPgliteDir(), env: { STATECRAFT_VAULT_KEY: key } }),
        (err: Error) => {
          assert.ok(err instanceof ServiceConfigError);
          assert.match(
            err.message,
            /^STATECRAFT_VAULT_KEY must be 32 bytes in base64 \(make one with: openssl rand -base64 32\)/,
          );
          assert.ok(!err.message.includes("\n"));
          return true;
        },
      );
    });
});
