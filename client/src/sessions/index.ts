// The Session Explorer, built in one place: the sources (each workspace
// folder's .statecraft/sessions/, watched, and every runtime configured in
// `statecraft.runtimes`), the tree view, the `statecraft-snapshot:` documents,
// the context window view and the session actions. Everything is disposed
// with the extension.

import * as vscode from "vscode";
import { Config } from "../config";
import type { Backends } from "../run/backends";
import type { Cli } from "../run/cli";
import { runtimeSecretKey } from "../run/secrets";
import { registerActions } from "./actions";
import { ContextWindowPanel } from "./contextWindowPanel";
import { RuntimeClient } from "./runtimeClient";
import { SNAPSHOT_SCHEME } from "./documents";
import { SnapshotProvider } from "./snapshots";
import { FolderSource, RuntimeSource, SessionStore, type Source } from "./store";
import { SessionTreeProvider, VIEW_ID } from "./tree";
import { evalsNodeId, sessionNodeId, testsNodeId, turnNodeId } from "./nodes";
import { watchFolderFiles } from "../watchFiles";

export interface SessionsDeps {
  log: vscode.LogOutputChannel;
  cli: Cli;
  backends: Backends;
  config: Config;
}

/** What other parts of the extension use: reveal a session (after a run), re-read the sources. */
export interface SessionsApi {
  store: SessionStore;
  rescan(): Promise<void>;
  reveal(sessionId: string, turn?: number): Promise<boolean>;
}

/** Coalesces bursts of file events (a running session appends many lines) into one tree refresh. */
const REFRESH_DELAY_MS = 80;

