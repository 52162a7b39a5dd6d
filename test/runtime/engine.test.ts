// The engine's turn loop on the scripted local backend: what one turn records
// and returns, memory (zero values, `remember`, window, summary, scopes),
// handoffs, and the failure of an unscripted local model.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { LocalBackend, NO_SCRIPT_MESSAGE } from "../../server/backends/local";
import type { Message } from "../../server/protocol/events";
import { FileMemoryStore, InMemoryStore } from "../../server/runtime/memoryStore";
import { BackendError, type ModelRequest } from "../../server/runtime/model";
import {
  compileSource,
  filesUnder,
  lines,
  ofType,
  only,
  removeTempDirs,
  snapshot,
  startSession,
  systemText,
  tempDir,
  turnEvents,
  typesOf,
} from "./helpers";

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** The user messages of a context, in order. */
const userInputs = (messages: Message[]) => messages.filter((m) => m.role === "user").map((m) => m.content);

after(removeTempDirs);

describe("engine: a plain reply turn", () => {
  const source = lines(
    "memory notes {",
    "  fields {",
    "    count: integer",
    "    nick?: string",
    "  }",
    "}",
    "agent helper {",
    '  description: "Answers questions"',
    '  instructions: """',
    "    You help {{user.name}} ({{user.id}}) for {{vars.company}}.",
    "    Session {{session.id}}, turn {{session.turn}}; count {{memory.count}}; nick [{{memory.nick}}].",
    '  """',
    '  vars { company: "Acme" }',
    "  memory: notes",
    "}",
  );

  it("records session.start .. turn.end .. session.end with the documented fields", async () => {
    const def = compileSource(source);
    const { session, events, streamed } = await startSession(def, {
      sessionId: "s-plain",
      script: [{ kind: "reply", text: "Hello Ada, how can I help you today?" }],
    });
    const result = await session.send("Hi there");
    await session.end();

    assert.deepEqual(result, {
      turn: 1,
      reply: "Hello Ada, how can I help you today?",
      status: "ok",
      agent: "helper",
      tools: [],
      handoffs: [],
      usage: result.usage,
    });
    assert.ok(result.usage.inputTokens > 0 && result.usage.outputTokens > 0, "usage is counted");

    assert.deepEqual(typesOf(events), [
      "session.start",
      "turn.start",
      "context.snapshot",
      "model.request",
      "model.response",
      "memory.snapshot",
      "turn.end",
      "session.end",
    ]);
    assert.deepEqual(
      events.map((e) => e.seq),
      events.map((_, i) => i + 1),
    );
    for (const e of events) assert.match(e.ts, ISO);

    const start = only(events, "session.start");
    assert.equal(start.format, 1);
    assert.equal(start.sessionId, "s-plain");
    assert.equal(start.agent, "helper");
    assert.deepEqual(start.backend, {
      name: "local",
      kind: "stateless",
      provider: "local",
      model: undefined,
    });
    assert.equal(start.definition, def);
    assert.equal(start.hash, def.hash);
    assert.match(start.hash, /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual(start.user, { id: "u1", name: "Ada" });

    const turnStart = only(events, "turn.start");
    assert.deepEqual([turnStart.turn, turnStart.agent, turnStart.input], [1, "helper", "Hi there"]);

    const snap = snapshot(events, 1);
    assert.equal(snap.agent, "helper");
    assert.equal(
      systemText(snap).split("\n\n")[0],
      "You help Ada (u1) for Acme.\nSession s-plain, turn 1; count 0; nick [].",
    );
    assert.match(systemText(snap), /## Memory \(notes\)\n\{\n {2}"count": 0\n\}/);
    assert.deepEqual(snap.messages.slice(1), [{ role: "user", content: "Hi there" }]);
    assert.deepEqual(
      snap.tools.map((t) => t.name),
      ["remember"],
    );
    const t = snap.tokens;
    assert.equal(t.total, t.instructions + t.context + t.memory + t.history + t.tools);
    assert.ok(t.instructions > 0 && t.memory > 0 && t.history > 0 && t.tools > 0, JSON.stringify(t));
    assert.equal(t.context, 0);
    assert.equal(t.exact, false, "the local model's tokens are estimated");
    assert.ok(snap.bytes > 0);
    assert.equal(snap.contextWindow, 128000);

    const request = only(events, "model.request");
    assert.deepEqual(
      [request.turn, request.step, request.backend, request.bytes],
      [1, 0, "local", snap.bytes],
    );

    const response = only(events, "model.response");
    assert.equal(response.text, result.reply);
    assert.deepEqual(response.toolCalls, []);
    assert.deepEqual(response.usage, result.usage);
    assert.equal(response.stopReason, "end_turn");
    assert.ok(response.latencyMs >= 0);

    const mem = only(events, "memory.snapshot");
    assert.deepEqual([mem.memory, mem.scope, mem.values], ["notes", "session", { count: 0 }]);

    const end = only(events, "turn.end");
    assert.deepEqual(
      [end.turn, end.agent, end.reply, end.status, end.reason, end.usage],
      [1, "helper", result.reply, "ok", undefined, result.usage],
    );

    const sessionEnd = only(events, "session.end");
    assert.deepEqual([sessionEnd.status, sessionEnd.turns, sessionEnd.usage], ["ok", 1, { ...result.usage }]);

    assert.ok(streamed.length > 1, `the reply streams in pieces: ${JSON.stringify(streamed)}`);
    assert.equal(streamed.join(""), result.reply);
  });

  it("renders session.turn afresh and carries the conversation into the next turn", async () => {
    const def = compileSource(source);
    const { session, events } = await startSession(def, {
      script: [
        { kind: "reply", text: "one" },
        { kind: "reply", text: "two" },
      ],
    });
    await session.send("first");
    const second = await session.send("second");
    assert.equal(second.turn, 2);
    const snap = snapshot(events, 2);
    assert.match(systemText(snap), /turn 2;/);
    assert.deepEqual(snap.messages.slice(1), [
      { role: "user", content: "first" },
      { role: "assistant", content: "one" },
      { role: "user", content: "second" },
    ]);
    assert.deepEqual(typesOf(turnEvents(events, 2)), [
      "turn.start",
      "context.snapshot",
      "model.request",
      "model.response",
      "memory.snapshot",
      "turn.end",
    ]);
  });

  it("refuses to send after end()", async () => {
    const { session } = await startSession(compileSource(source));
    await session.end();
    await assert.rejects(session.send("late"), /ended/);
  });
});

describe("engine: memory", () => {
  const memory = (scope: string, extra = "") =>
    lines(
      "type Address {",
      "  city: string",
      "}",
      "memory profile {",
      `  scope: ${scope}`,
      extra,
      "  fields {",
      "    count: integer",
      "    score: number",
      "    name: string",
      "    vip: boolean",
      "    tags: string[]",
      "    extra: json",
      '    tier: enum("gold", "silver")',
      "    address: Address",
      "    nick?: string",
      "  }",
      "}",
      "agent keeper {",
      '  instructions: "Nick: [{{memory.nick}}], count {{memory.count}}."',
      "  memory: profile",
      "}",
    );

  it("starts required fields at their zero values and leaves optional ones absent", async () => {
    const { session, events } = await startSession(compileSource(memory("session")), {
      script: [{ kind: "reply", text: "ok" }],
    });
    const zero = {
      count: 0,
      score: 0,
      name: "",
      vip: false,
      tags: [],
      extra: null,
      tier: "gold",
      address: {},
    };
    assert.deepEqual(session.memory, zero);
    assert.ok(!("nick" in session.memory));
    await session.send("hi");
    assert.deepEqual(only(events, "memory.snapshot").values, zero);
    assert.match(systemText(snapshot(events, 1)), /^Nick: \[\], count 0\./);
  });

  it("applies a valid remember write: memory.write ok, the next snapshot and the template see it", async () => {
    const { session, events } = await startSession(compileSource(memory("session")), {
      script: [
        { kind: "call", tool: "remember", input: { field: "nick", value: "Ace" } },
        { kind: "reply", text: "Noted, Ace." },
      ],
    });
    const result = await session.send("Call me Ace");
    assert.equal(result.status, "ok");
    assert.deepEqual(result.tools, [
      {
        callId: "call_1",
        tool: "remember",
        input: { field: "nick", value: "Ace" },
        status: "ran",
        error: undefined,
      },
    ]);
    assert.deepEqual(typesOf(turnEvents(events, 1)), [
      "turn.start",
      "context.snapshot",
      "model.request",
      "model.response",
      "tool.call",
      "memory.write",
      "context.snapshot",
      "model.request",
      "model.response",
      "memory.snapshot",
      "turn.end",
    ]);
    const write = only(events, "memory.write");
    assert.deepEqual(
      [write.callId, write.memory, write.field, write.value, write.ok, write.error],
      ["call_1", "profile", "nick", "Ace", true, undefined],
    );
    const next = snapshot(events, 1, 1);
    assert.match(systemText(next), /^Nick: \[Ace\], count 0\./);
    assert.match(systemText(next), /"nick": "Ace"/);
    assert.deepEqual(next.messages.at(-1), {
      role: "tool",
      toolCallId: "call_1",
      name: "remember",
      content: "Remembered nick.",
      isError: false,
    });
    assert.equal(only(events, "memory.snapshot").values.nick, "Ace");
    assert.equal(session.memory.nick, "Ace");
  });

  it("rejects a write of the wrong type or to an unknown field and leaves memory unchanged", async () => {
    const { session, events } = await startSession(compileSource(memory("session")), {
      script: [
        { kind: "call", tool: "remember", input: { field: "count", value: "three" } },
        { kind: "call", tool: "remember", input: { field: "tags", value: ["a", 2] } },
        {
          kind: "call",
          tool: "remember",
          input: { field: "address", value: { city: "Oslo", town: "Oslo" } },
        },
        { kind: "call", tool: "remember", input: { field: "nickname", value: "Ace" } },
        { kind: "reply", text: "Sorry." },
      ],
    });
    const before = structuredClone(session.memory);
    const result = await session.send("Remember things");
    assert.equal(result.status, "ok");
    assert.deepEqual(
      result.tools.map((t) => t.status),
      ["failed", "failed", "failed", "failed"],
    );
    const writes = ofType(events, "memory.write");
    assert.deepEqual(
      writes.map((w) => [w.field, w.ok]),
      [
        ["count", false],
        ["tags", false],
        ["address", false],
        ["nickname", false],
      ],
    );
    assert.match(writes[0].error!, /count must be a whole number; got string/);
    assert.match(writes[1].error!, /tags\[1\] must be of type string; got number/);
    assert.match(writes[2].error!, /address has no field 'town'/);
    assert.match(writes[3].error!, /memory 'profile' has no field 'nickname'; fields: count, score/);
    assert.deepEqual(session.memory, before);
    assert.deepEqual(only(events, "memory.snapshot").values, before);
    const toolMessages = snapshot(events, 1, 4).messages.filter((m) => m.role === "tool");
    assert.equal(toolMessages.length, 4);
    for (const m of toolMessages) {
      assert.equal(m.role === "tool" && m.isError, true);
      assert.match(m.content, /^Error: .*Memory is unchanged\.$/);
    }
  });

  it("keeps only the last `window` turns of history in the context", async () => {
    const { session, events } = await startSession(compileSource(memory("session", "  window: 2")), {
      script: ["a", "b", "c", "d"].map((text) => ({ kind: "reply" as const, text })),
    });
    for (const input of ["one", "two", "three", "four"]) await session.send(input);
    assert.deepEqual(userInputs(snapshot(events, 3).messages), ["one", "two", "three"]);
    const last = snapshot(events, 4).messages;
    assert.deepEqual(userInputs(last), ["two", "three", "four"]);
    assert.deepEqual(
      last.slice(1).map((m) => m.content),
      ["two", "b", "three", "c", "four"],
    );
  });

  it("folds older turns into a labelled summary once history passes summarize_after (local backend)", async () => {
    const { session, events } = await startSession(
      compileSource(memory("session", "  summarize_after: 20")),
      {
        script: [
          { kind: "reply", text: "The first answer is about apples and pears and plums." },
          { kind: "reply", text: "The second answer is about boats and trains." },
          { kind: "reply", text: "done" },
        ],
      },
    );
    await session.send("Tell me about fruit, please, in some detail");
    assert.equal(session.summary, undefined, "one turn is never summarized");
    assert.equal(session.history.length, 1);
    await session.send("Now tell me about transport");
    assert.equal(session.history.length, 1, "older turns were folded away");
    assert.ok(session.summary);
    await session.send("Thanks");
    const snap = snapshot(events, 3);
    const system = systemText(snap);
    assert.match(
      system,
      /## Summary of earlier turns\n\[local summary: the last \d+ of \d+ characters of earlier turns\]/,
    );
    assert.match(system, /user: Tell me about fruit/);
    assert.match(system, /assistant: The first answer is about apples/);
    assert.deepEqual(userInputs(snap.messages), ["Now tell me about transport", "Thanks"]);
    assert.ok(snap.tokens.memory > 0);
  });

  it("still ends the turn when the backend cannot summarize (falls back to truncation)", async () => {
    class NoSummary extends LocalBackend {
      override summarize(): Promise<string> {
        return Promise.reject(new BackendError("server", "the summarizer is down"));
      }
    }
    const { session, events } = await startSession(
      compileSource(memory("session", "  summarize_after: 10")),
      {
        backend: new NoSummary(),
        script: [
          { kind: "reply", text: "The first answer is about apples and pears and plums." },
          { kind: "reply", text: "The second answer is about boats and trains." },
        ],
      },
    );
    await session.send("Tell me about fruit, please, in some detail");
    const result = await session.send("Now tell me about transport");
    assert.equal(result.status, "ok");
    assert.equal(result.reply, "The second answer is about boats and trains.");
    assert.equal(ofType(events, "turn.end").length, 2);
    assert.match(session.summary ?? "", /^user: Tell me[^]*\[truncated to 5 tokens of \d+\]$/);
  });

  it("scope user: persists across sessions of the same user (FileMemoryStore), not to another user", async () => {
    const dir = tempDir();
    const def = compileSource(memory("user"));
    const store = new FileMemoryStore(dir);
    const first = await startSession(def, {
      memoryStore: store,
      sessionId: "s-1",
      user: { id: "u-ada", name: "Ada" },
      script: [
        { kind: "call", tool: "remember", input: { field: "nick", value: "Ace" } },
        { kind: "call", tool: "remember", input: { field: "count", value: 3 } },
        { kind: "reply", text: "ok" },
      ],
    });
    await first.session.send("Call me Ace");
    await first.session.end();
    const saved = filesUnder(dir);
    assert.equal(saved.length, 1);
    assert.deepEqual(JSON.parse(fs.readFileSync(saved[0], "utf8")), { ...first.session.memory });
    assert.equal(path.basename(path.dirname(saved[0])), "profile");

    const again = await startSession(def, {
      memoryStore: new FileMemoryStore(dir),
      sessionId: "s-2",
      user: { id: "u-ada", name: "Ada" },
      script: [{ kind: "reply", text: "Welcome back, Ace" }],
    });
    assert.equal(again.session.memory.nick, "Ace");
    assert.equal(again.session.memory.count, 3);
    await again.session.send("Hi");
    assert.match(systemText(snapshot(again.events, 1)), /^Nick: \[Ace\], count 3\./);
    assert.equal(only(again.events, "memory.snapshot").scope, "user");

    const other = await startSession(def, {
      memoryStore: new FileMemoryStore(dir),
      sessionId: "s-3",
      user: { id: "u-ben", name: "Ben" },
    });
    assert.equal(other.session.memory.nick, undefined);
    assert.equal(other.session.memory.count, 0);
  });

  it("scope session: a new session of the same user starts from zero, and nothing is stored", async () => {
    const dir = tempDir();
    const def = compileSource(memory("session"));
    const first = await startSession(def, {
      memoryStore: new FileMemoryStore(dir),
      script: [
        { kind: "call", tool: "remember", input: { field: "nick", value: "Ace" } },
        { kind: "reply", text: "ok" },
      ],
    });
    await first.session.send("Call me Ace");
    assert.equal(first.session.memory.nick, "Ace");
    await first.session.end();
    assert.deepEqual(filesUnder(dir), []);
    const second = await startSession(def, { memoryStore: new FileMemoryStore(dir), sessionId: "s-2" });
    assert.equal(second.session.memory.nick, undefined);
  });
});

describe("engine: handoff", () => {
  const source = lines(
    "tool lookup_order {",
    '  description: "Look up an order"',
    "  input { order_id: string }",
    "}",
    "tool explain_invoice {",
    '  description: "Explain an invoice"',
    "  input { invoice_id: string }",
    "}",
    "agent support {",
    '  description: "Tier-1 support"',
    '  instructions: "You are support."',
    "  tools: [lookup_order]",
    "  handoffs: [billing]",
    "}",
    "agent billing {",
    '  description: "Billing questions"',
    '  instructions: "You are billing, speaking with {{user.name}}."',
    "  tools: [explain_invoice]",
    "}",
  );

  it("switches the active agent: the next snapshot has billing's instructions and tools", async () => {
    const def = compileSource(source, { agent: "support" });
    const { session, events } = await startSession(def, {
      script: [
        { kind: "handoff", agent: "billing" },
        { kind: "reply", text: "Billing here." },
        { kind: "reply", text: "Still billing." },
      ],
    });
    const offered = (await session.assembleContext()).tools.map((t) => t.name);
    assert.deepEqual(offered, ["lookup_order", "transfer_to_billing"]);
    const result = await session.send("Why was I charged twice?");
    assert.equal(result.status, "ok");
    assert.equal(result.agent, "billing");
    assert.deepEqual(result.handoffs, ["billing"]);
    assert.equal(result.reply, "Billing here.");
    assert.deepEqual(typesOf(turnEvents(events, 1)), [
      "turn.start",
      "context.snapshot",
      "model.request",
      "model.response",
      "tool.call",
      "handoff",
      "context.snapshot",
      "model.request",
      "model.response",
      "memory.snapshot",
      "turn.end",
    ]);
    const h = only(events, "handoff");
    assert.deepEqual([h.from, h.to, h.callId], ["support", "billing", "call_1"]);
    assert.equal(only(events, "tool.call").tool, "transfer_to_billing");

    const before = snapshot(events, 1, 0);
    assert.equal(before.agent, "support");
    assert.equal(systemText(before), "You are support.");
    const after = snapshot(events, 1, 1);
    assert.equal(after.agent, "billing");
    assert.equal(systemText(after), "You are billing, speaking with Ada.");
    assert.deepEqual(
      after.tools.map((t) => t.name),
      ["explain_invoice"],
    );
    assert.deepEqual(after.messages.at(-1), {
      role: "tool",
      toolCallId: "call_1",
      name: "transfer_to_billing",
      content: "Transferred to billing.",
      isError: false,
    });
    assert.deepEqual(
      [only(events, "turn.end").agent, only(events, "turn.start").agent],
      ["billing", "support"],
    );

    await session.send("And the other charge?");
    assert.equal(ofType(events, "turn.start")[1].agent, "billing");
    assert.equal(snapshot(events, 2).agent, "billing");
  });

  it("denies a handoff to an agent that is not in `handoffs` (unknown-tool)", async () => {
    const def = compileSource(source, { agent: "billing" });
    const { session, events } = await startSession(def, {
      script: [
        { kind: "handoff", agent: "support" },
        { kind: "reply", text: "I stay." },
      ],
    });
    const result = await session.send("Send me to support");
    assert.equal(result.agent, "billing");
    assert.deepEqual(result.handoffs, []);
    assert.equal(ofType(events, "handoff").length, 0);
    const d = only(events, "policy.decision");
    assert.deepEqual([d.decision, d.check, d.tool], ["deny", "unknown-tool", "transfer_to_support"]);
  });
});

describe("engine: handoff between agents with different memories", () => {
  const source = lines(
    "memory support_notes {",
    "  scope: user",
    "  fields { x: integer }",
    "}",
    "memory billing_notes {",
    "  scope: session",
    "  fields { y?: string }",
    "}",
    "agent support {",
    '  instructions: "Support: x={{memory.x}}."',
    "  memory: support_notes",
    "  handoffs: [billing]",
    "}",
    "agent billing {",
    '  instructions: "Billing: y=[{{memory.y}}]."',
    "  memory: billing_notes",
    "  handoffs: [support]",
    "}",
  );

  it("each agent sees and writes its own memory; nothing of one is saved as the other", async () => {
    const store = new InMemoryStore();
    const { session, events } = await startSession(compileSource(source, { agent: "support" }), {
      memoryStore: store,
      script: [
        { kind: "call", tool: "remember", input: { field: "x", value: 5 } },
        { kind: "handoff", agent: "billing" },
        { kind: "call", tool: "remember", input: { field: "y", value: "paid" } },
        { kind: "reply", text: "Billing here." },
        { kind: "handoff", agent: "support" },
        { kind: "reply", text: "Support again." },
      ],
    });
    await session.send("Set x, then go to billing");
    const afterHandoff = snapshot(events, 1, 2);
    assert.equal(afterHandoff.agent, "billing");
    assert.match(systemText(afterHandoff), /^Billing: y=\[\]\.\n\n## Memory \(billing_notes\)\n\{\}$/);
    assert.deepEqual(
      afterHandoff.tools.map((t) => t.name),
      ["remember", "transfer_to_support"],
    );
    const writes = ofType(events, "memory.write");
    assert.deepEqual(
      writes.map((w) => [w.memory, w.field, w.ok]),
      [
        ["support_notes", "x", true],
        ["billing_notes", "y", true],
      ],
    );
    const mem = only(turnEvents(events, 1), "memory.snapshot");
    assert.deepEqual([mem.memory, mem.scope, mem.values], ["billing_notes", "session", { y: "paid" }]);
    assert.deepEqual(store.load("support_notes", "user:u1"), { x: 5 });

    await session.send("Back to support");
    const back = snapshot(events, 2, 1);
    assert.equal(back.agent, "support");
    assert.match(systemText(back), /^Support: x=5\./);
    assert.deepEqual(only(turnEvents(events, 2), "memory.snapshot").values, { x: 5 });
    assert.deepEqual(store.load("support_notes", "user:u1"), { x: 5 });
    assert.equal(store.load("billing_notes", "user:u1"), undefined, "session memory is never stored");
  });
});

describe("engine: the local backend without a script", () => {
  it("fails the turn with the message that says which backends can be configured", async () => {
    const local = new LocalBackend();
    const request: ModelRequest = { messages: [{ role: "user", content: "hi" }], tools: [] };
    await assert.rejects(
      local.complete(request),
      (err: unknown) =>
        err instanceof BackendError && err.code === "script" && err.message === NO_SCRIPT_MESSAGE,
    );

    const def = compileSource(lines("agent lonely {", '  instructions: "Hi."', "}"));
    const { session, events } = await startSession(def, { backend: local });
    const result = await session.send("hello?");
    assert.equal(result.status, "failed");
    assert.equal(result.reply, "");
    assert.equal(result.reason, NO_SCRIPT_MESSAGE);
    for (const provider of ["openai", "azure", "compatible", "bedrock"])
      assert.ok(result.reason!.includes(provider));
    assert.match(result.reason, /--backend NAME/);
    assert.match(result.reason, /model replies/);
    assert.deepEqual(typesOf(events), [
      "session.start",
      "turn.start",
      "context.snapshot",
      "model.request",
      "memory.snapshot",
      "turn.end",
    ]);
    const end = only(events, "turn.end");
    assert.deepEqual([end.status, end.reason], ["failed", NO_SCRIPT_MESSAGE]);
    assert.equal(session.history.length, 0, "a failed turn adds nothing to the conversation");

    local.enqueue({ kind: "reply", text: "now scripted" });
    const next = await session.send("again");
    assert.equal(next.status, "ok");
    assert.deepEqual(userInputs(snapshot(events, 2).messages), ["again"]);
  });
});
