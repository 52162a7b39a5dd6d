// Connections in the editor, over the protocol against the built server: completion of connection names
// in http(...) and sql(...) and of sql parameter roots and fields, hover on a connection (auth kind, url)
// and on a tool that uses one (which identity it calls as), go to definition, references and rename,
// semantic tokens, and the sql-template quick fix.

import { strict as assert } from "node:assert";
import type {
  CodeAction,
  CompletionItem,
  Hover,
  Location,
  LocationLink,
  MarkupContent,
  Position,
  SemanticTokens,
  WorkspaceEdit,
} from "vscode-languageserver-protocol/node";
import { KIND_TOKEN, TOKEN_TYPES } from "../../server/language/semanticTokens";
import { applyTextEdits, markers, offsetAt, PUSH_CAPABILITIES, TestClient } from "./harness";

const CONNECTIONS = `connection crm {
  url: "https://crm.example.com/api"
  auth: oauth2 {
    token_url: "https://login.example.com/token"
    client_id: env("CRM_ID")
    client_secret: env("CRM_SECRET")
  }
}
connection mail { url: "https://graph.example.com/v1", auth: user_token("mail") }
connection warehouse { url: "postgres://pglite/./data/wh" }
`;

const CAPABILITIES = {
  textDocument: {
    ...PUSH_CAPABILITIES.textDocument,
    definition: { linkSupport: true },
    rename: { prepareSupport: true },
    hover: { contentFormat: ["markdown" as const] },
    diagnostic: { dynamicRegistration: false },
  },
};