export function registerSessions(context: vscode.ExtensionContext, deps: SessionsDeps): SessionsApi {
  const store = new SessionStore();
  const tree = new SessionTreeProvider(store);
  const view = vscode.window.createTreeView(VIEW_ID, {
    treeDataProvider: tree,
    showCollapseAll: true,
    canSelectMany: true,
  });
  const snapshots = new SnapshotProvider(store);
  const watchers: vscode.Disposable[] = [];
  let refreshTimer: NodeJS.Timeout | undefined;
  const refreshSoon = () => {
    refreshTimer ??= setTimeout(() => {
      refreshTimer = undefined;
      store.changed();
    }, REFRESH_DELAY_MS);
  };
  const report = (what: string) => (err: unknown) =>
    deps.log.error(`Session Explorer: ${what}: ${err instanceof Error ? err.message : String(err)}`);

  /** Builds the sources from the workspace folders and the setting, and watches the folders. */
  const build = async () => {
    for (const w of watchers.splice(0)) w.dispose();
    const sources: Source[] = [];
    for (const folder of vscode.workspace.workspaceFolders ?? []) {
      if (folder.uri.scheme !== "file") continue;
      const source = new FolderSource(`folder:${folder.uri.toString()}`, folder.name, folder.uri.fsPath);
      sources.push(source);
      watchers.push(...watchFolderFiles(folder, ".statecraft/sessions/*.jsonl", source, refreshSoon, report));
    }
    for (const runtime of deps.config.runtimes) {
      const token = await context.secrets.get(runtimeSecretKey(runtime.name));
      sources.push(new RuntimeSource(`runtime:${runtime.name}`, runtime, new RuntimeClient(runtime, token)));
    }
    await Promise.all(sources.map((s) => s.scan()));
    store.setSources(sources);
    for (const s of sources) if (s.error) deps.log.warn(`Session Explorer: ${s.label}: ${s.error}`);
  };
  // One build at a time: a later one (settings and a token changed together) starts after the
  // earlier, so that the sources shown are the last built and their watchers are the live ones.
  let building: Promise<void> = Promise.resolve();
  const rebuild = () => (building = building.then(build, build));
  const rescan = async () => {
    await Promise.all(store.all().map((s) => s.scan()));
    store.changed();
  };

  context.subscriptions.push(
    tree,
    view,
    snapshots,
    vscode.workspace.registerTextDocumentContentProvider(SNAPSHOT_SCHEME, snapshots),
    { dispose: () => watchers.splice(0).forEach((w) => w.dispose()) },
    { dispose: () => clearTimeout(refreshTimer) },
    { dispose: () => ContextWindowPanel.disposeCurrent() },
    vscode.workspace.onDidChangeWorkspaceFolders(() => void rebuild().catch(report("reading the workspace"))),
    Config.onDidChange(() => void rebuild().catch(report("reading statecraft.runtimes"))),
    context.secrets.onDidChange((e) => {
      if (e.key.startsWith("statecraft.runtime.")) void rebuild().catch(report("reading the runtimes"));
    }),
  );
  registerActions(context, {
    store,
    cli: deps.cli,
    backends: deps.backends,
    log: deps.log,
    extensionUri: context.extensionUri,
    rescan,
  });
  const ready = rebuild().catch(report("reading the sessions"));

  /** Shows a session (or one of its turns, expanded) in the view. */
  const reveal = async (sessionId: string, turn?: number): Promise<boolean> => {
    await ready;
    const find = () =>
      store.all().find((s) => (s.kind === "folder" ? s.session(sessionId) : s.summary(sessionId)));
    let source = find();
    if (!source) {
      await rescan();
      source = find();
    }
    if (!source) return false;
    // Walk down from the root so that the tree knows every ancestor (getParent needs them).
    await tree.getChildren();
    const sourceNode = tree.node(`source:${source.id}`);
    if (sourceNode) await tree.getChildren(sourceNode);
    // A test's or an eval case's session is under its group's node.
    for (const group of [testsNodeId(source.id), evalsNodeId(source.id)]) {
      const node = tree.node(group);
      if (node) await tree.getChildren(node);
    }
    const sessionNode = tree.node(sessionNodeId(source.id, sessionId));
    if (!sessionNode) return false;
    if (turn === undefined) {
      await view.reveal(sessionNode, { select: true, focus: false, expand: true });
      return true;
    }
    await tree.getChildren(sessionNode);
    const turnNode = tree.node(turnNodeId(source.id, sessionId, turn));
    if (!turnNode) return false;
    await view.reveal(turnNode, { select: true, focus: false, expand: true });
    return true;
  };

  /** Resolves once `holds()` is true, checked now and on every change of the store; rejects after `ms`. */
  const when = (holds: () => boolean, describe: () => string, ms = 20_000) =>
    new Promise<void>((resolve, reject) => {
      const done = (err?: Error) => {
        clearTimeout(deadline);
        subscription.dispose();
        if (err) reject(err);
        else resolve();
      };
      const subscription = store.onDidChange(() => {
        if (holds()) done();
      });
      const deadline = setTimeout(() => done(new Error(`after ${ms} ms: ${describe()}`)), ms);
      void ready.then(() => {
        if (holds()) done();
      });
    });
  const turnsOf = (sessionId: string) =>
    store
      .all()
      .map((s) => (s.kind === "folder" ? s.session(sessionId)?.turnCount : s.summary(sessionId)?.turns))
      .find((n) => n !== undefined) ?? 0;
  /** A session has `turns` finished turns (a running session grows). */
  const whenTurns = (sessionId: string, turns: number, ms?: number) =>
    when(
      () => turnsOf(sessionId) >= turns,
      () => `session ${sessionId} has ${turnsOf(sessionId)} turns, not ${turns}`,
      ms,
    );
  /** A source is listed, and has an error (or has none). */
  const whenSource = (sourceId: string, failed: boolean, ms?: number) =>
    when(
      () => {
        const source = store.source(sourceId);
        return source !== undefined && (source.error !== undefined) === failed;
      },
      () =>
        `source ${sourceId} is ${store.source(sourceId) ? `there, error: ${store.source(sourceId)?.error ?? "none"}` : "not there"}`,
      ms,
    );

  context.subscriptions.push(
    // Not contributed (no palette entry): tests and other parts read what the explorer holds.
    vscode.commands.registerCommand("statecraft.sessions.internal.reveal", (id: string, turn?: number) =>
      reveal(id, turn),
    ),
    vscode.commands.registerCommand(
      "statecraft.sessions.internal.whenTurns",
      (id: string, turns: number, ms?: number) => whenTurns(id, turns, ms),
    ),
    vscode.commands.registerCommand(
      "statecraft.sessions.internal.whenSource",
      (id: string, failed: boolean, ms?: number) => whenSource(id, failed, ms),
    ),
    vscode.commands.registerCommand("statecraft.sessions.internal.state", async () => {
      await ready;
      return {
        sources: store.all().map((s) => ({ id: s.id, kind: s.kind, label: s.label, error: s.error })),
        visible: view.visible,
      };
    }),
    vscode.commands.registerCommand("statecraft.sessions.internal.children", async (id?: string) => {
      await ready;
      const parent = id === undefined ? undefined : tree.node(id);
      if (id !== undefined && !parent) throw new Error(`no node ${id} (list its parent first)`);
      const children = await tree.getChildren(parent);
      return Promise.all(
        children.map(async (c) => {
          const item = await tree.getTreeItem(c);
          const label = typeof item.label === "string" ? item.label : (item.label?.label ?? "");
          return {
            id: c.id,
            kind: c.kind,
            label,
            description: item.description,
            contextValue: item.contextValue,
          };
        }),
      );
    }),
  );
  return { store, rescan, reveal };
}
