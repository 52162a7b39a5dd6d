// The Running half of the editor: the command table (Run Agent, Run Test, Run All Tests, Set API
// Key, Select Backend, Start/Stop Local Runtime, Open the Example), the Testing view's controller
// and the status bar items, built in one place by registerRunning() and disposed with the
// extension. The commands reach the engine only by spawning the CLI (run/cli.ts).

import * as path from "node:path";
import * as vscode from "vscode";
import { Config } from "./config";
import { Backends } from "./run/backends";
import { Cli } from "./run/cli";
import { AgentRunner } from "./run/runAgent";
import { isEnvName, Secrets } from "./run/secrets";
import { LocalRuntime } from "./runtime/localRuntime";
import { AgentTests, type TestOutcome } from "./testing/testController";

/** What a lens passes: the document and the agent or test it sits above (nothing for "run all"). */
interface LensTarget {
  uri: string;
  agent?: string;
  test?: string;
  /** Not from lenses: callers (tests, the walkthrough) may give the message, backend and script. */
  input?: string;
  backend?: string;
  script?: string;
}

export interface RunningParts {
  config: Config;
  cli: Cli;
  secrets: Secrets;
  backends: Backends;
  runner: AgentRunner;
  tests: AgentTests;
  runtime: LocalRuntime;
  log: vscode.LogOutputChannel;
}

type Handler = (parts: RunningParts, arg: unknown) => unknown;

const COMMANDS: Record<string, Handler> = {
  "statecraft.runAgent": async ({ runner }, arg) => {
    const t = asTarget(arg);
    const uri = targetUri(t);
    return runner.run({ uri, agent: t?.agent, input: t?.input, backend: t?.backend, script: t?.script });
  },
  // statecraft.debugAgent is registered by the debugger (client/src/debug/index.ts).
  "statecraft.runTest": ({ tests }, arg) => {
    const t = asTarget(arg);
    if (!t?.test) throw new Error("use the ▶ Run test lens above a test, or the Testing view");
    return runTestsWithProgress(tests, targetUri(t), t.test);
  },
  "statecraft.runTests": ({ tests }, arg) => runTestsWithProgress(tests, targetUri(asTarget(arg)), undefined),
  "statecraft.setApiKey": (parts, arg) => setApiKey(parts, arg),
  "statecraft.selectBackend": async ({ backends }, arg) => {
    const t = asTarget(arg);
    const uri = targetUri(t);
    if (t && "backend" in (arg as object)) {
      // A caller naming the backend (or "" to clear) skips the quick pick.
      const info = await backends.info(uri);
      if (t.backend && !info.backends.some((b) => b.name === t.backend))
        throw new Error(`no backend '${t.backend}' in ${path.basename(uri.fsPath)}`);
      await backends.pick(uri, t.backend || undefined);
      return (await backends.choice(uri)).backend;
    }
    return backends.select(uri);
  },
  "statecraft.startLocalRuntime": ({ runtime }, arg) => {
    const port = (arg as { port?: unknown } | undefined)?.port;
    return vscode.window.withProgress(
      {
        location: vscode.ProgressLocation.Notification,
        title: "Statecraft: starting the local runtime",
        cancellable: true,
      },
      (_progress, token) => runtime.start(token, typeof port === "number" ? port : undefined),
    );
  },
  "statecraft.stopLocalRuntime": ({ runtime }) => runtime.stop(),
  "statecraft.openExample": (parts) => openExample(parts),
  // Not contributed (no palette entry): the in-editor tests read the state the UI shows.
  "statecraft.internal.runningState": ({ backends, runtime, tests }) => ({
    backendStatus: backends.statusText,
    runtime: runtime.state,
    runtimeStatus: runtime.statusText,
    tests: tests.testIds,
  }),
  "statecraft.internal.discoverTests": ({ tests }) => tests.discover().then(() => tests.testIds),
  "statecraft.internal.nextTestRun": ({ tests }) =>
    new Promise<TestOutcome[]>((resolve) => {
      const once = tests.onDidEndRun((outcomes) => {
        once.dispose();
        resolve(outcomes);
      });
    }),
  "statecraft.internal.nextEvalTestRun": ({ tests }) =>
    new Promise<TestOutcome[]>((resolve) => {
      const once = tests.onDidEndEvalRun((outcomes) => {
        once.dispose();
        resolve(outcomes);
      });
    }),
};