describe("lsp: connections", () => {
  let client: TestClient;
  let opened = 0;
  before(async () => {
    client = await TestClient.start({ files: { "conn.agent": CONNECTIONS }, capabilities: CAPABILITIES });
    await client.open("conn.agent", CONNECTIONS);
  });
  after(async () => client?.stop());

  /** Opens `source` (importing conn.agent) as a new file; returns its clean text and marker positions. */
  async function open(source: string): Promise<{ name: string; text: string; at: Position[] }> {
    const name = `f${opened++}.agent`;
    const m = markers(`import "conn.agent"\n${source}`);
    client.write(name, m.text);
    await client.open(name, m.text);
    return { name, text: m.text, at: m.positions };
  }

  const params = (name: string, position: Position) => ({
    textDocument: { uri: client.uri(name) },
    position,
  });

  async function completion(source: string): Promise<string[]> {
    const f = await open(source);
    const r = await client.request<{ items: CompletionItem[] } | CompletionItem[]>(
      "textDocument/completion",
      params(f.name, f.at[0]),
    );
    return (Array.isArray(r) ? r : r.items).map((i) => i.label).sort();
  }

  it("completes http connections after the method, sql connections first in sql(...)", async () => {
    assert.deepEqual(await completion(`tool t { description: "d", run: http("GET", <|>) }\n`), [
      "crm",
      "mail",
    ]);
    assert.deepEqual(await completion(`tool t { description: "d", run: sql(<|>) }\n`), ["warehouse"]);
  });

  it("completes sql parameter roots, then the tool's input fields", async () => {
    const roots = await completion(
      `tool t { description: "d", input { id: string, n: integer }, run: sql(warehouse, "select $1", [<|>]) }\n`,
    );
    assert.deepEqual(roots, ["input", "session", "user"]);
    const fields = await completion(
      `tool t { description: "d", input { id: string, n: integer }, run: sql(warehouse, "select $1, $2", [user.id, input.<|>]) }\n`,
    );
    assert.deepEqual(fields, ["id", "n"]);
    const contextRoots = await completion(`context c { from: sql(warehouse, "select $1", [<|>]) }\n`);
    assert.deepEqual(contextRoots, ["session", "user"]);
  });

  async function hover(source: string): Promise<string> {
    const f = await open(source);
    const h = await client.request<Hover>("textDocument/hover", params(f.name, f.at[0]));
    return (h.contents as MarkupContent).value;
  }

  it("hovers a connection with its url and auth, and a tool with the identity it calls as", async () => {
    const conn = await hover(`tool t { description: "d", run: http("GET", cr<|>m, "/x") }\n`);
    assert.match(conn, /connection crm: https:\/\/crm\.example\.com\/api \(oauth2\)/);
    assert.match(conn, /Auth: `oauth2`/);
    assert.match(conn, /as the agent's service identity \(oauth2 credentials\)/);
    const asUser = await hover(
      `tool inbox { description: "d", run: http("GET", mail, "/me") }\nagent a { instructions: "hi", tools: [in<|>box] }\n`,
    );
    assert.match(asUser, /Calls through connection `mail` as the end user \(their delegated token 'mail'\)/);
    const asService = await hover(
      `tool rows { description: "d", run: sql(warehouse, "select 1") }\nagent a { instructions: "hi", tools: [ro<|>ws] }\n`,
    );
    assert.match(asService, /Calls through connection `warehouse` as the agent's service identity/);
  });

  it("goes to a connection's definition, finds its references and renames it in every file", async () => {
    const f = await open(
      `tool a { description: "d", run: http("GET", c<|>rm, "/a") }\ntool b { description: "d", run: http("POST", crm, "/b") }\nagent x { instructions: "hi", tools: [a, b] }\n`,
    );
    const links = await client.request<LocationLink[]>("textDocument/definition", params(f.name, f.at[0]));
    assert.equal(links.length, 1);
    assert.equal(links[0].targetUri, client.uri("conn.agent"));
    assert.deepEqual(links[0].targetSelectionRange.start, { line: 0, character: 11 });
    const refs = await client.request<Location[]>("textDocument/references", {
      ...params(f.name, f.at[0]),
      context: { includeDeclaration: true },
    });
    // Other files of this suite use crm too: these two files hold the declaration and two uses.
    const mine = refs.filter((r) => r.uri === client.uri(f.name) || r.uri === client.uri("conn.agent"));
    assert.deepEqual(
      mine.map((r) => `${r.uri === client.uri(f.name) ? "f" : "conn"}:${r.range.start.line}`).sort(),
      ["conn:0", "f:1", "f:2"],
    );
    const edit = await client.request<WorkspaceEdit>("textDocument/rename", {
      ...params(f.name, f.at[0]),
      newName: "sales",
    });
    const renamed = applyTextEdits(f.text, edit.changes![client.uri(f.name)]);
    assert.equal((renamed.match(/http\("(GET|POST)", sales,/g) ?? []).length, 2, renamed);
    const decl = applyTextEdits(CONNECTIONS, edit.changes![client.uri("conn.agent")]);
    assert.match(decl, /^connection sales \{/);
  });

  it("colours a connection reference like its declaration", async () => {
    const f = await open(`tool a { description: "d", run: http("GET", crm, "/a") }\n`);
    const tokens = await client.request<SemanticTokens>("textDocument/semanticTokens/full", {
      textDocument: { uri: client.uri(f.name) },
    });
    // Decode the relative encoding and find the token on `crm`.
    const at = f.text.indexOf("crm,");
    let line = 0;
    let char = 0;
    let found: number | undefined;
    for (let i = 0; i < tokens.data.length; i += 5) {
      const [dl, dc, len, type] = tokens.data.slice(i, i + 4);
      line += dl;
      char = dl ? dc : char + dc;
      if (offsetAt(f.text, { line, character: char }) === at && len === 3) found = type;
    }
    assert.equal(found, TOKEN_TYPES.indexOf(KIND_TOKEN.connection), "the connection name is coloured as one");
  });

  it("offers the sql-template fix, which binds the template as a parameter", async () => {
    const f = await open(
      `tool t {\n  description: "d"\n  input { email: string }\n  run: sql(warehouse, "select 1 from c where e = '{{input.email}}'")\n}\nagent a { instructions: "hi", tools: [t] }\n`,
    );
    const report = await client.request<{
      items: { code: string; range: unknown; message: string; data?: unknown }[];
    }>("textDocument/diagnostic", { textDocument: { uri: client.uri(f.name) } });
    const d = report.items.filter((x) => x.code === "sql-template");
    assert.equal(d.length, 1, JSON.stringify(report.items));
    const actions = await client.request<CodeAction[]>("textDocument/codeAction", {
      textDocument: { uri: client.uri(f.name) },
      range: d[0].range,
      context: { diagnostics: d },
    });
    const fix = actions.find((a) => a.title === "Bind 'input.email' as parameter $1");
    assert.ok(fix, actions.map((a) => a.title).join(", "));
    const fixed = applyTextEdits(f.text, fix.edit!.changes![client.uri(f.name)]);
    assert.match(fixed, /run: sql\(warehouse, "select 1 from c where e = \$1", \[input\.email\]\)/);
  });
});
