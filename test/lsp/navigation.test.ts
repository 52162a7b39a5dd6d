// Navigation over the protocol, across files: go to definition (declarations,
// imports, memory fields, tool input fields), find references, rename with
// prepareRename (refusals, collisions, and a rename that leaves the
// workspace clean), and workspace symbols.

import { strict as assert } from "node:assert";
import {
  LSPErrorCodes,
  SymbolKind,
  type ClientCapabilities,
  type Diagnostic,
  type Location,
  type LocationLink,
  type Position,
  type Range,
  type SymbolInformation,
  type WorkspaceEdit,
} from "vscode-languageserver-protocol/node";
import { applyTextEdits, markers, offsetAt, PUSH_CAPABILITIES, TestClient } from "./harness";

const CAPABILITIES: ClientCapabilities = {
  textDocument: {
    ...PUSH_CAPABILITIES.textDocument,
    definition: { linkSupport: true },
    rename: { prepareSupport: true },
    // Pulled diagnostics answer for the current state, so a test never reads a stale push.
    diagnostic: { dynamicRegistration: false },
  },
};

/** A workspace of files with `<|>` markers: written to disk, opened, and addressable by marker. */
class Workspace {
  readonly texts: Record<string, string> = {};
  readonly positions: Record<string, Position[]> = {};

  private constructor(readonly client: TestClient) {}

  static async start(files: Record<string, string>, capabilities = CAPABILITIES): Promise<Workspace> {
    const clean: Record<string, string> = {};
    const positions: Record<string, Position[]> = {};
    for (const [name, text] of Object.entries(files)) {
      const m = markers(text);
      clean[name] = m.text;
      positions[name] = m.positions;
    }
    const ws = new Workspace(await TestClient.start({ files: clean, capabilities }));
    Object.assign(ws.texts, clean);
    Object.assign(ws.positions, positions);
    for (const [name, text] of Object.entries(clean)) await ws.client.open(name, text);
    return ws;
  }

  /** Request parameters at the `i`th marker of a file. */
  at(name: string, i = 0): { textDocument: { uri: string }; position: Position } {
    const position = this.positions[name]?.[i];
    assert.ok(position, `no marker ${i} in ${name}`);
    return { textDocument: { uri: this.client.uri(name) }, position };
  }

  /** The file name of a URI of this workspace. */
  name(uri: string): string {
    const name = Object.keys(this.texts).find((n) => this.client.uri(n) === uri);
    assert.ok(name, `unexpected uri ${uri}`);
    return name;
  }

  /** The text a range covers in a file. */
  slice(name: string, range: Range): string {
    const text = this.texts[name];
    return text.slice(offsetAt(text, range.start), offsetAt(text, range.end));
  }

  async diagnostics(name: string): Promise<Diagnostic[]> {
    const report = await this.client.request<{ items: Diagnostic[] }>("textDocument/diagnostic", {
      textDocument: { uri: this.client.uri(name) },
    });
    return report.items;
  }

  /** Applies a WorkspaceEdit's changes to the texts and sends them to the server as edits. */
  async apply(edit: WorkspaceEdit, only?: string[]): Promise<void> {
    for (const [uri, edits] of Object.entries(edit.changes ?? {})) {
      const name = this.name(uri);
      if (only && !only.includes(name)) continue;
      this.texts[name] = applyTextEdits(this.texts[name], edits);
      await this.client.change(name, this.texts[name]);
    }
  }
}

async function refused(promise: Promise<unknown>, message: RegExp): Promise<void> {
  await assert.rejects(promise, (err: { code: number; message: string }) => {
    assert.equal(err.code, LSPErrorCodes.RequestFailed);
    assert.match(err.message, message);
    return true;
  });
}

// ---- a workspace exercising every kind of reference ----------------------------------------------

const NAV_FILES = {
  "types.agent": `type Order {
  id: string
  items: Line<|>Item[]
}

type LineItem {
  sku: string
}
`,
  "tools.agent": `import "types.agent"

mcp orders {
  url: "http://127.0.0.1:3001/mcp"
}

tool lookup_order {
  description: "Look up an order"
  input { order_id: string }
  output: Or<|>der
  run: mcp(ord<|>ers, "lookup_order")
}

tool refund {
  description: "Refund an order"
  input {
    order_id: string
    amount: number
  }
}
`,
  "agents.agent": `import "tool<|>s.agent"

memory customer {
  fields { preferred_name?: string }
}

agent support {
  instructions: "Call them {{memory.prefer<|>red_name}}"
  memory: cust<|>omer
  tools: [look<|>up_order, refund]
  policy {
    deny ref<|>und when input.am<|>ount > 500
  }
}
`,
  "tests.agent": `import "agents.agent"

test "a large refund is denied" {
  agent: supp<|>ort
  model calls refund { order_id: "A1", amo<|>unt: 900 }
  tool look<|>up_order returns { id: "A1" }
  send "Refund A1"
  expect tool re<|>fund denied
}
`,
};

