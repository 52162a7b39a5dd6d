// The formatter: table cases for each layout rule, refusal on broken files, idempotence, and the promise
// that formatting never changes the tokens of a file (checked on cases, example files and random files).
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import fc from "fast-check";
import { applyEdits, format, formatRange } from "../../server/language/format";
import { tokenize } from "../../server/language/tokenize";

const ROOT = path.resolve(__dirname, "../..");

const lines = (...l: string[]) => l.join("\n") + "\n";

function formatted(text: string, indent?: number): string {
  const r = format(text, indent === undefined ? {} : { indent });
  if ("error" in r) assert.fail(`format refused: ${r.error}\n${text}`);
  return r.text;
}

/** What a file means to the parser: token kinds and cooked values, without positions. */
function meaning(text: string): string[] {
  return tokenize(text).tokens.map((t) => `${t.kind} ${JSON.stringify(t.value ?? t.text)}`);
}

function assertStable(text: string): void {
  const once = formatted(text);
  assert.equal(formatted(once), once, "formatting twice gives the same text");
  assert.deepEqual(meaning(once), meaning(text), "formatting keeps every token and value");
  assert.deepEqual(
    tokenize(once).tokens.map((t) => t.newlineBefore),
    tokenize(text).tokens.map((t) => t.newlineBefore),
    "formatting keeps the line breaks between tokens",
  );
}

interface Case {
  name: string;
  input: string;
  expected: string;
  indent?: number;
}

