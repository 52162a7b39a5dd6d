// Start Local Runtime: `statecraft serve` on this machine, its state in the workspace's
// .statecraft/runtime (PGlite), its output in the log channel, its state in a status bar item.
// It listens on `statecraft.localRuntime.port` (8080 by default, what a stateful backend's
// `endpoint: "http://127.0.0.1:8080"` expects) or, when that port is taken or 0, on a free one.

import type { ChildProcessWithoutNullStreams } from "node:child_process";
import * as http from "node:http";
import * as net from "node:net";
import * as path from "node:path";
import * as vscode from "vscode";
import type { Config } from "../config";
import type { Cli } from "../run/cli";

export type RuntimeState =
  | { state: "stopped" }
  | { state: "starting"; port: number }
  | { state: "running"; port: number; url: string; pid: number }
  | { state: "failed"; message: string };

const READY_DEADLINE_MS = 60_000;
const PING_INTERVAL_MS = 250;
const STOP_GRACE_MS = 5_000;

export class LocalRuntime implements vscode.Disposable {
  private child: ChildProcessWithoutNullStreams | undefined;
  private current: RuntimeState = { state: "stopped" };
  private readonly item = vscode.window.createStatusBarItem(
    "statecraft.localRuntime",
    vscode.StatusBarAlignment.Left,
    49,
  );
  private readonly changed = new vscode.EventEmitter<RuntimeState>();
  /** Fires on every state change (the Session Explorer may list the running runtime). */
  readonly onDidChange = this.changed.event;

  constructor(
    private readonly cli: Cli,
    private readonly config: Config,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.item.name = "Statecraft Local Runtime";
    this.show();
  }

  get state(): RuntimeState {
    return this.current;
  }

  /** Starts the runtime (once); resolves when it answers /ping. `port` overrides the setting. */
  async start(token: vscode.CancellationToken, port?: number): Promise<RuntimeState> {
    if (this.current.state === "running" || this.current.state === "starting") return this.current;
    const folder = vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === "file");
    if (!folder) throw new Error("Start Local Runtime needs a workspace folder (its state lives there)");
    const wanted = port ?? this.config.localRuntimePort;
    const chosen = wanted !== 0 && (await isFree(wanted)) ? wanted : await freePort();
    if (wanted !== 0 && chosen !== wanted)
      this.log.warn(
        `port ${wanted} is in use; the local runtime listens on ${chosen}: point the stateful backend's endpoint there`,
      );
    const data = path.join(folder.uri.fsPath, ".statecraft", "runtime");
    this.set({ state: "starting", port: chosen });
    // One developer's sessions come one at a time: no warm-up for bursts, the runtime is ready sooner.
    const child = await this.cli.spawn(
      ["serve", "--port", String(chosen), "--host", "127.0.0.1", "--data", data, "--warm-up", "0"],
      { cwd: folder.uri.fsPath },
    );
    this.child = child;
    child.stdin.end();
    let tail = "";
    const relay = (chunk: Buffer) => {
      const text = chunk.toString("utf8");
      tail = (tail + text).slice(-2_000);
      for (const line of text.split("\n")) if (line.trim()) this.log.info(`[runtime] ${line.trimEnd()}`);
    };
    child.stdout.on("data", relay);
    child.stderr.on("data", relay);
    const exited = new Promise<string>((resolve) => {
      child.once("error", (err) => resolve(`could not start: ${err.message}`));
      child.once("close", (code, signal) => resolve(`exited (${signal ?? `code ${code}`})`));
    });
    void exited.then((how) => {
      if (this.child !== child) return;
      this.child = undefined;
      const was = this.current.state;
      this.log.info(`[runtime] ${how}`);
      this.set(
        was === "running" || token.isCancellationRequested
          ? { state: "stopped" }
          : { state: "failed", message: `statecraft serve ${how}: ${lastLine(tail)}` },
      );
    });
    const url = `http://127.0.0.1:${chosen}`;
    const ready = await waitForPing(url, exited, token);
    if (ready !== true) {
      if (this.child === child) child.kill("SIGTERM");
      const message = token.isCancellationRequested ? "cancelled" : ready;
      this.set({ state: "failed", message: `the local runtime did not start: ${message}` });
      throw new Error(`the local runtime did not start: ${message}${tail ? ` (${lastLine(tail)})` : ""}`);
    }
    this.set({ state: "running", port: chosen, url, pid: child.pid ?? 0 });
    this.log.info(`[runtime] ready at ${url} (data in ${data})`);
    return this.current;
  }

  /** Stops the runtime: SIGTERM, then SIGKILL if it has not exited after a grace period. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) {
      this.set({ state: "stopped" });
      return;
    }
    const closed = new Promise<void>((resolve) => child.once("close", () => resolve()));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
    await closed;
    clearTimeout(timer);
    this.set({ state: "stopped" });
  }

  private set(state: RuntimeState): void {
    this.current = state;
    this.show();
    this.changed.fire(state);
  }

  private show(): void {
    const s = this.current;
    switch (s.state) {
      case "stopped":
        this.item.text = "$(debug-disconnect) runtime: stopped";
        this.item.tooltip = "Statecraft local runtime (statecraft serve) is not running. Click to start it.";
        this.item.command = "statecraft.startLocalRuntime";
        break;
      case "starting":
        this.item.text = `$(loading~spin) runtime: starting on :${s.port}`;
        this.item.tooltip = "Statecraft local runtime is starting";
        this.item.command = "statecraft.showLog";
        break;
      case "running":
        this.item.text = `$(vm-running) runtime: ${s.url.replace("http://", "")}`;
        this.item.tooltip = `Statecraft local runtime at ${s.url} (pid ${s.pid}). Click to stop it.`;
        this.item.command = "statecraft.stopLocalRuntime";
        break;
      case "failed":
        this.item.text = "$(error) runtime: failed";
        this.item.tooltip = `${s.message}. Click to try again; the log has its output.`;
        this.item.command = "statecraft.startLocalRuntime";
        break;
    }
    this.item.show();
  }

  /** The status bar item's text, for tests. */
  get statusText(): string {
    return this.item.text;
  }

  dispose(): void {
    this.child?.kill("SIGTERM");
    this.child = undefined;
    this.item.dispose();
    this.changed.dispose();
  }
}

function lastLine(text: string): string {
  return (
    text
      .trim()
      .split("\n")
      .filter((l) => l.trim())
      .pop() ?? ""
  );
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function ping(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(`${url}/ping`, { timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.once("timeout", () => req.destroy());
    req.once("error", () => resolve(false));
  });
}

/** Pings until the service answers (true), it exits, the deadline passes or the user cancels. */
async function waitForPing(
  url: string,
  exited: Promise<string>,
  token: vscode.CancellationToken,
): Promise<true | string> {
  let gone: string | undefined;
  void exited.then((how) => (gone = how));
  const deadline = Date.now() + READY_DEADLINE_MS;
  while (Date.now() < deadline) {
    if (gone) return `statecraft serve ${gone}`;
    if (token.isCancellationRequested) return "cancelled";
    if (await ping(url)) return true;
    await new Promise((resolve) => setTimeout(resolve, PING_INTERVAL_MS));
  }
  return `no answer from ${url}/ping after ${READY_DEADLINE_MS / 1000}s`;
}
