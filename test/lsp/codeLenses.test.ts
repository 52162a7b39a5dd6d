// Code lenses over the protocol: run and debug above each agent, run above each test, and "run all" above the
// first test only, with the commands and arguments the client's command table expects.

import { strict as assert } from "node:assert";
import type { CodeLens } from "vscode-languageserver-protocol/node";
import { markers, TestClient } from "./harness";

const SOURCE = [
  "// Support agents and their tests.",
  '<|>agent support { instructions: "Help" }',
  "",
  '<|>agent billing {\n  instructions: "Bill"\n}',
  "",
  '<|>test "greets" {\n  agent: support\n  send "hi"\n}',
  '<|>test "bills" {\n  agent: billing\n  send "invoice"\n}',
  "",
].join("\n");

describe("lsp: code lenses", () => {
  let client: TestClient;
  afterEach(async () => client?.stop());

  it("puts run and debug above agents, run above tests, and run-all above the first test", async () => {
    client = await TestClient.start();
    const { text, positions } = markers(SOURCE);
    const uri = client.uri("lenses.agent");
    await client.open("lenses.agent", text);
    const lenses = await client.request<CodeLens[]>("textDocument/codeLens", { textDocument: { uri } });
    const [support, billing, greets, bills] = positions;
    assert.deepEqual(
      lenses.map((l) => ({
        at: l.range.start,
        title: l.command?.title,
        command: l.command?.command,
        args: l.command?.arguments,
      })),
      [
        { at: support, title: "▶ Run", command: "statecraft.runAgent", args: [{ uri, agent: "support" }] },
        { at: support, title: "Debug", command: "statecraft.debugAgent", args: [{ uri, agent: "support" }] },
        { at: billing, title: "▶ Run", command: "statecraft.runAgent", args: [{ uri, agent: "billing" }] },
        { at: billing, title: "Debug", command: "statecraft.debugAgent", args: [{ uri, agent: "billing" }] },
        { at: greets, title: "▶ Run test", command: "statecraft.runTest", args: [{ uri, test: "greets" }] },
        { at: greets, title: "Run all tests in file", command: "statecraft.runTests", args: [{ uri }] },
        { at: bills, title: "▶ Run test", command: "statecraft.runTest", args: [{ uri, test: "bills" }] },
      ],
    );
    // Each lens covers the declaration's keyword and name, on one line.
    for (const l of lenses) assert.equal(l.range.end.line, l.range.start.line);
  });

  it("puts Run Eval above every eval and every case, with the file's path, the eval and the case", async () => {
    client = await TestClient.start();
    const { text, positions } = markers(
      [
        'agent support { instructions: "Help" }',
        "<|>eval quality {",
        "  agent: support",
        '  <|>case "small refund" { send "Refund A1." }',
        '  <|>case "greeting" {\n    send "hi"\n  }',
        "}",
        "",
      ].join("\n"),
    );
    await client.open("evals.agent", text);
    const lenses = await client.request<CodeLens[]>("textDocument/codeLens", {
      textDocument: { uri: client.uri("evals.agent") },
    });
    const file = client.path("evals.agent");
    const [quality, refund, greeting] = positions;
    assert.deepEqual(
      lenses
        .filter((l) => l.command?.command === "statecraft.runEval")
        .map((l) => ({ at: l.range.start, title: l.command?.title, args: l.command?.arguments })),
      [
        { at: quality, title: "▶ Run Eval", args: [{ file, eval: "quality" }] },
        { at: refund, title: "▶ Run Eval", args: [{ file, eval: "quality", case: "small refund" }] },
        { at: greeting, title: "▶ Run Eval", args: [{ file, eval: "quality", case: "greeting" }] },
      ],
    );
  });

  it("gives no lenses for a file without agents or tests", async () => {
    client = await TestClient.start();
    await client.open("tools.agent", 'tool lookup { description: "x" }\n');
    const lenses = await client.request<CodeLens[]>("textDocument/codeLens", {
      textDocument: { uri: client.uri("tools.agent") },
    });
    assert.deepEqual(lenses, []);
  });
});
