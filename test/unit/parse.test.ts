// The parser: well-formed inputs against a terse picture of the tree, broken inputs against the exact
// diagnostics (one per broken construct) and the declarations that must survive them, span invariants
// over whole files, and property tests that the parser never throws and does work linear in its input.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import fc from "fast-check";
import {
  declarationName,
  type Declaration,
  type Expr,
  type Member,
  type SourceFile,
  type Span,
  type Step,
  type Value,
} from "../../server/language/ast";
import { parse } from "../../server/language/parse";
import { tokenize } from "../../server/language/tokenize";

const ROOT = path.resolve(__dirname, "../..");
const EXAMPLE_DIR = path.join(ROOT, "examples/support");
const EXAMPLES: { name: string; text: string }[] = fs
  .readdirSync(EXAMPLE_DIR)
  .filter((f) => f.endsWith(".agent"))
  .sort()
  .map((f) => ({ name: f, text: fs.readFileSync(path.join(EXAMPLE_DIR, f), "utf8") }));

// ---- a terse picture of the tree ------------------------------------------------

function showValue(v: Value): string {
  switch (v.type) {
    case "String":
      return v.textBlock ? `"""${JSON.stringify(v.value).slice(1, -1)}"""` : JSON.stringify(v.value);
    case "Number":
      return String(v.value);
    case "Boolean":
      return String(v.value);
    case "Null":
      return "null";
    case "Reference":
      return v.segments.map((s) => s.name).join(".");
    case "List":
      return `[${v.items.map(showValue).join(", ")}]`;
    case "Object":
      return `{${v.entries.map((e) => `${e.key.name}: ${showValue(e.value)}`).join(", ")}}`;
    case "Call":
      return v.braces
        ? `${v.callee.name} ${v.args.map(showValue).join(", ")}`
        : `${v.callee.name}(${v.args.map(showValue).join(", ")})`;
    case "Missing":
      return "?";
  }
}

function showExpr(e: Expr | undefined): string {
  if (!e) return "?";
  switch (e.type) {
    case "Binary":
      return `(${showExpr(e.left)} ${e.op} ${showExpr(e.right)})`;
    case "Not":
      return `(not ${showExpr(e.operand)})`;
    case "ValueExpr":
      return showValue(e.value);
  }
}

function showStep(s: Step): string {
  const atLeast = (a: { value: { value: number } } | undefined) => (a ? ` at_least ${a.value.value}` : "");
  switch (s.step) {
    case "expect.trajectory":
      return `${s.step} ${showValue(s.tools)}${s.mode ? ` ${s.mode.name}` : ""}`;
    case "judge":
      return `${s.step} ${s.criterion.type === "String" ? showValue(s.criterion) : s.criterion.name}${atLeast(s.atLeast)}`;
    case "score":
      return `${s.step} ${showValue(s.command)}${atLeast(s.atLeast)}`;
    case "judge.scores":
      return `${s.step} ${s.score.value} ${showValue(s.reason)}`;
    case "user.says":
    case "expected":
    case "goal":
      return `${s.step} ${showValue(s.text)}`;
    case "send":
    case "model.replies":
      return `${s.step} ${showValue(s.text)}`;
    case "model.calls":
      return `${s.step} ${showValue(s.tool)} ${showValue(s.input)}`;
    case "model.hands_off":
    case "expect.handoff":
      return `${s.step} ${showValue(s.agent)}`;
    case "tool.returns":
      return `${s.step} ${showValue(s.tool)} ${showValue(s.value)}`;
    case "tool.fails":
      return `${s.step} ${showValue(s.tool)} ${showValue(s.message)}`;
    case "approve":
    case "reject":
      return `${s.step} ${showValue(s.tool)}`;
    case "expect.reply":
      return `${s.step} ${s.op} ${showValue(s.text)}`;
    case "expect.tool":
      return `${s.step} ${showValue(s.tool)} ${s.outcome}${s.with ? ` with ${showValue(s.with)}` : ""}`;
    case "expect.memory":
      return `${s.step} ${showValue(s.path)} ${s.op} ${showValue(s.value)}`;
    case "expect.tokens":
    case "expect.turns":
      return `${s.step} ${s.op} ${showValue(s.value)}`;
  }
}

function showMember(m: Member): string {
  switch (m.type) {
    case "Property":
      return `${m.name.name}: ${showValue(m.value)}`;
    case "BlockMember":
      return `${m.name.name} { ${m.body.members.map(showMember).join("; ")} }${m.body.closed ? "" : " UNCLOSED"}`;
    case "Field": {
      const t = m.fieldType;
      const enumArgs = t.enumValues ? `(${t.enumValues.map(showValue).join(", ")})` : "";
      const desc = m.description ? ` ${showValue(m.description)}` : "";
      return `field ${m.name.name}${m.optional ? "?" : ""}: ${t.name.name}${enumArgs}${t.list ? "[]" : ""}${desc}`;
    }
    case "Deny":
      return `deny ${showValue(m.tool)} when ${showExpr(m.condition)}`;
    case "Step":
      return showStep(m);
    case "Case":
      return `case ${m.name ? JSON.stringify(m.name.value) : "?"} { ${m.body.members.map(showMember).join("; ")} }${m.body.closed ? "" : " UNCLOSED"}`;
  }
}

type DeclShape = [string, string[]];

function showDeclaration(d: Declaration): DeclShape {
  const name =
    d.name === undefined ? "?" : d.name.type === "String" ? JSON.stringify(d.name.value) : d.name.name;
  return [`${d.kind} ${name}${d.body.closed ? "" : " UNCLOSED"}`, d.body.members.map(showMember)];
}

/** Imports as strings, then each declaration as [header, members]. */
function shape(file: SourceFile): (string | DeclShape)[] {
  return [
    ...file.imports.map((i) => `import ${showValue(i.path)}`),
    ...file.declarations.map(showDeclaration),
  ];
}

function parseClean(text: string): SourceFile {
  const { file, diagnostics } = parse(text, "test.agent");
  assert.deepEqual(
    diagnostics.map((d) => `${d.code} ${JSON.stringify(text.slice(d.span.start, d.span.end))}: ${d.message}`),
    [],
    "no diagnostics",
  );
  return file;
}

// ---- span invariants -------------------------------------------------------------

interface Walked {
  nodes: number;
}

/**
 * Walks every object of the tree generically: each span lies within its parent's span and within the
 * text, and (when `exactNames`) each identifier and template segment spans exactly its name.
 */
function checkSpans(file: SourceFile, exactNames: boolean): Walked {
  const text = file.text;
  const stats: Walked = { nodes: 0 };
  const isSpan = (o: Record<string, unknown>) => typeof o.start === "number" && typeof o.end === "number";
  const visit = (node: unknown, parent: Span, where: string): void => {
    if (Array.isArray(node)) {
      node.forEach((n, i) => visit(n, parent, `${where}[${i}]`));
      return;
    }
    if (node === null || typeof node !== "object") return;
    const o = node as Record<string, unknown>;
    let inner = parent;
    if (isSpan(o)) {
      const s = o as unknown as Span;
      stats.nodes++;
      assert.ok(s.start <= s.end, `${where}: start ${s.start} <= end ${s.end}`);
      assert.ok(
        parent.start <= s.start && s.end <= parent.end,
        `${where} [${s.start}, ${s.end}] lies within its parent [${parent.start}, ${parent.end}]`,
      );
      if (exactNames && o.type === "Identifier")
        assert.equal(text.slice(s.start, s.end), o.name, `${where} spans its name`);
      if (exactNames && Array.isArray(o.path) && Array.isArray(o.segments))
        (o.segments as Span[]).forEach((seg, i) =>
          assert.equal(text.slice(seg.start, seg.end), (o.path as string[])[i], `${where} segment ${i}`),
        );
      inner = s;
    }
    for (const [k, v] of Object.entries(o)) visit(v, inner, `${where}.${k}`);
  };
  const whole = { start: 0, end: text.length };
  visit(file.imports, whole, "imports");
  visit(file.declarations, whole, "declarations");
  visit(file.comments, whole, "comments");
  const top = [...file.imports, ...file.declarations].sort((a, b) => a.start - b.start);
  for (let i = 1; i < top.length; i++)
    assert.ok(top[i - 1].end <= top[i].start, "top-level nodes do not overlap");
  return stats;
}

