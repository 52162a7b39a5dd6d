// examples/crm as `npm start` runs it: demo.js starts the example's local
// OAuth token endpoint and orders API, runs the built CLI on main.agent and
// stops them. Every run writes into a temp workspace. Needs `npm run build`
// (dist/cli.js), as `npm test` does before mocha.

import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { SessionEvent } from "../../server/protocol/events";

const ROOT = path.resolve(__dirname, "../..");
const DEMO = path.join(ROOT, "examples/crm/demo.js");
const REPLY = "Order A1003 has shipped with ParcelCo; its total is 129.99 USD.";

interface Report {
  clientId: string;
  clientSecret: string;
  issued: string[];
}

const temps: string[] = [];
after(() => {
  for (const dir of temps) fs.rmSync(dir, { recursive: true, force: true });
});

function demo(...args: string[]) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "statecraft-crm-"));
  temps.push(dir);
  const reportFile = path.join(dir, "report.json");
  const workspace = path.join(dir, "ws");
  fs.mkdirSync(workspace);
  const r = spawnSync(process.execPath, [DEMO, "--workspace", workspace, "--report", reportFile, ...args], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 30_000,
  });
  const report = fs.existsSync(reportFile)
    ? (JSON.parse(fs.readFileSync(reportFile, "utf8")) as Report)
    : undefined;
  return { code: r.status, out: r.stdout, err: r.stderr, report, workspace };
}

/** Every file under dir, with its text. */
function files(dir: string): { file: string; text: string }[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).flatMap((e) => {
    if (!e.isFile()) return [];
    const file = path.join(e.parentPath, e.name);
    return [{ file, text: fs.readFileSync(file, "latin1") }];
  });
}

function sessionEvents(workspace: string): SessionEvent[] {
  const dir = path.join(workspace, ".statecraft", "sessions");
  const logs = fs.readdirSync(dir).filter((f) => f.endsWith(".jsonl"));
  assert.equal(logs.length, 1, `one session log in ${dir}`);
  return fs
    .readFileSync(path.join(dir, logs[0]), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as SessionEvent);
}

function assertNotWritten(workspace: string, values: string[]): void {
  const written = files(path.join(workspace, ".statecraft"));
  assert.ok(written.length > 0);
  for (const { file, text } of written)
    for (const v of values) assert.ok(!text.includes(v), `${file} contains a secret (${v.slice(0, 4)}...)`);
}

describe("examples/crm (OAuth 2.0 client credentials, npm start)", function () {
  this.timeout(40_000);

  it("looks the order up as the service identity on crm, and writes neither the client secret nor a token", () => {
    const r = demo();
    assert.equal(r.code, 0, r.err);
    // The reply on stdout, the trace of the turn on stderr.
    assert.equal(r.out, `${REPLY}\n`);
    assert.ok(r.err.split("\n").includes('  -> find_order {"order_id":"A1003"}'), r.err);
    assert.ok(r.report, "demo.js wrote its report");
    assert.equal(r.report.issued.length, 1, "one token fetched for the turn");

    const events = sessionEvents(r.workspace);
    const call = events.find((e) => e.type === "tool.call");
    assert.ok(call && call.type === "tool.call");
    assert.equal(call.tool, "find_order");
    assert.deepEqual(call.identity, { as: "service", connection: "crm" });
    const result = events.find((e) => e.type === "tool.result");
    assert.ok(result && result.type === "tool.result");
    assert.equal(result.ok, true);
    assert.deepEqual(result.output, {
      id: "A1003",
      status: "shipped",
      carrier: "ParcelCo",
      total: "129.99 USD",
    });
    assertNotWritten(r.workspace, [r.report.clientSecret, ...r.report.issued]);
  });

  it("a wrong client secret makes the tool call fail with invalid_client, in one line naming what to check", () => {
    const wrong = "not-the-secret-8d1e2f";
    const r = demo("--client-secret", wrong);
    assert.equal(r.code, 0, r.err);
    assert.ok(r.report);
    assert.deepEqual(r.report.issued, []);
    const failed = r.err.split("\n").filter((l) => l.includes("invalid_client"));
    assert.equal(failed.length, 1, r.err);
    assert.match(
      failed[0],
      /^ {2}<- find_order failed: the OAuth token request of connection 'crm' to http:\/\/127\.0\.0\.1:\d+\/oauth2\/token failed: invalid_client \(client authentication failed\), status 401; check the client id and secret \(CRM_CLIENT_ID, CRM_CLIENT_SECRET\)$/,
    );
    const result = sessionEvents(r.workspace).find((e) => e.type === "tool.result");
    assert.ok(result && result.type === "tool.result");
    assert.equal(result.ok, false);
    assert.match(result.error ?? "", /invalid_client/);
    assertNotWritten(r.workspace, [wrong, r.report.clientSecret]);
  });

  it("an unknown argument is one line and exit code 2", () => {
    const r = spawnSync(process.execPath, [DEMO, "--nope", "x"], { cwd: ROOT, encoding: "utf8" });
    assert.equal(r.status, 2);
    assert.equal(
      r.stderr,
      "demo.js: unknown argument '--nope' (expected --workspace, --client-secret, --report)\n",
    );
  });
});

