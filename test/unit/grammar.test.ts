// The editor's static language support: the TextMate grammar (tokenized with the same engine
// VS Code uses), the language configuration and the snippets that package.json contributes.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import * as oniguruma from "vscode-oniguruma";
import * as vsctm from "vscode-textmate";

const ROOT = path.resolve(__dirname, "../..");
const GRAMMAR_PATH = path.join(ROOT, "syntaxes/agent.tmLanguage.json");
const CONFIG_PATH = path.join(ROOT, "language-configuration.json");
const SNIPPETS_PATH = path.join(ROOT, "snippets/agent.code-snippets");

const DECLARATION_KINDS = [
  "backend",
  "type",
  "tool",
  "context",
  "memory",
  "agent",
  "mcp",
  "connection",
  "test",
  "eval",
];

interface Token {
  start: number;
  end: number;
  scopes: string[];
}

interface TokenizedLine {
  text: string;
  tokens: Token[];
}

interface Tokenized {
  lines: TokenizedLine[];
  finalState: vsctm.StateStack;
}

function readJson(file: string): unknown {
  return JSON.parse(fs.readFileSync(file, "utf8"));
}

/**
 * Snippet files are read by VS Code as JSON with comments, and Prettier (which infers `jsonc` from the
 * `.code-snippets` extension) writes trailing commas into them. This is JSON plus trailing commas,
 * nothing more: a comment still fails to parse.
 */
function readJsonWithTrailingCommas(file: string): unknown {
  const text = fs.readFileSync(file, "utf8");
  let json = "";
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString && c === "\\") {
      json += c + text[++i];
      continue;
    }
    if (c === '"') inString = !inString;
    else if (!inString && c === "," && /^\s*[}\]]/.test(text.slice(i + 1))) continue;
    json += c;
  }
  return JSON.parse(json);
}

async function loadOniguruma(): Promise<vsctm.IOnigLib> {
  const wasm = fs.readFileSync(path.join(ROOT, "node_modules/vscode-oniguruma/release/onig.wasm"));
  // loadWASM is idempotent: a second call returns the first call's promise.
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  return {
    createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
    createOnigString: (text) => new oniguruma.OnigString(text),
  };
}

async function loadGrammar(): Promise<vsctm.IGrammar> {
  const registry = new vsctm.Registry({
    onigLib: loadOniguruma(),
    loadGrammar: async (scopeName) =>
      scopeName === "source.agent"
        ? vsctm.parseRawGrammar(fs.readFileSync(GRAMMAR_PATH, "utf8"), GRAMMAR_PATH)
        : null,
  });
  const grammar = await registry.loadGrammar("source.agent");
  assert.ok(grammar, "grammar source.agent did not load");
  return grammar;
}

function tokenize(grammar: vsctm.IGrammar, source: string): Tokenized {
  let state = vsctm.INITIAL;
  const lines: TokenizedLine[] = [];
  for (const text of source.split(/\r?\n/)) {
    // No time limit: performance is for benchmarks, never for timed tests.
    const result = grammar.tokenizeLine(text, state);
    lines.push({
      text,
      tokens: result.tokens.map((t) => ({ start: t.startIndex, end: t.endIndex, scopes: t.scopes })),
    });
    state = result.ruleStack;
  }
  return { lines, finalState: state };
}

/** The tokens covering `token` on the one line that contains `line` (both must be unique). */
function tokensAt(doc: Tokenized, line: string, token: string): Token[] {
  const matching = doc.lines.filter((l) => l.text.includes(line));
  assert.equal(matching.length, 1, `expected exactly one line containing ${JSON.stringify(line)}`);
  const { text, tokens } = matching[0];
  const column = text.indexOf(token, text.indexOf(line));
  assert.ok(column >= 0, `${JSON.stringify(token)} not found on line ${JSON.stringify(text)}`);
  const end = column + token.length;
  return tokens.filter((t) => t.start < end && t.end > column && text.slice(t.start, t.end).trim() !== "");
}

function describeTokens(doc: Tokenized, line: string, tokens: Token[]): string {
  const text = doc.lines.find((l) => l.text.includes(line))?.text ?? "";
  return tokens.map((t) => `${JSON.stringify(text.slice(t.start, t.end))}: ${t.scopes.join(" ")}`).join("\n");
}

