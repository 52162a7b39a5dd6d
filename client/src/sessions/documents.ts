// The `statecraft-snapshot:` documents without `vscode`: their addresses (a
// path naming the session and what to show, the source in the query) and
// their text, rendered from the store on every read. snapshots.ts serves them
// to the editor.

import { isSnapshotKind, SNAPSHOT_KIND_NAMES, SNAPSHOT_KINDS, type SnapshotKind } from "./nodes";
import { renderEvent, renderSession } from "./render";
import type { SessionRef, SessionStore } from "./store";

export const SNAPSHOT_SCHEME = "statecraft-snapshot";

export type SnapshotWhat =
  | { what: SnapshotKind; turn: number }
  | { what: "event"; seq: number }
  | { what: "session" }
  | { what: "log" };

export type SnapshotRef = SessionRef & SnapshotWhat;

/** The path and query of a document, e.g. `/20261126-054358-2de7c7/turn-2/context.md`, `src=<source id>`. */
export function snapshotAddress(
  ref: SessionRef & { turn?: number; seq?: number },
  what: SnapshotWhat["what"],
): { path: string; query: string } {
  const tail = isSnapshotKind(what)
    ? `turn-${ref.turn}/${what}.md`
    : what === "event"
      ? `event-${ref.seq}.json`
      : what === "session"
        ? "session.md"
        : "log.jsonl";
  return {
    path: `/${ref.sessionId}/${tail}`,
    query: new URLSearchParams({ src: ref.sourceId }).toString(),
  };
}

const ADDRESS = new RegExp(
  String.raw`^/([^/]+)/(?:turn-(\d+)/(${SNAPSHOT_KIND_NAMES.join("|")})\.md|event-(\d+)\.json|(session)\.md|(log)\.jsonl)$`,
);

/** What a document's path and query name; undefined when they are not a snapshot's. */
export function parseSnapshotAddress(path: string, query: string): SnapshotRef | undefined {
  const sourceId = new URLSearchParams(query).get("src");
  const m = ADDRESS.exec(path);
  if (!sourceId || !m) return undefined;
  const ref = { sourceId, sessionId: m[1] };
  if (m[3]) return { ...ref, what: m[3] as SnapshotKind, turn: Number(m[2]) };
  if (m[4]) return { ...ref, what: "event", seq: Number(m[4]) };
  if (m[5]) return { ...ref, what: "session" };
  return { ...ref, what: "log" };
}

/** A document's text, or a line saying why there is none (the session or turn is gone). */
export async function snapshotText(store: SessionStore, ref: SnapshotRef): Promise<string> {
  const model = await store.model(ref);
  if (!model) return `Session ${ref.sessionId} is no longer in ${ref.sourceId}.\n`;
  switch (ref.what) {
    case "event": {
      const e = model.events.find((x) => x.seq === ref.seq);
      return e ? renderEvent(e) : `Session ${ref.sessionId} has no event ${ref.seq}.\n`;
    }
    case "session":
      return renderSession(model);
    case "log":
      return model.events.map((e) => JSON.stringify(e)).join("\n") + "\n";
    default: {
      const t = model.turn(ref.turn);
      if (!t) return `Session ${ref.sessionId} has no turn ${ref.turn}.\n`;
      return SNAPSHOT_KINDS[ref.what].render(model, t);
    }
  }
}