const CASES: Case[] = [
  {
    name: "messy spacing on one line",
    input: "backend   local{kind:stateless  ,provider : local}",
    expected: lines("backend local { kind: stateless, provider: local }"),
  },
  {
    name: "re-indents by nesting, whatever the author used",
    input: 'agent a {\n\t\tdescription: "x"\n        identity {\nrole: "r"\n    scopes: ["a"]\n     }\n}\n',
    expected: lines(
      "agent a {",
      '  description: "x"',
      "  identity {",
      '    role: "r"',
      '    scopes: ["a"]',
      "  }",
      "}",
    ),
  },
  {
    name: "indent option",
    indent: 4,
    input: 'agent a {\n  identity {\n    role: "r"\n  }\n}\n',
    expected: lines("agent a {", "    identity {", '        role: "r"', "    }", "}"),
  },
  {
    name: "blank lines: none at the start, one kept between members, none after '{' or before '}'",
    input: "\n\n\nagent a {\n\n\n  x: 1\n\n\n\n  y: 2\n\n}\n\n\n\nagent b {\n  z: 3\n}\n\n\n",
    expected: lines("agent a {", "  x: 1", "", "  y: 2", "}", "", "agent b {", "  z: 3", "}"),
  },
  {
    name: "a missing final newline is added",
    input: "agent a { x: 1 }",
    expected: lines("agent a { x: 1 }"),
  },
  {
    name: "trailing whitespace is removed",
    input: "agent a {   \n  x: 1\t \n}  \n",
    expected: lines("agent a {", "  x: 1", "}"),
  },
  {
    name: "CRLF line endings become LF",
    input: "agent a {\r\n  x: 1 // note\r\n\r\n  y: [1,2]\r\n}\r\n",
    expected: lines("agent a {", "  x: 1 // note", "", "  y: [1, 2]", "}"),
  },
  {
    name: "a text block in an indented agent keeps its bytes, closing line included",
    input: [
      "    agent support {",
      '        instructions: """',
      "          You are the agent for {{ vars.company }}.",
      "            Indented more.",
      "",
      "          Last line.   ",
      '        """',
      '        vars {company:"Acme"}',
      "    }",
      "",
    ].join("\n"),
    expected: lines(
      "agent support {",
      '  instructions: """',
      "          You are the agent for {{ vars.company }}.",
      "            Indented more.",
      "",
      "          Last line.   ",
      '        """',
      '  vars { company: "Acme" }',
      "}",
    ),
  },
  {
    name: "a text block's CRLF become LF, nothing else in it changes",
    input: 'agent a {\r\n  instructions: """\r\n      Hi\r\n        there\r\n  """\r\n}\r\n',
    expected: lines("agent a {", '  instructions: """', "      Hi", "        there", '  """', "}"),
  },
  {
    name: "a text block that opens and closes on its line",
    input: 'agent a {\ninstructions:"""one line"""\n}',
    expected: lines("agent a {", '  instructions: """one line"""', "}"),
  },
  {
    name: "an object spanning lines",
    input: 'test "t" {\n  user: {\n      id: "u1",\n  name:"Ada"\n      }\n}\n',
    expected: lines('test "t" {', "  user: {", '    id: "u1",', '    name: "Ada"', "  }", "}"),
  },
  {
    name: "a list spanning lines, trailing comma kept",
    input: "agent a {\n  tools: [\n lookup_order ,\n        refund,\n]\n}\n",
    expected: lines("agent a {", "  tools: [", "    lookup_order,", "    refund,", "  ]", "}"),
  },
  {
    name: "brackets opened on one line indent once",
    input: "tool t {\n  x: [{\n        a: 1\n    }, {\n  a: 2\n  }]\n}\n",
    expected: lines("tool t {", "  x: [{", "    a: 1", "  }, {", "    a: 2", "  }]", "}"),
  },
  {
    name: "inline objects get inner spaces, empty ones stay empty, lists and calls stay tight",
    input: 'test "t" {\n  user: {id:"u1"}\n  x: { }\n  y: [ ]\n  z: [ { a : 1 } ]\n}\n',
    expected: lines('test "t" {', '  user: { id: "u1" }', "  x: {}", "  y: []", "  z: [{ a: 1 }]", "}"),
  },
  {
    name: "calls and nested calls",
    input:
      'tool t {\n  run : command ( "node" , [ "a.js" ,"b" ] )\n  x: http( "GET","https://h/{{input.id}}" )\n}\n',
    expected: lines(
      "tool t {",
      '  run: command("node", ["a.js", "b"])',
      '  x: http("GET", "https://h/{{input.id}}")',
      "}",
    ),
  },
  {
    name: "a policy with a deny rule and a parenthesised condition",
    input:
      'agent a {\n  policy {\n    require_approval:[refund]\n    deny refund when input . amount>500 or not(input.note contains "x")\n    deny refund when(input.a==1 and input.b!=2)\n  }\n}\n',
    expected: lines(
      "agent a {",
      "  policy {",
      "    require_approval: [refund]",
      '    deny refund when input.amount > 500 or not (input.note contains "x")',
      "    deny refund when (input.a == 1 and input.b != 2)",
      "  }",
      "}",
    ),
  },
  {
    name: "test steps",
    input: [
      'test   "refund over the limit"{',
      "agent:support",
      'model calls lookup_order {order_id:"A1"}',
      'tool lookup_order returns {id:"A1",total:900}',
      'model replies   "No."',
      'send "Refund A1"',
      'expect tool refund called with {order_id:"A1"}',
      "expect tool refund   not called",
      "expect memory . open_tickets==0",
      "expect tokens<5000",
      "}",
    ].join("\n"),
    expected: lines(
      'test "refund over the limit" {',
      "  agent: support",
      '  model calls lookup_order { order_id: "A1" }',
      '  tool lookup_order returns { id: "A1", total: 900 }',
      '  model replies "No."',
      '  send "Refund A1"',
      '  expect tool refund called with { order_id: "A1" }',
      "  expect tool refund not called",
      "  expect memory.open_tickets == 0",
      "  expect tokens < 5000",
      "}",
    ),
  },
  {
    name: "type fields: optional mark, list suffix, enum and description",
    input:
      'type Order {\n  id :string    "The id"\n  items ? : LineItem [ ]\n  status: enum ( "open","shipped" )\n  tags?:enum("a")[]\n}\n',
    expected: lines(
      "type Order {",
      '  id: string "The id"',
      "  items?: LineItem[]",
      '  status: enum("open", "shipped")',
      '  tags?: enum("a")[]',
      "}",
    ),
  },
  {
    name: "inline blocks, imports and numbers",
    input: 'import   "a.agent"\ntool t {\n  input{order_id:string "id"}\n  timeout_ms:5_000\n  x: -0.25\n}\n',
    expected: lines(
      'import "a.agent"',
      "tool t {",
      '  input { order_id: string "id" }',
      "  timeout_ms: 5_000",
      "  x: -0.25",
      "}",
    ),
  },
  {
    name: "line comments: at the start, after code, on their own line, before '}', after '{'",
    input: [
      "   // header   ",
      "",
      "",
      "agent a {    // opens",
      "",
      "      // about x",
      "  x: 1      // one",
      "",
      "        // last, before the brace",
      "}",
      "// end of file",
    ].join("\n"),
    expected: lines(
      "// header",
      "",
      "agent a { // opens",
      "  // about x",
      "  x: 1 // one",
      "",
      "  // last, before the brace",
      "}",
      "// end of file",
    ),
  },
  {
    name: "comments inside a list and an object spanning lines",
    input:
      "agent a {\n  tools: [\n    // first\n    a, // why a\n  b\n  // none after b\n  ]\n  user: { // who\n  id: 1\n  }\n}\n",
    expected: lines(
      "agent a {",
      "  tools: [",
      "    // first",
      "    a, // why a",
      "    b",
      "    // none after b",
      "  ]",
      "  user: { // who",
      "    id: 1",
      "  }",
      "}",
    ),
  },
  {
    name: "block comments: inline spacing, content kept, trailing whitespace on their lines removed",
    input: [
      "/* header",
      "      keeps its inner layout   ",
      "*/",
      "agent a {",
      "  x:/*one*/1",
      "  y: [/* none */]",
      "  z: f(1 /* a */,2)",
      "    /* own line */",
      "}",
    ].join("\n"),
    expected: lines(
      "/* header",
      "      keeps its inner layout",
      "*/",
      "agent a {",
      "  x: /*one*/ 1",
      "  y: [/* none */]",
      "  z: f(1 /* a */, 2)",
      "  /* own line */",
      "}",
    ),
  },
  {
    name: "a multi-line block comment between tokens keeps the line break it makes",
    input: "agent a {\n  x: 1 /* spans\n  lines */ y: 2\n}\n",
    expected: lines("agent a {", "  x: 1 /* spans", "  lines */ y: 2", "}"),
  },
  {
    name: "an empty file stays empty",
    input: "\n\n   \n",
    expected: "",
  },
  {
    name: "a file of comments only",
    input: "\n// a\n\n\n/* b */\n",
    expected: lines("// a", "", "/* b */"),
  },
  {
    name: "already formatted text is unchanged",
    input: lines("agent a {", '  description: "d"', "", "  policy {", "    max_turns: 3", "  }", "}"),
    expected: lines("agent a {", '  description: "d"', "", "  policy {", "    max_turns: 3", "  }", "}"),
  },
];

