// The extension's entry point: starts the language client and registers the
// commands; later features (Session Explorer, run, debug) hang off the same
// context so that everything is disposed with it.

import * as vscode from "vscode";
import { registerRunning } from "./commands";
import { registerDebugger } from "./debug";
import { registerEvals } from "./evals";
import { startLanguageClient, type LanguageClientHandle } from "./languageClient";
import { reportActivation } from "./run/activationTiming";
import { registerSessions } from "./sessions";

let client: LanguageClientHandle | undefined;

/** What activate() returns to other extensions and to the in-editor tests. */
export interface StatecraftApi {
  /** Settles once the language server is up, so its features answer. */
  languageServerReady: Promise<void>;
}

export function activate(context: vscode.ExtensionContext): StatecraftApi {
  const started = performance.now();
  const log = vscode.window.createOutputChannel("Statecraft", { log: true });
  context.subscriptions.push(log);
  client = startLanguageClient(context, log);
  context.subscriptions.push(
    vscode.commands.registerCommand("statecraft.restartLanguageServer", async () => {
      log.info("Restarting the language server");
      await client?.restart();
    }),
    vscode.commands.registerCommand("statecraft.showLog", () => log.show()),
  );
  const running = registerRunning(context, log);
  registerDebugger(context, running);
  const sessions = registerSessions(context, running);
  registerEvals(context, { cli: running.cli, log, sessions });
  log.info(`Statecraft ${String(context.extension.packageJSON.version)} activated`);
  reportActivation(log, performance.now() - started);
  return { languageServerReady: client.ready };
}

export async function deactivate(): Promise<void> {
  await client?.stop();
}
