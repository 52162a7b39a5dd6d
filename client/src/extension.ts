// The extension's entry point: starts the language client and registers the
// commands; later features (Session Explorer, run, debug) hang off the same
// context so that everything is disposed with it.

import * as vscode from "vscode";
import { registerCommands } from "./commands";
import { startLanguageClient, type LanguageClientHandle } from "./languageClient";

let client: LanguageClientHandle | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const log = vscode.window.createOutputChannel("Statecraft", { log: true });
  context.subscriptions.push(log);
  client = await startLanguageClient(context, log);
  context.subscriptions.push(
    vscode.commands.registerCommand("statecraft.restartLanguageServer", async () => {
      log.info("Restarting the language server");
      await client?.restart();
    }),
    vscode.commands.registerCommand("statecraft.showLog", () => log.show()),
  );
  registerCommands(context, log);
  log.info(`Statecraft ${String(context.extension.packageJSON.version)} activated`);
}

export async function deactivate(): Promise<void> {
  await client?.stop();
}
