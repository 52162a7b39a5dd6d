// Exact replay of a session whose memory was edited by hand between turns (the debugger's
// setVariable): replay makes the recorded edit again where it was made, so the memory the later
// turns send matches the recording instead of reading as a divergence.

import { strict as assert } from "node:assert";
import * as os from "node:os";
import { replayExact } from "../../server/runtime/replay";
import { compileSource, lines, ofType, startSession } from "./helpers";

const SOURCE = lines(
  "memory notes {",
  "  scope: session",
  "  fields { mood: string }",
  "}",
  "agent helper {",
  '  instructions: "Help the user."',
  "  memory: notes",
  "}",
);

describe("exact replay of hand edits", () => {
  it("redoes a recorded memory edit at the same point, so the session replays without a divergence", async () => {
    const definition = compileSource(SOURCE);
    const h = await startSession(definition, { script: [{ kind: "reply", text: "Hi." }] });
    assert.equal((await h.session.send("Hello")).status, "ok");
    // What the debugger does when the user edits memory.mood while paused between turns.
    h.session.memory = { ...h.session.memory, mood: "cheerful" };
    await h.session.recordEdit({
      target: "memory",
      memory: "notes",
      field: "mood",
      before: "",
      after: "cheerful",
      by: "debugger",
    });
    h.script({ kind: "reply", text: "Glad to hear it." });
    assert.equal((await h.session.send("How am I?")).status, "ok");
    await h.session.end();

    const [, second] = ofType(h.events, "context.snapshot");
    assert.match(JSON.stringify(second.messages), /cheerful/, "the edited memory reached the model");
    const result = await replayExact(h.events, definition, os.tmpdir());
    assert.equal(result.divergence?.summary, undefined);
    assert.equal(result.matched, true);
    assert.equal(result.requests, 2);
  });

  it("redoes a recorded edit of a memory write's value, so the memory later calls send matches", async () => {
    const definition = compileSource(SOURCE);
    // What the debugger does when the user, stopped at the model's remember call, edits its value.
    const h = await startSession(definition, {
      script: [
        { kind: "call", tool: "remember", input: { field: "mood", value: "sad" } },
        { kind: "reply", text: "Noted." },
      ],
      hooks: {
        afterEvent: async (e, session) => {
          if (e.type === "tool.call" && e.tool === "remember")
            await session.recordEdit({
              target: "tool.input",
              callId: e.callId,
              tool: "remember",
              field: "value",
              before: "sad",
              after: "cheerful",
              by: "debugger",
            });
        },
        beforeMemoryWrite: () => "cheerful",
      },
    });
    assert.equal((await h.session.send("I feel great")).status, "ok");
    await h.session.end();

    const [, second] = ofType(h.events, "context.snapshot");
    assert.match(JSON.stringify(second.messages), /cheerful/, "the edited value reached the model");
    const result = await replayExact(h.events, definition, os.tmpdir());
    assert.equal(result.divergence?.summary, undefined);
    assert.equal(result.requests, 2);
  });
});
