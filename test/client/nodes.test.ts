// The Session Explorer's tree (client/src/sessions/nodes.ts): which events of
// a turn get a node and what each node says, for sessions recorded by the real
// engine, and the tree's children and parents over a folder of logs.

import { strict as assert } from "node:assert";
import type { CallIdentity, SessionEvent } from "../../server/protocol/events";
import { modelFromEvents, type SessionModel } from "../../client/src/sessions/model";
import {
  childrenOf,
  describeEvent,
  describeNode,
  describeSnapshot,
  parentId,
  turnChildren,
  type NodeData,
} from "../../client/src/sessions/nodes";
import { FolderSource, SessionStore } from "../../client/src/sessions/store";
import { removeTempDirs, tempDir } from "../runtime/helpers";
import { LOOKUP, record, recordModel, REFUND, writeLog } from "./helpers";

const SOURCE_ID = "folder:0";

/** The labels of a turn's children, as the tree shows them. */
function labels(model: SessionModel, turn: number): string[] {
  const t = model.turn(turn)!;
  return turnChildren(SOURCE_ID, model.id, t).map((n) => {
    if (n.kind === "snapshot") return describeSnapshot(t, n.which).label;
    assert.equal(n.kind, "event");
    return describeEvent(
      t,
      t.events.find((e) => e.seq === n.seq)!,
    ).label;
  });
}

/** The one event of a type in turn 1, described. */
function describeOnly(model: SessionModel, type: SessionEvent["type"]) {
  const t = model.turn(1)!;
  const found = t.events.filter((e) => e.type === type);
  assert.equal(found.length, 1, `one ${type} event`);
  return describeEvent(t, found[0]);
}

