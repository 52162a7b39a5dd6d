// Signature help over the protocol: the built-in call at the cursor, its
// parameters as ranges of the signature's label, and the active parameter
// from the commas before the cursor.

import { strict as assert } from "node:assert";
import type { SignatureHelp } from "vscode-languageserver-protocol/node";
import { markers, TestClient } from "./harness";

describe("lsp: signature help", () => {
  let client: TestClient;
  let opened = 0;
  before(async () => {
    client = await TestClient.start();
  });
  after(async () => client?.stop());

  async function helpAt(source: string): Promise<SignatureHelp | null> {
    const { text, positions } = markers(source);
    const name = `sig${++opened}.agent`;
    await client.open(name, text);
    return client.request<SignatureHelp | null>("textDocument/signatureHelp", {
      textDocument: { uri: client.uri(name) },
      position: positions[0],
    });
  }

  const table: { source: string; label?: string; active?: number }[] = [
    { source: "backend b {\n  api_key: env(<|>\n}\n", label: "env(name: string)", active: 0 },
    { source: 'context c {\n  from: file("docs/<|>")\n}\n', label: "file(path: string)", active: 0 },
    {
      source: 'tool t {\n  run: http("GET", <|>\n}\n',
      label: "http(method: string, url: string)",
      active: 1,
    },
    {
      source: 'tool t {\n  run: command("node", ["a.js", <|>])\n}\n',
      label: "command(executable: string, args: string[])",
      active: 1,
    },
    { source: "tool t {\n  run: mcp(<|>\n}\n", label: "mcp(server, tool: string)", active: 0 },
    { source: 'tool t {\n  run: http("GET", "https://x")<|>\n}\n' },
    { source: 'tool t {\n  description: "call(<|>"\n}\n' },
  ];
  for (const c of table)
    it(`${JSON.stringify(c.source)} -> ${c.label ?? "nothing"}`, async () => {
      const help = await helpAt(c.source);
      if (!c.label) return assert.equal(help, null);
      assert.equal(help?.signatures[0].label, c.label);
      assert.equal(help?.activeParameter, c.active);
    });

  it("gives each parameter as a range of the label, with documentation", async () => {
    const help = await helpAt("tool t {\n  run: http(<|>\n}\n");
    const sig = help!.signatures[0];
    const parts = sig.parameters!.map((p) => {
      const [start, end] = p.label as [number, number];
      return sig.label.slice(start, end);
    });
    assert.deepEqual(parts, ["method: string", "url: string"]);
    assert.match(String(sig.parameters![0].documentation), /GET, POST/);
    assert.match(String(sig.documentation), /HTTP request/);
  });

  it("declares ( and , as trigger characters", async () => {
    const other = new TestClient();
    try {
      const init = await other.connection.sendRequest("initialize", {
        processId: process.pid,
        rootUri: other.uri(""),
        capabilities: {},
      });
      const caps = (init as { capabilities: { signatureHelpProvider?: { triggerCharacters?: string[] } } })
        .capabilities;
      assert.deepEqual(caps.signatureHelpProvider?.triggerCharacters, ["(", ","]);
    } finally {
      await other.stop();
    }
  });
});
