// The extension's entry point. For now it only owns a log channel; the
// language client, Session Explorer and commands are added by later issues
// and register their disposables here.

import * as vscode from "vscode";

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel("Statecraft", { log: true });
  context.subscriptions.push(log);
  log.info(`Statecraft ${String(context.extension.packageJSON.version)} activated`);
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions.
}
