// The secrets of a run: which values count as secrets, the minimal
// environment of started programs, and the redaction of every form a secret
// value takes in an event (as is, JSON-escaped once or twice).

import { strict as assert } from "node:assert";
import type { CompiledDefinition } from "../../server/language/compile";
import { childEnv, INHERITED_ENV, Redactor, runSecrets } from "../../server/runtime/secrets";

const KEY = 'sk-proj-Zq8\\Lm"2Xv9Rt5Wn3Pk7';

describe("secrets of a run", () => {
  it("replaces a secret as is, JSON-escaped and escaped twice, in text and in JSON values", () => {
    const r = new Redactor([{ name: "OPENAI_API_KEY", value: KEY }]);
    const mark = "[secret:OPENAI_API_KEY]";
    assert.equal(r.text(`key=${KEY}.`), `key=${mark}.`);
    const once = JSON.stringify({ key: KEY });
    const twice = JSON.stringify({ body: once });
    assert.equal(r.text(once), JSON.stringify({ key: mark }));
    const event = { type: "tool.result", output: { raw: KEY, json: once, nested: twice } };
    const clean = r.json(event);
    assert.ok(!JSON.stringify(clean).includes("Zq8"), JSON.stringify(clean));
    assert.deepEqual(clean, {
      type: "tool.result",
      output: {
        raw: mark,
        json: JSON.stringify({ key: mark }),
        nested: JSON.stringify({ body: JSON.stringify({ key: mark }) }),
      },
    });
    assert.equal(JSON.parse(JSON.stringify(clean)).output.raw, mark, "still valid JSON");
  });

  it("returns the same object when it holds no secret, and does nothing without secrets", () => {
    const r = new Redactor([{ name: "K", value: "abcdef123" }]);
    const v = { a: ["x", { b: "y" }] };
    assert.equal(r.json(v), v);
    assert.equal(new Redactor([]).json(v), v);
  });

  it("counts every env(...) a definition reads, and the backends' implicit credentials, when set", () => {
    const def = {
      backends: {
        b: { name: "b", kind: "stateless", provider: "openai", api: "chat", apiKeyEnv: "OPENAI_API_KEY" },
      },
      mcpServers: { m: { name: "m", env: { A: { env: "MCP_TOKEN" }, B: "literal" } } },
      tools: { t: { name: "t", env: { C: { env: "TOOL_TOKEN" } } }, u: { name: "u" } },
      agents: { a: { name: "a", vars: { k: { env: ["VARS_KEY"] }, plain: "x" } } },
    } as unknown as CompiledDefinition;
    const env = {
      OPENAI_API_KEY: "sk-aaaaaaaa",
      MCP_TOKEN: "mcp-bbbbbbbb",
      TOOL_TOKEN: "tool-cccccccc",
      VARS_KEY: "vars-dddddddd",
      AWS_SECRET_ACCESS_KEY: "aws-eeeeeeee",
      UNRELATED: "not-read-by-the-run",
      SHORT: "x",
    };
    assert.deepEqual(
      runSecrets(def, env)
        .map((s) => s.name)
        .sort(),
      ["AWS_SECRET_ACCESS_KEY", "MCP_TOKEN", "OPENAI_API_KEY", "TOOL_TOKEN", "VARS_KEY"],
    );
  });

  it("a started program's environment: the minimal variables and the declared ones, nothing else", () => {
    const missing: string[] = [];
    const env = childEnv(
      {
        PATH: "/bin",
        HOME: "/home/ada",
        LANG: "C.UTF-8",
        OPENAI_API_KEY: "sk-x",
        AWS_SECRET_ACCESS_KEY: "y",
        CRM: "crm-token",
        BASH_FUNC_x: "() { :; }",
      },
      { TOKEN: { env: "CRM" }, MODE: "test", GONE: { env: "NOT_SET" } },
      (key, from) => missing.push(`${key}<-${from}`),
    );
    assert.deepEqual(env, {
      PATH: "/bin",
      HOME: "/home/ada",
      LANG: "C.UTF-8",
      TOKEN: "crm-token",
      MODE: "test",
    });
    assert.deepEqual(missing, ["GONE<-NOT_SET"]);
    assert.ok(
      INHERITED_ENV.includes("TMPDIR") && INHERITED_ENV.includes("LC_ALL") && INHERITED_ENV.includes("TZ"),
    );
  });
});
