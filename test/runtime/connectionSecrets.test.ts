// Secrets of connections never leak (connections.md section 3): a recorded
// session whose tools reach servers that echo the credentials they receive
// (an OAuth access token from a real oidc-provider, a basic pair, a bearer
// token, a user's token), whose failing call puts a credential into its error
// message, whose command tool dumps its environment, and whose model repeats a
// password. Every file the run wrote is then searched for every secret value
// as text, JSON-escaped once and twice, and as base64 of the basic pairs.

import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { LocalBackend } from "../../server/backends/local";
import type { Json } from "../../server/protocol/definition";
import { openSession } from "../../server/runtime/openSession";
import { formEncode } from "../../server/runtime/secrets";
import { startOAuthServer, type OAuthServer } from "../helpers/oauthServer";
import { defineWithConnections } from "./connectionHelpers";
import {
  filesUnder,
  json,
  removeTempDirs,
  startServer,
  tempDir,
  toolScript,
  writeFile,
  type TestServer,
} from "./helpers";

after(removeTempDirs);

const escaped = (s: string) => JSON.stringify(s).slice(1, -1);

describe("secrets of connections in everything a run writes", function () {
  this.timeout(60_000);
  let oauth: OAuthServer;
  let echo: TestServer;
  before(async () => {
    oauth = await startOAuthServer({ clientSecret: 'cs-"quoted"\\slash-5e6f7a8b9c0d' });
    // A careless API: it answers with the credential it was sent (and fails on /fail, saying it too).
    echo = await startServer((req, res) =>
      json(res, req.url.startsWith("/fail") ? 500 : 200, {
        authorization: req.headers.authorization ?? null,
      }),
    );
  });
  after(async () => {
    await oauth.close();
    await echo.close();
  });

  it("replaces each one by [secret:NAME] in the log and memory; a command tool sees none of the parent's keys", async () => {
    const workspace = tempDir();
    const dump = writeFile(
      workspace,
      "tools/env.js",
      toolScript("process.stdout.write(JSON.stringify(process.env));"),
    );
    const env = {
      PATH: process.env.PATH,
      HOME: "/home/ada",
      OPENAI_API_KEY: "sk-parent-0123456789abcdef",
      AWS_ACCESS_KEY_ID: "AKIAPARENT0123456789",
      AWS_SECRET_ACCESS_KEY: "aws-parent-secret-0123456789",
      GITHUB_TOKEN: "ghp_parent0123456789abcdef",
      CRM_CLIENT_ID: oauth.clientId,
      CRM_CLIENT_SECRET: oauth.clientSecret,
      API_USER: "ada",
      API_PASS: 'p"a\\ss-9f8e7d6c',
      BILLING_TOKEN: "billing-4a5b6c7d8e9f",
      STATECRAFT_USER_TOKEN_MAIL: "ut-ada-1a2b3c4d5e6f",
    };
    const def = defineWithConnections(
      {
        crm: {
          url: echo.url,
          auth: {
            kind: "oauth2",
            tokenUrl: oauth.tokenUrl,
            clientId: { env: "CRM_CLIENT_ID" },
            clientSecret: { env: "CRM_CLIENT_SECRET" },
            scopes: ["orders.read"],
          },
        },
        basic: {
          url: echo.url,
          auth: { kind: "basic", username: { env: "API_USER" }, password: { env: "API_PASS" } },
        },
        billing: { url: echo.url, auth: { kind: "bearer", token: { env: "BILLING_TOKEN" } } },
        mail: { url: echo.url, auth: { kind: "user_token", name: "mail" } },
      },
      {
        crm_echo: { run: { kind: "http", method: "GET", url: "/orders", connection: "crm" } },
        crm_fail: { run: { kind: "http", method: "GET", url: "/fail", connection: "crm" } },
        basic_echo: { run: { kind: "http", method: "GET", url: "/who", connection: "basic" } },
        billing_echo: { run: { kind: "http", method: "GET", url: "/inv", connection: "billing" } },
        mail_echo: { run: { kind: "http", method: "GET", url: "/inbox", connection: "mail" } },
        env_dump: { run: { kind: "command", executable: "node", args: [dump], cwd: "." } },
      },
    );
    def.tools.env_dump.env = { TOKEN: { env: "BILLING_TOKEN" } };
    const backend = new LocalBackend();
    const tools = ["crm_echo", "crm_fail", "basic_echo", "billing_echo", "mail_echo", "env_dump"];
    backend.enqueue(...tools.map((tool) => ({ kind: "call" as const, tool, input: {} as Json })), {
      kind: "reply",
      text: `Your password is ${env.API_PASS} and the token ${env.BILLING_TOKEN}.`,
    });
    const opened = await openSession({
      definition: def,
      baseDir: workspace,
      workspace,
      backend,
      backendName: "local",
      env,
      user: { id: "ada", name: "Ada" },
    });
    const result = await opened.session.send("Show me everything.");
    await opened.close();

    assert.deepEqual(
      result.tools.map((t) => [t.tool, t.status]),
      tools.map((t) => [t, t === "crm_fail" ? "failed" : "ran"]),
      JSON.stringify(result.tools),
    );
    const dumped = result.tools[5].output as Record<string, string>;
    for (const key of [
      "OPENAI_API_KEY",
      "AWS_ACCESS_KEY_ID",
      "AWS_SECRET_ACCESS_KEY",
      "GITHUB_TOKEN",
      "CRM_CLIENT_SECRET",
    ])
      assert.ok(!(key in dumped), `the command tool inherited ${key}`);
    assert.equal(dumped.TOKEN, "[secret:BILLING_TOKEN]", "its declared variable, redacted in the result");
    assert.equal(oauth.issued.length, 1);

    const basicPair = Buffer.from(`${env.API_USER}:${env.API_PASS}`).toString("base64");
    const clientPair = Buffer.from(
      `${formEncode(env.CRM_CLIENT_ID)}:${formEncode(env.CRM_CLIENT_SECRET)}`,
    ).toString("base64");
    const secrets = [
      env.CRM_CLIENT_SECRET,
      env.API_PASS,
      env.BILLING_TOKEN,
      env.STATECRAFT_USER_TOKEN_MAIL,
      env.OPENAI_API_KEY,
      env.AWS_SECRET_ACCESS_KEY,
      env.GITHUB_TOKEN,
      basicPair,
      clientPair,
      ...oauth.issued,
    ];
    const written = filesUnder(workspace).filter((f) => !f.startsWith(path.join(workspace, "tools")));
    assert.ok(
      written.some((f) => f.endsWith(".jsonl")),
      "the session log is among the files",
    );
    const all = written.map((f) => fs.readFileSync(f, "utf8")).join("\n");
    for (const f of written) {
      const text = fs.readFileSync(f, "utf8");
      for (const s of secrets)
        for (const form of [s, escaped(s), escaped(escaped(s))])
          assert.ok(!text.includes(form), `${path.relative(workspace, f)} holds ${JSON.stringify(form)}`);
    }
    for (const mark of [
      "Bearer [secret:oauth:crm]",
      "Basic [secret:API_PASS]",
      "Bearer [secret:BILLING_TOKEN]",
      "Bearer [secret:user_token:mail]",
      "Your password is [secret:API_PASS] and the token [secret:BILLING_TOKEN].",
    ])
      assert.ok(all.includes(escaped(mark)), `the log shows ${mark}`);
    assert.match(
      all,
      /answered 500 Internal Server Error: \{\\"authorization\\":\\"Bearer \[secret:oauth:crm\]\\"\}/,
    );
  });
});
