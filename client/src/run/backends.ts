// What an agent file can run on, and which of it the user picked: the declared backends (from
// `statecraft run FILE --list-backends`, so imports count and nothing is parsed twice), the
// choice per file kept in workspaceState, and a status bar item that shows the current backend
// and its kind (stateless or stateful) while an `.agent` file is active.

import * as vscode from "vscode";
import type { BackendInfo, BackendList } from "../../../server/protocol/cli";
import type { Config } from "../config";
import { workspaceDirOf, type Cli } from "./cli";

export type { BackendInfo };

/** What `statecraft run FILE --list-backends` prints (server/protocol/cli.ts). */
export type FileInfo = BackendList;

/** The backend a run of `agent` uses, and why. */
export interface Choice {
  backend?: BackendInfo;
  /** picked (Select Backend), setting (statecraft.run.defaultBackend) or agent (the agent's own). */
  source: "picked" | "setting" | "agent";
}

const PICKS_KEY = "statecraft.pickedBackends";

export class Backends implements vscode.Disposable {
  /** Per file; cleared whenever an `.agent` file changes on disk (imports count too). */
  private readonly cache = new Map<string, Promise<FileInfo>>();
  private readonly item = vscode.window.createStatusBarItem(
    "statecraft.backend",
    vscode.StatusBarAlignment.Left,
    50,
  );
  private readonly disposables: vscode.Disposable[] = [];
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private refreshSeq = 0;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly config: Config,
    private readonly cli: Cli,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.item.name = "Statecraft Backend";
    this.item.command = "statecraft.selectBackend";
    const watcher = vscode.workspace.createFileSystemWatcher("**/*.agent");
    const forget = () => this.cache.clear();
    this.disposables.push(
      watcher,
      watcher.onDidChange(forget),
      watcher.onDidCreate(forget),
      watcher.onDidDelete(forget),
      this.item,
      this.changed,
      vscode.window.onDidChangeActiveTextEditor(() => void this.refresh()),
      vscode.workspace.onDidSaveTextDocument((d) => {
        if (d.languageId !== "agent") return;
        forget();
        void this.refresh();
      }),
    );
  }

  /** The agents and backends of an agent file (as saved on disk); rejects with the CLI's message. */
  info(uri: vscode.Uri): Promise<FileInfo> {
    const key = uri.toString();
    const hit = this.cache.get(key);
    if (hit) return hit;
    const info = this.cli
      .run(["run", uri.fsPath, "--list-backends"], { cwd: workspaceDirOf(uri) })
      .then((r) => {
        if (r.code !== 0)
          throw new Error(r.stderr.trim() || `statecraft run --list-backends exited with ${r.code}`);
        return JSON.parse(r.stdout) as FileInfo;
      });
    this.cache.set(key, info);
    // A failure is not cached: the next call asks again (the file may have been fixed meanwhile).
    info.catch(() => this.cache.delete(key));
    return info;
  }

  private picks(): Record<string, string> {
    return this.context.workspaceState.get<Record<string, string>>(PICKS_KEY, {});
  }

  /** Which backend a run of `agent` (or the file's first agent) uses. */
  async choice(uri: vscode.Uri, agent?: string): Promise<Choice> {
    const info = await this.info(uri);
    const byName = (n: string | undefined) => info.backends.find((b) => b.name === n);
    const picked = byName(this.picks()[uri.toString()]);
    if (picked) return { backend: picked, source: "picked" };
    const setting = byName(this.config.defaultBackend);
    if (setting) return { backend: setting, source: "setting" };
    const own = info.agents.find((a) => a.name === agent) ?? info.agents[0];
    return { backend: byName(own?.backend), source: "agent" };
  }

  /** Sets (or with undefined clears) the file's picked backend. */
  async pick(uri: vscode.Uri, backend: string | undefined): Promise<void> {
    const picks = { ...this.picks() };
    if (backend) picks[uri.toString()] = backend;
    else delete picks[uri.toString()];
    await this.context.workspaceState.update(PICKS_KEY, picks);
    this.changed.fire();
    await this.refresh();
  }

  /** Select Backend: a quick pick of the file's declared backends with their kind. */
  async select(uri: vscode.Uri): Promise<BackendInfo | undefined> {
    const info = await this.info(uri);
    const current = await this.choice(uri);
    type Item = vscode.QuickPickItem & { backend?: BackendInfo };
    const items: Item[] = info.backends.map((b) => ({
      label: b.name,
      description: [b.kind, b.provider, b.model].filter(Boolean).join(" · "),
      detail: b.endpoint ? `endpoint ${b.endpoint}` : undefined,
      picked: b.name === current.backend?.name,
      backend: b,
    }));
    items.push({ label: "$(discard) Each agent's own backend", description: "clear the choice" });
    const chosen = await vscode.window.showQuickPick(items, {
      title: "Statecraft: backend for runs of this file",
      placeHolder: current.backend ? `now: ${current.backend.name} (${current.backend.kind})` : undefined,
    });
    if (!chosen) return undefined;
    await this.pick(uri, chosen.backend?.name);
    return chosen.backend;
  }

  /** Updates the status bar item for the active editor. */
  async refresh(): Promise<void> {
    const seq = ++this.refreshSeq;
    const doc = vscode.window.activeTextEditor?.document;
    if (!doc || doc.languageId !== "agent" || doc.uri.scheme !== "file") {
      this.item.hide();
      return;
    }
    try {
      const { backend, source } = await this.choice(doc.uri);
      if (seq !== this.refreshSeq) return;
      this.item.text = backend ? `$(server) ${backend.name} · ${backend.kind}` : "$(server) no backend";
      this.item.tooltip = backend
        ? `Statecraft backend: ${backend.name} (${backend.kind}, provider ${backend.provider}` +
          `${backend.model ? `, model ${backend.model}` : ""}), ${SOURCE_TEXT[source]}. Click to change.`
        : "This file declares no agent with a backend. Click to pick one.";
    } catch (err) {
      if (seq !== this.refreshSeq) return;
      this.item.text = "$(server) backend: ?";
      this.item.tooltip = `Statecraft cannot read this file's backends: ${(err as Error).message}`;
      this.log.debug(`backends of ${doc.uri.fsPath}: ${(err as Error).message}`);
    }
    this.item.show();
  }

  /** The status bar item's text, for tests and the walkthrough. */
  get statusText(): string {
    return this.item.text;
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}

const SOURCE_TEXT: Record<Choice["source"], string> = {
  picked: "picked with Select Backend",
  setting: "from the setting statecraft.run.defaultBackend",
  agent: "the agent's own",
};
