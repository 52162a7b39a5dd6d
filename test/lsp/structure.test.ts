// The shape of a document over the protocol: the outline (document symbols),
// document links, folding ranges and selection ranges.

import { strict as assert } from "node:assert";
import {
  FoldingRangeKind,
  SymbolKind,
  type ClientCapabilities,
  type DocumentLink,
  type DocumentSymbol,
  type FoldingRange,
  type Position,
  type Range,
  type SelectionRange,
  type SymbolInformation,
} from "vscode-languageserver-protocol/node";
import { markers, PUSH_CAPABILITIES, TestClient } from "./harness";

const CAPABILITIES: ClientCapabilities = {
  textDocument: {
    ...PUSH_CAPABILITIES.textDocument,
    documentSymbol: { hierarchicalDocumentSymbolSupport: true },
  },
};

function offsetOf(text: string, pos: Position): number {
  const lines = text.split("\n");
  return lines.slice(0, pos.line).reduce((n, l) => n + l.length + 1, 0) + pos.character;
}

const slice = (text: string, r: Range) => text.slice(offsetOf(text, r.start), offsetOf(text, r.end));

const SMALL = `tool lookup {
  description: "Look up an order"
  input {
    id: string
    verbose?: boolean
  }
}

agent support {
  instructions: "Help"
  tools: [lookup]
  policy {
    deny lookup when input.verbose == true
  }
}

test "it works" {
  agent: support
  user: { id: "u1" }
  send "hi"
  expect reply contains "hello"
}
`;

type Tree = [string, SymbolKind, string | undefined, Tree[]?];

function tree(symbols: DocumentSymbol[]): Tree[] {
  return symbols.map((s) => {
    const node: Tree = [s.name, s.kind, s.detail];
    if (s.children?.length) node.push(tree(s.children));
    return node;
  });
}