const SAMPLE = String.raw`import "shared/types.agent"

/* The support desk: one backend, a typed tool and an agent with a policy. */
backend aws_runtime {
  kind: stateful
  provider: bedrock
  region: "eu-west-1"
  api_key: env("AWS_RUNTIME_KEY")
  context_window: 128_000
}

type Order {
  id: string              "The order id"
  total: number
  status: enum("open", "shipped", "refunded")
  items?: LineItem[]
}

tool lookup_order {
  description: "Look up an order by id \u{1F4E6} \"quoted\""
  input { order_id: string "The order id" }
  output: Order
  run: http("GET", "https://orders.example/api/{{input.order_id}}")
  timeout_ms: 5000
}

// #region agents
agent support {
  description: "Tier-1 customer support"
  backend: aws_runtime
  model: "gpt-4.1-mini"            // overrides backend.model
  temperature: 0.25
  instructions: """
    You are the support agent for {{ vars.company }}.
    Write \{{ literally }} when quoting braces.
  """
  vars { company: "Acme" }
  tools: [lookup_order, refund]
  identity {
    acts_for: user
    scopes: ["orders:read", "refunds:write"]
  }
  policy {
    require_approval: [refund]
    deny refund when input.amount > 500 and not (input.note contains "vip")
    max_tokens: 50_000             // per session, input + output
  }
}
// #endregion

test "refund over the limit is refused" {
  agent: support
  backend: local
  user: { id: "u1", name: "Ada" }

  model calls lookup_order { order_id: "A1" }
  tool lookup_order returns { id: "A1", total: 900, status: "shipped" }
  model replies "I can't refund more than 500 without approval."
  send "Refund order A1 please"

  expect tool lookup_order called with { order_id: "A1" }
  expect tool refund denied
  expect reply contains "approval"
  expect memory.open_tickets == 0
  expect tokens < 1e6
}

mcp orders {
  command: command("node", ["servers/orders.js"])
  env { ORDERS_TOKEN: env("ORDERS_TOKEN") }
}
`;

