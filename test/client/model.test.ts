// The Session Explorer's data layer (client/src/sessions/model.ts, store.ts):
// a log read in pieces as it grows gives the same session as one read whole,
// bad and torn lines are skipped with a warning, and a folder source follows
// files that grow, shrink and vanish.

import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import { LogReader, modelFromEvents, modelFromText, SessionModel } from "../../client/src/sessions/model";
import { contextWindowData } from "../../client/src/sessions/contextWindow";
import { FolderSource } from "../../client/src/sessions/store";
import type { SessionEvent } from "../../server/protocol/events";
import { removeTempDirs, tempDir } from "../runtime/helpers";
import { LOOKUP, logText, record, REFUND, writeLog } from "./helpers";

const ID = "20261126-054358-abc123";

/** What a model holds, comparable with deepEqual (context snapshots are read lazily). */
const summary = (m: SessionModel) => ({
  status: m.status,
  turns: m.turnCount,
  events: JSON.parse(JSON.stringify(m.events)) as unknown,
  warnings: m.warnings,
  bytes: m.turns.map((t) => t.bytes),
  usage: m.turns.map((t) => t.usage),
});

describe("Session Explorer data layer", () => {
  let events: SessionEvent[];
  // A non-ASCII reply, so that a chunk boundary can fall inside a character.
  const TURN = { input: "Größe?", script: [{ kind: "reply" as const, text: "Grüße — 42 €." }] };

  before(async () => {
    events = await record([LOOKUP, TURN, REFUND]);
  });
  after(removeTempDirs);

  it("reads a log fed in pieces of any size exactly as one read whole", () => {
    const whole = summary(modelFromEvents(ID, events));
    assert.equal(whole.status, "ok");
    assert.equal(whole.turns, 3);
    const bytes = Buffer.from(logText(events));
    for (const size of [1, 7, 64, 4096]) {
      const model = new SessionModel(ID);
      const reader = new LogReader(model, `${ID}.jsonl`);
      for (let at = 0; at < bytes.length; at += size) reader.feed(bytes.subarray(at, at + size));
      reader.finish();
      assert.equal(reader.offset, bytes.length);
      assert.deepEqual(summary(model), whole, `pieces of ${size} bytes`);
    }
  });

  it("reads a context snapshot's figures without parsing its messages, and its messages when asked", () => {
    const model = modelFromText(ID, logText(events));
    const lazy = model.turn(1)!.contexts[0];
    const parsed = events.find((e) => e.type === "context.snapshot")!;
    assert.equal(
      Object.getOwnPropertyDescriptor(lazy, "messages")?.get !== undefined,
      true,
      "messages is read lazily",
    );
    assert.equal(JSON.stringify(lazy), JSON.stringify(parsed));
  });

  it("skips a line that is not JSON or not an event, and a torn last line, each with a warning", () => {
    const good = logText(events).split("\n").filter(Boolean);
    const text = [good[0], "{not json", '{"type":"x"}', ...good.slice(1), '{"seq":99,"ts":"'].join("\n");
    const model = modelFromText(ID, text);
    assert.deepEqual(model.warnings, [
      `${ID}.jsonl:2: not valid JSON; the line was skipped`,
      `${ID}.jsonl:3: not a session event (no type and seq); the line was skipped`,
      `${ID}.jsonl: the last line is incomplete (the run was interrupted while writing it); it was skipped`,
    ]);
    assert.equal(model.events.length, events.length);
  });

  it("a session cut off mid-turn is running while it may still grow", () => {
    const at = events.findIndex((e) => e.type === "tool.call");
    const model = modelFromEvents(ID, events.slice(0, at));
    assert.equal(model.status, "running");
    assert.equal(model.turnCount, 0);
  });

  it("follows a log file that grows (a line at a time, and half a line), is rewritten shorter, and vanishes", async () => {
    const workspace = tempDir("statecraft-client-");
    const text = logText(events);
    const file = writeLog(workspace, ID, []);
    const source = new FolderSource("folder:0", "ws", workspace);
    const cut = text.indexOf("\n", text.length / 2) + 10;
    fs.writeFileSync(file, text.slice(0, cut));
    await source.scan();
    const partial = source.session(ID)!;
    assert.equal(partial.status, "running");
    fs.appendFileSync(file, text.slice(cut));
    assert.equal(await source.update(file), true);
    assert.deepEqual(summary(source.session(ID)!), summary(modelFromText(ID, text)));
    assert.equal(await source.update(file), false, "nothing new: nothing read");
    fs.writeFileSync(file, logText(events.slice(0, 3)));
    await source.update(file);
    assert.equal(
      source.session(ID)!.events.length,
      3,
      "a file rewritten shorter is read again from the start",
    );
    fs.rmSync(file);
    await source.scan();
    assert.deepEqual(source.sessions(), []);
  });

  it("the context window view's figures: tokens per section of each turn's last call, and bytes sent", () => {
    const model = modelFromEvents(ID, events);
    const data = contextWindowData(model);
    assert.deepEqual(
      data.turns.map((t) => [t.turn, t.input, t.status, t.calls]),
      [
        [1, "Where is my order A1003?", "ok", 2],
        [2, "Größe?", "ok", 1],
        [3, "Please refund 40 USD on order A1001.", "ok", 2],
      ],
    );
    for (const t of data.turns) {
      const last = model.turn(t.turn)!.contexts.at(-1)!;
      assert.equal(t.total, last.tokens.total);
      assert.equal(
        Object.values(t.sections).reduce((a, b) => a + b, 0),
        last.tokens.total,
        `turn ${t.turn}: the sections add up to the total`,
      );
    }
    assert.equal(
      data.totalBytes,
      model.turns.reduce((a, t) => a + t.bytes, 0),
    );
    assert.equal(data.window, 128_000);
  });
});