/** Builds the running parts, registers their commands, and ties everything to the extension's life. */
export function registerRunning(
  context: vscode.ExtensionContext,
  log: vscode.LogOutputChannel,
): RunningParts {
  const config = new Config();
  const secrets = new Secrets(context);
  const cli = new Cli(context, config, secrets, log);
  const backends = new Backends(context, config, cli, log);
  const runner = new AgentRunner(cli, backends, config, log);
  const tests = new AgentTests(cli, log);
  const runtime = new LocalRuntime(cli, config, log);
  const parts: RunningParts = { config, cli, secrets, backends, runner, tests, runtime, log };
  context.subscriptions.push(
    secrets,
    backends,
    tests,
    runtime,
    Config.onDidChange(() => void backends.refresh()),
  );
  for (const [id, handle] of Object.entries(COMMANDS)) {
    context.subscriptions.push(
      vscode.commands.registerCommand(id, async (arg?: unknown) => {
        try {
          return await handle(parts, arg);
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          log.error(`${id}: ${message}`);
          void vscode.window.showErrorMessage(`Statecraft: ${message}`);
          return undefined;
        }
      }),
    );
  }
  void backends.refresh();
  return parts;
}

function runTestsWithProgress(tests: AgentTests, uri: vscode.Uri, name: string | undefined) {
  return vscode.window.withProgress(
    {
      location: vscode.ProgressLocation.Notification,
      title: name
        ? `Statecraft: running test "${name}"`
        : `Statecraft: running the tests of ${path.basename(uri.fsPath)}`,
      cancellable: true,
    },
    async (_progress, token) => {
      const outcomes = await tests.runFile(uri, name, token);
      const failed = outcomes.filter((o) => o.state === "failed" || o.state === "errored");
      const passed = outcomes.filter((o) => o.state === "passed").length;
      const summary = `${passed} passed, ${failed.length} failed`;
      if (failed.length)
        void vscode.window
          .showWarningMessage(
            `Statecraft tests: ${summary}: ${failed.map((o) => o.name).join(", ")}`,
            "Show Test Results",
          )
          .then((pick) => pick && vscode.commands.executeCommand("workbench.view.testing.focus"));
      else void vscode.window.showInformationMessage(`Statecraft tests: ${summary}`);
      return outcomes;
    },
  );
}

/** Set API Key: for a backend's env("X") key, or a configured runtime's token. */
async function setApiKey(
  { secrets, backends, config, log }: RunningParts,
  arg: unknown,
): Promise<string | undefined> {
  const given = (arg ?? {}) as { env?: unknown; runtime?: unknown; value?: unknown };
  let target: { env: string } | { runtime: string } | undefined =
    typeof given.env === "string"
      ? { env: given.env }
      : typeof given.runtime === "string"
        ? { runtime: given.runtime }
        : undefined;
  if (!target) {
    type Item = vscode.QuickPickItem & { target?: { env: string } | { runtime: string } };
    const items: Item[] = [];
    const doc = vscode.window.activeTextEditor?.document;
    const envs = new Map<string, string[]>();
    if (doc?.languageId === "agent" && doc.uri.scheme === "file") {
      const info = await backends.info(doc.uri).catch((err: unknown) => {
        log.debug(`Set API Key: no backends from ${doc.uri.fsPath}: ${(err as Error).message}`);
        return undefined;
      });
      for (const b of info?.backends ?? [])
        if (b.apiKeyEnv) envs.set(b.apiKeyEnv, [...(envs.get(b.apiKeyEnv) ?? []), b.name]);
    }
    for (const name of secrets.envNames()) if (!envs.has(name)) envs.set(name, []);
    for (const [name, users] of envs)
      items.push({
        label: name,
        description: users.length ? `env("${name}") of backend ${users.join(", ")}` : "stored",
        target: { env: name },
      });
    for (const r of config.runtimes)
      items.push({ label: `runtime ${r.name}`, description: r.url, target: { runtime: r.name } });
    items.push({ label: "$(add) Another environment variable…" });
    const chosen = await vscode.window.showQuickPick(items, { title: "Statecraft: set an API key" });
    if (!chosen) return undefined;
    if (chosen.target) target = chosen.target;
    else {
      const name = await vscode.window.showInputBox({
        title: "Statecraft: environment variable",
        prompt: 'The name used in api_key: env("NAME")',
        validateInput: (v) => (isEnvName(v) ? undefined : "letters, digits and _, not starting with a digit"),
      });
      if (!name) return undefined;
      target = { env: name };
    }
  }
  const what = "env" in target ? `the environment variable ${target.env}` : `the runtime ${target.runtime}`;
  const value =
    typeof given.value === "string"
      ? given.value
      : await vscode.window.showInputBox({
          title: `Statecraft: key for ${what}`,
          prompt:
            "Stored in VS Code's secret storage and given only to the Statecraft processes it starts. Empty removes it.",
          password: true,
          ignoreFocusOut: true,
        });
  if (value === undefined) return undefined;
  if ("env" in target) await secrets.setEnv(target.env, value);
  else await secrets.setRuntime(target.runtime, value);
  log.info(`${value ? "stored" : "removed"} the key for ${what}`);
  void vscode.window.showInformationMessage(`Statecraft: key for ${what} ${value ? "stored" : "removed"}.`);
  return "env" in target ? target.env : target.runtime;
}

