// Run Agent: picks the agent (from the lens, or a quick pick), the backend (Select Backend's
// choice), a script when the backend is the offline local one, asks for the first message, and
// opens the chat terminal (chatTerminal.ts) running `statecraft run`.

import * as path from "node:path";
import * as vscode from "vscode";
import type { Config } from "../config";
import type { Backends } from "./backends";
import { ChatTerminal, type ChatOutcome } from "./chatTerminal";
import { workspaceDirOf, type Cli } from "./cli";

export interface RunAgentRequest {
  uri: vscode.Uri;
  agent?: string;
  /** The first message; asked for with an input box when missing. */
  input?: string;
  /** A declared backend; Select Backend's choice when missing. */
  backend?: string;
  /** A script file for the local backend; asked for when the backend is local and none is given. */
  script?: string;
}

/** A run in progress, returned by the command (tests drive and observe it through this). */
export interface RunHandle {
  terminal: vscode.Terminal;
  pty: ChatTerminal;
  done: Promise<ChatOutcome>;
}

export class AgentRunner {
  constructor(
    private readonly cli: Cli,
    private readonly backends: Backends,
    private readonly config: Config,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  async run(request: RunAgentRequest): Promise<RunHandle | undefined> {
    const { uri } = request;
    await saveIfDirty(uri);
    const info = await this.backends.info(uri);
    const agent = request.agent ?? (await pickAgent(info.agents.map((a) => a.name)));
    if (!agent) return undefined;
    const declared = info.backends.find((b) => b.name === request.backend);
    if (request.backend && !declared && request.backend !== "local")
      throw new Error(
        `no backend '${request.backend}' in ${path.basename(uri.fsPath)}; declared: ${info.backends.map((b) => b.name).join(", ") || "none"}`,
      );
    const choice = request.backend ? undefined : await this.backends.choice(uri, agent);
    const backendName = request.backend ?? (choice?.source !== "agent" ? choice?.backend?.name : undefined);
    const backend = declared ?? choice?.backend;
    const local = request.backend === "local" || backend?.provider === "local";

    let script = request.script;
    if (local && !script) {
      script = await pickScript(uri);
      if (!script) return undefined;
    }
    const input =
      request.input ??
      (await vscode.window.showInputBox({
        title: `Statecraft: message to ${agent}`,
        prompt: `The first message of a new session${backend ? ` on ${backend.name} (${backend.kind})` : ""}; you can type more in the terminal`,
        placeHolder: "Hi! Where is my order?",
        ignoreFocusOut: true,
      }));
    if (input === undefined) return undefined;

    if (!vscode.workspace.isTrusted)
      void vscode.window.showWarningMessage(
        "Statecraft: this workspace is not trusted, so the run refuses command tools and MCP servers " +
          "(they would execute programs from the workspace). Trust the workspace to let them run.",
      );

    const cwd = workspaceDirOf(uri);
    const args = ["run", uri.fsPath, "--agent", agent, "--chat", "--workspace", cwd];
    if (backendName) args.push("--backend", backendName);
    if (script) args.push("--script", script);
    const approve = this.config.approve;
    if (approve !== "ask") args.push("--approve", approve);
    if (this.config.userId) args.push("--user-id", this.config.userId);
    if (this.config.userName) args.push("--user-name", this.config.userName);

    const title =
      `Statecraft: ${agent} on ${backend ? `${backend.name} (${backend.kind})` : "its backend"}` +
      ` — type a message and press Enter; Ctrl+D ends the session`;
    const pty = new ChatTerminal(() => this.cli.spawn(args, { cwd }), title, input, this.log);
    const terminal = vscode.window.createTerminal({
      name: `Statecraft: ${agent}`,
      pty,
      iconPath: new vscode.ThemeIcon("hubot"),
    });
    terminal.show();
    void pty.done.then((o) =>
      this.log.info(
        `run of ${agent} ended (exit ${o.code ?? "none"})${o.sessionFile ? `; session ${o.sessionFile}` : ""}`,
      ),
    );
    return { terminal, pty, done: pty.done };
  }
}

/** The CLI reads the file from disk: run what the editor shows. */
export async function saveIfDirty(uri: vscode.Uri): Promise<void> {
  const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
  if (doc?.isDirty && !(await doc.save()))
    throw new Error(`could not save ${vscode.workspace.asRelativePath(uri)} before running it`);
}

async function pickAgent(agents: string[]): Promise<string | undefined> {
  if (agents.length <= 1) {
    if (!agents.length) void vscode.window.showErrorMessage("Statecraft: this file declares no agent.");
    return agents[0];
  }
  return vscode.window.showQuickPick(agents, { title: "Statecraft: agent to run" });
}

/** The local backend plays back scripted replies: offer the script files next to the agent file. */
async function pickScript(uri: vscode.Uri): Promise<string | undefined> {
  const folder = path.dirname(uri.fsPath);
  const found = await vscode.workspace.findFiles(
    new vscode.RelativePattern(folder, "**/*.script.json"),
    "**/node_modules/**",
    50,
  );
  const items = found.map((f) => ({ label: path.relative(folder, f.fsPath), uri: f }));
  const browse = { label: "$(folder-opened) Choose a file…", uri: undefined };
  const chosen = await vscode.window.showQuickPick([...items, browse], {
    title: "Statecraft: the local backend plays back scripted replies; pick a script",
    placeHolder: 'A JSON array of {"reply": ...} / {"call": tool, "input": {...}} steps',
  });
  if (!chosen) return undefined;
  if (chosen.uri) return chosen.uri.fsPath;
  const picked = await vscode.window.showOpenDialog({
    defaultUri: vscode.Uri.file(folder),
    filters: { "Statecraft script": ["json"] },
  });
  return picked?.[0]?.fsPath;
}
