// Diagnostics over the protocol: pushed on open and change, pulled where the
// client supports it, and re-validated across files that import each other.

import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import {
  DiagnosticSeverity,
  DiagnosticTag,
  DidChangeWatchedFilesNotification,
  FileChangeType,
  type Diagnostic,
} from "vscode-languageserver-protocol/node";
import { TestClient } from "./harness";

const TOOLS = `tool lookup {\n  description: "Look up an order"\n  input { order_id: string }\n}\n`;
const AGENT = `import "tools.agent"\n\nagent support {\n  instructions: "Help"\n  tools: [lookup]\n}\n`;

const codes = (ds: Diagnostic[]) =>
  ds.map((d) => `${String(d.code)}@${d.range.start.line}:${d.range.start.character}`);

describe("lsp: diagnostics", () => {
  let client: TestClient;
  afterEach(async () => client?.stop());

  it("publishes diagnostics for an opened file with code, severity, range and source", async () => {
    client = await TestClient.start();
    await client.open("a.agent", `agent a {\n  instructions: "hi"\n  temperature: 3\n}\n`);
    const ds = await client.diagnostics("a.agent", (d) => d.length > 0);
    assert.deepEqual(codes(ds), ["out-of-range@2:15"]);
    assert.equal(ds[0].severity, DiagnosticSeverity.Error);
    assert.equal(ds[0].source, "statecraft");
    assert.deepEqual(ds[0].range.end, { line: 2, character: 16 });
  });

  it("reports a file that is not UTF-8 (as the editor decoded it) at its first bad byte", async () => {
    client = await TestClient.start();
    // "café ÿ" in Latin-1: the editor shows U+FFFD for 0xE9 and 0xFF, and saving would keep those.
    const bytes = Buffer.concat([
      Buffer.from(`agent a {\n  instructions: "caf`),
      Buffer.from([0xe9, 0x20, 0xff, 0x22]),
      Buffer.from("\n}\n"),
    ]);
    fs.writeFileSync(client.path("latin.agent"), bytes);
    await client.open("latin.agent", bytes.toString("utf8"));
    const ds = await client.diagnostics("latin.agent", (d) => d.length > 0);
    assert.deepEqual(codes(ds), ["invalid-encoding@1:20"]);
    assert.match(String(ds[0].message), /^the file is not valid UTF-8: byte 0xE9 at byte offset 30/);
    // Text the user typed, U+FFFD included, is not an encoding problem once it differs from the disk.
    await client.change("latin.agent", `agent a {\n  instructions: "caf\uFFFD"\n}\n`);
    assert.deepEqual(await client.diagnostics("latin.agent", (d) => d.length === 0), []);
  });

  it("clears diagnostics when an edit fixes the file", async () => {
    client = await TestClient.start();
    await client.open("a.agent", `agent a {\n  instructions: "hi"\n  temperature: 3\n}\n`);
    await client.diagnostics("a.agent", (d) => d.length === 1);
    await client.change("a.agent", `agent a {\n  instructions: "hi"\n  temperature: 1\n}\n`);
    assert.deepEqual(await client.diagnostics("a.agent", (d) => d.length === 0), []);
  });

  it("re-validates the importing file when an imported file changes", async () => {
    client = await TestClient.start({ files: { "tools.agent": TOOLS, "main.agent": AGENT } });
    await client.open("main.agent", AGENT);
    await client.open("tools.agent", TOOLS);
    assert.deepEqual(await client.diagnostics("main.agent"), []);
    // Renaming the tool in tools.agent breaks the reference in main.agent, which is not edited.
    await client.change("tools.agent", TOOLS.replace("tool lookup", "tool lookup_order"));
    const ds = await client.diagnostics("main.agent", (d) => d.length > 0);
    assert.deepEqual(codes(ds), ["unknown-reference@4:10"]);
    assert.match(String(ds[0].message), /Unknown tool 'lookup': declared tools are lookup_order\./);
  });

  it("indexes workspace files that are not open: an unused tool is a hint tagged unnecessary", async () => {
    client = await TestClient.start({ files: { "tools.agent": TOOLS } });
    await client.open("tools.agent", TOOLS);
    let ds = await client.diagnostics("tools.agent", (d) => d.length > 0);
    assert.equal(ds[0].code, "unused-declaration");
    assert.equal(ds[0].severity, DiagnosticSeverity.Hint);
    assert.deepEqual(ds[0].tags, [DiagnosticTag.Unnecessary]);
    // A file on disk that uses the tool makes the hint go away once the server sees it.
    client = await restartWith(client, { "tools.agent": TOOLS, "main.agent": AGENT });
    await client.open("tools.agent", TOOLS);
    ds = await client.diagnostics("tools.agent");
    assert.deepEqual(ds, []);
  });

  it("reports the first declaration as related information of a duplicate", async () => {
    client = await TestClient.start();
    await client.open("d.agent", `${TOOLS}\n${TOOLS}agent a {\n  instructions: "x"\n  tools: [lookup]\n}\n`);
    const ds = await client.diagnostics("d.agent", (d) => d.some((x) => x.code === "duplicate-declaration"));
    const dup = ds.find((x) => x.code === "duplicate-declaration")!;
    assert.equal(dup.range.start.line, 5);
    assert.equal(dup.relatedInformation?.[0].location.range.start.line, 0);
    assert.equal(dup.relatedInformation?.[0].location.uri, client.uri("d.agent"));
  });

  it("answers pull requests (textDocument/diagnostic) when the client supports them", async () => {
    client = await TestClient.start({
      capabilities: { textDocument: { diagnostic: { dynamicRegistration: false } } },
    });
    await client.open("a.agent", `agent a {\n  instructions: "hi"\n  tools: [nope]\n}\n`);
    const report = await client.request<{ kind: string; items: Diagnostic[] }>("textDocument/diagnostic", {
      textDocument: { uri: client.uri("a.agent") },
    });
    assert.equal(report.kind, "full");
    assert.deepEqual(codes(report.items), ["unknown-reference@2:10"]);
  });

  it("shows the lines of an eval's dataset on the dataset file, and clears them when it is fixed on disk", async () => {
    const evalFile = `agent a { instructions: "hi" }\neval e {\n  agent: a\n  dataset: file("cases.jsonl")\n}\n`;
    client = await TestClient.start({
      files: { "e.agent": evalFile, "cases.jsonl": `{"input": "ok"}\n{"input": 3}\n` },
    });
    await client.open("e.agent", evalFile);
    const ds = await client.diagnostics("cases.jsonl", (d) => d.length > 0);
    assert.deepEqual(codes(ds), ["dataset-line@1:1"]);
    assert.equal(ds[0].severity, DiagnosticSeverity.Error);
    assert.match(
      String(ds[0].message),
      /^Line 2 is not a valid case: 'input' must be a string or a non-empty list/,
    );
    assert.deepEqual(await client.diagnostics("e.agent"), []);
    client.write("cases.jsonl", `{"input": "ok"}\n{"input": "also ok"}\n`);
    await client.connection.sendNotification(DidChangeWatchedFilesNotification.type, {
      changes: [{ uri: client.uri("cases.jsonl"), type: FileChangeType.Changed }],
    });
    assert.deepEqual(await client.diagnostics("cases.jsonl", (d) => d.length === 0), []);
  });

  it("pushes dataset diagnostics to a client that pulls those of .agent files", async () => {
    const evalFile = `agent a { instructions: "hi" }\neval e {\n  agent: a\n  dataset: file("cases.jsonl")\n}\n`;
    client = await TestClient.start({
      files: { "cases.jsonl": `{"inputs": "x"}\n` },
      capabilities: { textDocument: { diagnostic: { dynamicRegistration: false } } },
    });
    await client.open("e.agent", evalFile);
    await client.request("textDocument/diagnostic", { textDocument: { uri: client.uri("e.agent") } });
    const ds = await client.diagnostics("cases.jsonl", (d) => d.length > 0);
    assert.deepEqual(codes(ds), ["dataset-line@0:1"]);
  });
});

async function restartWith(old: TestClient, files: Record<string, string>): Promise<TestClient> {
  await old.stop();
  return TestClient.start({ files });
}