function checkDiagnosticSpans(text: string): void {
  for (const d of parse(text, "test.agent").diagnostics)
    assert.ok(
      0 <= d.span.start && d.span.start <= d.span.end && d.span.end <= text.length,
      `diagnostic span ${JSON.stringify(d.span)}`,
    );
}

// ---- marked sources for the recovery table ---------------------------------------

type DiagRow = [string, number, number];

/**
 * Reads a source in which a line such as `     ^^^ syntax` marks the span (columns of the carets) of an
 * expected diagnostic on the nearest source line above it; marker lines are removed from the text.
 * A leading newline (for template literals) is dropped.
 */
function marked(src: string): { text: string; expected: DiagRow[] } {
  const lines = src.replace(/^\n/, "").split("\n");
  const out: string[] = [];
  const expected: DiagRow[] = [];
  let offset = 0;
  let lastLineStart = 0;
  for (const line of lines) {
    const m = /^( *)(\^+) (syntax|unterminated-string)$/.exec(line);
    if (m) {
      const start = lastLineStart + m[1].length;
      expected.push([m[3], start, start + m[2].length]);
      continue;
    }
    lastLineStart = offset;
    out.push(line);
    offset += line.length + 1;
  }
  return { text: out.join("\n"), expected };
}

function diagRows(text: string): DiagRow[] {
  return parse(text, "test.agent").diagnostics.map((d): DiagRow => [d.code, d.span.start, d.span.end]);
}

// ---- tests -----------------------------------------------------------------------

