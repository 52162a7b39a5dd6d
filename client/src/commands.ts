// The command table of the run and test code lenses: every command with its handler, registered in one
// place and disposed with the extension. The agent engine does not exist yet, so for now each handler says
// what it will do instead of pretending to run anything.

import * as path from "node:path";
import * as vscode from "vscode";

/** What a lens passes: the document and the agent or test it sits above (nothing for "run all"). */
interface LensTarget {
  uri: string;
  agent?: string;
  test?: string;
}

type Handler = (target: LensTarget | undefined) => string;

const NOT_YET = "Statecraft: running agents arrives with the agent engine;";

const COMMANDS: Record<string, Handler> = {
  "statecraft.runAgent": (t) =>
    t?.agent
      ? `${NOT_YET} this lens will start '${t.agent}' then.`
      : `${NOT_YET} use the ▶ Run lens above an agent then.`,
  "statecraft.debugAgent": (t) =>
    t?.agent
      ? `${NOT_YET} this lens will start '${t.agent}' under the debugger then.`
      : `${NOT_YET} use the Debug lens above an agent then.`,
  "statecraft.runTest": (t) =>
    t?.test
      ? `${NOT_YET} this lens will run test '${t.test}' then.`
      : `${NOT_YET} use the ▶ Run test lens above a test then.`,
  "statecraft.runTests": (t) =>
    t?.uri
      ? `${NOT_YET} this lens will run the tests in ${fileName(t.uri)} then.`
      : `${NOT_YET} use the Run all tests lens in a .agent file then.`,
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
