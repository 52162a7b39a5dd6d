// The secrets of a run: which values count as secrets, the minimal
// environment of started programs, and the redaction of every form a secret
// value takes in an event (as is, JSON-escaped once or twice).

import { strict as assert } from "node:assert";
import fc from "fast-check";
import { isDeepStrictEqual } from "node:util";
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

  it("replaces a form escaped twice even when it is the only form in the value", () => {
    const value = 'p"a\\ss-9f8e';
    const twice = JSON.stringify(JSON.stringify(value).slice(1, -1)).slice(1, -1);
    const r = new Redactor([{ name: "S", value }]);
    assert.deepEqual(r.json({ a: [`x${twice}y`] }), { a: ["x[secret:S]y"] });
  });

  it("copies only the arrays and objects on the way to a secret, keys included", () => {
    const r = new Redactor([{ name: "K", value: "abcdef123" }]);
    const untouched = { b: ["y", { c: 1 }] };
    const v = { a: untouched, list: [untouched, "key abcdef123"], [`id-abcdef123`]: true };
    const out = r.json(v);
    assert.deepEqual(out, {
      a: untouched,
      list: [untouched, "key [secret:K]"],
      "id-[secret:K]": true,
    });
    assert.equal(out.a, untouched);
    assert.equal(out.list[0], untouched);
    assert.deepEqual(v.list[1], "key abcdef123", "the value given is left as it was");
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

/** The redaction as the contract says it, done the plain way: every form of every secret, the longest first. */
function reference(secrets: { name: string; value: string }[]) {
  const esc = (s: string) => JSON.stringify(s).slice(1, -1);
  const values = new Set<string>();
  const forms: { form: string; mark: string }[] = [];
  for (const s of secrets) {
    if (s.value.length < 4 || values.has(s.value)) continue;
    values.add(s.value);
    for (const form of new Set([s.value, esc(s.value), esc(esc(s.value))]))
      forms.push({ form, mark: `[secret:${s.name}]` });
  }
  forms.sort((a, b) => b.form.length - a.form.length);
  const text = (t: string) => forms.reduce((out, f) => out.split(f.form).join(f.mark), t);
  const json = (v: unknown): unknown =>
    typeof v === "string"
      ? text(v)
      : Array.isArray(v)
        ? v.map(json)
        : v !== null && typeof v === "object"
          ? Object.fromEntries(Object.entries(v).map(([k, x]) => [text(k), json(x)]))
          : v;
  return { text, json };
}

describe("redaction against a plain reference (property)", () => {
  // Few letters, so that secrets overlap, contain each other or are prefixes of each other; quotes,
  // backslashes and control characters, so that their escaped forms differ; RegExp syntax and base64 letters.
  const char = fc.constantFrom(
    "a",
    "a",
    "b",
    "b",
    "c",
    '"',
    "\\",
    "\n",
    "+",
    "/",
    "=",
    ".",
    "*",
    "(",
    "[",
    "$",
    "é",
  );
  const secretValue = fc.string({ unit: char, minLength: 4, maxLength: 9 });
  const secrets = fc
    .array(secretValue, { minLength: 1, maxLength: 4 })
    .chain((values) =>
      fc
        .array(fc.nat({ max: 6 }), { minLength: values.length, maxLength: values.length })
        .map((cuts) =>
          [...values, ...values.map((v, i) => v.slice(0, v.length - cuts[i]))].filter((v) => v.length >= 4),
        ),
    )
    .map((values) => values.map((value, i) => ({ name: `S${i % 3}`, value })));
  const esc = (s: string) => JSON.stringify(s).slice(1, -1);
  /** A string made of random letters and the forms of the secrets, cut anywhere. */
  const text = (values: string[]) =>
    fc
      .array(
        fc.oneof(
          fc.string({ unit: char, maxLength: 4 }),
          fc.constantFrom(...values, ...values.map(esc), ...values.map((v) => esc(esc(v)))),
          fc
            .tuple(fc.constantFrom(...values.map(esc)), fc.nat({ max: 10 }))
            .map(([s, n]) => s.slice(n % (s.length + 1))),
        ),
        { maxLength: 6 },
      )
      .map((parts) => parts.join(""));
  const value = (values: string[]) =>
    fc.letrec<{ v: unknown }>((tie) => ({
      v: fc.oneof(
        { depthSize: "small", withCrossShrink: true },
        text(values),
        fc.integer(),
        fc.constant(null),
        fc.boolean(),
        fc.array(tie("v"), { maxLength: 4 }),
        fc.dictionary(text(values), tie("v"), { maxKeys: 4, noNullPrototype: true }),
      ),
    })).v;
  const cases = secrets.chain((s) =>
    fc.tuple(fc.constant(s), value(s.map((x) => x.value)), text(s.map((x) => x.value))),
  );

  it("replaces exactly what the reference replaces, in text and in every string and key of a value", () => {
    fc.assert(
      fc.property(cases, ([s, v, t]) => {
        const r = new Redactor(s);
        const ref = reference(s);
        assert.equal(r.text(t), ref.text(t));
        const out = r.json(v);
        const expected = ref.json(v);
        assert.deepStrictEqual(out, expected);
        // Nothing to replace: the very same value back.
        if (isDeepStrictEqual(expected, v)) assert.equal(out, v);
      }),
      { numRuns: 400 },
    );
  });

  it("a secret learnt during the run is replaced as if it had been given at the start", () => {
    fc.assert(
      fc.property(cases, ([s, v]) => {
        const r = new Redactor(s.slice(0, 1));
        for (const x of s.slice(1)) r.add(x);
        assert.deepStrictEqual(r.json(v), reference(s).json(v));
      }),
      { numRuns: 200 },
    );
  });
});
