// Semantic tokens over the protocol: the legend the server advertises, the
// relative encoding decoded back to (line, character, length, type,
// modifiers) and compared token by token with a hand-written expectation,
// multi-line text blocks and comments split per line, UTF-16 columns after
// an emoji, and range requests.

import { strict as assert } from "node:assert";
import {
  InitializedNotification,
  InitializeRequest,
  type SemanticTokens,
  type SemanticTokensLegend,
} from "vscode-languageserver-protocol/node";
import { PUSH_CAPABILITIES, TestClient } from "./harness";

const SOURCE = `// Orders
type Order {
  id: string "The id"
  status: enum("open", "shipped")
}

tool lookup {
  description: "Look up an order"
  input { id: string }
  output: Order
  run: http("GET", "https://x.example/{{input.id}}")
}

agent a {
  instructions: """
    Hi 😀 {{vars.name}}!
  """
  vars { name: "Ada" }
  tools: [lookup]
  policy {
    deny lookup when input.id == "x" and not input.id == "y"
  }
}

test "it works" {
  agent: a
  send "hi"
  expect tool lookup called
}
/* two
   lines */
`;

/** [line, character, the text the token covers, type, modifiers]. */
type Expected = [number, number, string, string, string[]?];

const EXPECTED: Expected[] = [
  [0, 0, "// Orders", "comment"],
  [1, 0, "type", "keyword"],
  [1, 5, "Order", "type", ["declaration"]],
  [2, 2, "id", "property", ["declaration"]],
  [2, 6, "string", "type", ["defaultLibrary"]],
  [2, 13, '"The id"', "string"],
  [3, 2, "status", "property", ["declaration"]],
  [3, 10, "enum", "type", ["defaultLibrary"]],
  [3, 15, '"open"', "string"],
  [3, 23, '"shipped"', "string"],
  [6, 0, "tool", "keyword"],
  [6, 5, "lookup", "function", ["declaration"]],
  [7, 2, "description", "property"],
  [7, 15, '"Look up an order"', "string"],
  [8, 2, "input", "property"],
  [8, 10, "id", "parameter", ["declaration"]],
  [8, 14, "string", "type", ["defaultLibrary"]],
  [9, 2, "output", "property"],
  [9, 10, "Order", "type"],
  [10, 2, "run", "property"],
  [10, 7, "http", "function", ["defaultLibrary"]],
  [10, 12, '"GET"', "string"],
  [10, 19, '"https://x.example/', "string"],
  [10, 40, "input", "variable", ["defaultLibrary"]],
  [10, 46, "id", "parameter"],
  [10, 50, '"', "string"],
  [13, 0, "agent", "keyword"],
  [13, 6, "a", "variable", ["declaration"]],
  [14, 2, "instructions", "property"],
  [14, 16, '"""', "string"],
  // The emoji is two UTF-16 code units: the template after it starts at 12.
  [15, 0, "    Hi 😀 ", "string"],
  [15, 12, "vars", "variable", ["defaultLibrary"]],
  [15, 17, "name", "property", ["readonly"]],
  [15, 23, "!", "string"],
  [16, 0, '  """', "string"],
  [17, 2, "vars", "property"],
  [17, 9, "name", "property", ["declaration", "readonly"]],
  [17, 15, '"Ada"', "string"],
  [18, 2, "tools", "property"],
  [18, 10, "lookup", "function"],
  [19, 2, "policy", "property"],
  [20, 4, "deny", "keyword"],
  [20, 9, "lookup", "function"],
  [20, 16, "when", "keyword"],
  [20, 21, "input", "variable", ["defaultLibrary"]],
  [20, 27, "id", "parameter"],
  [20, 30, "==", "operator"],
  [20, 33, '"x"', "string"],
  [20, 37, "and", "keyword"],
  [20, 41, "not", "keyword"],
  [20, 45, "input", "variable", ["defaultLibrary"]],
  [20, 51, "id", "parameter"],
  [20, 54, "==", "operator"],
  [20, 57, '"y"', "string"],
  [24, 0, "test", "keyword"],
  [24, 5, '"it works"', "string", ["declaration"]],
  [25, 2, "agent", "property"],
  [25, 9, "a", "variable"],
  [26, 2, "send", "keyword"],
  [26, 7, '"hi"', "string"],
  [27, 2, "expect", "keyword"],
  [27, 9, "tool", "keyword"],
  [27, 14, "lookup", "function"],
  [27, 21, "called", "keyword"],
  [29, 0, "/* two", "comment"],
  [30, 0, "   lines */", "comment"],
];

