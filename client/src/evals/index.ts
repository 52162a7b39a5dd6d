// Evals in the editor, built in one place: the Evals view over each workspace folder's
// `.statecraft/evals/` (watched: a run appears when `statecraft eval` writes it), Run Eval (the code
// lens above an eval or case, and the view), the Eval Report and Compare Eval Runs webviews, and a
// trial's session shown in the Session Explorer. The engine is reached only through the CLI.

import * as path from "node:path";
import * as vscode from "vscode";
import type { EvalRun } from "../../../server/protocol/evals";
import { workspaceDirOf, type Cli } from "../run/cli";
import type { SessionsApi } from "../sessions";
import { describeEvalNode, runNodeId, type EvalNode } from "./nodes";
import type { ReportRendered } from "./reportHtml";
import { ReportPanels } from "./reportPanel";
import { parseEvalTarget, runSummary, type EvalTarget } from "./results";
import { runEvalCli, type EvalRunResult } from "./runEval";
import { EvalRunFolder, EvalRunStore } from "./runs";
import { EVALS_VIEW_ID, EvalTreeProvider } from "./tree";
import { watchFolderFiles } from "../watchFiles";

export interface EvalsDeps {
  cli: Cli;
  log: vscode.LogOutputChannel;
  sessions: SessionsApi;
}

/** Coalesces bursts of file events into one refresh. */
const REFRESH_DELAY_MS = 80;

