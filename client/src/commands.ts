// The command table of the run and test code lenses: every command with its handler, registered in one
// place and disposed with the extension. The engine runs agents from the `statecraft` CLI today; running
// them inside the editor comes with the editor integration, so for now each handler says how to do it
// from a terminal instead of pretending to run anything.

import * as path from "node:path";
import * as vscode from "vscode";

/** What a lens passes: the document and the agent or test it sits above (nothing for "run all"). */
interface LensTarget {
  uri: string;
  agent?: string;
  test?: string;
}

type Handler = (target: LensTarget | undefined) => string;

const NOT_YET = "Statecraft: running from the editor is not wired up yet;";

const COMMANDS: Record<string, Handler> = {
  "statecraft.runAgent": (t) =>
    t?.agent
      ? `${NOT_YET} in a terminal: statecraft run ${fileName(t.uri)} --agent ${t.agent}`
      : `${NOT_YET} use the ▶ Run lens above an agent.`,
  "statecraft.debugAgent": (t) =>
    t?.agent
      ? `${NOT_YET} the debugger comes next; to run '${t.agent}' now: statecraft run ${fileName(t.uri)} --agent ${t.agent}`
      : `${NOT_YET} use the Debug lens above an agent.`,
  "statecraft.runTest": (t) =>
    t?.test
      ? `${NOT_YET} in a terminal: statecraft test ${fileName(t.uri)} --filter "${t.test}"`
      : `${NOT_YET} use the ▶ Run test lens above a test.`,
  "statecraft.runTests": (t) =>
    t?.uri
      ? `${NOT_YET} in a terminal: statecraft test ${fileName(t.uri)}`
      : `${NOT_YET} use the Run all tests lens in a .agent file.`,
};

export function registerCommands(context: vscode.ExtensionContext, log: vscode.LogOutputChannel): void {
  for (const [id, handle] of Object.entries(COMMANDS)) {
    context.subscriptions.push(
      vscode.commands.registerCommand(id, (arg?: unknown) => {
        const target = asTarget(arg);
        const message = handle(target);
        log.info(`${id}${target ? ` ${JSON.stringify(target)}` : ""}: ${message}`);
        void vscode.window.showInformationMessage(message);
      }),
    );
  }
}

/** The lens argument, or undefined when the command was run from the palette. */
function asTarget(arg: unknown): LensTarget | undefined {
  if (typeof arg !== "object" || arg === null || typeof (arg as LensTarget).uri !== "string")
    return undefined;
  const { uri, agent, test } = arg as LensTarget;
  return {
    uri,
    ...(typeof agent === "string" ? { agent } : {}),
    ...(typeof test === "string" ? { test } : {}),
  };
}

function fileName(uri: string): string {
  return path.basename(vscode.Uri.parse(uri).path);
}