// ---- a tool declared in one file and used in two others -----------------------------------------

const RENAME_FILES = {
  "tools.agent": `tool look<|>up_order {
  description: "Look up an order"
  input { order_id: string }
}

tool refund {
  description: "Refund an order"
  input { order_id: string }
}
`,
  "agents.agent": `import "tools.agent"

ag<|>ent support {
  instructions: "Help with orders"
  tools: [look<|>up_order, refund]
  memory: notes
  policy {
    require_approval: [refund]
    deny lookup_order when input.order_id == "X"
  }
}

memory notes {
  fields { count: integer }
}
`,
  "tests.agent": `import "agents.agent"

test "looks <|>up an order" {
  agent: support
  model calls look<|>up_order { order_id: "A1" }
  tool lookup_order returns { id: "A1" }
  model calls remem<|>ber { field: "count", value: 1 }
  send "Where is A1?"
  expect tool lookup_order called
}
`,
};

describe("lsp: navigation", () => {
  let ws: Workspace;
  afterEach(async () => ws?.client.stop());

  it("goes to the definition of every kind of reference, across files", async () => {
    ws = await Workspace.start(NAV_FILES);
    // [file, marker] -> [target file, text of the target's name, line of the name]
    const cases: [string, number, string, string, number][] = [
      ["types.agent", 0, "types.agent", "LineItem", 5], // a field type
      ["tools.agent", 0, "types.agent", "Order", 0], // output
      ["tools.agent", 1, "tools.agent", "orders", 2], // mcp(server, ...)
      ["agents.agent", 1, "agents.agent", "preferred_name", 3], // {{ memory.field }}
      ["agents.agent", 2, "agents.agent", "customer", 2], // memory
      ["agents.agent", 3, "tools.agent", "lookup_order", 6], // tools
      ["agents.agent", 4, "tools.agent", "refund", 13], // deny TOOL
      ["agents.agent", 5, "tools.agent", "amount", 17], // input.amount in a condition
      ["tests.agent", 0, "agents.agent", "support", 6], // test agent
      ["tests.agent", 1, "tools.agent", "amount", 17], // input of a scripted call
      ["tests.agent", 2, "tools.agent", "lookup_order", 6], // tool TOOL returns
      ["tests.agent", 3, "tools.agent", "refund", 13], // expect tool TOOL
    ];
    for (const [file, i, targetFile, name, line] of cases) {
      const links = await ws.client.request<LocationLink[]>("textDocument/definition", ws.at(file, i));
      const where = `${file} marker ${i}`;
      assert.equal(links?.length, 1, where);
      const [link] = links;
      assert.equal(ws.name(link.targetUri), targetFile, where);
      assert.equal(ws.slice(targetFile, link.targetSelectionRange), name, where);
      assert.equal(link.targetSelectionRange.start.line, line, where);
      // The origin is the whole name under the cursor, and the target range holds the selection.
      assert.ok(ws.slice(file, link.originSelectionRange!).length > 1, where);
      assert.ok(link.targetRange.start.line <= line && link.targetRange.end.line >= line, where);
    }
  });

  it("goes from an import's string to the imported file", async () => {
    ws = await Workspace.start(NAV_FILES);
    const links = await ws.client.request<LocationLink[]>(
      "textDocument/definition",
      ws.at("agents.agent", 0),
    );
    assert.equal(links.length, 1);
    assert.equal(links[0].targetUri, ws.client.uri("tools.agent"));
    assert.deepEqual(links[0].targetSelectionRange.start, { line: 0, character: 0 });
    assert.equal(ws.slice("agents.agent", links[0].originSelectionRange!), '"tools.agent"');
  });

  it("answers plain Locations to a client without link support", async () => {
    ws = await Workspace.start(NAV_FILES, PUSH_CAPABILITIES);
    const locations = await ws.client.request<Location[]>(
      "textDocument/definition",
      ws.at("agents.agent", 3),
    );
    assert.deepEqual(locations, [
      {
        uri: ws.client.uri("tools.agent"),
        range: { start: { line: 6, character: 5 }, end: { line: 6, character: 17 } },
      },
    ]);
  });

  it("finds every reference in every file, with or without the declaration", async () => {
    ws = await Workspace.start(RENAME_FILES);
    const refs = async (includeDeclaration: boolean) =>
      (
        await ws.client.request<Location[]>("textDocument/references", {
          ...ws.at("tools.agent", 0),
          context: { includeDeclaration },
        })
      ).map((l) => `${ws.name(l.uri)}:${l.range.start.line}:${ws.slice(ws.name(l.uri), l.range)}`);
    const usages = [
      "agents.agent:4:lookup_order",
      "agents.agent:8:lookup_order",
      "tests.agent:4:lookup_order",
      "tests.agent:5:lookup_order",
      "tests.agent:8:lookup_order",
    ];
    assert.deepEqual(await refs(true), ["tools.agent:0:lookup_order", ...usages]);
    assert.deepEqual(await refs(false), usages);
    // From a usage, the same set.
    const fromUsage = await ws.client.request<Location[]>("textDocument/references", {
      ...ws.at("tests.agent", 1),
      context: { includeDeclaration: true },
    });
    assert.equal(fromUsage.length, 6);
  });

  it("renames a tool from a usage in all three files, and the workspace still checks clean", async () => {
    ws = await Workspace.start(RENAME_FILES);
    for (const name of Object.keys(RENAME_FILES)) assert.deepEqual(await ws.diagnostics(name), [], name);

    const prepared = await ws.client.request<{ range: Range; placeholder: string }>(
      "textDocument/prepareRename",
      ws.at("agents.agent", 1),
    );
    assert.equal(prepared.placeholder, "lookup_order");
    assert.equal(ws.slice("agents.agent", prepared.range), "lookup_order");
    // The declaration's own name can be renamed too.
    const atDeclaration = await ws.client.request<{ range: Range; placeholder: string }>(
      "textDocument/prepareRename",
      ws.at("tools.agent", 0),
    );
    assert.deepEqual(atDeclaration.range, {
      start: { line: 0, character: 5 },
      end: { line: 0, character: 17 },
    });

    const edit = await ws.client.request<WorkspaceEdit>("textDocument/rename", {
      ...ws.at("agents.agent", 1),
      newName: "find_order",
    });
    const counts = Object.fromEntries(
      Object.entries(edit.changes ?? {}).map(([uri, e]) => [ws.name(uri), e.length]),
    );
    assert.deepEqual(counts, { "agents.agent": 2, "tests.agent": 3, "tools.agent": 1 });

    // Renaming only the declaration breaks the other files: the check below is not vacuous.
    await ws.apply(edit, ["tools.agent"]);
    const broken = await ws.diagnostics("tests.agent");
    assert.ok(broken.some((d) => d.code === "unknown-reference"));

    await ws.apply(edit, ["agents.agent", "tests.agent"]);
    for (const name of Object.keys(RENAME_FILES)) {
      assert.doesNotMatch(ws.texts[name], /lookup_order/, name);
      assert.deepEqual(await ws.diagnostics(name), [], name);
    }
    assert.match(ws.texts["tools.agent"], /^tool find_order \{/);
  });

  it("refuses to rename keywords, built-ins and test names, with a message that says why", async () => {
    ws = await Workspace.start(RENAME_FILES);
    const prepare = (file: string, i: number) =>
      ws.client.request("textDocument/prepareRename", ws.at(file, i));
    await refused(prepare("agents.agent", 0), /'agent' is a keyword of the language/);
    await refused(prepare("tests.agent", 2), /'remember' is the built-in memory tool/);
    await refused(prepare("tests.agent", 0), /A test is named by a string/);
    // A client that skips prepareRename gets the same answer from rename.
    await refused(
      ws.client.request("textDocument/rename", { ...ws.at("agents.agent", 0), newName: "x" }),
      /'agent' is a keyword/,
    );
  });

  it("refuses a new name that collides with a declaration of the same kind or is not an identifier", async () => {
    ws = await Workspace.start(RENAME_FILES);
    const rename = (newName: string) =>
      ws.client.request("textDocument/rename", { ...ws.at("tests.agent", 1), newName });
    await refused(rename("refund"), /There is already a tool named 'refund' \(tools\.agent:6\)/);
    await refused(rename("2fast"), /'2fast' is not a valid name/);
    await refused(rename("remember"), /built-in memory tool/);
    // A name of another kind is fine: kinds have separate namespaces.
    const edit = await ws.client.request<WorkspaceEdit>("textDocument/rename", {
      ...ws.at("tests.agent", 1),
      newName: "support",
    });
    assert.equal(Object.keys(edit.changes ?? {}).length, 3);
  });

  it("finds declarations of every file by substring or fuzzy query", async () => {
    ws = await Workspace.start(NAV_FILES);
    const query = async (q: string) =>
      (await ws.client.request<SymbolInformation[]>("workspace/symbol", { query: q })).map(
        (s) => `${s.name}:${s.kind}:${ws.name(s.location.uri)}`,
      );
    assert.deepEqual(await query("order"), [
      `Order:${SymbolKind.Struct}:types.agent`,
      `orders:${SymbolKind.Package}:tools.agent`,
      `lookup_order:${SymbolKind.Function}:tools.agent`,
    ]);
    assert.deepEqual(await query("lkup"), [`lookup_order:${SymbolKind.Function}:tools.agent`]);
    assert.deepEqual(await query("large refund"), [
      `a large refund is denied:${SymbolKind.Method}:tests.agent`,
    ]);
    assert.equal((await query("")).length, 8);
    const [sym] = await ws.client.request<SymbolInformation[]>("workspace/symbol", { query: "support" });
    assert.equal(ws.slice("agents.agent", sym.location.range), "support");
  });
});
