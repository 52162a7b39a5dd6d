// The extension's settings, read in one place with their types and defaults. Every setting here is
// described in package.json `contributes.configuration`; nothing secret is a setting (keys live in
// SecretStorage, see run/secrets.ts).

import * as vscode from "vscode";

export type ApproveMode = "ask" | "all" | "none";

/** A stateful runtime the Session Explorer lists and Set API Key knows (`statecraft.runtimes`). */
export interface RuntimeSetting {
  name: string;
  url: string;
}

const SECTION = "statecraft";

/** Typed getters over the `statecraft.*` settings; each read is current (no caching). */
export class Config {
  private get raw(): vscode.WorkspaceConfiguration {
    return vscode.workspace.getConfiguration(SECTION);
  }

  /** A `statecraft` CLI to use instead of the bundled dist/cli.js (a .js file runs with Node). */
  get cliPath(): string | undefined {
    const p = this.raw.get<string>("cli.path")?.trim();
    return p ? p : undefined;
  }

  /** The backend Run Agent uses when none was picked with Select Backend (when the file declares it). */
  get defaultBackend(): string | undefined {
    const b = this.raw.get<string>("run.defaultBackend")?.trim();
    return b ? b : undefined;
  }

  /** How tool calls that need approval are answered in a run: asked in the terminal, or all / none. */
  get approve(): ApproveMode {
    const v = this.raw.get<string>("run.approve");
    return v === "all" || v === "none" ? v : "ask";
  }

  /** The user id and display name a run acts for. */
  get userId(): string | undefined {
    return this.raw.get<string>("run.userId")?.trim() || undefined;
  }

  get userName(): string | undefined {
    return this.raw.get<string>("run.userName")?.trim() || undefined;
  }

  /** Configured stateful runtimes, entries without a name or url dropped. */
  get runtimes(): RuntimeSetting[] {
    const list = this.raw.get<unknown>("runtimes");
    if (!Array.isArray(list)) return [];
    return list.filter(
      (r): r is RuntimeSetting =>
        typeof r === "object" &&
        r !== null &&
        typeof (r as RuntimeSetting).name === "string" &&
        typeof (r as RuntimeSetting).url === "string",
    );
  }

  /** The port Start Local Runtime asks for; 0, or a port in use, means any free port. */
  get localRuntimePort(): number {
    const p = this.raw.get<number>("localRuntime.port");
    return typeof p === "number" && Number.isInteger(p) && p >= 0 && p < 65536 ? p : 8080;
  }

  /** Fires when any `statecraft.*` setting changes. */
  static onDidChange(listener: () => void): vscode.Disposable {
    return vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(SECTION)) listener();
    });
  }
}