describe("parse", () => {
  describe("well-formed inputs", () => {
    const cases: { name: string; src: string; tree: (string | DeclShape)[] }[] = [
      {
        name: "every declaration kind",
        src: [
          "backend local { kind: stateless provider: local }",
          'type Order { id: string "The order id" }',
          'tool lookup { description: "Look up" }',
          'context policy_doc { from: file("docs/refunds.md") }',
          "memory customer { scope: user }",
          'agent support { instructions: "Help" }',
          'mcp orders { url: "http://127.0.0.1:3001/mcp" }',
          'test "it works" { agent: support }',
          "test by_name { agent: support }",
        ].join("\n"),
        tree: [
          ["backend local", ["kind: stateless", "provider: local"]],
          ["type Order", ['field id: string "The order id"']],
          ["tool lookup", ['description: "Look up"']],
          ["context policy_doc", ['from: file("docs/refunds.md")']],
          ["memory customer", ["scope: user"]],
          ["agent support", ['instructions: "Help"']],
          ["mcp orders", ['url: "http://127.0.0.1:3001/mcp"']],
          ['test "it works"', ["agent: support"]],
          ["test by_name", ["agent: support"]],
        ],
      },
      {
        name: "connections: braced oauth2 settings, string-named headers, calls through a connection",
        src: [
          "connection crm {",
          '  url: "https://crm.example.com/api"',
          "  auth: oauth2 {",
          '    token_url: "https://login.example.com/token"',
          '    client_id: env("CRM_ID"), client_secret: env("CRM_SECRET")',
          '    scopes: ["crm.read"]',
          "  }",
          '  headers { "X-Tenant": "acme", "X-Key": env("KEY")',
          '    Accept: "application/json" }',
          "  timeout_ms: 5000",
          "}",
          'connection wh { url: env("WH_URL") auth: user_token("wh") }',
          'tool t { run: sql(wh, "select $1", [input.id, user.id, 3]) }',
          'tool u { run: http("GET", crm, "/c?e={{input.e}}") }',
        ].join("\n"),
        tree: [
          [
            "connection crm",
            [
              'url: "https://crm.example.com/api"',
              'auth: oauth2 {token_url: "https://login.example.com/token", client_id: env("CRM_ID"), client_secret: env("CRM_SECRET"), scopes: ["crm.read"]}',
              'headers { X-Tenant: "acme"; X-Key: env("KEY"); Accept: "application/json" }',
              "timeout_ms: 5000",
            ],
          ],
          ["connection wh", ['url: env("WH_URL")', 'auth: user_token("wh")']],
          ["tool t", ['run: sql(wh, "select $1", [input.id, user.id, 3])']],
          ["tool u", ['run: http("GET", crm, "/c?e={{input.e}}")']],
        ],
      },
      {
        name: "imports, then declarations, with comments anywhere",
        src: '// header\nimport "types.agent"\nimport "dir/tools.agent" // trailing\n\n/* block */ agent a { }\n',
        tree: ['import "types.agent"', 'import "dir/tools.agent"', ["agent a", []]],
      },
      {
        name: "empty bodies and declarations on one line",
        src: "agent a {} agent b { }\ntype T {\n}",
        tree: [
          ["agent a", []],
          ["agent b", []],
          ["type T", []],
        ],
      },
      {
        name: "every value kind",
        src: [
          "agent values {",
          '  s: "str"',
          '  t: """',
          "    line 1",
          "      line 2",
          '  """',
          "  i: 42",
          "  neg: -3",
          "  f: 0.25",
          "  e: 1e6",
          "  u: 128_000",
          "  yes: true",
          "  no: false",
          "  nothing: null",
          "  ref: support",
          "  dotted: vars.company.name",
          '  list: [1, "two", three,]',
          "  multi: [",
          "    a,",
          "    b,",
          "  ]",
          "  empty: []",
          '  obj: { id: "u1", name: "Ada" }',
          "  multi_obj: {",
          "    a: 1",
          "    b: 2,",
          "  }",
          "  empty_obj: {}",
          '  call: env("KEY")',
          '  call2: command("node", ["x.js"])',
          "  call0: now()",
          "  nested: { a: [{ b: f(1, [2, { c: null }]) }], d: {} }",
          "}",
        ].join("\n"),
        tree: [
          [
            "agent values",
            [
              's: "str"',
              't: """line 1\\n  line 2"""',
              "i: 42",
              "neg: -3",
              "f: 0.25",
              "e: 1000000",
              "u: 128000",
              "yes: true",
              "no: false",
              "nothing: null",
              "ref: support",
              "dotted: vars.company.name",
              'list: [1, "two", three]',
              "multi: [a, b]",
              "empty: []",
              'obj: {id: "u1", name: "Ada"}',
              "multi_obj: {a: 1, b: 2}",
              "empty_obj: {}",
              'call: env("KEY")',
              'call2: command("node", ["x.js"])',
              "call0: now()",
              "nested: {a: [{b: f(1, [2, {c: null}])}], d: {}}",
            ],
          ],
        ],
      },
      {
        name: "nested blocks, policy rules and a text block (the agent of language.md 3.6)",
        src: [
          "agent support {",
          '  description: "Tier-1 customer support"',
          "  backend: aws_runtime",
          "  temperature: 0.2",
          '  instructions: """',
          "    You are the support agent for {{vars.company}}.",
          "    The customer's name is {{memory.preferred_name}}.",
          '  """',
          '  vars { company: "Acme" }',
          "  context: [refund_policy]",
          "  tools: [lookup_order, refund]",
          "  identity {",
          '    role: "support-tier-1"',
          "    acts_for: user",
          '    scopes: ["orders:read", "refunds:write"]',
          "  }",
          "  policy {",
          "    require_approval: [refund]",
          "    deny refund when input.amount > 500",
          "    max_tokens: 50_000",
          "  }",
          "}",
        ].join("\n"),
        tree: [
          [
            "agent support",
            [
              'description: "Tier-1 customer support"',
              "backend: aws_runtime",
              "temperature: 0.2",
              `instructions: """You are the support agent for {{vars.company}}.\\nThe customer's name is {{memory.preferred_name}}."""`,
              'vars { company: "Acme" }',
              "context: [refund_policy]",
              "tools: [lookup_order, refund]",
              'identity { role: "support-tier-1"; acts_for: user; scopes: ["orders:read", "refunds:write"] }',
              "policy { require_approval: [refund]; deny refund when (input.amount > 500); max_tokens: 50000 }",
            ],
          ],
        ],
      },
      {
        name: "field declarations in type, tool input and memory fields",
        src: [
          "type Order {",
          '  id: string "The order id"',
          "  total: number",
          '  status: enum("open", "shipped", "refunded")',
          '  items?: LineItem[] "The lines"',
          "  tags: string[]",
          '  kind?: enum("a","b")[]',
          "  raw: json, count: integer",
          "}",
          "tool t {",
          '  input { order_id: string "The order id" }',
          "  output: Order",
          "}",
          "memory m {",
          "  fields {",
          "    preferred_name?: string",
          "    open_tickets: integer",
          "  }",
          "}",
          "agent a { input { x: 1 } }",
        ].join("\n"),
        tree: [
          [
            "type Order",
            [
              'field id: string "The order id"',
              "field total: number",
              'field status: enum("open", "shipped", "refunded")',
              'field items?: LineItem[] "The lines"',
              "field tags: string[]",
              'field kind?: enum("a", "b")[]',
              "field raw: json",
              "field count: integer",
            ],
          ],
          ["tool t", ['input { field order_id: string "The order id" }', "output: Order"]],
          ["memory m", ["fields { field preferred_name?: string; field open_tickets: integer }"]],
          // Outside tool input and memory fields, `input { }` holds ordinary properties.
          ["agent a", ["input { x: 1 }"]],
        ],
      },
      {
        name: "the test of language.md 3.8, named by a string",
        src: [
          'test "refund over the limit is refused" {',
          "  agent: support",
          "  backend: local",
          '  user: { id: "u1", name: "Ada" }',
          "",
          '  model calls lookup_order { order_id: "A1" }',
          '  tool lookup_order returns { id: "A1", total: 900, status: "shipped" }',
          '  model replies "I can\'t refund more than 500 without approval."',
          '  send "Refund order A1 please"',
          "",
          '  expect tool lookup_order called with { order_id: "A1" }',
          "  expect tool refund denied",
          '  expect reply contains "approval"',
          "  expect memory.open_tickets == 0",
          "}",
        ].join("\n"),
        tree: [
          [
            'test "refund over the limit is refused"',
            [
              "agent: support",
              "backend: local",
              'user: {id: "u1", name: "Ada"}',
              'model.calls lookup_order {order_id: "A1"}',
              'tool.returns lookup_order {id: "A1", total: 900, status: "shipped"}',
              `model.replies "I can't refund more than 500 without approval."`,
              'send "Refund order A1 please"',
              'expect.tool lookup_order called with {order_id: "A1"}',
              "expect.tool refund denied",
              'expect.reply contains "approval"',
              "expect.memory memory.open_tickets == 0",
            ],
          ],
        ],
      },
      {
        name: "comma-separated members on one line",
        src: 'backend b { kind: stateless, provider: local, model: "m", }\ntest t { send "a", send "b", expect turns <= 2 }',
        tree: [
          ["backend b", ["kind: stateless", "provider: local", 'model: "m"']],
          ["test t", ['send "a"', 'send "b"', "expect.turns <= 2"]],
        ],
      },
      {
        name: "properties on one line without commas",
        src: 'backend local { kind: stateless provider: local model: "m" }\nagent a { vars { a: 1 b: [2] c: "x" } }',
        tree: [
          ["backend local", ["kind: stateless", "provider: local", 'model: "m"']],
          ["agent a", ['vars { a: 1; b: [2]; c: "x" }']],
        ],
      },
      {
        name: "keywords as property names, declaration names and references",
        src: [
          "agent a {",
          "  send: 1",
          "  expect: true",
          "  model: send",
          "  deny: when",
          "  import: 2",
          "  agent: [test, tool, memory]",
          "  policy { deny: 3, when: 4, and: 5 }",
          "}",
          "tool send { description: \"a tool named 'send'\" }",
          "test test {",
          "  agent: a",
          '  model: "gpt"',
          "  tool: x",
          "  expect: 1",
          "  user { send: 2 }",
          "  approve send",
          '  tool send returns { agent: "a", expect: 1 }',
          "}",
        ].join("\n"),
        tree: [
          [
            "agent a",
            [
              "send: 1",
              "expect: true",
              "model: send",
              "deny: when",
              "import: 2",
              "agent: [test, tool, memory]",
              "policy { deny: 3; when: 4; and: 5 }",
            ],
          ],
          ["tool send", [`description: "a tool named 'send'"`]],
          [
            "test test",
            [
              "agent: a",
              'model: "gpt"',
              "tool: x",
              "expect: 1",
              "user { send: 2 }",
              "approve send",
              'tool.returns send {agent: "a", expect: 1}',
            ],
          ],
        ],
      },
      {
        name: "field names that are keywords",
        src: 'type T { type: string, agent?: string, enum: enum("x") }',
        tree: [["type T", ["field type: string", "field agent?: string", 'field enum: enum("x")']]],
      },
    ];
    for (const c of cases) {
      it(c.name, () => {
        assert.deepEqual(shape(parseClean(c.src)), c.tree);
      });
    }

    it("value kinds and number details", () => {
      const file = parseClean(
        'agent a { a: true, b: null, c: truely, d: 1.0, e: 1e6, f: 7, g: """\n  x\n""", h: "y" }',
      );
      const values = (file.declarations[0].body.members as { value: Value }[]).map((m) => m.value);
      assert.deepEqual(
        values.map((v) => [
          v.type,
          v.type === "Number" ? [v.raw, v.isInteger] : v.type === "String" ? v.textBlock : null,
        ]),
        [
          ["Boolean", null],
          ["Null", null],
          ["Reference", null],
          ["Number", ["1.0", false]],
          ["Number", ["1e6", true]],
          ["Number", ["7", true]],
          ["String", true],
          ["String", false],
        ],
      );
    });

    it("a string's templates carry into the tree", () => {
      const src = 'agent a { instructions: "Hi {{ user.name }}" }';
      const [prop] = parseClean(src).declarations[0].body.members;
      assert.ok(prop.type === "Property" && prop.value.type === "String");
      assert.deepEqual(
        prop.value.templates.map((t) => [t.path, src.slice(t.start, t.end)]),
        [[["user", "name"], "user.name"]],
      );
    });

    describe("policy conditions", () => {
      const cases: [string, string][] = [
        ["input.amount > 500", "(input.amount > 500)"],
        ["a or b and c", "(a or (b and c))"],
        ["a and b or c", "((a and b) or c)"],
        ["a or b or c", "((a or b) or c)"],
        ["a and b and c", "((a and b) and c)"],
        ["not a and b", "((not a) and b)"],
        ["not not a", "(not (not a))"],
        ["not (a or b)", "(not (a or b))"],
        ["(a or b) and c", "((a or b) and c)"],
        ["((a))", "a"],
        ['input.tags contains "vip"', '(input.tags contains "vip")'],
        ['input.reason matches "^fraud"', '(input.reason matches "^fraud")'],
        [
          'input.amount >= 10 and input.amount <= 20 or input.currency != "USD"',
          '(((input.amount >= 10) and (input.amount <= 20)) or (input.currency != "USD"))',
        ],
        ["input.n < -3 or input.n == 0.5", "((input.n < -3) or (input.n == 0.5))"],
        ["input.flag == true and input.note != null", "((input.flag == true) and (input.note != null))"],
        ['input.country == ["US", "CA"]', '(input.country == ["US", "CA"])'],
        ["not input.amount > 5", "(not (input.amount > 5))"],
        ["(input.a > 1\n      or input.b > 2)", "((input.a > 1) or (input.b > 2))"],
      ];
      for (const [condition, expected] of cases) {
        it(`${JSON.stringify(condition)} -> ${expected}`, () => {
          const src = `agent a {\n  policy {\n    deny refund when ${condition}\n    max_turns: 3\n  }\n}`;
          const [policy] = parseClean(src).declarations[0].body.members;
          assert.ok(policy.type === "BlockMember");
          assert.deepEqual(policy.body.members.map(showMember), [
            `deny refund when ${expected}`,
            "max_turns: 3",
          ]);
          const [deny] = policy.body.members;
          assert.equal(
            src.slice(deny.start, deny.end),
            `deny refund when ${condition}`,
            "the rule spans its text",
          );
        });
      }
    });

    describe("test steps (language.md 3.8)", () => {
      const cases: [string, string][] = [
        ['send "Refund order A1 please"', 'send "Refund order A1 please"'],
        ['model replies "Done."', 'model.replies "Done."'],
        ['model calls lookup_order { order_id: "A1" }', 'model.calls lookup_order {order_id: "A1"}'],
        ["model calls ping {}", "model.calls ping {}"],
        ["model hands_off billing", "model.hands_off billing"],
        [
          'tool lookup_order returns { id: "A1", total: 900 }',
          'tool.returns lookup_order {id: "A1", total: 900}',
        ],
        ["tool search returns [1, 2]", "tool.returns search [1, 2]"],
        ['tool echo returns "text"', 'tool.returns echo "text"'],
        ["tool count returns 42", "tool.returns count 42"],
        ["tool maybe returns null", "tool.returns maybe null"],
        ['tool lookup_order fails "order not found"', 'tool.fails lookup_order "order not found"'],
        ["approve refund", "approve refund"],
        ["reject refund", "reject refund"],
        ['expect reply contains "approval"', 'expect.reply contains "approval"'],
        ['expect reply matches "T-[0-9]+"', 'expect.reply matches "T-[0-9]+"'],
        ["expect tool refund called", "expect.tool refund called"],
        [
          'expect tool lookup_order called with { order_id: "A1" }',
          'expect.tool lookup_order called with {order_id: "A1"}',
        ],
        ["expect tool refund not called", "expect.tool refund not_called"],
        ["expect tool refund denied", "expect.tool refund denied"],
        ["expect handoff billing", "expect.handoff billing"],
        ["expect memory.open_tickets == 1", "expect.memory memory.open_tickets == 1"],
        ['expect memory.profile.name != "Bob"', 'expect.memory memory.profile.name != "Bob"'],
        ['expect memory.tags contains "vip"', 'expect.memory memory.tags contains "vip"'],
        ["expect tokens < 50_000", "expect.tokens < 50000"],
        ["expect turns <= 2", "expect.turns <= 2"],
        ["expect turns >= 1", "expect.turns >= 1"],
      ];
      for (const [step, expected] of cases) {
        it(`${step} -> ${expected}`, () => {
          const src = `test "t" {\n  agent: a\n  ${step}\n  send "next"\n}`;
          const members = parseClean(src).declarations[0].body.members;
          assert.deepEqual(members.map(showMember), ["agent: a", expected, 'send "next"']);
          assert.equal(src.slice(members[1].start, members[1].end), step, "the step spans its text");
          const stepNode = members[1];
          assert.ok(stepNode.type === "Step");
          assert.equal(
            src.slice(stepNode.keyword.start, stepNode.keyword.end),
            step.split(" ")[0],
            "the keyword spans its text",
          );
        });
      }
    });

    describe("eval declarations and case steps (evals.md section 1)", () => {
      it("an eval's properties, eval-level judges and cases", () => {
        const src = [
          "eval support_quality {",
          "  agent: support",
          "  backends: [openai_cloud, local]",
          "  judge: judge_model",
          "  trials: 3",
          "  pass_rate: 0.8",
          '  dataset: file("cases/support.jsonl")',
          '  judge "Polite." at_least 0.6',
          "  judge helpfulness",
          '  case "small refund" {',
          '    user { id: "ada" name: "Ada" }',
          '    send "Refund A1001."',
          "    expect tool refund called",
          "  }",
          '  case "simulated" {',
          "    simulate {",
          "      backend: judge_model",
          '      persona: "A customer."',
          "      max_turns: 6",
          "    }",
          "  }",
          "}",
        ].join("\n");
        assert.deepEqual(shape(parseClean(src)), [
          [
            "eval support_quality",
            [
              "agent: support",
              "backends: [openai_cloud, local]",
              "judge: judge_model",
              "trials: 3",
              "pass_rate: 0.8",
              'dataset: file("cases/support.jsonl")',
              'judge "Polite." at_least 0.6',
              "judge helpfulness",
              'case "small refund" { user { id: "ada"; name: "Ada" }; send "Refund A1001."; expect.tool refund called }',
              'case "simulated" { simulate { backend: judge_model; persona: "A customer."; max_turns: 6 } }',
            ],
          ],
        ]);
      });

      const cases: [string, string][] = [
        ["expect trajectory [lookup_order, refund]", "expect.trajectory [lookup_order, refund]"],
        ["expect trajectory [lookup_order, refund] exact", "expect.trajectory [lookup_order, refund] exact"],
        ["expect trajectory [refund] any_order", "expect.trajectory [refund] any_order"],
        ["expect trajectory [] in_order", "expect.trajectory [] in_order"],
        ['judge "Confirms the amount."', 'judge "Confirms the amount."'],
        ['judge "Confirms the amount." at_least 0.7', 'judge "Confirms the amount." at_least 0.7'],
        ["judge faithfulness at_least 0.8", "judge faithfulness at_least 0.8"],
        ["judge goal_success", "judge goal_success"],
        [
          'score command("node", ["scorers/tone.js"]) at_least 0.5',
          'score command("node", ["scorers/tone.js"]) at_least 0.5',
        ],
        ['score command("./score.sh")', 'score command("./score.sh")'],
        ['judge scores 0.8 "Polite and exact."', 'judge.scores 0.8 "Polite and exact."'],
        ['user says "Where is my kettle?"', 'user.says "Where is my kettle?"'],
        ['expected "A refund of 20 USD on A1001."', 'expected "A refund of 20 USD on A1001."'],
        ['goal "Gets a refund."', 'goal "Gets a refund."'],
        ['model replies "Done."', 'model.replies "Done."'],
        ["expect tool refund not called", "expect.tool refund not_called"],
      ];
      for (const [step, expected] of cases) {
        it(`in a case: ${step} -> ${expected}`, () => {
          const src = `eval e {\n  agent: a\n  case "c" {\n    ${step}\n    send "next"\n  }\n}`;
          const [member] = parseClean(src).declarations[0].body.members.slice(1);
          assert.ok(member.type === "Case");
          const members = member.body.members;
          assert.deepEqual(members.map(showMember), [expected, 'send "next"']);
          assert.equal(src.slice(members[0].start, members[0].end), step, "the step spans its text");
        });
      }

      const broken: [string, string, RegExp][] = [
        [
          "case without a name",
          '  case {\n    send "x"\n  }',
          /Expected the case's name \(a string\) after 'case'/,
        ],
        ["judge without a criterion", "  judge\n", /Expected a criterion after 'judge'/],
        [
          "at_least without a number",
          '  judge "x" at_least high',
          /Expected a threshold from 0 to 1 after 'at_least'/,
        ],
        [
          "a trajectory mode that is not one",
          '  case "c" {\n    expect trajectory [a] sorted\n  }',
          /Expected in_order, exact or any_order after the list; found 'sorted'/,
        ],
        [
          "a trajectory without a list",
          '  case "c" {\n    expect trajectory a, b\n  }',
          /Expected the list of tools after 'expect trajectory'/,
        ],
        ["score without a call", '  case "c" {\n    score "tone.js"\n  }', /Expected a scorer after 'score'/],
        [
          "user without says",
          '  case "c" {\n    user replies "x"\n  }',
          /Expected 'says "\.\.\."' after 'user'/,
        ],
        [
          "judge scores at eval level",
          '  judge scores 0.8 "x"',
          /Expected a criterion after 'judge'|Expected a new line or ','/,
        ],
        ["a step at eval level", '  send "hi"', /Expected a property \('name: value'\), a criterion/],
      ];
      for (const [name, body, message] of broken) {
        it(`recovers: ${name}, and the next declaration parses`, () => {
          const src = `eval e {\n  agent: a\n${body}\n}\nagent after { instructions: "x" }`;
          const { file, diagnostics } = parse(src, "test.agent");
          assert.ok(diagnostics.length >= 1, "a diagnostic");
          assert.match(diagnostics[0].message, message);
          assert.deepEqual(
            file.declarations.map((d) => `${d.kind} ${declarationName(d)}`),
            ["eval e", "agent after"],
          );
        });
      }

      it("eval steps are not test steps: a test rejects judge and expect trajectory", () => {
        const a = parse('test "t" {\n  agent: a\n  judge "x"\n  send "y"\n}', "t.agent");
        assert.match(a.diagnostics[0]?.message ?? "", /Expected a property \('name: value'\) or a step/);
        const b = parse('test "t" {\n  agent: a\n  expect trajectory [x]\n}', "t.agent");
        assert.match(
          b.diagnostics[0]?.message ?? "",
          /'tokens' or 'turns' after 'expect'; found 'trajectory'/,
        );
      });
    });

    it("every example file parses without diagnostics", () => {
      for (const ex of EXAMPLES) {
        const { diagnostics, file } = parse(ex.text, ex.name);
        assert.deepEqual(diagnostics, [], ex.name);
        assert.ok(file.declarations.length > 0 || file.imports.length > 0, ex.name);
      }
    });
  });

  describe("recovery: one diagnostic per broken construct, later declarations still parse", () => {
    interface RecoveryCase {
      name: string;
      src: string;
      /** Names of the declarations in the tree, in order. */
      names: (string | undefined)[];
      /** The picture of some declarations, by index, when the shape after recovery matters. */
      trees?: Record<number, DeclShape>;
      message?: RegExp;
    }
    const cases: RecoveryCase[] = [
      {
        name: "a missing value at the end of a line",
        src: `
agent a {
  top_p: 1
  temperature:
             ^ syntax
}
agent b { }`,
        names: ["a", "b"],
        trees: { 0: ["agent a", ["top_p: 1", "temperature: ?"]] },
      },
      {
        name: "a missing value before '}'",
        src: `
agent a { x: }
           ^ syntax
agent b { }`,
        names: ["a", "b"],
        trees: { 0: ["agent a", ["x: ?"]] },
      },
      {
        name: "a missing '}' before the next declaration",
        src: `
agent a {
        ^ syntax
  x: 1
agent b { y: 2 }`,
        names: ["a", "b"],
        trees: { 0: ["agent a UNCLOSED", ["x: 1"]], 1: ["agent b", ["y: 2"]] },
        message: /This '\{' is not closed/,
      },
      {
        name: "a missing '}' before a test named by a string",
        src: `
agent a {
        ^ syntax
  x: 1
test "t" { send "hi" }`,
        names: ["a", "t"],
      },
      {
        name: "a missing '{'",
        src: `
agent a
  x: 1
  ^ syntax
}
agent b { }`,
        names: ["a", "b"],
        message: /Expected '\{' to start the body of agent 'a'/,
      },
      {
        name: "a missing name",
        src: `
agent {
^^^^^ syntax
  x: 1
}
agent b { }`,
        names: [undefined, "b"],
        trees: { 0: ["agent ?", ["x: 1"]] },
      },
      {
        name: "a string as the name of a declaration other than a test",
        src: `
backend "local" { }
        ^^^^^^^ syntax
agent b { }`,
        names: ["local", "b"],
      },
      {
        name: "a stray token at top level",
        src: `
agent a { }
}
^ syntax
42
agent b { }`,
        names: ["a", "b"],
      },
      {
        name: "an unknown declaration kind suggests the nearest",
        src: `
agnet x {
^^^^^ syntax
  instructions: "hi"
}
agent b { }`,
        names: ["b"],
        message: /did you mean 'agent'/,
      },
      {
        name: "an import without a path",
        src: `
import types
^^^^^^ syntax
agent b { }`,
        names: ["b"],
      },
      {
        name: "a bad member",
        src: `
agent a {
  foo bar
  ^^^^^^^ syntax
  x: 1
}
agent b { }`,
        names: ["a", "b"],
        trees: { 0: ["agent a", ["x: 1"]] },
      },
      {
        name: "two members on one line without a comma, the second not a property",
        src: `
agent a {
  x: 1 foo bar
       ^^^ syntax
  y: 2
}
agent b { }`,
        names: ["a", "b"],
        trees: { 0: ["agent a", ["x: 1", "y: 2"]] },
      },
      {
        name: "two values for one property",
        src: `
agent a { x: "a" "b", y: 2 }
                 ^^^ syntax
agent b { }`,
        names: ["a", "b"],
      },
      {
        name: "an unclosed list",
        src: `
agent a {
  x: [1, 2
     ^ syntax
  y: 2
}
agent b { }`,
        names: ["a", "b"],
        trees: { 0: ["agent a", ["x: [1, 2]", "y: 2"]] },
      },
      {
        name: "list items without a comma",
        src: `
agent a {
  x: [1 2]
        ^ syntax
  y: [
    a
    b
    ^ syntax
  ]
}
agent b { }`,
        names: ["a", "b"],
        trees: { 0: ["agent a", ["x: [1]", "y: [a, b]"]] },
      },
      {
        name: "an unclosed object",
        src: `
agent a {
  x: { a: 1
     ^ syntax
agent b { }`,
        names: ["a", "b"],
      },
      {
        name: "object entries without a comma, and an entry without a name",
        src: `
agent a {
  x: { a: 1 b: 2 }
            ^ syntax
  y: { 1 }
       ^ syntax
}
agent b { }`,
        names: ["a", "b"],
      },
      {
        name: "an unclosed call",
        src: `
agent a {
  x: env(
        ^ syntax
}
agent b { }`,
        names: ["a", "b"],
        message: /This '\(' of env\(\.\.\.\) is not closed/,
      },
      {
        name: "call arguments without a comma",
        src: `
agent a { x: f(1 2) }
                 ^ syntax
agent b { }`,
        names: ["a", "b"],
      },
      {
        name: "a dangling '.' in a reference",
        src: `
agent a { x: vars. }
                 ^ syntax
agent b { }`,
        names: ["a", "b"],
      },
      {
        name: "a bad field",
        src: `
type T {
  x string
  ^^^^^^^^ syntax
  y: number
}
agent b { }`,
        names: ["T", "b"],
        trees: { 0: ["type T", ["field y: number"]] },
      },
      {
        name: "a bad enum value",
        src: `
type T {
  x: enum("a", 1)
               ^ syntax
  y: string
}
agent b { }`,
        names: ["T", "b"],
      },
      {
        name: "a deny without 'when' (last in its block)",
        src: `
agent a {
  policy {
    max_turns: 1
    deny refund
    ^^^^^^^^^^^ syntax
  }
}
agent b { }`,
        names: ["a", "b"],
        trees: { 0: ["agent a", ["policy { max_turns: 1 }"]] },
      },
      {
        name: "an incomplete condition",
        src: `
agent a {
  policy {
    deny refund when input.amount >
                                  ^ syntax
    max_turns: 1
  }
}
agent b { }`,
        names: ["a", "b"],
        trees: { 0: ["agent a", ["policy { deny refund when ?; max_turns: 1 }"]] },
      },
      {
        name: "an unclosed parenthesis in a condition",
        src: `
agent a {
  policy {
    deny refund when (input.amount > 1
                     ^ syntax
  }
}
agent b { }`,
        names: ["a", "b"],
      },
      {
        name: "bad test steps",
        src: `
test "t" {
  model says "x"
        ^^^^ syntax
  send 42
       ^^ syntax
  expect reply says "x"
               ^^^^ syntax
  expect memory.x 1
                  ^ syntax
  model calls t "x"
                ^^^ syntax
  expect tool x maybe
                ^^^^^ syntax
  send "ok"
  expect tool
         ^^^^ syntax
}
agent b { }`,
        names: ["t", "b"],
        trees: { 0: ['test "t"', ['send "ok"']] },
      },
      {
        name: "stray commas",
        src: `
agent a {
  , x: 1
  ^ syntax
  y: 2,,
       ^ syntax
}
agent b { }`,
        names: ["a", "b"],
        trees: { 0: ["agent a", ["x: 1", "y: 2"]] },
      },
      {
        name: "an extra '}' after a declaration",
        src: `
agent a { }}
           ^ syntax
agent b { }`,
        names: ["a", "b"],
      },
      {
        name: "an unterminated string in the middle of an agent",
        src: `
agent a {
  description: "no closing quote
               ^^^^^^^^^^^^^^^^^ unterminated-string
  tools: [x, y]
  model: "m"
}
agent b { }`,
        names: ["a", "b"],
        trees: { 0: ["agent a", ['description: "no closing quote"', "tools: [x, y]", 'model: "m"']] },
      },
      {
        name: "an unterminated text block at top level swallows the rest of the file",
        src: `
agent a { }
"""
^^^ unterminated-string
  abc
agent b { }`,
        names: ["a"],
      },
      {
        name: "bad escapes and templates are lexical errors; the tree is intact",
        src: `
agent a {
  instructions: "Hi {{ 1x }} and \\q"
                    ^^^^^^^^ syntax
                                 ^^ syntax
  x: 1
}
agent b { }`,
        names: ["a", "b"],
      },
      {
        name: "garbage characters",
        src: `
agent a {
  x: @
     ^ syntax
  # y
  ^ syntax
  z: 1
}
agent b { }`,
        names: ["a", "b"],
        trees: { 0: ["agent a", ["x: ?", "z: 1"]] },
      },
      {
        name: "several broken declarations in one file",
        src: `
agent a {
  x:
   ^ syntax
}
agnet b { }
^^^^^ syntax
tool c {
       ^ syntax
  description: "d"
type D {
  x string
  ^^^^^^^^ syntax
}
agent e { }`,
        names: ["a", "c", "D", "e"],
      },
      { name: "an empty file", src: "", names: [] },
      { name: "only whitespace", src: "\n  \r\n\t\n", names: [] },
      { name: "only comments", src: "// one\n/* two\n   lines */\n// three", names: [] },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const { text, expected } = marked(c.src);
        const { file, diagnostics } = parse(text, "test.agent");
        assert.deepEqual(
          diagnostics.map((d): DiagRow => [d.code, d.span.start, d.span.end]),
          expected,
          diagnostics
            .map((d) => `${d.code} ${JSON.stringify(text.slice(d.span.start, d.span.end))}: ${d.message}`)
            .join("\n"),
        );
        assert.deepEqual(file.declarations.map(declarationName), c.names);
        for (const [i, tree] of Object.entries(c.trees ?? {}))
          assert.deepEqual(showDeclaration(file.declarations[Number(i)]), tree);
        if (c.message) assert.match(diagnostics[0].message, c.message);
        for (const d of diagnostics) assert.equal(d.severity, "error");
        checkSpans(file, false);
      });
    }

    it("the diagnostics of a file of only comments and of an empty file are empty, and so are their trees", () => {
      for (const text of ["", "// c", "/* c */"]) {
        const { file, diagnostics } = parse(text, "x.agent");
        assert.deepEqual([file.imports, file.declarations, diagnostics], [[], [], []]);
      }
    });
  });

  describe("ranges", () => {
    const inputs = [
      ...EXAMPLES,
      {
        name: "a file with every construct",
        text: [
          'import "a.agent"',
          "backend local { kind: stateless provider: local }",
          'type Order { id: string "The id", status?: enum("a", "b")[], items: LineItem[] }',
          "tool t {",
          '  description: "d"',
          "  input { order_id: string }",
          '  run: http("GET", "https://x/{{ input.order_id }}")',
          "}",
          "agent a {",
          '  instructions: """',
          "    Hello {{ user.name }}, {{memory.x}}.",
          '  """',
          "  nested: { a: [1, { b: f(x.y, [true, null]) }] }",
          "  policy {",
          '    deny t when not (input.a > 1 or input.b contains "x") and input.c matches "y"',
          "  }",
          "}",
          'test "t" {',
          '  model calls t { order_id: "A" }, tool t returns [1], tool t fails "no"',
          '  model hands_off a, approve t, reject t, send "hi"',
          '  expect tool t called with { order_id: "A" }, expect tool t not called, expect tool t denied',
          '  expect handoff a, expect memory.x.y == 1, expect tokens < 5, expect turns <= 1, expect reply matches "x"',
          "}",
        ].join("\r\n"),
      },
      { name: "text after an emoji", text: 'agent a {\n  s: "😀 {{ a.b }}"\n  t: "🚀" u: [x.y]\n}' },
    ];
    for (const input of inputs) {
      it(`every span lies within its parent and identifiers span their names: ${input.name}`, () => {
        const { file, diagnostics } = parse(input.text, input.name);
        assert.deepEqual(diagnostics, []);
        const { nodes } = checkSpans(file, true);
        assert.ok(nodes > 10, "the walk visited the tree");
      });
    }

    it("declarations, blocks, members and values span exactly their text", () => {
      const src = "agent a {\n  x: [1, 2]\n  b { y: f(1) }\n}\n";
      const [decl] = parseClean(src).declarations;
      const [x, b] = decl.body.members;
      assert.ok(x.type === "Property" && b.type === "BlockMember" && x.value.type === "List");
      const text = (s: Span) => src.slice(s.start, s.end);
      assert.deepEqual(
        [text(decl), text(decl.body), text(x), text(x.value), text(b), text(b.body)],
        [
          src.trimEnd(),
          src.slice(src.indexOf("{"), -1),
          "x: [1, 2]",
          "[1, 2]",
          "b { y: f(1) }",
          "{ y: f(1) }",
        ],
      );
      const [y] = b.body.members;
      assert.ok(y.type === "Property" && y.value.type === "Call");
      assert.deepEqual([text(y.value), text(y.value.argsSpan)], ["f(1)", "1"]);
    });

    it("a missing value is a zero-width node after the ':'", () => {
      const src = "agent a {\n  x:\n}";
      const [x] = parse(src, "t").file.declarations[0].body.members;
      assert.ok(x.type === "Property");
      assert.deepEqual([x.value.type, x.value.start, x.value.end], ["Missing", 14, 14]);
    });
  });

  describe("properties", () => {
    /** Every span of the tree, the comments and the diagnostics lies within [0, text.length]; parse never throws. */
    function checkAnyText(text: string): void {
      const { file } = parse(text, "fuzz.agent");
      checkSpans(file, false);
      checkDiagnosticSpans(text);
    }

    const PUNCTUATION = '{}[]():,."\n';
    const FUZZ_BASE = EXAMPLES.map((e) => e.text);

    type Edit = {
      op: "delete" | "insert" | "duplicate" | "punctuation";
      at: number;
      length: number;
      text: string;
    };
    const edit: fc.Arbitrary<Edit> = fc.record({
      op: fc.constantFrom("delete", "insert", "duplicate", "punctuation"),
      at: fc.nat(),
      length: fc.nat({ max: 60 }),
      text: fc.string({ maxLength: 8 }),
    });
    const mutated = fc
      .tuple(fc.constantFrom(...FUZZ_BASE), fc.array(edit, { minLength: 1, maxLength: 8 }))
      .map(([base, edits]) => {
        let t = base;
        for (const e of edits) {
          const i = e.at % (t.length + 1);
          if (e.op === "delete") t = t.slice(0, i) + t.slice(i + e.length);
          else if (e.op === "insert") t = t.slice(0, i) + e.text + t.slice(i);
          else if (e.op === "duplicate") t = t.slice(0, i) + t.slice(i, i + e.length) + t.slice(i);
          else t = t.slice(0, i) + PUNCTUATION[e.length % PUNCTUATION.length] + t.slice(i);
        }
        return t;
      });
    const tokenSoup = fc
      .array(
        fc.constantFrom(
          ...[
            "agent",
            "test",
            "type",
            "tool",
            "a",
            "deny",
            "when",
            "send",
            "expect",
            "model",
            "not",
            "and",
            "or",
          ],
          ...["{", "}", "[", "]", "(", ")", ":", ",", ".", "?", '"', '"x"', '"""', "==", "<", "1", "@"],
          ...[" ", " ", "\n", "\n  ", "\r\n", "//c\n", "/*", "*/"],
        ),
        { maxLength: 60 },
      )
      .map((parts) => parts.join(""));

    it("parse never throws and keeps every span inside the text, for arbitrary strings", () => {
      fc.assert(
        fc.property(
          fc.oneof(
            fc.string({ unit: "binary", maxLength: 300 }),
            fc.string({ unit: "grapheme", maxLength: 300 }),
            tokenSoup,
          ),
          (text) => checkAnyText(text),
        ),
        { numRuns: 400 },
      );
    });

    it("parse never throws and keeps every span inside the text, for mutated example files", () => {
      fc.assert(
        fc.property(mutated, (text) => checkAnyText(text)),
        { numRuns: 200 },
      );
    });

    describe("work is linear in the input", () => {
      // A valid part and a broken part with three independent errors; repeating it k times must
      // give exactly k times the declarations, diagnostics, tree nodes and tokens.
      const broken = ["agent broken {", "  x:", "  foo bar", '  s: "open', "}", "agnet y { }", ""].join("\n");
      const unit = EXAMPLES.map((e) => e.text + "\n").join("") + broken;
      const measure = (text: string) => {
        const { file, diagnostics } = parse(text, "big.agent");
        return {
          declarations: file.declarations.length,
          diagnostics: diagnostics.length,
          nodes: checkSpans(file, false).nodes,
          tokens: tokenize(text).tokens.length - 1,
        };
      };
      const one = measure(unit);

      it("the unit itself has declarations and diagnostics", () => {
        assert.ok(one.declarations > 10);
        assert.equal(one.diagnostics, 3);
      });
      for (const k of [8, 64]) {
        it(`k = ${k}: exactly k times the work of one copy`, () => {
          const m = measure(unit.repeat(k));
          assert.deepEqual(m, {
            declarations: k * one.declarations,
            diagnostics: k * one.diagnostics,
            nodes: k * one.nodes,
            tokens: k * one.tokens,
          });
        });
      }
    });

    describe("pathological inputs finish, with one diagnostic per broken construct", () => {
      const N = 10_000;
      it(`${N} lines holding a single '"'`, () => {
        const text = '"\n'.repeat(N);
        const diagnostics = parse(text, "p.agent").diagnostics;
        assert.equal(diagnostics.length, N);
        diagnostics.forEach((d, i) =>
          assert.deepEqual([d.code, d.span.start, d.span.end], ["unterminated-string", 2 * i, 2 * i + 1]),
        );
      });

      it(`${N / 2} unterminated strings on alternating lines of an agent`, () => {
        const text = "agent a {\n" + '  s: "\n  n: 1\n'.repeat(N / 2) + "}\nagent b { }\n";
        const { file, diagnostics } = parse(text, "p.agent");
        assert.equal(diagnostics.length, N / 2);
        assert.ok(diagnostics.every((d) => d.code === "unterminated-string"));
        assert.deepEqual(
          file.declarations.map((d) => [declarationName(d), d.body.members.length, d.body.closed]),
          [
            ["a", N, true],
            ["b", 0, true],
          ],
        );
      });

      it(`${N} declarations with an unclosed '{'`, () => {
        const text = "agent a {\n  x: 1\n".repeat(N);
        const { file, diagnostics } = parse(text, "p.agent");
        assert.equal(file.declarations.length, N);
        assert.equal(diagnostics.length, N);
        assert.ok(diagnostics.every((d) => d.code === "syntax" && text[d.span.start] === "{"));
      });

      for (const ch of ["{", "[", "(", "}", "]", ")", ":", ","]) {
        it(`${N} '${ch}' at top level`, () => {
          const diagnostics = parse(ch.repeat(N) + "\nagent b { }", "p.agent").diagnostics;
          assert.deepEqual(
            diagnostics.map((d) => [d.span.start, d.span.end]),
            [[0, 1]],
          );
        });
      }

      it(`${N} stray commas in a block`, () => {
        const diagnostics = parse(`agent a {${",".repeat(N)}}`, "p.agent").diagnostics;
        assert.equal(diagnostics.length, N);
      });

      it(`'{{' repeated ${N} times in a string`, () => {
        const text = `agent a { s: "${"{{".repeat(N)}" }`;
        assert.deepEqual(diagRows(text), [["syntax", 14, 16]]);
      });

      // Nesting is recursive; a depth that real files never reach must still work.
      const DEPTH = 500;
      const nested: [string, string, string][] = [
        ["blocks", "agent a {\n", "  x {\n"],
        ["lists", "agent a { x: ", "["],
        ["objects", "agent a { x: ", "{ a: "],
        ["parentheses", "agent a { policy { deny r when ", "("],
        ["nots", "agent a { policy { deny r when ", "not "],
      ];
      for (const [name, head, open] of nested) {
        it(`${DEPTH} unclosed nested ${name}: one diagnostic`, () => {
          const text = head + open.repeat(DEPTH);
          const diagnostics = parse(text, "p.agent").diagnostics;
          assert.equal(diagnostics.length, 1, JSON.stringify(diagnostics.map((d) => d.message)));
        });
      }
    });
  });
});