interface Decoded {
  line: number;
  character: number;
  length: number;
  type: string;
  modifiers: string[];
}

/** Undoes the relative encoding: five integers per token, positions relative to the previous token. */
function decode(data: number[], legend: SemanticTokensLegend): Decoded[] {
  assert.equal(data.length % 5, 0);
  const out: Decoded[] = [];
  let line = 0;
  let character = 0;
  for (let i = 0; i < data.length; i += 5) {
    const [deltaLine, deltaStart, length, type, bits] = data.slice(i, i + 5);
    line += deltaLine;
    character = deltaLine === 0 ? character + deltaStart : deltaStart;
    out.push({
      line,
      character,
      length,
      type: legend.tokenTypes[type],
      modifiers: legend.tokenModifiers.filter((_, b) => bits & (1 << b)),
    });
  }
  return out;
}

const expected = (rows: Expected[]): Decoded[] =>
  rows.map(([line, character, text, type, modifiers]) => ({
    line,
    character,
    length: text.length,
    type,
    modifiers: modifiers ?? [],
  }));

describe("lsp: semantic tokens", () => {
  let client: TestClient;
  let legend: SemanticTokensLegend;

  before(async () => {
    // Started by hand rather than with TestClient.start, to read the capabilities the server answers with.
    client = new TestClient({ files: { "a.agent": SOURCE } });
    const init = await client.connection.sendRequest(InitializeRequest.type, {
      processId: process.pid,
      rootUri: client.uri(""),
      workspaceFolders: [{ uri: client.uri(""), name: "ws" }],
      capabilities: PUSH_CAPABILITIES,
    });
    await client.connection.sendNotification(InitializedNotification.type, {});
    const provider = init.capabilities.semanticTokensProvider;
    assert.ok(provider && "legend" in provider);
    assert.equal(provider.full, true);
    assert.equal(provider.range, true);
    legend = provider.legend;
    await client.open("a.agent", SOURCE);
  });
  after(async () => client?.stop());

  it("advertises the legend", () => {
    assert.deepEqual(legend.tokenTypes, [
      "keyword",
      "type",
      "function",
      "variable",
      "property",
      "enumMember",
      "string",
      "number",
      "comment",
      "operator",
      "parameter",
      "namespace",
    ]);
    assert.deepEqual(legend.tokenModifiers, ["declaration", "readonly", "defaultLibrary"]);
  });

  it("classifies every token of a file, one token per line", async () => {
    const result = await client.request<SemanticTokens>("textDocument/semanticTokens/full", {
      textDocument: { uri: client.uri("a.agent") },
    });
    const actual = decode(result.data, legend);
    const lines = SOURCE.split("\n");
    // The expectation's text is checked against the source, so a wrong column cannot pass unnoticed.
    for (const [line, character, text] of EXPECTED)
      assert.equal(lines[line].slice(character, character + text.length), text, `line ${line}:${character}`);
    assert.deepEqual(actual, expected(EXPECTED));
  });

  it("answers a range request with the tokens of that range, positions still absolute after decoding", async () => {
    const result = await client.request<SemanticTokens>("textDocument/semanticTokens/range", {
      textDocument: { uri: client.uri("a.agent") },
      range: { start: { line: 13, character: 0 }, end: { line: 23, character: 0 } },
    });
    assert.deepEqual(
      decode(result.data, legend),
      expected(EXPECTED.filter(([line]) => line >= 13 && line < 23)),
    );
  });

  it("colours enum words and references by what they resolve to", async () => {
    const source = `backend b { kind: stateless provider: local }\nmemory m { scope: user }\nagent x {\n  backend: b\n  memory: m\n  instructions: "hi"\n  tools: [m]\n}\n`;
    await client.open("b.agent", source);
    const result = await client.request<SemanticTokens>("textDocument/semanticTokens/full", {
      textDocument: { uri: client.uri("b.agent") },
    });
    const lines = source.split("\n");
    const words = decode(result.data, legend).map(
      (t) => `${lines[t.line].slice(t.character, t.character + t.length)}:${t.type}`,
    );
    assert.deepEqual(
      words.filter((w) => /^(stateless|local|user|b|m):/.test(w)),
      // `tools: [m]` names a memory: it is coloured as the memory it is (and reported as wrong-kind).
      [
        "b:variable",
        "stateless:enumMember",
        "local:enumMember",
        "m:variable",
        "user:enumMember",
        "b:variable",
        "m:variable",
        "m:variable",
      ],
    );
  });
});
