// The context window view: a webview panel (script and styles in media/,
// nonce-based CSP, local resources restricted to media/) that draws a
// session's per-turn token sections against the model's window and the bytes
// sent per turn. One panel, re-pointed at whichever session it is asked to
// show, and kept in step with the session while it runs.

import { randomBytes } from "node:crypto";
import * as vscode from "vscode";
import { contextWindowData } from "./contextWindow";
import type { SessionRef, SessionStore } from "./store";

/** What the webview reports once it has drawn a session (tests wait for it). */
export interface Rendered {
  sessionId: string;
  turns: number;
}

export class ContextWindowPanel implements vscode.Disposable {
  static readonly viewType = "statecraft.contextWindow";
  private static current: ContextWindowPanel | undefined;

  private readonly disposables: vscode.Disposable[] = [];
  private ref: SessionRef;
  private waiting: ((r: Rendered) => void)[] = [];
  private ready = false;

  /** Shows the panel for a session (creating it if needed); resolves when the webview has drawn it. */
  static async show(extensionUri: vscode.Uri, store: SessionStore, ref: SessionRef): Promise<Rendered> {
    if (ContextWindowPanel.current) {
      const panel = ContextWindowPanel.current;
      panel.ref = ref;
      panel.panel.reveal(vscode.ViewColumn.Active);
      return panel.post();
    }
    const panel = vscode.window.createWebviewPanel(
      ContextWindowPanel.viewType,
      "Context Window",
      vscode.ViewColumn.Active,
      { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(extensionUri, "media")] },
    );
    const view = new ContextWindowPanel(panel, extensionUri, store, ref);
    ContextWindowPanel.current = view;
    return view.post();
  }

  static disposeCurrent(): void {
    ContextWindowPanel.current?.dispose();
  }

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    private readonly store: SessionStore,
    ref: SessionRef,
  ) {
    this.ref = ref;
    panel.iconPath = vscode.Uri.joinPath(extensionUri, "media", "statecraft.svg");
    panel.webview.html = html(panel.webview, extensionUri);
    const changes = store.onDidChange(() => {
      if (this.ready) void this.post().catch(() => undefined);
    });
    this.disposables.push(
      { dispose: () => changes.dispose() },
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((m: { type?: string; sessionId?: string; turns?: number }) => {
        if (m.type === "ready") {
          this.ready = true;
          void this.post().catch(() => undefined);
        } else if (m.type === "rendered" && typeof m.sessionId === "string" && typeof m.turns === "number") {
          const r = { sessionId: m.sessionId, turns: m.turns };
          const [now, later] = partition(this.waiting, () => r.sessionId === this.ref.sessionId);
          this.waiting = later;
          for (const w of now) w(r);
        }
      }),
    );
  }

  dispose(): void {
    if (ContextWindowPanel.current === this) ContextWindowPanel.current = undefined;
    for (const d of this.disposables.splice(0)) d.dispose();
    this.panel.dispose();
  }

  private async post(): Promise<Rendered> {
    const model = await this.store.model(this.ref);
    if (!model) throw new Error(`session ${this.ref.sessionId} is not in the Session Explorer any more`);
    this.panel.title = `Context Window · ${model.start?.agent ?? model.id}`;
    const drawn = new Promise<Rendered>((resolve) => this.waiting.push(resolve));
    // Before the script has loaded, "ready" triggers the post.
    if (this.ready) await this.panel.webview.postMessage({ type: "session", data: contextWindowData(model) });
    return drawn;
  }
}

function partition<T>(xs: T[], keep: (x: T) => boolean): [T[], T[]] {
  return [xs.filter(keep), xs.filter((x) => !keep(x))];
}

function html(webview: vscode.Webview, extensionUri: vscode.Uri): string {
  const nonce = randomBytes(16).toString("base64");
  const media = (name: string) => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, "media", name));
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${webview.cspSource}; img-src ${webview.cspSource}; script-src 'nonce-${nonce}';">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link href="${media("contextWindow.css").toString()}" rel="stylesheet">
<title>Context Window</title>
</head>
<body>
<main id="root"><p class="muted">Loading the session…</p></main>
<script nonce="${nonce}" src="${media("contextWindow.js").toString()}"></script>
</body>
</html>`;
}