export function registerEvals(context: vscode.ExtensionContext, deps: EvalsDeps): void {
  const store = new EvalRunStore();
  const tree = new EvalTreeProvider(store);
  const view = vscode.window.createTreeView(EVALS_VIEW_ID, {
    treeDataProvider: tree,
    showCollapseAll: true,
    canSelectMany: true,
  });
  const reports = new ReportPanels(deps.cli, context.extensionUri, deps.log, (session) =>
    showSession(session),
  );
  const watchers: vscode.Disposable[] = [];
  let timer: NodeJS.Timeout | undefined;
  const refreshSoon = () => {
    timer ??= setTimeout(() => {
      timer = undefined;
      store.changed();
    }, REFRESH_DELAY_MS);
  };
  const report = (what: string) => (err: unknown) =>
    deps.log.error(`Evals: ${what}: ${err instanceof Error ? err.message : String(err)}`);

  const build = async () => {
    for (const w of watchers.splice(0)) w.dispose();
    const folders: EvalRunFolder[] = [];
    for (const folder of vscode.workspace.workspaceFolders ?? []) {
      if (folder.uri.scheme !== "file") continue;
      const runs = new EvalRunFolder(`folder:${folder.uri.toString()}`, folder.name, folder.uri.fsPath);
      folders.push(runs);
      watchers.push(...watchFolderFiles(folder, ".statecraft/evals/*.json", runs, refreshSoon, report));
    }
    await Promise.all(folders.map((f) => f.scan()));
    store.setFolders(folders);
    for (const f of folders) for (const w of f.warnings()) deps.log.warn(`Evals: ${w}`);
  };
  let building: Promise<void> = Promise.resolve();
  const rebuild = () => (building = building.then(build, build));
  const ready = rebuild().catch(report("reading the eval runs"));
  const rescan = async () => {
    await ready;
    await Promise.all(store.all().map((f) => f.scan()));
    store.changed();
  };

  /** Shows a session in the Session Explorer (the Statecraft container's Sessions view). */
  const showSession = async (session: string): Promise<boolean> => {
    await vscode.commands.executeCommand("statecraft.sessions.focus");
    if (await deps.sessions.reveal(session)) return true;
    throw new Error(`session ${session} is not in .statecraft/sessions/ (deleted, or recorded elsewhere)`);
  };

  /** Shows a run's node in the Evals view, expanded. */
  const revealRun = async (runId: string): Promise<boolean> => {
    await ready;
    const found = store.find(runId);
    if (!found) return false;
    tree.getChildren();
    const node = tree.node(runNodeId(found.folder.id, runId));
    if (!node) return false;
    const reveal = () => view.reveal(node, { select: true, focus: false, expand: true });
    try {
      await reveal();
    } catch {
      // The view was refreshing (a new run file): its nodes are back once it has read the top level.
      await tree.nextRootFetch(2000);
      await reveal();
    }
    return true;
  };

  /** A run from a view node, a `{run}` argument, or a quick pick of the runs. */
  const pickRun = async (arg: unknown, title: string, exclude?: string) => {
    const given = arg as Partial<EvalNode & { run: string }> | undefined;
    if (given && typeof given.run === "string") {
      const found = store.find(given.run);
      if (!found) throw new Error(`no eval run ${given.run} in .statecraft/evals/`);
      return found;
    }
    await ready;
    const items = store
      .all()
      .flatMap((folder) => folder.runs().map((run) => ({ folder, run })))
      .filter((x) => x.run.run !== exclude)
      .sort((a, b) => (a.run.startedAt < b.run.startedAt ? 1 : -1))
      .map((x) => ({
        label: x.run.eval,
        description: `${x.run.run} · ${describeEvalNode(store, { kind: "run", id: "", folder: x.folder.id, run: x.run.run }).description ?? ""}`,
        x,
      }));
    if (!items.length)
      throw new Error("no eval runs yet: run an eval first (the Run Eval lens above an eval)");
    const chosen = await vscode.window.showQuickPick(items, { title, matchOnDescription: true });
    return chosen?.x;
  };

  const openReport = async (arg: unknown): Promise<ReportRendered | undefined> => {
    const found = await pickRun(arg, "Statecraft: the eval run to report");
    if (!found) return undefined;
    return reports.show({
      key: `report:${found.run.run}`,
      title: `Eval Report · ${found.run.eval}`,
      args: ["eval", "report", found.run.run, "--html", "-"],
      cwd: found.folder.root,
    });
  };

  const compare = async (arg: unknown, all: unknown): Promise<ReportRendered | undefined> => {
    // Two runs selected in the view (a multi-selection passes them all), else two quick picks.
    const selected = Array.isArray(all) ? (all as EvalNode[]).filter((n) => n.kind === "run") : [];
    const given = arg as { a?: unknown; b?: unknown } | undefined;
    let a: { folder: EvalRunFolder; run: EvalRun } | undefined;
    let b: typeof a;
    if (given && typeof given.a === "string" && typeof given.b === "string") {
      a = await pickRun({ run: given.a }, "");
      b = await pickRun({ run: given.b }, "");
    } else if (selected.length === 2) {
      a = await pickRun(selected[1], "");
      b = await pickRun(selected[0], "");
    } else {
      // From a run's context menu: that run, compared with one picked; from the title bar: two picked.
      const clicked = (arg as Partial<EvalNode> | undefined)?.kind === "run" ? arg : undefined;
      a = await pickRun(clicked, "Statecraft: compare eval runs: the first run");
      if (!a) return undefined;
      b = await pickRun(undefined, `Statecraft: compare ${a.run.eval} (${a.run.run}) with`, a.run.run);
    }
    if (!a || !b) return undefined;
    // The older run is the baseline: a case that passed there and fails now is a regression.
    if (a.run.startedAt > b.run.startedAt) [a, b] = [b, a];
    return reports.show({
      key: `compare:${a.run.run}:${b.run.run}`,
      title: `Compare Eval Runs · ${a.run.eval}`,
      args: ["eval", "compare", a.run.run, b.run.run, "--html", "-"],
      cwd: a.folder.root,
    });
  };

  /** Run Eval: the lens's `{file, eval, case?}`, or a run / case node of the view (its eval again). */
  const runEval = async (arg: unknown): Promise<EvalRunResult | undefined> => {
    let target: EvalTarget | undefined;
    let cwd: string | undefined;
    const node = arg as Partial<EvalNode> | undefined;
    if (node && typeof node.kind === "string" && "folder" in node && typeof node.run === "string") {
      const found = store.find(node.run);
      if (!found) throw new Error(`no eval run ${node.run} in .statecraft/evals/`);
      cwd = found.folder.root;
      target = {
        file: path.resolve(cwd, found.run.file),
        eval: found.run.eval,
        ...((node.kind === "case" || node.kind === "trial") && typeof node.case === "string"
          ? { case: node.case }
          : {}),
      };
    } else {
      target = parseEvalTarget(arg, vscode.workspace.workspaceFolders?.[0]?.uri.fsPath);
      if (!target) throw new Error("use the Run Eval lens above an eval or a case, or the Evals view");
      cwd = workspaceDirOf(vscode.Uri.file(target.file));
    }
    const what = target.case ? `case "${target.case}" of eval ${target.eval}` : `eval ${target.eval}`;
    const result = await vscode.window.withProgress(
      {
        location: vscode.ProgressLocation.Notification,
        title: `Statecraft: running ${what}`,
        cancellable: true,
      },
      (progress, token) =>
        runEvalCli(
          deps.cli,
          target,
          { cwd, token, onLine: (line) => progress.report({ message: line }) },
          vscode.Uri.file(target.file),
        ),
    );
    await rescan();
    if (!result.run) throw new Error(`${what}: ${result.error ?? "no result"}`);
    const run = result.run;
    await revealRun(run.run).catch(report(`showing run ${run.run}`));
    const summary = `Statecraft: ${runSummary(run)}`;
    const show =
      run.status === "passed" ? vscode.window.showInformationMessage : vscode.window.showWarningMessage;
    void show(summary, "Open Report").then((pick) => pick && openReport({ run: run.run }));
    return result;
  };

  const openTrial = async (arg: unknown): Promise<boolean> => {
    const session = (arg as { session?: unknown } | undefined)?.session;
    if (typeof session !== "string") throw new Error("choose a trial in the Evals view");
    return showSession(session);
  };

  const commands: Record<string, (arg: unknown, all: unknown) => unknown> = {
    "statecraft.runEval": runEval,
    "statecraft.evals.refresh": () => rescan(),
    "statecraft.evals.openTrial": openTrial,
    "statecraft.evals.openReport": openReport,
    "statecraft.evals.compare": compare,
  };
  for (const [id, handle] of Object.entries(commands))
    context.subscriptions.push(
      vscode.commands.registerCommand(id, async (arg?: unknown, all?: unknown) => {
        try {
          return await handle(arg, all);
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          deps.log.error(`${id}: ${message}`);
          void vscode.window.showErrorMessage(`Statecraft: ${message}`);
          return undefined;
        }
      }),
    );

  context.subscriptions.push(
    tree,
    view,
    reports,
    { dispose: () => watchers.splice(0).forEach((w) => w.dispose()) },
    { dispose: () => clearTimeout(timer) },
    vscode.workspace.onDidChangeWorkspaceFolders(() => void rebuild().catch(report("reading the workspace"))),
    // Not contributed (no palette entry): the in-editor tests read what the view shows.
    vscode.commands.registerCommand("statecraft.evals.internal.children", async (id?: string) => {
      await ready;
      const parent = id === undefined ? undefined : tree.node(id);
      if (id !== undefined && !parent) throw new Error(`no node ${id} (list its parent first)`);
      return tree.getChildren(parent).map((c) => {
        const item = tree.getTreeItem(c);
        const label = typeof item.label === "string" ? item.label : (item.label?.label ?? "");
        return {
          id: c.id,
          kind: c.kind,
          label,
          description: item.description,
          tooltip: item.tooltip,
          node: c,
        };
      });
    }),
    // A run by id, or any node already listed (by its node id), selected and expanded.
    vscode.commands.registerCommand("statecraft.evals.internal.reveal", async (id: string) => {
      const node = tree.node(id);
      if (!node) return revealRun(id);
      await view.reveal(node, { select: true, focus: false, expand: true });
      return true;
    }),
  );
}
