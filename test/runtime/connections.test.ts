// http tools through connections (connections.md sections 1-2): the URL
// joined with the path, headers, bearer / header / basic credentials, the end
// user's token (environment or an injected resolver), the identity each
// tool.call records; and OAuth 2.0 client credentials against a real
// authorization server (oidc-provider on a loopback port): one token request
// shared by concurrent calls, reuse until 60 s before expiry, one refresh and
// one retry on a 401, and the endpoint's error when the secret is wrong.

import { strict as assert } from "node:assert";
import * as os from "node:os";
import { Connections, type UserTokens } from "../../server/runtime/connections";
import { OAuthTokens } from "../../server/runtime/oauth";
import { runTool, type ToolOutcome } from "../../server/runtime/tools";
import type { CompiledDefinition } from "../../server/protocol/definition";
import { startOAuthServer, type OAuthServer } from "../helpers/oauthServer";
import { defineWithConnections } from "./connectionHelpers";
import { json, only, startServer, startSession, type TestServer } from "./helpers";

const call = (tool: string, q = "x") => ({ kind: "call" as const, tool, input: { q } });

/** Runs `tool` of `def` once, outside a session, on `connections`. */
function runOn(
  def: CompiledDefinition,
  connections: Connections,
  tool: string,
  q = "x",
): Promise<ToolOutcome> {
  return runTool(
    def.tools[tool],
    { q },
    {
      baseDir: os.tmpdir(),
      scope: {},
      sessionId: "s-test",
      trusted: true,
      connections,
    },
  );
}