describe("examples/crm/server.js", () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { startCrm } = require(path.join(ROOT, "examples/crm/server.js")) as {
    startCrm(o: { clientId: string; clientSecret: string; ttlSeconds?: number }): Promise<{
      tokenUrl: string;
      apiUrl: string;
      issued: string[];
      close(): Promise<void>;
    }>;
  };
  const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString("base64")}`;
  const form = { "content-type": "application/x-www-form-urlencoded" };

  it("issues bearer tokens to the client, answers RFC 6749 errors, and the API takes only its tokens", async () => {
    const crm = await startCrm({ clientId: "desk", clientSecret: "s3cret", ttlSeconds: 120 });
    try {
      const wrong = await fetch(crm.tokenUrl, {
        method: "POST",
        headers: { ...form, authorization: basic("desk", "nope") },
        body: "grant_type=client_credentials",
      });
      assert.equal(wrong.status, 401);
      assert.equal(wrong.headers.get("cache-control"), "no-store");
      assert.deepEqual(await wrong.json(), {
        error: "invalid_client",
        error_description: "client authentication failed",
      });

      const grant = await fetch(crm.tokenUrl, {
        method: "POST",
        headers: { ...form, authorization: basic("desk", "s3cret") },
        body: "grant_type=password",
      });
      assert.equal(grant.status, 400);
      assert.equal(((await grant.json()) as { error: string }).error, "unsupported_grant_type");

      const scope = await fetch(crm.tokenUrl, {
        method: "POST",
        headers: { ...form, authorization: basic("desk", "s3cret") },
        body: "grant_type=client_credentials&scope=orders.write",
      });
      assert.equal(scope.status, 400);
      assert.equal(((await scope.json()) as { error: string }).error, "invalid_scope");

      const ok = await fetch(crm.tokenUrl, {
        method: "POST",
        headers: { ...form, authorization: basic("desk", "s3cret") },
        body: "grant_type=client_credentials&scope=orders.read",
      });
      assert.equal(ok.status, 200);
      const token = (await ok.json()) as Record<string, unknown>;
      assert.deepEqual(token, {
        access_token: crm.issued[0],
        token_type: "Bearer",
        expires_in: 120,
        scope: "orders.read",
      });

      const none = await fetch(`${crm.apiUrl}/orders/A1003`);
      assert.equal(none.status, 401);
      assert.equal(none.headers.get("www-authenticate"), 'Bearer realm="crm"');
      const forged = await fetch(`${crm.apiUrl}/orders/A1003`, {
        headers: { authorization: "Bearer forged" },
      });
      assert.equal(forged.status, 401);
      assert.equal(forged.headers.get("www-authenticate"), 'Bearer realm="crm", error="invalid_token"');
      const auth = { authorization: `Bearer ${String(token.access_token)}` };
      const order = await fetch(`${crm.apiUrl}/orders/A1001`, { headers: auth });
      assert.equal(order.status, 200);
      assert.equal(((await order.json()) as { status: string }).status, "delivered");
      assert.equal((await fetch(`${crm.apiUrl}/orders/Z9`, { headers: auth })).status, 404);
    } finally {
      await crm.close();
    }
  });
});