describe("format", () => {
  for (const c of CASES) {
    it(c.name, () => {
      assert.equal(formatted(c.input, c.indent), c.expected);
      assert.equal(formatted(c.expected, c.indent), c.expected, "the expected text is a fixed point");
      assertStable(c.input);
    });
  }

  it("reports whether the text changed", () => {
    assert.deepEqual(format("agent a {\n  x: 1\n}\n"), { text: "agent a {\n  x: 1\n}\n", changed: false });
    assert.deepEqual(format("agent a {\nx: 1\n}\n"), { text: "agent a {\n  x: 1\n}\n", changed: true });
  });

  const BROKEN: [string, string, RegExp][] = [
    ["an unclosed block", "agent a {\n  x: 1\n", /line 1, column 9: .*'\{' is not closed/],
    ["a missing value", "agent a {\n  x:\n}\n", /line 2/],
    ["an unterminated string", 'agent a {\n  x: "abc\n}\n', /String is not closed/],
    ["an unterminated text block", 'agent a {\n  x: """\n  abc\n}\n', /Text block is not closed/],
    ["an invalid character", "agent a {\n  x: 1 $\n}\n", /line 2/],
  ];
  for (const [what, input, message] of BROKEN) {
    it(`refuses ${what}`, () => {
      const r = format(input);
      assert.ok("error" in r, "format should refuse");
      assert.match(r.error, /^Cannot format a file with syntax errors: /);
      assert.match(r.error, message);
      assert.deepEqual(formatRange(input, 0, input.length), []);
    });
  }

  describe("files in examples/ and test/fixtures/", () => {
    const files = [path.join(ROOT, "examples"), path.join(ROOT, "test/fixtures")]
      .filter((dir) => fs.existsSync(dir))
      .flatMap((dir) =>
        fs
          .readdirSync(dir, { recursive: true, encoding: "utf8" })
          .filter((f) => f.endsWith(".agent"))
          .map((f) => path.join(dir, f)),
      );
    for (const file of files) {
      it(path.relative(ROOT, file), () => {
        const text = fs.readFileSync(file, "utf8");
        // Fixtures may be broken on purpose; those must be refused, not mangled.
        if ("error" in format(text)) return;
        assertStable(text);
      });
    }
  });
});