/** [a unique substring of the line, the token on it, a scope every piece of that token must carry] */
const EXPECTED_SCOPES: [string, string, string][] = [
  ['import "shared', "import", "keyword.control.import.agent"],
  ['import "shared', '"shared/types.agent"', "string.quoted.double.agent"],
  ["/* The support desk", "one backend", "comment.block.agent"],
  ["backend aws_runtime", "backend", "keyword.declaration.backend.agent"],
  ["backend aws_runtime", "aws_runtime", "entity.name.type.backend.agent"],
  ["kind: stateful", "kind", "variable.other.property.agent"],
  ["kind: stateful", "stateful", "constant.other.enum.agent"],
  ["api_key:", "env", "support.function.builtin.agent"],
  ["context_window", "128_000", "constant.numeric.agent"],
  ["type Order", "type", "keyword.declaration.type.agent"],
  ["type Order", "Order", "entity.name.type.agent"],
  ['id: string              "The', "string", "support.type.primitive.agent"],
  ["total: number", "number", "support.type.primitive.agent"],
  ["status: enum(", "enum", "support.function.builtin.agent"],
  ["items?: LineItem[]", "?", "keyword.operator.optional.agent"],
  ["items?: LineItem[]", "LineItem", "entity.name.type.agent"],
  ["items?: LineItem[]", "[]", "storage.modifier.array.agent"],
  ["tool lookup_order {", "tool", "keyword.declaration.tool.agent"],
  ["tool lookup_order {", "lookup_order", "entity.name.function.tool.agent"],
  ["Look up an order", "\\u{1F4E6}", "constant.character.escape.agent"],
  ["Look up an order", '\\"', "constant.character.escape.agent"],
  ["input { order_id", "input", "entity.name.section.block.agent"],
  ["input { order_id", "string", "support.type.primitive.agent"],
  ["run: http(", "http", "support.function.builtin.agent"],
  ["run: http(", "{{input.order_id}}", "meta.template.expression.agent"],
  ["run: http(", "order_id", "variable.other.template.agent"],
  ["timeout_ms: 5000", "5000", "constant.numeric.agent"],
  ["// #region agents", "// #region agents", "comment.line.double-slash.agent"],
  ["agent support {", "agent", "keyword.declaration.agent.agent"],
  ["agent support {", "support", "entity.name.class.agent"],
  ['model: "gpt-4.1-mini"', "model", "variable.other.property.agent"],
  ['model: "gpt-4.1-mini"', "// overrides backend.model", "comment.line.double-slash.agent"],
  ["temperature: 0.25", "0.25", "constant.numeric.agent"],
  ['instructions: """', '"""', "punctuation.definition.string.begin.agent"],
  ["You are the support agent", "You are the support agent", "string.quoted.triple.agent"],
  ["You are the support agent", "{{ vars.company }}", "meta.template.expression.agent"],
  ["You are the support agent", "{{ vars.company }}", "string.quoted.triple.agent"],
  ["You are the support agent", "company", "variable.other.template.agent"],
  ["Write \\{{ literally", "\\{{", "constant.character.escape.agent"],
  ["vars { company", "vars", "entity.name.section.block.agent"],
  ["tools: [lookup_order", "refund", "variable.other.agent"],
  ["identity {", "identity", "entity.name.section.block.agent"],
  ["acts_for: user", "user", "constant.other.enum.agent"],
  ["policy {", "policy", "entity.name.section.block.agent"],
  ["deny refund when", "deny", "keyword.other.policy.agent"],
  ["deny refund when", "refund", "entity.name.function.tool.agent"],
  ["deny refund when", "when", "keyword.other.policy.agent"],
  ["deny refund when", ">", "keyword.operator.comparison.agent"],
  ["deny refund when", "500", "constant.numeric.agent"],
  ["deny refund when", "and", "keyword.operator.logical.agent"],
  ["deny refund when", "not", "keyword.operator.logical.agent"],
  ["deny refund when", "contains", "keyword.operator.word.agent"],
  ["max_tokens: 50_000", "50_000", "constant.numeric.agent"],
  ['test "refund over', "test", "keyword.declaration.test.agent"],
  ['test "refund over', '"refund over the limit is refused"', "entity.name.function.test.agent"],
  ["agent: support", "agent", "variable.other.property.agent"],
  ["user: { id", "name", "variable.other.property.agent"],
  ["model calls lookup_order", "model", "keyword.other.step.agent"],
  ["model calls lookup_order", "calls", "keyword.other.step.agent"],
  ["model calls lookup_order", "lookup_order", "entity.name.function.tool.agent"],
  ["tool lookup_order returns", "tool", "keyword.other.step.agent"],
  ["tool lookup_order returns", "returns", "keyword.other.step.agent"],
  ["model replies", "replies", "keyword.other.step.agent"],
  ['send "Refund', "send", "keyword.other.step.agent"],
  ['send "Refund', '"Refund order A1 please"', "string.quoted.double.agent"],
  ["expect tool lookup_order called", "expect", "keyword.other.step.agent"],
  ["called with", "called", "keyword.other.step.agent"],
  ["called with", "with", "keyword.other.step.agent"],
  ["expect tool refund denied", "denied", "keyword.other.step.agent"],
  ["expect reply contains", "reply", "keyword.other.step.agent"],
  ["expect reply contains", "contains", "keyword.operator.word.agent"],
  ["expect memory.open_tickets", "==", "keyword.operator.comparison.agent"],
  ["expect tokens < 1e6", "1e6", "constant.numeric.agent"],
  ["mcp orders {", "mcp", "keyword.declaration.mcp.agent"],
  ["mcp orders {", "orders", "entity.name.type.mcp.agent"],
  ['command: command("node"', "command", "variable.other.property.agent"],
  ['command: command("node"', 'command("node"', "meta.function-call.agent"],
  ["env { ORDERS_TOKEN", "env", "entity.name.section.block.agent"],
];