describe("lsp: structure", () => {
  let client: TestClient;
  afterEach(async () => client?.stop());

  it("outlines a file: declarations with their properties, blocks, fields, rules and steps", async () => {
    client = await TestClient.start({ capabilities: CAPABILITIES });
    await client.open("small.agent", SMALL);
    const symbols = await client.request<DocumentSymbol[]>("textDocument/documentSymbol", {
      textDocument: { uri: client.uri("small.agent") },
    });
    assert.deepEqual(tree(symbols), [
      [
        "lookup",
        SymbolKind.Function,
        "tool",
        [
          ["description", SymbolKind.Property, '"Look up an order"'],
          [
            "input",
            SymbolKind.Object,
            undefined,
            [
              ["id", SymbolKind.Field, "string"],
              ["verbose?", SymbolKind.Field, "boolean"],
            ],
          ],
        ],
      ],
      [
        "support",
        SymbolKind.Class,
        "agent",
        [
          ["instructions", SymbolKind.Property, '"Help"'],
          ["tools", SymbolKind.Property, "[lookup]"],
          [
            "policy",
            SymbolKind.Object,
            undefined,
            [["deny lookup", SymbolKind.Operator, "when input.verbose == true"]],
          ],
        ],
      ],
      [
        "it works",
        SymbolKind.Method,
        "test",
        [
          ["agent", SymbolKind.Property, "support"],
          ["user", SymbolKind.Property, '{ id: "u1" }', [["id", SymbolKind.Key, '"u1"']]],
          ['send "hi"', SymbolKind.Event, undefined],
          ['expect reply contains "hello"', SymbolKind.Event, undefined],
        ],
      ],
    ]);
    // The whole declaration is the range; its name is the selection.
    assert.deepEqual(symbols[1].range, { start: { line: 8, character: 0 }, end: { line: 14, character: 1 } });
    assert.equal(slice(SMALL, symbols[1].selectionRange), "support");
    assert.equal(slice(SMALL, symbols[2].selectionRange), '"it works"');
  });

  it("answers a flat symbol list, with containers, to a client without hierarchy support", async () => {
    client = await TestClient.start();
    await client.open("small.agent", SMALL);
    const symbols = await client.request<SymbolInformation[]>("textDocument/documentSymbol", {
      textDocument: { uri: client.uri("small.agent") },
    });
    const id = symbols.find((s) => s.name === "id" && s.kind === SymbolKind.Field);
    assert.equal(id?.containerName, "input");
    assert.equal(symbols.filter((s) => s.containerName === undefined).length, 3);
  });

  it("links import strings and file(...) paths that exist", async () => {
    const main = `import "tools.agent"
import "missing.agent"

context policy {
  from: file("docs/policy.md")
}

context gone {
  from: file("docs/gone.md")
}
`;
    client = await TestClient.start({
      files: { "tools.agent": `tool t {\n  description: "x"\n}\n`, "docs/policy.md": "# Policy\n" },
    });
    await client.open("main.agent", main);
    const links = await client.request<DocumentLink[]>("textDocument/documentLink", {
      textDocument: { uri: client.uri("main.agent") },
    });
    assert.deepEqual(
      links.map((l) => [slice(main, l.range), l.target]),
      [
        ["tools.agent", client.uri("tools.agent")],
        ["docs/policy.md", client.uri("docs/policy.md")],
      ],
    );
  });

  it("folds declarations, nested blocks, text blocks, lists, comment runs, regions and imports", async () => {
    const text = [
      /*  0 */ 'import "a.agent"',
      /*  1 */ 'import "b.agent"',
      /*  2 */ "",
      /*  3 */ "// #region agents",
      /*  4 */ "// The support agent.",
      /*  5 */ "// It helps.",
      /*  6 */ "agent support {",
      /*  7 */ '  instructions: """',
      /*  8 */ "    Be kind.",
      /*  9 */ "    Be brief.",
      /* 10 */ '  """',
      /* 11 */ "  tools: [",
      /* 12 */ "    lookup,",
      /* 13 */ "    refund,",
      /* 14 */ "  ]",
      /* 15 */ "  identity {",
      /* 16 */ '    role: "support"',
      /* 17 */ "  }",
      /* 18 */ "}",
      /* 19 */ "/* a block",
      /* 20 */ "   comment */",
      /* 21 */ "// #endregion",
      /* 22 */ "",
    ].join("\n");
    client = await TestClient.start();
    await client.open("fold.agent", text);
    const folds = await client.request<FoldingRange[]>("textDocument/foldingRange", {
      textDocument: { uri: client.uri("fold.agent") },
    });
    assert.deepEqual(
      folds.map((f) => [f.startLine, f.endLine, f.kind]),
      [
        [0, 1, FoldingRangeKind.Imports],
        [3, 21, FoldingRangeKind.Region],
        [4, 5, FoldingRangeKind.Comment],
        [6, 17, undefined], // the closing brace stays visible
        [7, 9, undefined],
        [11, 13, undefined],
        [15, 16, undefined],
        [19, 20, FoldingRangeKind.Comment],
      ],
    );
  });

  it("grows a selection from the identifier through property, block and declaration to the file", async () => {
    const m = markers(`agent support {
  instructions: "Help me"
  tools: [lookup, re<|>fund]
}

tool lookup { description: "<|>x" }
`);
    client = await TestClient.start();
    await client.open("sel.agent", m.text);
    const ranges = await client.request<SelectionRange[]>("textDocument/selectionRange", {
      textDocument: { uri: client.uri("sel.agent") },
      positions: m.positions,
    });
    const chain = (r: SelectionRange | undefined): string[] => {
      const out: string[] = [];
      for (let s = r; s; s = s.parent) out.push(slice(m.text, s.range));
      return out;
    };
    const body = m.text.slice(m.text.indexOf("{"), m.text.indexOf("}\n") + 1);
    assert.deepEqual(chain(ranges[0]), [
      "refund",
      "[lookup, refund]",
      "tools: [lookup, refund]",
      body,
      `agent support ${body}`,
      m.text,
    ]);
    assert.deepEqual(chain(ranges[1]), [
      "x",
      '"x"',
      'description: "x"',
      '{ description: "x" }',
      'tool lookup { description: "x" }',
      m.text,
    ]);
  });
});
