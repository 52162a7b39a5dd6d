// Spawning the `statecraft` CLI: the bundled dist/cli.js (or the `statecraft.cli.path` override)
// in a Node process, with the stored API keys in its environment and `--untrusted` added where a
// command takes it when the workspace is not trusted. Every run the editor starts goes through here.

import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import * as path from "node:path";
import * as vscode from "vscode";
import type { Config } from "../config";
import type { Secrets } from "./secrets";

/** The subcommands that accept `--untrusted` (server/cli/run.ts and test.ts). */
const TRUST_AWARE = new Set(["run", "test"]);

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface SpawnOptions {
  cwd: string;
  /** Killed (SIGTERM) when cancelled. */
  token?: vscode.CancellationToken;
  /** Extra environment variables (after the stored keys). */
  env?: Record<string, string>;
}

export class Cli {
  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly config: Config,
    private readonly secrets: Secrets,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  /** The program and leading arguments that start the CLI. */
  private command(): { program: string; args: string[] } {
    const override = this.config.cliPath;
    const script = override ?? this.context.asAbsolutePath(path.join("dist", "cli.js"));
    if (override && !/\.[cm]?js$/.test(override)) return { program: override, args: [] };
    // In the desktop editor execPath is Electron, which runs as plain Node with this variable.
    return { program: process.execPath, args: [script] };
  }

  /** `args` with `--untrusted` when the workspace is not trusted and the subcommand takes it. */
  withTrust(args: string[]): string[] {
    return !vscode.workspace.isTrusted && TRUST_AWARE.has(args[0]) ? [...args, "--untrusted"] : args;
  }

  /** Starts the CLI with piped stdio; the caller reads and ends it. */
  async spawn(args: string[], options: SpawnOptions): Promise<ChildProcessWithoutNullStreams> {
    const { program, args: lead } = this.command();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...(await this.secrets.env()),
      ...options.env,
      ELECTRON_RUN_AS_NODE: "1",
      // Colour codes would end up in the terminal and test output as text.
      NO_COLOR: "1",
    };
    const full = this.withTrust(args);
    // Only the arguments are logged: the environment holds the keys.
    this.log.info(`statecraft ${full.map(quote).join(" ")}  (in ${options.cwd})`);
    const child = spawn(program, [...lead, ...full], { cwd: options.cwd, env, stdio: "pipe" });
    const cancel = options.token?.onCancellationRequested(() => {
      this.log.info(`cancelled: statecraft ${full[0]} (pid ${child.pid ?? "?"})`);
      child.kill("SIGTERM");
    });
    child.once("exit", () => cancel?.dispose());
    child.once("error", (err) => {
      cancel?.dispose();
      this.log.error(`could not start the statecraft CLI (${program}): ${err.message}`);
    });
    return child;
  }

  /** Runs the CLI to its end, collecting its output; `onStdoutLine` sees stdout line by line. */
  async run(
    args: string[],
    options: SpawnOptions & { onStdoutLine?: (line: string) => void },
  ): Promise<CliResult> {
    const child = await this.spawn(args, options);
    child.stdin.end();
    let stdout = "";
    let stderr = "";
    let pending = "";
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      stdout += chunk;
      if (!options.onStdoutLine) return;
      pending += chunk;
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) options.onStdoutLine(line);
    });
    child.stderr.on("data", (chunk: string) => (stderr += chunk));
    return new Promise((resolve, reject) => {
      child.once("error", reject);
      child.once("close", (code, signal) => {
        if (pending && options.onStdoutLine) options.onStdoutLine(pending);
        if (stderr.trim()) this.log.info(`statecraft ${args[0]}: ${stderr.trim()}`);
        resolve({ code, signal, stdout, stderr });
      });
    });
  }
}

function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The workspace folder of a file, or the file's own folder outside any workspace. */
export function workspaceDirOf(uri: vscode.Uri): string {
  return vscode.workspace.getWorkspaceFolder(uri)?.uri.fsPath ?? path.dirname(uri.fsPath);
}