/** [a unique substring of the line, the token on it, a scope prefix none of its pieces may carry] */
const ABSENT_SCOPES: [string, string, string][] = [
  ["vars { company", "vars", "string."],
  ["tools: [lookup_order", "tools", "string."],
  ["agent support {", "support", "string."],
  ['model: "gpt-4.1-mini"', "model", "keyword.other.step"],
  ["agent: support", "agent", "keyword.declaration"],
  ["tool lookup_order returns", "tool", "keyword.declaration"],
  ["Write \\{{ literally", "literally", "meta.template"],
  ["kind: stateful", "kind", "keyword."],
  ["mcp orders {", "orders", "meta.function-call"],
];

describe("TextMate grammar (syntaxes/agent.tmLanguage.json)", () => {
  let grammar: vsctm.IGrammar;
  let sample: Tokenized;

  before(async () => {
    grammar = await loadGrammar();
    sample = tokenize(grammar, SAMPLE);
  });

  it("is named source.agent and every include resolves", () => {
    const raw = readJson(GRAMMAR_PATH) as { scopeName: string; repository: Record<string, unknown> };
    assert.equal(raw.scopeName, "source.agent");
    const includes = JSON.stringify(raw).match(/"include":"#[^"]+"/g) ?? [];
    assert.ok(includes.length > 0);
    for (const include of includes) {
      const name = include.slice('"include":"#'.length, -1);
      assert.ok(name in raw.repository, `unknown include #${name}`);
    }
  });

  it("compiles every regular expression with oniguruma", async () => {
    const lib = await loadOniguruma();
    const patterns: string[] = [];
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (node && typeof node === "object") {
        for (const [key, value] of Object.entries(node)) {
          if (["match", "begin", "end", "while"].includes(key) && typeof value === "string")
            patterns.push(value);
          else walk(value);
        }
      }
    };
    walk(readJson(GRAMMAR_PATH));
    assert.ok(patterns.length > 30, `only ${patterns.length} patterns found`);
    for (const pattern of patterns) {
      assert.doesNotThrow(() => lib.createOnigScanner([pattern]).dispose?.(), `does not compile: ${pattern}`);
    }
  });

  for (const [line, token, scope] of EXPECTED_SCOPES) {
    it(`scopes ${JSON.stringify(token)} in ${JSON.stringify(line)} as ${scope}`, () => {
      const tokens = tokensAt(sample, line, token);
      assert.ok(tokens.length > 0, "no tokens found");
      for (const t of tokens) {
        assert.ok(t.scopes.includes(scope), `missing ${scope}:\n${describeTokens(sample, line, tokens)}`);
      }
    });
  }

  for (const [line, token, prefix] of ABSENT_SCOPES) {
    it(`does not scope ${JSON.stringify(token)} in ${JSON.stringify(line)} as ${prefix}*`, () => {
      const tokens = tokensAt(sample, line, token);
      assert.ok(tokens.length > 0, "no tokens found");
      for (const t of tokens) {
        const bad = t.scopes.filter((s) => s.startsWith(prefix));
        assert.deepEqual(bad, [], describeTokens(sample, line, tokens));
      }
    });
  }

  it("returns to the top level after the last declaration", () => {
    assert.equal(sample.finalState.depth, 1, "a construct is still open at the end of the sample");
  });

  it("keeps an unterminated string or template on its own line", () => {
    const doc = tokenize(
      grammar,
      'tool t {\n  description: "oops {{ input.\n  timeout_ms: 5\n}\nagent a {\n}',
    );
    const [property] = tokensAt(doc, "timeout_ms: 5", "timeout_ms");
    assert.ok(property.scopes.includes("variable.other.property.agent"), property.scopes.join(" "));
    assert.ok(!property.scopes.some((s) => s.startsWith("string.")), property.scopes.join(" "));
    const [keyword] = tokensAt(doc, "agent a {", "agent");
    assert.ok(keyword.scopes.includes("keyword.declaration.agent.agent"), keyword.scopes.join(" "));
  });

  it("recovers at the next declaration when a body never opens", () => {
    const doc = tokenize(grammar, "agent broken\n  model: x\ntool t {\n}");
    const [keyword] = tokensAt(doc, "tool t {", "tool");
    assert.ok(keyword.scopes.includes("keyword.declaration.tool.agent"), keyword.scopes.join(" "));
  });
});

