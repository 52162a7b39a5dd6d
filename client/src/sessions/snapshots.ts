// The `statecraft-snapshot:` documents in the editor: read-only text of a
// turn's context or memory snapshot, of an event, of a whole session (what
// Compare Sessions diffs) and of a runtime session's raw log. Their addresses
// and text are documents.ts's; this provider serves them and tells the editor
// when a running session grows, so an open document follows it.

import * as vscode from "vscode";
import {
  parseSnapshotAddress,
  SNAPSHOT_SCHEME,
  snapshotAddress,
  snapshotText,
  type SnapshotWhat,
} from "./documents";
import type { SessionRef, SessionStore } from "./store";

/** e.g. statecraft-snapshot:/20261126-054358-2de7c7/turn-2/context.md?src=<source id> */
export function snapshotUri(
  ref: SessionRef & { turn?: number; seq?: number },
  what: SnapshotWhat["what"],
): vscode.Uri {
  return vscode.Uri.from({ scheme: SNAPSHOT_SCHEME, ...snapshotAddress(ref, what) });
}

export class SnapshotProvider implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.emitter.event;
  private readonly subscription: { dispose(): void };

  constructor(private readonly store: SessionStore) {
    // A running session grows: re-read the open documents of its source.
    this.subscription = store.onDidChange(() => {
      for (const doc of vscode.workspace.textDocuments)
        if (doc.uri.scheme === SNAPSHOT_SCHEME) this.emitter.fire(doc.uri);
    });
  }

  dispose(): void {
    this.subscription.dispose();
    this.emitter.dispose();
  }

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const ref = parseSnapshotAddress(uri.path, uri.query);
    if (!ref) return `Not a Statecraft snapshot: ${uri.toString()}\n`;
    return snapshotText(this.store, ref);
  }
}
