// The Session Explorer's nodes (client/src/sessions/nodes.ts): which events of
// a turn get a node, and what each node says, for sessions recorded by the
// real engine.

import { strict as assert } from "node:assert";
import { modelFromEvents } from "../../client/src/sessions/model";
import { describeEvent, turnChildren } from "../../client/src/sessions/nodes";
import { LOOKUP, record, recordModel, REFUND } from "./helpers";

const SOURCE_ID = "folder:0";

/** The labels of a turn's children, as the tree shows them. */
function labels(model: Awaited<ReturnType<typeof recordModel>>, turn: number): string[] {
  const t = model.turn(turn)!;
  return turnChildren(SOURCE_ID, model.id, t).map((n) => {
    if (n.kind === "snapshot") return n.which;
    assert.equal(n.kind, "event");
    const e = t.events.find((x) => x.seq === (n as { seq: number }).seq)!;
    return describeEvent(t, e).label;
  });
}

describe("Session Explorer nodes", () => {
  it("shows a hand edit made in the debugger among its turn's events (issue 12, bug 2)", async () => {
    const events = await record([REFUND], {
      hooks: {
        // What the debugger does when the user changes a pending call's input before it runs.
        beforeToolRun: async (call, session) => {
          await session.recordEdit({
            target: "tool.input",
            callId: call.id,
            tool: call.name,
            field: "amount",
            before: 40,
            after: 25,
            by: "debugger",
          });
          return { order_id: "A1001", amount: 25 };
        },
      },
    });
    const model = modelFromEvents("s", events);
    assert.deepEqual(labels(model, 1), [
      "context",
      "memory",
      "Model call 1",
      "Tool refund",
      "Policy: approval refund",
      "Approval: refund approved",
      "Edited by hand: refund input amount",
      "Model call 2",
    ]);
    const t = model.turn(1)!;
    const edit = describeEvent(
      t,
      t.events.find((e) => e.type === "manual.edit")!,
    );
    assert.equal(edit.description, "40 → 25 · by the debugger");
    assert.equal(edit.icon, "edit");
  });

  it("folds results, requests and snapshots into the nodes they belong to", async () => {
    const model = await recordModel([LOOKUP]);
    assert.deepEqual(labels(model, 1), [
      "context",
      "memory",
      "Model call 1",
      "Tool lookup_order",
      "Policy: allow lookup_order",
      "Model call 2",
    ]);
  });
});