describe("Session Explorer nodes", () => {
  after(removeTempDirs);

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
      "Context",
      "Memory",
      "Model call 1",
      "Tool refund",
      "Policy: approval refund",
      "Approval: refund approved",
      "Edited by hand: refund input amount",
      "Model call 2",
    ]);
    const edit = describeOnly(model, "manual.edit");
    assert.equal(edit.description, "40 → 25 · by the debugger");
    assert.equal(edit.icon, "edit");
  });

  it("folds results, requests and snapshots into the nodes they belong to", async () => {
    const model = await recordModel([LOOKUP], { results: { lookup_order: { status: "shipped" } } });
    assert.deepEqual(labels(model, 1), [
      "Context",
      "Memory",
      "Model call 1",
      "Tool lookup_order",
      "Policy: allow lookup_order",
      "Model call 2",
    ]);
    const tool = describeOnly(model, "tool.call");
    assert.match(tool.description!, /^ok · \d+ ms \(mock\) · \{"order_id":"A1003"\}$/);
    assert.match(tool.tooltip!, /→ \{"status":"shipped"\}/);
    assert.equal(tool.icon, "tools");
    const t = model.turn(1)!;
    const [first, second] = t.events.filter((e) => e.type === "model.response");
    assert.match(describeEvent(t, first).description!, /^→ lookup_order · \d+\+\d+ tokens · \d+ ms$/);
    assert.match(describeEvent(t, second).description!, /^replied “A1003 has shipped.” · /);
  });

  it("marks a refused approval, and the tool call it stopped, as failed", async () => {
    const model = await recordModel([REFUND], { approver: () => Promise.resolve(false) });
    const approval = describeOnly(model, "approval");
    assert.deepEqual(
      [approval.label, approval.icon, approval.color],
      ["Approval: refund refused", "circle-slash", "testing.iconFailed"],
    );
    const call = describeOnly(model, "tool.call");
    assert.match(call.description!, /^approval refused · /);
    assert.equal(call.color, "testing.iconFailed");
  });

  it("shows the identity a tool call used through a connection (as the user or as the service)", async () => {
    const events = await record([
      {
        input: "Look A1 up",
        script: [
          { kind: "call", tool: "lookup_order", input: { order_id: "A1" } },
          { kind: "reply", text: "Found it." },
        ],
      },
    ]);
    // The identity as a runtime calling through a connection records it on the tool.call event.
    const withIdentity = (identity: CallIdentity) =>
      modelFromEvents(
        "s",
        events.map((e) => (e.type === "tool.call" ? { ...e, identity } : e)),
      );
    const asUser = describeOnly(withIdentity({ as: "user", connection: "mail", user: "ada" }), "tool.call");
    assert.match(asUser.description!, / · as ada via mail · /);
    assert.match(asUser.tooltip!, /Called as the user 'ada' \(their token\) through connection 'mail'/);
    const asService = describeOnly(withIdentity({ as: "service", connection: "crm" }), "tool.call");
    assert.match(asService.description!, / · as service via crm · /);
    assert.match(asService.tooltip!, /as the agent's service identity through connection 'crm'/);
    // A call through no connection says nothing of an identity.
    const plain = describeOnly(modelFromEvents("s", events), "tool.call");
    assert.doesNotMatch(`${plain.description}\n${plain.tooltip}`, /identity| via /);
  });

  it("shows memory writes with their value, and the Memory snapshot counts the fields", async () => {
    const model = await recordModel([
      {
        input: "I'm Ada.",
        script: [
          { kind: "call", tool: "remember", input: { field: "name", value: "Ada" } },
          { kind: "reply", text: "Hello Ada." },
        ],
      },
    ]);
    const write = describeOnly(model, "memory.write");
    assert.deepEqual([write.label, write.description], ['Memory: name = "Ada"', "memory customer"]);
    const t = model.turn(1)!;
    assert.equal(describeSnapshot(t, "memory").description, "1 field");
    assert.match(describeSnapshot(t, "context").description!, /^[\d,]+ tokens of 128,000 · 2 calls$/);
  });

  it("an event type this version does not know (a newer log) gets no node", async () => {
    const events = await record([{ input: "Hi", script: [{ kind: "reply", text: "Hello." }] }]);
    const turnEnd = events.findIndex((e) => e.type === "turn.end");
    const future = { seq: 999, ts: events[0].ts, type: "model.thinking", turn: 1 } as unknown as SessionEvent;
    const model = modelFromEvents("s", [...events.slice(0, turnEnd), future, ...events.slice(turnEnd)]);
    assert.deepEqual(labels(model, 1), ["Context", "Memory", "Model call 1"]);
  });

  describe("the tree over a folder of logs", () => {
    let store: SessionStore;
    const id = "20261126-054358-abc123";

    before(async () => {
      const workspace = tempDir("statecraft-client-");
      writeLog(workspace, id, await record([LOOKUP, REFUND]));
      const source = new FolderSource(SOURCE_ID, "ws", workspace);
      await source.scan();
      store = new SessionStore();
      store.setSources([source]);
    });

    it("goes source -> session -> turns -> snapshots and events, each node's parent the node above", async () => {
      const [source] = await childrenOf(store);
      assert.deepEqual(source, { kind: "source", id: `source:${SOURCE_ID}`, sourceId: SOURCE_ID });
      const sessions = await childrenOf(store, source);
      assert.deepEqual(
        sessions.map((n) => n.id),
        [`session:${SOURCE_ID}/${id}`],
      );
      const turns = await childrenOf(store, sessions[0]);
      assert.deepEqual(await Promise.all(turns.map(async (n) => (await describeNode(store, n)).label)), [
        "Turn 1: Where is my order A1003?",
        "Turn 2: Please refund 40 USD on order A1001.",
      ]);
      const leaves = await childrenOf(store, turns[1]);
      assert.equal(leaves.length, 2 + 5);
      for (const [child, parent] of [
        [sessions[0], source],
        [turns[1], sessions[0]],
        ...leaves.map((l) => [l, turns[1]]),
      ] as [NodeData, NodeData][])
        assert.equal(parentId(child), parent.id, `the parent of ${child.id}`);
      assert.equal(parentId(source), undefined);
      const session = await describeNode(store, sessions[0]);
      assert.equal(session.label, "support");
      assert.match(session.description!, /^stateless · ok · 2 turns · /);
      assert.equal(session.icon, "pass");
    });

    it("keeps node ids stable across reads, so a refresh keeps what was expanded", async () => {
      const read = async () => {
        const [source] = await childrenOf(store);
        const [session] = await childrenOf(store, source);
        const [turn] = await childrenOf(store, session);
        return (await childrenOf(store, turn)).map((n) => n.id);
      };
      assert.deepEqual(await read(), await read());
    });

    it("groups the sessions of test runs under one Test runs node, so runs stay in view", async () => {
      const workspace = tempDir("statecraft-client-");
      const run = "20261126-060000-run001";
      const tested = "20261126-060100-test01";
      writeLog(workspace, run, await record([LOOKUP]));
      const events = await record([LOOKUP]);
      // What the test runner writes: session.start names the test.
      writeLog(
        workspace,
        tested,
        events.map((e) => (e.type === "session.start" ? { ...e, test: "finds the order" } : e)),
      );
      const source = new FolderSource("folder:2", "ws", workspace);
      await source.scan();
      const grouped = new SessionStore();
      grouped.setSources([source]);
      const [top] = await childrenOf(grouped);
      const under = await childrenOf(grouped, top);
      assert.deepEqual(
        under.map((n) => n.id),
        [`session:folder:2/${run}`, "tests:folder:2"],
      );
      const group = under[1];
      assert.deepEqual(await describeNode(grouped, group), {
        label: "Test runs",
        description: "1 session",
        tooltip: "Sessions recorded by statecraft test and the Testing view, one per test run",
        icon: "beaker",
      });
      const tests = await childrenOf(grouped, group);
      assert.deepEqual(
        tests.map((n) => n.id),
        [`session:folder:2/${tested}`],
      );
      assert.equal(parentId(tests[0]), group.id);
      assert.equal(parentId(group), top.id);
      assert.equal(parentId(under[0]), top.id);
    });

    it("a node whose session is gone still reads, and an empty store has no top nodes", async () => {
      const gone: NodeData = {
        kind: "turn",
        id: "turn:x/y/3",
        sourceId: SOURCE_ID,
        sessionId: "gone",
        turn: 3,
      };
      assert.deepEqual(await describeNode(store, gone), { label: "Turn 3", icon: "comment" });
      assert.deepEqual(await childrenOf(store, gone), []);
      const empty = new SessionStore();
      empty.setSources([new FolderSource("folder:1", "empty", tempDir("statecraft-client-"))]);
      assert.deepEqual(await childrenOf(empty), []);
    });
  });
});
