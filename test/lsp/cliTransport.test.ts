// `statecraft lsp --stdio` is the same server for editors other than VS Code:
// the CLI bundle answers the LSP handshake and publishes diagnostics over stdio.

import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import {
  createProtocolConnection,
  DidOpenTextDocumentNotification,
  ExitNotification,
  InitializedNotification,
  InitializeRequest,
  PublishDiagnosticsNotification,
  ShutdownRequest,
  StreamMessageReader,
  StreamMessageWriter,
  type PublishDiagnosticsParams,
} from "vscode-languageserver-protocol/node";

const CLI = path.resolve(__dirname, "../../dist/cli.js");

describe("lsp: statecraft lsp --stdio", () => {
  it("answers initialize, publishes diagnostics and exits on shutdown/exit", async () => {
    assert.ok(fs.existsSync(CLI), "dist/cli.js is built by npm test before mocha runs");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "statecraft-lsp-cli-"));
    const proc = spawn(process.execPath, [CLI, "lsp", "--stdio"], { stdio: ["pipe", "pipe", "pipe"] });
    const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
    const conn = createProtocolConnection(
      new StreamMessageReader(proc.stdout),
      new StreamMessageWriter(proc.stdin),
    );
    const uri = pathToFileURL(path.join(dir, "a.agent")).href;
    const published = new Promise<PublishDiagnosticsParams>((resolve) =>
      conn.onNotification(PublishDiagnosticsNotification.type, (p) => {
        if (p.uri === uri && p.diagnostics.length) resolve(p);
      }),
    );
    conn.listen();
    const init = await conn.sendRequest(InitializeRequest.type, {
      processId: process.pid,
      rootUri: pathToFileURL(dir).href,
      workspaceFolders: [{ uri: pathToFileURL(dir).href, name: "ws" }],
      capabilities: {},
    });
    assert.equal(init.serverInfo?.name, "statecraft-language-server");
    assert.ok(init.capabilities.completionProvider, "completion is offered");
    await conn.sendNotification(InitializedNotification.type, {});
    await conn.sendNotification(DidOpenTextDocumentNotification.type, {
      textDocument: {
        uri,
        languageId: "agent",
        version: 1,
        text: 'agent a {\n  instructions: "hi"\n  temperature: 3\n}\n',
      },
    });
    const p = await published;
    assert.deepEqual(
      p.diagnostics.map((d) => d.code),
      ["out-of-range"],
    );
    await conn.sendRequest(ShutdownRequest.type);
    await conn.sendNotification(ExitNotification.type);
    assert.equal(await exited, 0);
    conn.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
