// The Eval Report and Compare Eval Runs webviews: the page `statecraft eval report RUN --html -` /
// `statecraft eval compare A B --html -` prints, shown in a panel with a strict CSP and the editor's
// theme (reportHtml.ts). One panel per report, revealed again when asked twice; a session id clicked
// in the page shows that session in the Session Explorer.

import { randomBytes } from "node:crypto";
import * as vscode from "vscode";
import type { Cli } from "../run/cli";
import { errorHtml, prepareReportHtml, type ReportMessage, type ReportRendered } from "./reportHtml";

export interface ReportRequest {
  /** A key per report: the same report asked again reveals its panel. */
  key: string;
  title: string;
  /** The CLI's arguments (ending in `--html -`). */
  args: string[];
  cwd: string;
}

export class ReportPanels implements vscode.Disposable {
  static readonly viewType = "statecraft.evalReport";
  private readonly panels = new Map<
    string,
    { panel: vscode.WebviewPanel; rendered: ReportRendered | undefined }
  >();
  private readonly waiting = new Map<string, ((r: ReportRendered) => void)[]>();

  constructor(
    private readonly cli: Cli,
    private readonly extensionUri: vscode.Uri,
    private readonly log: vscode.LogOutputChannel,
    private readonly openSession: (session: string) => Promise<unknown>,
  ) {}

  /** Shows the report (building its page with the CLI); resolves when the webview has drawn it. */
  async show(request: ReportRequest, token?: vscode.CancellationToken): Promise<ReportRendered> {
    const existing = this.panels.get(request.key);
    const drawn = new Promise<ReportRendered>((resolve) =>
      this.waiting.set(request.key, [...(this.waiting.get(request.key) ?? []), resolve]),
    );
    const result = await this.cli.run(request.args, { cwd: request.cwd, token });
    const nonce = randomBytes(16).toString("base64");
    const html =
      result.code === 0 && result.stdout.trim()
        ? prepareReportHtml(result.stdout, nonce)
        : errorHtml(
            `Statecraft could not build ${request.title}`,
            result.stderr.trim() ||
              `statecraft ${request.args[0]} exited with ${result.code ?? result.signal}`,
            nonce,
          );
    if (result.code !== 0) this.log.warn(`${request.title}: ${result.stderr.trim()}`);
    const panel = existing?.panel ?? this.create(request);
    panel.title = request.title;
    panel.webview.html = html;
    panel.reveal(undefined, false);
    return drawn;
  }

  /** What the open report with this key last drew (for tests and status). */
  rendered(key: string): ReportRendered | undefined {
    return this.panels.get(key)?.rendered;
  }

  private create(request: ReportRequest): vscode.WebviewPanel {
    const panel = vscode.window.createWebviewPanel(
      ReportPanels.viewType,
      request.title,
      vscode.ViewColumn.Active,
      {
        enableScripts: true,
        // The page is self-contained: nothing is loaded from disk or the network.
        localResourceRoots: [],
        retainContextWhenHidden: false,
        enableFindWidget: true,
      },
    );
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, "media", "statecraft.svg");
    const entry = { panel, rendered: undefined as ReportRendered | undefined };
    this.panels.set(request.key, entry);
    const subscription = panel.webview.onDidReceiveMessage((m: ReportMessage) => {
      if ("type" in m && m.type === "rendered") {
        entry.rendered = m;
        for (const resolve of this.waiting.get(request.key) ?? []) resolve(m);
        this.waiting.delete(request.key);
      } else if ("command" in m && m.command === "openSession" && typeof m.session === "string") {
        void this.openSession(m.session).catch((err: unknown) =>
          this.log.error(`opening session ${m.session}: ${(err as Error).message}`),
        );
      }
    });
    panel.onDidDispose(() => {
      subscription.dispose();
      this.panels.delete(request.key);
    });
    return panel;
  }

  dispose(): void {
    for (const { panel } of [...this.panels.values()]) panel.dispose();
    this.panels.clear();
  }
}