describe("formatRange", () => {
  const messy = ["agent a {", "x:1", "      y :  2", "", "", "", "z: [1 ,2]   ", "}"].join("\n");
  const offsetOfLine = (text: string, line: number) => text.split("\n").slice(0, line).join("\n").length + 1;

  it("touches only the lines in the range", () => {
    const start = offsetOfLine(messy, 2);
    const out = applyEdits(messy, formatRange(messy, start + 3, start + 5));
    assert.equal(out, ["agent a {", "x:1", "  y: 2", "", "", "", "z: [1 ,2]   ", "}"].join("\n"));
  });

  it("a range over several lines fixes each of them, blank lines included", () => {
    const out = applyEdits(messy, formatRange(messy, offsetOfLine(messy, 1), offsetOfLine(messy, 5) + 1));
    assert.equal(out, ["agent a {", "  x: 1", "  y: 2", "", "z: [1 ,2]   ", "}"].join("\n"));
  });

  it("a selection ending at the start of a line does not include that line", () => {
    const start = offsetOfLine(messy, 1);
    const out = applyEdits(messy, formatRange(messy, start, offsetOfLine(messy, 2)));
    assert.equal(out, ["agent a {", "  x: 1", "      y :  2", "", "", "", "z: [1 ,2]   ", "}"].join("\n"));
  });

  it("the whole document in range gives the same text as format", () => {
    for (const c of CASES) {
      if (c.indent !== undefined) continue;
      assert.equal(applyEdits(c.input, formatRange(c.input, 0, c.input.length)), c.expected, c.name);
    }
  });

  it("every edit lies within one line of the original text", () => {
    for (const c of CASES) {
      for (const e of formatRange(c.input, 0, c.input.length)) {
        const inner = c.input.slice(e.start, e.end);
        assert.ok(!inner.slice(0, -1).includes("\n"), `${c.name}: edit ${JSON.stringify(inner)} spans lines`);
      }
    }
  });

  it("a range in a formatted document gives no edits", () => {
    const text = CASES[CASES.length - 1].expected;
    assert.deepEqual(formatRange(text, 0, text.length), []);
  });
});

// ---- random files ----------------------------------------------------------------

const cat = (...parts: fc.Arbitrary<string>[]) => fc.tuple(...parts).map((p) => p.join(""));
const lit = (s: string) => fc.constant(s);
/** Where no space is needed: next to punctuation. */
const hs = fc.constantFrom("", " ", "  ", "\t", " /* c */ ");
/** Between two words: at least one space. */
const ws = fc.constantFrom(" ", "  ", "\t", " /* c */ ");
/** A line break, with blank lines, stray indentation, CRLF or comments. */
const nl = fc.constantFrom(
  "\n",
  "\r\n",
  "\n\n",
  "\n\n\n  ",
  "\n    ",
  "  // note  \n",
  "\n\t// own line\n\n",
  " \t\n",
);
const name = fc.constantFrom("a", "order_id", "x1", "total", "status");
const scalar = fc.constantFrom(
  "42",
  "-3",
  "0.25",
  "1e6",
  "128_000",
  "true",
  "null",
  '"hi"',
  '""',
  '"with {{ vars.x }}"',
  '"esc \\" \\n \\u{41} \\{{"',
);
const reference = fc.oneof(name, cat(name, hs, lit("."), hs, name));

const { value } = fc.letrec<{ value: string; list: string; object: string; call: string }>((tie) => ({
  value: fc.oneof({ depthSize: "small" }, scalar, reference, tie("list"), tie("object"), tie("call")),
  list: fc
    .tuple(
      fc.constantFrom("[", "[\n", "[ "),
      fc.array(fc.tuple(tie("value"), fc.constantFrom(",", ", ", " , ", ",\n", ",\r\n  ", ", // c\n")), {
        maxLength: 3,
      }),
      fc.constantFrom("]", "\n]", ",]", " ]"),
    )
    .map(([open, items, close]) => {
      if (items.length === 0) return "[]";
      const body = items.map(([v, sep], i) => (i < items.length - 1 ? v + sep : v)).join("");
      return open + body + close;
    }),
  object: fc
    .tuple(
      fc.constantFrom("{", "{\n", "{ "),
      fc.array(fc.tuple(name, hs, hs, tie("value"), fc.constantFrom(",", ", ", "\n", ",\n")), {
        maxLength: 3,
      }),
      fc.constantFrom("}", "\n}", " }"),
    )
    .map(([open, entries, close]) => {
      if (entries.length === 0) return "{ }";
      const body = entries.map(
        ([k, s1, s2, v, sep], i) => `${k}${s1}:${s2}${v}${i < entries.length - 1 ? sep : ""}`,
      );
      return open + body.join("") + close;
    }),
  call: cat(fc.constantFrom("env", "file", "command"), hs, lit("("), hs, tie("value"), hs, lit(")")),
}));

