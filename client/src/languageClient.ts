// Starts the bundled language server (dist/server.js) in a Node process over
// IPC and connects VS Code to it for `.agent` files.

import * as vscode from "vscode";
import {
  LanguageClient,
  TransportKind,
  type LanguageClientOptions,
  type ServerOptions,
} from "vscode-languageclient/node";

export interface LanguageClientHandle {
  /** Settles once the server has answered `initialize` (activation does not wait for it). */
  ready: Promise<void>;
  restart(): Promise<void>;
  stop(): Promise<void>;
  client: LanguageClient;
}

export function startLanguageClient(
  context: vscode.ExtensionContext,
  log: vscode.LogOutputChannel,
): LanguageClientHandle {
  const module = context.asAbsolutePath("dist/server.js");
  const serverOptions: ServerOptions = {
    run: { module, transport: TransportKind.ipc },
    debug: { module, transport: TransportKind.ipc, options: { execArgv: ["--nolazy", "--inspect=6009"] } },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ scheme: "file", language: "agent" }],
    outputChannel: log,
    synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher("**/*.agent") },
  };
  const client = new LanguageClient("statecraft", "Statecraft Language Server", serverOptions, clientOptions);
  context.subscriptions.push(client);
  // Starting the server process and its handshake take most of a second: the rest of the extension
  // (explorer, commands, debugger) does not need it, so activation goes on and this settles later.
  const ready = client.start().catch((err: unknown) => {
    log.error(`The language server did not start: ${err instanceof Error ? err.message : String(err)}`);
    throw err;
  });
  ready.catch(() => undefined);
  return {
    ready,
    client,
    restart: () => client.restart(),
    stop: () => client.stop(),
  };
}