describe("connections: http with headers and credentials", () => {
  let server: TestServer;
  before(async () => {
    server = await startServer((req, res) => json(res, 200, { ok: true, path: req.url }));
  });
  after(() => server.close());
  beforeEach(() => server.requests.splice(0));

  const env = {
    BILLING_TOKEN: "billing-token-0a1b2c3d",
    LEGACY_KEY: "legacy-key-4e5f6a7b",
    API_USER: "ada",
    API_PASS: "p4ss-w0rd-8c9d",
    TENANT: "acme",
  };

  function definition(): CompiledDefinition {
    return defineWithConnections(
      {
        billing: { url: `${server.url}/billing/`, auth: { kind: "bearer", token: { env: "BILLING_TOKEN" } } },
        legacy: {
          url: server.url,
          auth: { kind: "header", name: "X-Api-Key", value: { env: "LEGACY_KEY" } },
          headers: { "X-Tenant": { env: "TENANT" }, "X-Client": "statecraft" },
        },
        basic: {
          url: `${server.url}/v2`,
          auth: { kind: "basic", username: { env: "API_USER" }, password: { env: "API_PASS" } },
        },
        mail: { url: `${server.url}/mail`, auth: { kind: "user_token", name: "mail" } },
      },
      {
        invoice: {
          run: { kind: "http", method: "GET", url: "/invoices?q={{input.q}}", connection: "billing" },
        },
        legacy_get: { run: { kind: "http", method: "POST", url: "items", connection: "legacy" } },
        basic_get: { run: { kind: "http", method: "GET", url: "/who", connection: "basic" } },
        inbox: { run: { kind: "http", method: "GET", url: "/inbox", connection: "mail" } },
      },
    );
  }

  it("joins the connection's url and the path (templates percent-encoded) and sends its credential", async () => {
    const { session, events } = await startSession(definition(), {
      env,
      script: [
        call("invoice", "a b&c/d"),
        call("legacy_get"),
        call("basic_get"),
        { kind: "reply", text: "Done." },
      ],
    });
    const r = await session.send("Go.");
    assert.deepEqual(
      r.tools.map((t) => [t.tool, t.status, t.error]),
      [
        ["invoice", "ran", undefined],
        ["legacy_get", "ran", undefined],
        ["basic_get", "ran", undefined],
      ],
    );
    const [invoice, legacy, basic] = server.requests;
    assert.equal(invoice.url, "/billing/invoices?q=a%20b%26c%2Fd");
    assert.equal(invoice.headers.authorization, "Bearer billing-token-0a1b2c3d");
    assert.equal(legacy.url, "/items");
    assert.equal(legacy.method, "POST");
    assert.equal(legacy.headers["x-api-key"], "legacy-key-4e5f6a7b");
    assert.equal(legacy.headers["x-tenant"], "acme");
    assert.equal(legacy.headers["x-client"], "statecraft");
    assert.equal(legacy.headers.authorization, undefined);
    assert.equal(basic.url, "/v2/who");
    assert.equal(
      basic.headers.authorization,
      `Basic ${Buffer.from("ada:p4ss-w0rd-8c9d").toString("base64")}`,
    );
    assert.deepEqual(
      events.filter((e) => e.type === "tool.call").map((e) => (e.type === "tool.call" ? e.identity : null)),
      [
        { as: "service", connection: "billing" },
        { as: "service", connection: "legacy" },
        { as: "service", connection: "basic" },
      ],
    );
  });

  it("fails the call, saying which variable is missing, when a credential is not set", async () => {
    const { session } = await startSession(definition(), {
      env: { ...env, BILLING_TOKEN: undefined },
      script: [call("invoice"), { kind: "reply", text: "Sorry." }],
    });
    const r = await session.send("Go.");
    assert.equal(
      r.tools[0].error,
      "connection 'billing': the bearer token reads BILLING_TOKEN, which is not set",
    );
    assert.equal(server.requests.length, 0, "nothing was sent without the credential");
  });

  it("user_token: the CLI's STATECRAFT_USER_TOKEN_<NAME>; the call acts as the user", async () => {
    const { session, events } = await startSession(definition(), {
      env: { STATECRAFT_USER_TOKEN_MAIL: "ut-ada-5f6e7d8c" },
      user: { id: "ada", name: "Ada" },
      script: [call("inbox"), { kind: "reply", text: "Done." }],
    });
    const r = await session.send("Go.");
    assert.equal(r.tools[0].status, "ran", r.tools[0].error);
    assert.equal(server.requests[0].headers.authorization, "Bearer ut-ada-5f6e7d8c");
    assert.deepEqual(only(events, "tool.call").identity, { as: "user", connection: "mail", user: "ada" });
  });

  it("user_token: no token fails the call saying the user has not connected the name", async () => {
    const { session } = await startSession(definition(), {
      env: {},
      user: { id: "ada", name: "Ada" },
      script: [call("inbox"), { kind: "reply", text: "Sorry." }],
    });
    const r = await session.send("Go.");
    assert.equal(
      r.tools[0].error,
      "user 'ada' has not connected 'mail' (connection 'mail' acts with their token): set STATECRAFT_USER_TOKEN_MAIL to their token",
    );
    assert.equal(server.requests.length, 0);
  });

  it("user_token: an injected resolver (the runtime service's vault) answers per user", async () => {
    const asked: string[] = [];
    const vault: UserTokens = {
      get: (q) => {
        asked.push(`${q.user?.id}/${q.name}/${q.connection}`);
        return q.user?.id === "ada" ? "vault-ada-1234" : undefined;
      },
      howToConnect: (q) => `PUT /users/${q.user?.id}/tokens/${q.name}`,
    };
    const ada = await startSession(definition(), {
      env: { STATECRAFT_USER_TOKEN_MAIL: "not-this-one" },
      user: { id: "ada", name: "Ada" },
      userTokens: vault,
      script: [call("inbox"), { kind: "reply", text: "Done." }],
    });
    assert.equal((await ada.session.send("Go.")).tools[0].status, "ran");
    assert.equal(server.requests[0].headers.authorization, "Bearer vault-ada-1234");
    const bob = await startSession(definition(), {
      user: { id: "bob", name: "Bob" },
      userTokens: vault,
      script: [call("inbox"), { kind: "reply", text: "Sorry." }],
    });
    const r = await bob.session.send("Go.");
    assert.equal(
      r.tools[0].error,
      "user 'bob' has not connected 'mail' (connection 'mail' acts with their token): PUT /users/bob/tokens/mail",
    );
    assert.deepEqual(asked, ["ada/mail/mail", "bob/mail/mail"]);
  });
});