const property = cat(name, hs, lit(":"), hs, value);
const textBlock = fc
  .tuple(fc.constantFrom("\n", "\r\n"), fc.constantFrom("", "  ", "        "))
  .map(([eol, pad]) =>
    [
      "instructions: " + '"""',
      `${pad}  Hello {{ vars.company }}.  `,
      `${pad}    Indented.`,
      "",
      `${pad}"""`,
    ].join(eol),
  );
const condition = fc.oneof(
  cat(lit("input"), hs, lit("."), name, hs, fc.constantFrom(">", "<=", "==", "!="), hs, scalar),
  cat(lit("not"), hs, lit("("), hs, lit("input.a"), ws, lit("contains"), ws, lit('"x"'), hs, lit(")")),
  cat(
    lit("input.a"),
    hs,
    lit("=="),
    hs,
    lit("1"),
    ws,
    fc.constantFrom("and", "or"),
    hs,
    lit("("),
    lit("input.b"),
    hs,
    lit("<"),
    hs,
    lit("2"),
    lit(")"),
  ),
);
const policy = cat(
  lit("policy"),
  hs,
  lit("{"),
  nl,
  lit("deny"),
  ws,
  name,
  ws,
  lit("when"),
  ws,
  condition,
  nl,
  property,
  nl,
  lit("}"),
);
const block = cat(
  name,
  hs,
  lit("{"),
  fc.oneof(cat(hs, property, hs), cat(nl, property, nl, property, nl)),
  lit("}"),
);
const agentMember = fc.oneof(property, block, textBlock, policy);
const field = cat(
  name,
  fc.constantFrom("", "?", " ?"),
  hs,
  lit(":"),
  hs,
  fc.oneof(name, cat(lit("enum"), hs, lit("("), hs, lit('"a"'), hs, lit(","), hs, lit('"b"'), hs, lit(")"))),
  fc.constantFrom("", "[]", " [ ]"),
  fc.constantFrom("", ' "A description"', '\t"d"'),
);
const step = fc.oneof(
  cat(
    lit("send"),
    ws,
    scalar.filter((s) => s.startsWith('"')),
  ),
  cat(
    lit("model calls"),
    ws,
    name,
    hs,
    value.filter((v) => v.startsWith("{")),
  ),
  cat(
    lit("expect tool"),
    ws,
    name,
    ws,
    lit("called with"),
    hs,
    value.filter((v) => v.startsWith("{")),
  ),
  cat(lit("expect memory"), hs, lit("."), hs, name, hs, lit("=="), hs, scalar),
  cat(lit("tool"), ws, name, ws, lit("returns"), ws, value),
  property,
);
const members = (member: fc.Arbitrary<string>) =>
  fc
    .array(fc.tuple(member, nl), { minLength: 1, maxLength: 4 })
    .map((ms) => ms.map(([m, sep]) => m + sep).join(""));
const declaration = fc.oneof(
  cat(lit("agent"), ws, name, hs, lit("{"), nl, members(agentMember), lit("}")),
  cat(lit("type"), ws, name, hs, lit("{"), nl, members(field), lit("}")),
  cat(lit("test"), ws, lit('"a test"'), hs, lit("{"), nl, members(step), lit("}")),
);
const agentFile = fc
  .tuple(
    fc.constantFrom("", "\n\n", "// top\n", "  "),
    fc.array(fc.tuple(declaration, nl), { minLength: 1, maxLength: 3 }),
  )
  .map(([lead, decls]) => lead + decls.map(([d, sep]) => d + sep).join(""));

describe("format on random files", () => {
  it("is stable and keeps every token, value and line break", () => {
    fc.assert(
      fc.property(agentFile, (text) => {
        assertStable(text);
        const out = formatted(text);
        assert.ok(!out.includes("\r"), "no CR is left");
        assert.ok(out.endsWith("\n") && !out.endsWith("\n\n"), "exactly one final newline");
        assert.equal(
          applyEdits(text, formatRange(text, 0, text.length)),
          out,
          "formatRange over everything = format",
        );
      }),
      { numRuns: 300 },
    );
  });
});
