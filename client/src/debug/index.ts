// The agent debugger in VS Code: the `statecraft` debug type runs the bundled
// CLI's Debug Adapter Protocol server (`node dist/cli.js dap`) with the stored
// API keys in its environment; a configuration provider writes the initial
// launch.json and debugs the active .agent file when there is none; the
// "Debug Agent" command and code lens start a session without any configuration.

import * as path from "node:path";
import * as vscode from "vscode";
import type { LaunchArgs } from "../../../server/protocol/debug";
import type { RunningParts } from "../commands";

export const DEBUG_TYPE = "statecraft";

/** The launch configuration the adapter reads: its attributes are the adapter's own (type only). */
export interface AgentDebugConfiguration extends vscode.DebugConfiguration, LaunchArgs {}

class AdapterFactory implements vscode.DebugAdapterDescriptorFactory {
  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly parts: RunningParts,
  ) {}

  async createDebugAdapterDescriptor(): Promise<vscode.DebugAdapterDescriptor> {
    // The keys stored with "Set API Key" reach the adapter (and the backends it creates) as environment variables.
    const env: Record<string, string> = {
      ...(await this.parts.secrets.env()),
      ELECTRON_RUN_AS_NODE: "1",
      NO_COLOR: "1",
    };
    const override = this.parts.config.cliPath;
    if (override && !/\.[cm]?js$/.test(override))
      return new vscode.DebugAdapterExecutable(override, ["dap"], { env });
    const script = override ?? this.context.asAbsolutePath(path.join("dist", "cli.js"));
    this.parts.log.info(`debugger: ${script} dap`);
    return new vscode.DebugAdapterExecutable(process.execPath, [script, "dap"], { env });
  }
}

class ConfigurationProvider implements vscode.DebugConfigurationProvider {
  constructor(private readonly parts: RunningParts) {}

  provideDebugConfigurations(): vscode.DebugConfiguration[] {
    return [
      {
        type: DEBUG_TYPE,
        request: "launch",
        name: "Debug agent",
        program: "${file}",
        cwd: "${workspaceFolder}",
        stopOnEntry: false,
      },
    ];
  }

  /** F5 without a launch.json: debug the active .agent file's agent. */
  async resolveDebugConfiguration(
    folder: vscode.WorkspaceFolder | undefined,
    config: AgentDebugConfiguration,
  ): Promise<AgentDebugConfiguration | undefined> {
    if (!config.type && !config.request && !config.name) {
      const doc = vscode.window.activeTextEditor?.document;
      if (doc?.languageId !== "agent" || doc.uri.scheme !== "file") {
        void vscode.window.showErrorMessage(
          "Statecraft: open an .agent file to debug it, or add a Statecraft configuration to launch.json",
        );
        return undefined;
      }
      return debugConfigurationFor(this.parts, doc.uri, undefined, folder);
    }
    if (config.cwd === undefined && folder) config.cwd = folder.uri.fsPath;
    return config;
  }

  resolveDebugConfigurationWithSubstitutedVariables(
    _folder: vscode.WorkspaceFolder | undefined,
    config: AgentDebugConfiguration,
  ): AgentDebugConfiguration {
    // Command tools and MCP servers only run in a trusted workspace, as with `statecraft run --untrusted`.
    if (!vscode.workspace.isTrusted) config.trusted = false;
    return config;
  }
}

/** A configuration for one agent of a file: the backend picked for it, and a script for the local backend. */
export async function debugConfigurationFor(
  parts: RunningParts,
  uri: vscode.Uri,
  agent: string | undefined,
  folder = vscode.workspace.getWorkspaceFolder(uri),
  given?: { script?: string },
): Promise<AgentDebugConfiguration | undefined> {
  const info = await parts.backends.info(uri).catch(() => undefined);
  if (!agent && info && info.agents.length > 1) {
    agent = await vscode.window.showQuickPick(
      info.agents.map((a) => a.name),
      { title: `Statecraft: which agent of ${path.basename(uri.fsPath)} to debug?` },
    );
    if (!agent) return undefined;
  }
  agent ??= info?.agents[0]?.name;
  const choice = await parts.backends.choice(uri, agent).catch(() => undefined);
  const config: AgentDebugConfiguration = {
    type: DEBUG_TYPE,
    request: "launch",
    name: agent ? `Debug ${agent}` : `Debug ${path.basename(uri.fsPath)}`,
    program: uri.fsPath,
    ...(agent ? { agent } : {}),
    ...(choice?.backend && choice.source !== "agent" ? { backend: choice.backend.name } : {}),
    cwd: folder?.uri.fsPath ?? path.dirname(uri.fsPath),
  };
  if (choice?.backend?.provider === "local" && !given?.script) {
    // The local backend plays back a script: offer the workspace's scripts.
    const scripts = await vscode.workspace.findFiles("**/*.script.json", "**/node_modules/**", 50);
    if (scripts.length === 1) config.script = scripts[0].fsPath;
    else if (scripts.length > 1) {
      const picked = await vscode.window.showQuickPick(
        scripts.map((s) => ({ label: vscode.workspace.asRelativePath(s), uri: s })),
        { title: "Statecraft: the local backend plays back a script; which one?" },
      );
      if (!picked) return undefined;
      config.script = picked.uri.fsPath;
    }
  }
  return config;
}

/** Registers the debug type's adapter, configurations, and the Debug Agent command (lens and palette). */
export function registerDebugger(context: vscode.ExtensionContext, parts: RunningParts): void {
  context.subscriptions.push(
    vscode.debug.registerDebugAdapterDescriptorFactory(DEBUG_TYPE, new AdapterFactory(context, parts)),
    vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, new ConfigurationProvider(parts)),
    vscode.commands.registerCommand("statecraft.debugAgent", async (arg?: unknown) => {
      try {
        const target = arg as { uri?: unknown; agent?: unknown } | undefined;
        const doc = vscode.window.activeTextEditor?.document;
        const uri =
          typeof target?.uri === "string"
            ? vscode.Uri.parse(target.uri)
            : doc?.languageId === "agent" && doc.uri.scheme === "file"
              ? doc.uri
              : undefined;
        if (!uri) throw new Error("open an .agent file first (or use the Debug lens above an agent)");
        const extra = (arg ?? {}) as { inputs?: unknown; script?: unknown; cwd?: unknown };
        const config = await debugConfigurationFor(
          parts,
          uri,
          typeof target?.agent === "string" ? target.agent : undefined,
          undefined,
          typeof extra.script === "string" ? { script: extra.script } : undefined,
        );
        if (!config) return false;
        // Not from lenses: callers (tests, walkthroughs) may give the messages, the script and the workspace.
        if (Array.isArray(extra.inputs) && extra.inputs.every((i) => typeof i === "string"))
          config.inputs = extra.inputs as string[];
        if (typeof extra.script === "string") config.script = extra.script;
        if (typeof extra.cwd === "string") config.cwd = extra.cwd;
        return await vscode.debug.startDebugging(vscode.workspace.getWorkspaceFolder(uri), config);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        parts.log.error(`statecraft.debugAgent: ${message}`);
        void vscode.window.showErrorMessage(`Statecraft: ${message}`);
        return false;
      }
    }),
  );
}
