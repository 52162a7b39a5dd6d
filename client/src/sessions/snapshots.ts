// The `statecraft-snapshot:` documents: read-only text of a turn's context or
// memory snapshot, of an event, of a whole session (what Compare Sessions
// diffs) and of a runtime session's raw log. The URI names the session and
// what to show; the text is rendered from the store on every read, so an open
// document follows a running session.

import * as vscode from "vscode";
import { renderContext, renderEvent, renderMemory, renderSession } from "./render";
import type { SessionRef, SessionStore } from "./store";

export const SNAPSHOT_SCHEME = "statecraft-snapshot";

export type SnapshotWhat =
  | { what: "context" | "memory"; turn: number }
  | { what: "event"; seq: number }
  | { what: "session" }
  | { what: "log" };

/** e.g. statecraft-snapshot:/20261126-054358-2de7c7/turn-2/context.md?src=<source id> */
export function snapshotUri(
  ref: SessionRef & { turn?: number; seq?: number },
  what: SnapshotWhat["what"],
): vscode.Uri {
  const tail =
    what === "context" || what === "memory"
      ? `turn-${ref.turn}/${what}.md`
      : what === "event"
        ? `event-${ref.seq}.json`
        : what === "session"
          ? "session.md"
          : "log.jsonl";
  return vscode.Uri.from({
    scheme: SNAPSHOT_SCHEME,
    path: `/${ref.sessionId}/${tail}`,
    query: new URLSearchParams({ src: ref.sourceId }).toString(),
  });
}

export function parseSnapshotUri(uri: vscode.Uri): (SessionRef & SnapshotWhat) | undefined {
  const sourceId = new URLSearchParams(uri.query).get("src");
  const m =
    /^\/([^/]+)\/(?:turn-(\d+)\/(context|memory)\.md|event-(\d+)\.json|(session)\.md|(log)\.jsonl)$/.exec(
      uri.path,
    );
  if (!sourceId || !m) return undefined;
  const ref = { sourceId, sessionId: m[1] };
  if (m[3]) return { ...ref, what: m[3] as "context" | "memory", turn: Number(m[2]) };
  if (m[4]) return { ...ref, what: "event", seq: Number(m[4]) };
  if (m[5]) return { ...ref, what: "session" };
  return { ...ref, what: "log" };
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
    const ref = parseSnapshotUri(uri);
    if (!ref) return `Not a Statecraft snapshot: ${uri.toString()}\n`;
    const model = await this.store.model(ref);
    if (!model) return `Session ${ref.sessionId} is no longer in ${ref.sourceId}.\n`;
    switch (ref.what) {
      case "context":
      case "memory": {
        const t = model.turn(ref.turn);
        if (!t) return `Session ${ref.sessionId} has no turn ${ref.turn}.\n`;
        return ref.what === "context" ? renderContext(model, t) : renderMemory(model, t);
      }
      case "event": {
        const e = model.events.find((x) => x.seq === ref.seq);
        return e ? renderEvent(e) : `Session ${ref.sessionId} has no event ${ref.seq}.\n`;
      }
      case "session":
        return renderSession(model);
      case "log":
        return model.events.map((e) => JSON.stringify(e)).join("\n") + "\n";
    }
  }
}