const EXAMPLE_FOLDER = "statecraft-example";

/**
 * Open Example (the walkthrough's first step): copies the support example shipped with the
 * extension into the workspace (or a folder the user picks) and opens its entry point.
 */
async function openExample({ log }: RunningParts): Promise<vscode.Uri | undefined> {
  const source = vscode.Uri.file(
    path.join(vscode.extensions.getExtension("statecraft.statecraft")!.extensionPath, "examples", "support"),
  );
  let parent = vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === "file")?.uri;
  const openAfter = !parent;
  if (!parent) {
    const picked = await vscode.window.showOpenDialog({
      canSelectFolders: true,
      canSelectFiles: false,
      openLabel: "Put the example here",
      title: "Statecraft: where to put the example",
    });
    parent = picked?.[0];
    if (!parent) return undefined;
  }
  const target = vscode.Uri.joinPath(parent, EXAMPLE_FOLDER);
  const exists = await vscode.workspace.fs.stat(target).then(
    () => true,
    () => false,
  );
  if (!exists) {
    await copyFolder(source, target);
    log.info(`copied the support example to ${target.fsPath}`);
  }
  const main = vscode.Uri.joinPath(target, "main.agent");
  if (openAfter) await vscode.commands.executeCommand("vscode.openFolder", target);
  else await vscode.window.showTextDocument(main);
  return main;
}

/** Copies a folder without the recorded state (.statecraft/) a development checkout may hold. */
async function copyFolder(from: vscode.Uri, to: vscode.Uri): Promise<void> {
  await vscode.workspace.fs.createDirectory(to);
  for (const [name, type] of await vscode.workspace.fs.readDirectory(from)) {
    if (name === ".statecraft") continue;
    const src = vscode.Uri.joinPath(from, name);
    const dst = vscode.Uri.joinPath(to, name);
    if (type & vscode.FileType.Directory) await copyFolder(src, dst);
    else await vscode.workspace.fs.copy(src, dst);
  }
}

/** The lens argument, or undefined when the command was run from the palette. */
function asTarget(arg: unknown): LensTarget | undefined {
  if (typeof arg !== "object" || arg === null || typeof (arg as LensTarget).uri !== "string")
    return undefined;
  const a = arg as Record<string, unknown>;
  const str = (k: string) => (typeof a[k] === "string" ? { [k]: a[k] } : {});
  return {
    uri: a.uri as string,
    ...str("agent"),
    ...str("test"),
    ...str("input"),
    ...str("backend"),
    ...str("script"),
  };
}

/** The target's file, or the active `.agent` editor's. */
function targetUri(t: LensTarget | undefined): vscode.Uri {
  if (t) return vscode.Uri.parse(t.uri);
  const doc = vscode.window.activeTextEditor?.document;
  if (doc?.languageId === "agent" && doc.uri.scheme === "file") return doc.uri;
  throw new Error("open an .agent file first (or use the lenses above its agents and tests)");
}