// Inputs that once hung, crashed or cascaded (found by the property tests above); each names the fix.
describe("parse: regressions", () => {
  const run = (text: string) => {
    const r = parse(text, "/r.agent");
    const d = r.diagnostics.map((x) => [x.code, x.span.start, x.span.end]);
    const names = r.file.declarations.map((x) =>
      x.name?.type === "Identifier" ? x.name.name : x.name?.value,
    );
    return { r, d, names };
  };
  const members = (text: string, i = 0) =>
    parse(text, "/r.agent").file.declarations[i].body.members.map((m) =>
      m.type === "Property" || m.type === "BlockMember" || m.type === "Field"
        ? m.name.name
        : m.type === "Step"
          ? m.step
          : m.type,
    );

  it("a list whose next line starts with a token that cannot start a value terminates and recovers", () => {
    for (const text of [
      "agent a { x: [\n) }\nagent b {}",
      "agent a { x: [1\n:\n}\nagent b {}",
      "agent a { x: [\n@\n}\nagent b {}",
    ]) {
      const { d, names } = run(text);
      assert.deepEqual(names, ["a", "b"], text);
      assert.ok(d.length >= 1 && d.length <= 2, `${text}: ${JSON.stringify(d)}`);
    }
  });

  it("deep nesting gives one error instead of a stack overflow, and the next declaration parses", () => {
    for (const text of [
      "agent a {\n" + "  x {\n".repeat(5000) + "agent b {}\n",
      "agent a { x: " + "[".repeat(5000) + "\nagent b {}\n",
      "agent a { x: " + "{ a: ".repeat(5000) + "\nagent b {}\n",
      "agent a { x: " + "f(".repeat(5000) + "\nagent b {}\n",
      "agent a { policy { deny r when " + "(".repeat(5000) + "\n}}\nagent b {}\n",
      "agent a { policy { deny r when " + "not ".repeat(20000) + "x\n}}\nagent b {}\n",
    ]) {
      const { r, names } = run(text);
      assert.deepEqual(names, ["a", "b"]);
      assert.equal(r.diagnostics.length, 1, JSON.stringify(r.diagnostics.map((x) => x.message)));
      assert.match(r.diagnostics[0].message, /Nesting deeper than 200 levels/);
    }
  });

  it("a backslash at the very end stays inside the text", () => {
    assert.deepEqual(run('"\\').d, [["unterminated-string", 0, 2]]);
  });

  it("a backslash at the end of a line does not swallow the line break", () => {
    const text = 'agent a {\n  x: "abc\\\n  y: 1\n}';
    assert.deepEqual(run(text).d, [["unterminated-string", text.indexOf('"'), text.indexOf("\\") + 1]]);
    assert.deepEqual(members(text), ["x", "y"]);
  });

  it("a member that fails at the end of its line keeps the next line", () => {
    assert.deepEqual(members('test t {\n  expect tool\n  send "ok"\n}'), ["send"]);
    assert.deepEqual(members("agent a {\n  policy {\n    deny refund\n    max_turns: 1\n  }\n}"), ["policy"]);
    const policy = parse("agent a {\n  policy {\n    deny refund\n    max_turns: 1\n  }\n}", "/r").file
      .declarations[0].body.members[0];
    assert.ok(policy.type === "BlockMember");
    assert.deepEqual(
      policy.body.members.map((m) => (m.type === "Property" ? m.name.name : m.type)),
      ["max_turns"],
    );
    assert.deepEqual(members("type T {\n  x:\n  y: number\n}"), ["y"]);
    assert.deepEqual(members('type T {\n  x: enum("a", "b"\n  y: number\n}'), ["y"]);
  });

  it("a value missing at the end of a line does not take the next member's name", () => {
    const text = "agent a {\n  temperature:\n  top_p: 1\n}";
    const colon = text.indexOf(":");
    assert.deepEqual(run(text).d, [["syntax", colon, colon + 1]]);
    assert.deepEqual(members(text), ["temperature", "top_p"]);
    assert.deepEqual(members("agent a {\n  tools:\n  policy { max_turns: 1 }\n}"), ["tools", "policy"]);
  });

  it("an unclosed call reports once, on its own parenthesis", () => {
    const text = 'agent a {\n  x: env("a"\n  y: 2\n}';
    const paren = text.indexOf("(");
    assert.deepEqual(run(text).d, [["syntax", paren, paren + 1]]);
    assert.deepEqual(members(text), ["x", "y"]);
    assert.equal(run("agent a { x: f(g(").d.length, 1);
    const one = "agent a { x: f(g()";
    assert.deepEqual(run(one).d, [["syntax", one.indexOf("("), one.indexOf("(") + 1]]);
  });

  it("skipping an unbalanced opener stops at the enclosing block's brace", () => {
    const text = "agent a {\n  x: 1 [\n  y: 2\n}\nagent b { }";
    const { r, d, names } = run(text);
    assert.equal(d.length, 1);
    assert.deepEqual(names, ["a", "b"]);
    assert.equal(r.file.declarations[0].body.closed, true);
  });

  it("an unterminated text block or block comment is the only error", () => {
    assert.deepEqual(
      run('agent a {\n  instructions: """\n    abc\n}\nagent b { }').d.map((x) => x[0]),
      ["unterminated-string"],
    );
    assert.deepEqual(
      run("agent a {\n  x: 1 /* oops\n}\nagent b { }").d.map((x) => x[0]),
      ["syntax"],
    );
  });

  it("text block escapes are applied after indentation is trimmed", () => {
    const decl = parse('agent a {\n  instructions: """\n    \\tx\n      y\n  """\n}', "/r").file
      .declarations[0];
    const p = decl.body.members[0];
    assert.ok(p.type === "Property" && p.value.type === "String");
    assert.equal(p.value.value, "\tx\n  y");
  });

  it("keeps literal braces apart from templates in the template form", () => {
    const decl = parse('agent a { instructions: "a \\{{ x }} \\\\ {{ vars.y }}" }', "/r").file
      .declarations[0];
    const p = decl.body.members[0];
    assert.ok(p.type === "Property" && p.value.type === "String");
    assert.equal(p.value.value, "a {{ x }} \\ {{ vars.y }}");
    assert.equal(p.value.template, "a \\{{ x }} \\\\ {{ vars.y }}");
    assert.deepEqual(
      p.value.templates.map((t) => t.path.join(".")),
      ["vars.y"],
    );
  });
});