type SnippetBody = string | string[];
type Snippets = Record<string, { prefix: string | string[]; body: SnippetBody; description?: string }>;

/** The text VS Code inserts when every placeholder keeps its default (choices take their first option). */
function expandSnippet(body: SnippetBody): string {
  let text = Array.isArray(body) ? body.join("\n") : body;
  for (let previous = ""; previous !== text;) {
    previous = text;
    text = text
      .replace(/\$\{\d+\|([^|,]*)[^|]*\|\}/g, "$1")
      .replace(/\$\{\d+:([^${}]*)\}/g, "$1")
      .replace(/\$\{\d+\}|\$\d+/g, "");
  }
  return text;
}

/** The allowed words of enum-valued properties (language.md, 3.1-3.6). */
const ENUM_PROPERTIES: Record<string, string[]> = {
  kind: ["stateless", "stateful"],
  provider: ["openai", "azure", "compatible", "bedrock", "local"],
  api: ["chat", "responses"],
  refresh: ["per_session", "per_turn"],
  scope: ["session", "user", "agent"],
  acts_for: ["user", "service"],
};

describe("snippets (snippets/agent.code-snippets)", () => {
  const snippets = readJsonWithTrailingCommas(SNIPPETS_PATH) as Snippets;
  let grammar: vsctm.IGrammar;

  before(async () => {
    grammar = await loadGrammar();
  });

  it("is JSON (trailing commas allowed) whose snippets all have a prefix, body and description", () => {
    assert.ok(Object.keys(snippets).length > 0);
    for (const [name, snippet] of Object.entries(snippets)) {
      assert.ok(snippet.prefix && snippet.body && snippet.description, `${name} is incomplete`);
    }
  });

  it("has one snippet per declaration kind and one for import", () => {
    const keywords = Object.values(snippets).map((s) => expandSnippet(s.body).split(/\s/, 1)[0]);
    assert.deepEqual([...keywords].sort(), [...DECLARATION_KINDS, "import"].sort());
  });

  for (const [name, snippet] of Object.entries(snippets)) {
    it(`${name}: starts with its keyword and tokenizes cleanly`, () => {
      const text = expandSnippet(snippet.body);
      const keyword = text.split(/\s/, 1)[0];
      assert.ok([...DECLARATION_KINDS, "import"].includes(keyword), `unexpected keyword ${keyword}`);
      assert.deepEqual([snippet.prefix].flat(), [keyword]);
      assert.ok(snippet.description, "missing description");

      const doc = tokenize(grammar, text);
      const first = doc.lines[0].tokens[0];
      const expected =
        keyword === "import" ? "keyword.control.import.agent" : `keyword.declaration.${keyword}.agent`;
      assert.ok(first.scopes.includes(expected), first.scopes.join(" "));
      assert.equal(doc.finalState.depth, 1, `${name} leaves a construct open`);
      const invalid = doc.lines
        .flatMap((l) => l.tokens)
        .filter((t) => t.scopes.some((s) => s.startsWith("invalid")));
      assert.deepEqual(invalid, []);
    });

    it(`${name}: offers only allowed words in enum choices`, () => {
      const text = Array.isArray(snippet.body) ? snippet.body.join("\n") : snippet.body;
      for (const [, property, choices] of text.matchAll(/(\w+): \$\{\d+\|([^|]*)\|\}/g)) {
        const allowed = ENUM_PROPERTIES[property];
        if (allowed) assert.deepEqual(choices.split(","), allowed, `choices for ${property}`);
      }
    });
  }

  it("uses choice placeholders for the enum properties of backend, context and memory", () => {
    const all = Object.values(snippets)
      .map((s) => (Array.isArray(s.body) ? s.body.join("\n") : s.body))
      .join("\n");
    for (const property of ["kind", "provider", "refresh", "scope"]) {
      assert.match(all, new RegExp(`\\b${property}: \\$\\{\\d+\\|`), `${property} has no choice placeholder`);
    }
  });
});

