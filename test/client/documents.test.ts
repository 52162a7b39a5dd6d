// The Session Explorer's documents (client/src/sessions/documents.ts and
// render.ts): addresses that round-trip, and the text of each kind of
// document, for a session recorded by the real engine.

import { strict as assert } from "node:assert";
import {
  parseSnapshotAddress,
  snapshotAddress,
  snapshotText,
  type SnapshotRef,
} from "../../client/src/sessions/documents";
import { modelFromEvents } from "../../client/src/sessions/model";
import { describeDivergence, firstDivergence, turnLines } from "../../client/src/sessions/render";
import { FolderSource, SessionStore } from "../../client/src/sessions/store";
import type { SessionEvent } from "../../server/protocol/events";
import { removeTempDirs, tempDir } from "../runtime/helpers";
import { LOOKUP, logText, record, REFUND, writeLog } from "./helpers";

const ID = "20261126-054358-abc123";
const SRC = "folder:/work/my project";

describe("Session Explorer documents", () => {
  let events: SessionEvent[];
  let store: SessionStore;

  before(async () => {
    events = await record([LOOKUP, REFUND], { results: { lookup_order: { status: "shipped" } } });
    const workspace = tempDir("statecraft-client-");
    writeLog(workspace, ID, events);
    const source = new FolderSource(SRC, "ws", workspace);
    await source.scan();
    store = new SessionStore();
    store.setSources([source]);
  });
  after(removeTempDirs);

  const REFS: [SnapshotRef, string][] = [
    [{ sourceId: SRC, sessionId: ID, what: "context", turn: 2 }, `/${ID}/turn-2/context.md`],
    [{ sourceId: SRC, sessionId: ID, what: "memory", turn: 1 }, `/${ID}/turn-1/memory.md`],
    [{ sourceId: SRC, sessionId: ID, what: "event", seq: 7 }, `/${ID}/event-7.json`],
    [{ sourceId: SRC, sessionId: ID, what: "session" }, `/${ID}/session.md`],
    [{ sourceId: SRC, sessionId: ID, what: "log" }, `/${ID}/log.jsonl`],
  ];

  for (const [ref, path] of REFS)
    it(`${ref.what}: the address ${path} names the source in its query and reads back as the same document`, () => {
      const address = snapshotAddress(ref, ref.what);
      assert.equal(address.path, path);
      assert.equal(new URLSearchParams(address.query).get("src"), SRC);
      assert.deepEqual(parseSnapshotAddress(address.path, address.query), ref);
    });

  it("an address that is not a snapshot's reads as none", () => {
    const query = new URLSearchParams({ src: SRC }).toString();
    assert.equal(parseSnapshotAddress(`/${ID}/turn-1/tools.md`, query), undefined);
    assert.equal(parseSnapshotAddress(`/${ID}/session.md`, ""), undefined);
  });

  it("renders the context a turn sent: tokens per section, bytes per model call, messages and tools", async () => {
    const text = await snapshotText(store, { sourceId: SRC, sessionId: ID, what: "context", turn: 1 });
    assert.match(text, /^# Context · turn 1\n/);
    assert.match(text, /\| instructions \| [\d,]+ \|/);
    assert.match(text, /## Bytes sent \(stateless: the whole context is sent on every call\)/);
    assert.match(text, /\| 1 \| [\d,]+ \| [\d,]+ \|\n\| 2 \| [\d,]+ \| [\d,]+ \|/);
    assert.match(text, /### 1\. system\n\nLook the order up before you discuss it\./);
    assert.match(text, /### 4\. tool lookup_order \(/);
    assert.match(text, /## Tools \(3\)/);
  });

  it("renders the memory after a turn, an event, the session and the raw log", async () => {
    const memory = await snapshotText(store, { sourceId: SRC, sessionId: ID, what: "memory", turn: 1 });
    assert.match(
      memory,
      /memory customer \(scope session\)\n\n## Values after the turn\n\n```json\n\{\n {2}"name": ""\n\}/,
    );
    const seq = events.find((e) => e.type === "tool.call")!.seq;
    const event = await snapshotText(store, { sourceId: SRC, sessionId: ID, what: "event", seq });
    assert.equal(JSON.parse(event).tool, "lookup_order");
    const session = await snapshotText(store, { sourceId: SRC, sessionId: ID, what: "session" });
    assert.match(session, /## turn 2\nuser: Please refund 40 USD on order A1001\.\nmodel calls refund/);
    const log = await snapshotText(store, { sourceId: SRC, sessionId: ID, what: "log" });
    assert.equal(log, logText(events));
  });

  it("says what is missing when the turn, the event or the session is not there", async () => {
    const ref = { sourceId: SRC, sessionId: ID };
    assert.equal(
      await snapshotText(store, { ...ref, what: "context", turn: 9 }),
      `Session ${ID} has no turn 9.\n`,
    );
    assert.equal(
      await snapshotText(store, { ...ref, what: "event", seq: 999 }),
      `Session ${ID} has no event 999.\n`,
    );
    assert.equal(
      await snapshotText(store, { ...ref, sessionId: "gone", what: "session" }),
      `Session gone is no longer in ${SRC}.\n`,
    );
  });

  it("two sessions are compared turn by turn: the first line that differs", async () => {
    const a = modelFromEvents("a", events);
    const b = modelFromEvents(
      "b",
      await record([LOOKUP, REFUND], { results: { lookup_order: { status: "lost" } } }),
    );
    assert.deepEqual(turnLines(a.turn(1)!), [
      "user: Where is my order A1003?",
      'model calls lookup_order {"order_id":"A1003"}',
      'tool lookup_order returned {"status":"shipped"}',
      "model: A1003 has shipped.",
      "reply: A1003 has shipped.",
      "status: ok",
    ]);
    assert.deepEqual(firstDivergence(a, b), {
      turn: 1,
      line: 3,
      a: 'tool lookup_order returned {"status":"shipped"}',
      b: 'tool lookup_order returned {"status":"lost"}',
    });
    assert.equal(firstDivergence(a, modelFromEvents("c", events)), undefined);
    assert.equal(
      describeDivergence(a, modelFromEvents("c", events)),
      "Sessions a and c do the same thing in every turn.",
    );
  });
});
