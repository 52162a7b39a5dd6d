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
  restart(): Promise<void>;
  stop(): Promise<void>;
  client: LanguageClient;
}

export async function startLanguageClient(
  context: vscode.ExtensionContext,
  log: vscode.LogOutputChannel,
): Promise<LanguageClientHandle> {
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
  await client.start();
  return {
    client,
    restart: () => client.restart(),
    stop: () => client.stop(),
  };
}