interface LanguageConfiguration {
  comments: { lineComment: string; blockComment: [string, string] };
  brackets: [string, string][];
  autoClosingPairs: { open: string; close: string; notIn?: string[] }[];
  surroundingPairs: [string, string][];
  folding: { markers: { start: string; end: string } };
  wordPattern: string;
  indentationRules: { increaseIndentPattern: string; decreaseIndentPattern: string };
  onEnterRules?: { beforeText: string; afterText?: string }[];
}

describe("language configuration (language-configuration.json)", () => {
  const config = readJson(CONFIG_PATH) as LanguageConfiguration;

  it("declares comments, brackets and auto-closing pairs", () => {
    assert.deepEqual(config.comments, { lineComment: "//", blockComment: ["/*", "*/"] });
    assert.deepEqual(config.brackets, [
      ["{", "}"],
      ["[", "]"],
      ["(", ")"],
    ]);
    const pairs = new Map(config.autoClosingPairs.map((p) => [p.open, p]));
    for (const open of ["{", "[", "(", '"', '"""'])
      assert.ok(pairs.has(open), `no auto-closing pair for ${open}`);
    assert.deepEqual(pairs.get('"')?.notIn?.sort(), ["comment", "string"]);
    assert.equal(pairs.get('"""')?.close, '"""');
    assert.ok(config.surroundingPairs.some(([open, close]) => open === '"' && close === '"'));
  });

  const lines: [keyof LanguageConfiguration["indentationRules"], string, boolean][] = [
    ["increaseIndentPattern", "agent support {", true],
    ["increaseIndentPattern", "  tools: [", true],
    ["increaseIndentPattern", '  instructions: """', true],
    ["increaseIndentPattern", '  model replies """', true],
    ["increaseIndentPattern", "  identity { // who it acts as", true],
    ["increaseIndentPattern", '  """', false],
    ["increaseIndentPattern", '  vars { company: "Acme" }', false],
    ["increaseIndentPattern", "  max_turns: 10 // not a {", false],
    ["decreaseIndentPattern", "  }", true],
    ["decreaseIndentPattern", "]", true],
    ["decreaseIndentPattern", '  """', true],
    ["decreaseIndentPattern", "  max_turns: 10", false],
  ];
  for (const [rule, line, expected] of lines) {
    it(`${rule} ${expected ? "matches" : "does not match"} ${JSON.stringify(line)}`, () => {
      assert.equal(new RegExp(config.indentationRules[rule]).test(line), expected);
    });
  }

  it("folds // #region markers and selects identifiers and numbers as words", () => {
    assert.ok(new RegExp(config.folding.markers.start).test("  // #region agents"));
    assert.ok(new RegExp(config.folding.markers.end).test("// #endregion"));
    assert.ok(!new RegExp(config.folding.markers.start).test("// #endregion"));
    const words = (text: string) => text.match(new RegExp(config.wordPattern, "g"));
    assert.deepEqual(words("deny lookup_order when input.amount > 128_000"), [
      "deny",
      "lookup_order",
      "when",
      "input",
      "amount",
      "128_000",
    ]);
  });

  it("has onEnterRules whose patterns compile", () => {
    for (const rule of config.onEnterRules ?? []) {
      assert.doesNotThrow(() => new RegExp(rule.beforeText));
      if (rule.afterText) assert.doesNotThrow(() => new RegExp(rule.afterText as string));
    }
  });
});

describe("package.json contributes the language support", () => {
  const pkg = readJson(path.join(ROOT, "package.json")) as {
    contributes: {
      languages: { id: string; extensions: string[]; configuration: string }[];
      grammars: { language: string; scopeName: string; path: string }[];
      snippets: { language: string; path: string }[];
    };
  };

  it("registers the agent language, its grammar and its snippets with existing files", () => {
    const language = pkg.contributes.languages.find((l) => l.id === "agent");
    assert.ok(language, "no agent language");
    assert.deepEqual(language.extensions, [".agent"]);
    const grammar = pkg.contributes.grammars.find((g) => g.language === "agent");
    assert.equal(grammar?.scopeName, "source.agent");
    const snippets = pkg.contributes.snippets.find((s) => s.language === "agent");
    for (const file of [language.configuration, grammar?.path, snippets?.path]) {
      assert.ok(file && fs.existsSync(path.join(ROOT, file)), `missing file ${file}`);
    }
  });
});
