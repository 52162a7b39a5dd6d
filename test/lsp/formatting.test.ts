// Formatting over the protocol: a messy document comes back canonical (with the client's tab size as the
// indent), range formatting touches only the lines of the range, and a file with syntax errors gets no edits.

import { strict as assert } from "node:assert";
import { LogMessageNotification, type Range, type TextEdit } from "vscode-languageserver-protocol/node";
import { applyTextEdits, markers, TestClient } from "./harness";

const MESSY = [
  "backend   local{kind:stateless  ,provider : local}",
  "",
  "",
  "agent support{",
  '      instructions:"Help"   ',
  "tools:[ lookup ]",
  "    policy {",
  "  max_turns :3",
  "        }",
  "}",
  'tool lookup {description: "Look up"  input{order_id:string}}',
].join("\n");

const FORMATTED = [
  "backend local { kind: stateless, provider: local }",
  "",
  "agent support {",
  '  instructions: "Help"',
  "  tools: [lookup]",
  "  policy {",
  "    max_turns: 3",
  "  }",
  "}",
  'tool lookup { description: "Look up" input { order_id: string } }',
  "",
].join("\n");

describe("lsp: formatting", () => {
  let client: TestClient;
  before(async () => {
    client = await TestClient.start();
  });
  after(async () => client?.stop());

  const format = (name: string, tabSize = 2) =>
    client.request<TextEdit[]>("textDocument/formatting", {
      textDocument: { uri: client.uri(name) },
      options: { tabSize, insertSpaces: true },
    });

  it("formats a messy document", async () => {
    await client.open("messy.agent", MESSY);
    assert.equal(applyTextEdits(MESSY, await format("messy.agent")), FORMATTED);
  });

  it("indents by the client's tab size", async () => {
    await client.open("wide.agent", MESSY);
    assert.equal(
      applyTextEdits(MESSY, await format("wide.agent", 4)),
      FORMATTED.replace(/^( +)/gm, (s) => s + s),
    );
  });

  it("returns no edits for a formatted document", async () => {
    await client.open("clean.agent", FORMATTED);
    assert.deepEqual(await format("clean.agent"), []);
  });

  it("formats only the lines of a range", async () => {
    const { text, positions } = markers(
      ["agent   a {", '<|>      instructions:"Help"', "tools:[ x ]<|>", "  temperature :1", "}", ""].join(
        "\n",
      ),
    );
    await client.open("range.agent", text);
    const range: Range = { start: positions[0], end: positions[1] };
    const edits = await client.request<TextEdit[]>("textDocument/rangeFormatting", {
      textDocument: { uri: client.uri("range.agent") },
      range,
      options: { tabSize: 2, insertSpaces: true },
    });
    assert.equal(
      applyTextEdits(text, edits),
      ["agent   a {", '  instructions: "Help"', "  tools: [x]", "  temperature :1", "}", ""].join("\n"),
    );
    for (const e of edits) assert.ok(e.range.start.line >= 1 && e.range.end.line <= 3, JSON.stringify(e));
  });

  it("gives no edits for a file with syntax errors", async () => {
    const broken = 'agent   a {\n  instructions: "Help\n  tools:[ x ]\n}\n';
    const logged: string[] = [];
    const listener = client.connection.onNotification(LogMessageNotification.type, (m) => {
      logged.push(m.message);
    });
    await client.open("broken.agent", broken);
    assert.deepEqual(await format("broken.agent"), []);
    listener.dispose();
    // The log says why: the message is sent before the response, on the same stream.
    assert.ok(
      logged.some((m) => /Cannot format a file with syntax errors: line 2/.test(m)),
      logged.join("\n"),
    );
    const edits = await client.request<TextEdit[]>("textDocument/rangeFormatting", {
      textDocument: { uri: client.uri("broken.agent") },
      range: { start: { line: 0, character: 0 }, end: { line: 3, character: 1 } },
      options: { tabSize: 2, insertSpaces: true },
    });
    assert.deepEqual(edits, []);
  });
});