describe("connections: OAuth 2.0 client credentials against oidc-provider", function () {
  this.timeout(30_000);
  let oauth: OAuthServer;
  before(async () => {
    oauth = await startOAuthServer({ ttlSeconds: 120 });
  });
  after(() => oauth.close());
  beforeEach(() => {
    oauth.tokenRequests = 0;
    oauth.apiRequests.splice(0);
    oauth.refuseAll = false;
  });

  const env = () => ({ CRM_CLIENT_ID: oauth.clientId, CRM_CLIENT_SECRET: oauth.clientSecret });

  function definition(): CompiledDefinition {
    return defineWithConnections(
      {
        crm: {
          url: oauth.apiUrl,
          auth: {
            kind: "oauth2",
            tokenUrl: oauth.tokenUrl,
            clientId: { env: "CRM_CLIENT_ID" },
            clientSecret: { env: "CRM_CLIENT_SECRET" },
            scopes: ["orders.read"],
          },
          timeoutMs: 5000,
        },
      },
      { orders: { run: { kind: "http", method: "GET", url: "/orders/{{input.q}}", connection: "crm" } } },
    );
  }

  it("fetches a token on first use and shares one token request among concurrent calls", async () => {
    const def = definition();
    const connections = new Connections({ definition: def, baseDir: os.tmpdir(), env: env() });
    const outcomes = await Promise.all(
      ["1", "2", "3", "4", "5"].map((q) => runOn(def, connections, "orders", q)),
    );
    assert.deepEqual(
      outcomes.map((o) => o.ok),
      [true, true, true, true, true],
      JSON.stringify(outcomes),
    );
    assert.deepEqual(outcomes[0], { ok: true, output: { path: "/api/orders/1", scope: "orders.read" } });
    assert.equal(oauth.tokenRequests, 1, "one token request for five concurrent calls");
    assert.equal(new Set(oauth.apiRequests.map((r) => r.token)).size, 1);
    assert.equal(oauth.apiRequests.length, 5);
  });

  it("reuses the token until 60 s before it expires, then fetches a new one", async () => {
    let now = Date.now();
    const def = definition();
    const connections = new Connections({
      definition: def,
      baseDir: os.tmpdir(),
      env: env(),
      oauth: new OAuthTokens({ now: () => now }),
    });
    assert.ok((await runOn(def, connections, "orders")).ok);
    now += 59_000; // expires_in is 120 s: 61 s left
    assert.ok((await runOn(def, connections, "orders")).ok);
    assert.equal(oauth.tokenRequests, 1, "still the first token with 61 s left");
    now += 2_000; // 59 s left
    assert.ok((await runOn(def, connections, "orders")).ok);
    assert.equal(oauth.tokenRequests, 2, "a new token within 60 s of expiry");
    const tokens = oauth.apiRequests.map((r) => r.token);
    assert.equal(tokens[0], tokens[1]);
    assert.notEqual(tokens[1], tokens[2]);
  });

  it("refreshes the token once on a 401 and retries the call once", async () => {
    const h = await startSession(definition(), {
      env: env(),
      script: [call("orders", "7"), call("orders", "8"), { kind: "reply", text: "Done." }],
    });
    const first = await h.session.send("Go.");
    assert.deepEqual(
      first.tools.map((t) => t.status),
      ["ran", "ran"],
    );
    assert.equal(oauth.tokenRequests, 1, "the second call reused the token");
    await oauth.revokeAll();
    h.script(call("orders", "9"), { kind: "reply", text: "Done." });
    const second = await h.session.send("Again.");
    assert.equal(second.tools[0].status, "ran", second.tools[0].error);
    assert.deepEqual(
      oauth.apiRequests.map((a) => a.status),
      [200, 200, 401, 200],
      "the revoked token was refused, the new one accepted",
    );
    assert.equal(oauth.tokenRequests, 2, "one new token");
    const calls = h.events.filter((e) => e.type === "tool.call");
    assert.deepEqual(
      calls.map((e) => e.type === "tool.call" && e.identity),
      [
        { as: "service", connection: "crm" },
        { as: "service", connection: "crm" },
        { as: "service", connection: "crm" },
      ],
    );
  });

  it("gives up after one retry when the API refuses the new token too", async () => {
    oauth.refuseAll = true;
    const def = definition();
    const connections = new Connections({ definition: def, baseDir: os.tmpdir(), env: env() });
    const out = await runOn(def, connections, "orders", "1");
    assert.equal(out.ok, false);
    assert.match(
      !out.ok ? out.error : "",
      /^GET http:\/\/127\.0\.0\.1:\d+\/api\/orders\/1 answered 401 Unauthorized/,
    );
    assert.equal(oauth.apiRequests.length, 2, "the call and one retry");
    assert.equal(oauth.tokenRequests, 2, "the first token and one refresh");
  });

  it("a wrong client secret fails the call with the endpoint's error and what to set", async () => {
    const def = definition();
    const connections = new Connections({
      definition: def,
      baseDir: os.tmpdir(),
      env: { ...env(), CRM_CLIENT_SECRET: "not-the-secret" },
    });
    const outs = await Promise.all([runOn(def, connections, "orders"), runOn(def, connections, "orders")]);
    for (const out of outs) {
      assert.equal(out.ok, false);
      assert.equal(
        !out.ok && out.error,
        `the OAuth token request of connection 'crm' to ${oauth.tokenUrl} failed: invalid_client (client authentication failed), status 401; check the client id and secret (CRM_CLIENT_ID, CRM_CLIENT_SECRET)`,
      );
    }
    assert.equal(oauth.tokenRequests, 1, "the concurrent calls shared the failed request");
    assert.equal(oauth.apiRequests.length, 0, "the API was never called");
  });
});
