// The engine on the stateless backend: whole sessions against the fake
// OpenAI server, recorded to a real JSONL session log. A failed model call
// (a cut stream, a rejected key, a cancel) fails the turn, keeps everything
// recorded before it, and the key never reaches the log.

import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { OpenAIBackend } from "../../server/backends/openai";
import { AgentSession } from "../../server/runtime/engine";
import type { SessionEvent } from "../../server/protocol/events";
import { InMemoryStore } from "../../server/runtime/memoryStore";
import { readLog, SessionLogWriter } from "../../server/runtime/sessionLog";
import { FakeOpenAIServer } from "../fakes/openaiServer";
import { compileSource, lines, ofType, removeTempDirs, tempDir } from "../runtime/helpers";
import { MODEL, OPENAI_KEY } from "./openaiHelpers";
import { waitFor } from "../helpers/waitFor";

function source(endpoint: string, api: "chat" | "responses"): string {
  return lines(
    `backend cloud {`,
    `  kind: stateless`,
    `  provider: openai`,
    `  model: "${MODEL}"`,
    `  endpoint: "${endpoint}"`,
    `  api: ${api}`,
    `  api_key: env("OPENAI_API_KEY")`,
    `}`,
    `tool lookup_order {`,
    `  description: "Look an order up"`,
    `  input {`,
    `    order_id: string "The order id"`,
    `  }`,
    `}`,
    `agent support {`,
    `  backend: cloud`,
    `  instructions: "You are support."`,
    `  tools: [lookup_order]`,
    `}`,
  );
}

describe("AgentSession on the OpenAI backend", function () {
  let fake: FakeOpenAIServer;
  before(async () => {
    fake = await FakeOpenAIServer.start({ apiKey: OPENAI_KEY, models: [MODEL] });
  });
  after(async () => {
    await fake.close();
    removeTempDirs();
  });
  beforeEach(() => fake.reset());

  async function start(api: "chat" | "responses", env: NodeJS.ProcessEnv = { OPENAI_API_KEY: OPENAI_KEY }) {
    const definition = compileSource(source(fake.openaiURL, api));
    const backend = new OpenAIBackend(definition.backends.cloud, { env, timeoutMs: 5000, maxRetries: 0 });
    const dir = tempDir("statecraft-openai-");
    const file = path.join(dir, "s.jsonl");
    const writer = new SessionLogWriter(file);
    const streamed: string[] = [];
    const ac = new AbortController();
    const session = await AgentSession.start({
      definition,
      baseDir: dir,
      backend,
      backendName: "cloud",
      sink: writer,
      sessionId: "s-openai",
      user: { id: "ada" },
      memoryStore: new InMemoryStore(),
      trusted: true,
      onText: (t) => streamed.push(t),
      signal: ac.signal,
      mocks: (tool, input) => ({ ok: true, output: { tool, input, status: "shipped" } }),
    });
    const events = (): SessionEvent[] => readLog(file).events;
    const finish = async () => {
      await session.end();
      writer.close();
    };
    return { session, file, events, streamed, ac, finish };
  }

  for (const api of ["chat", "responses"] as const) {
    it(`${api}: runs a tool-calling turn, and every call sends the whole context`, async () => {
      fake.script(
        { kind: "tools", calls: [{ name: "lookup_order", arguments: { order_id: "A1003" } }] },
        { kind: "text", text: "A1003 has shipped." },
        { kind: "text", text: "You're welcome." },
      );
      const s = await start(api);
      const t1 = await s.session.send("Where is A1003?");
      assert.equal(t1.status, "ok", t1.reason);
      assert.equal(t1.reply, "A1003 has shipped.");
      assert.deepEqual(
        t1.tools.map((t) => [t.tool, t.status]),
        [["lookup_order", "ran"]],
      );
      const t2 = await s.session.send("Thanks!");
      assert.equal(t2.reply, "You're welcome.");
      await s.finish();
      assert.equal(s.streamed.join(""), "A1003 has shipped.You're welcome.");
      // Stateless: each request carries everything before it.
      const sizes = fake.journal.map((j) => j.bytes);
      assert.ok(sizes[0] < sizes[1] && sizes[1] < sizes[2], `bodies grow: ${sizes.join(", ")}`);
      const last = fake.journal[2].body as { messages?: unknown[]; input?: unknown[] };
      const items = api === "chat" ? last.messages! : last.input!;
      assert.equal(items.length, api === "chat" ? 6 : 6, "system, user, call, result, reply, user");
      const ev = s.events();
      const snaps = ofType(ev, "context.snapshot");
      assert.deepEqual(
        snaps.map((e) => e.messages.length),
        [2, 4, 6],
      );
      assert.ok(snaps[0].bytes < snaps[1].bytes && snaps[1].bytes < snaps[2].bytes);
      // The log keeps the exact size of each body the server received.
      assert.deepEqual(
        ofType(ev, "model.response").map((e) => e.wireBytes),
        sizes,
      );
      assert.deepEqual(
        ofType(ev, "model.response").map((e) => e.usage.inputTokens > 0),
        [true, true, true],
      );
    });
  }

  it("a stream cut at the second model call fails the turn and keeps the tool call and result recorded", async () => {
    fake.script(
      { kind: "tools", calls: [{ name: "lookup_order", arguments: { order_id: "A1003" } }] },
      { kind: "cut", text: "A1003 has shipped and will", afterEvents: 3 },
      { kind: "text", text: "A1003 has shipped." },
    );
    const s = await start("chat");
    const t1 = await s.session.send("Where is A1003?");
    assert.equal(t1.status, "failed");
    assert.match(t1.reason!, /the response stream was cut/);
    let ev = s.events();
    const types = ev.map((e) => e.type);
    assert.deepEqual(types, [
      "session.start",
      "turn.start",
      "context.snapshot",
      "model.request",
      "model.response",
      "tool.call",
      "policy.decision",
      "tool.result",
      "context.snapshot",
      "model.request",
      "memory.snapshot",
      "turn.end",
    ]);
    const end = ofType(ev, "turn.end")[0];
    assert.equal(end.status, "failed");
    assert.match(end.reason!, /stream was cut/);
    assert.deepEqual(
      end.messages.map((m) => m.role),
      ["user", "assistant", "tool"],
      "the turn's tool exchange is kept",
    );
    // The session goes on: the next turn sends the kept exchange too.
    const t2 = await s.session.send("And now?");
    assert.equal(t2.status, "ok");
    await s.finish();
    const body = fake.journal[2].body as { messages: { role: string }[] };
    assert.deepEqual(
      body.messages.map((m) => m.role),
      ["system", "user", "assistant", "tool", "user"],
    );
    ev = s.events();
    assert.equal(ofType(ev, "session.end").length, 1);
  });

  it("a rejected key fails the turn with the variable to set, and the key is nowhere in the log", async () => {
    const wrong = "sk-wrong-ZZ99yy88xx77ww66";
    fake.script({ kind: "text", text: "never" });
    const s = await start("responses", { OPENAI_API_KEY: wrong });
    const t = await s.session.send("Hello");
    assert.equal(t.status, "failed");
    assert.match(t.reason!, /the API key was rejected \(401\)\. Set the environment variable OPENAI_API_KEY/);
    await s.finish();
    const raw = fs.readFileSync(s.file, "utf8");
    assert.ok(raw.includes("OPENAI_API_KEY"), "the variable's name is recorded");
    assert.ok(!raw.includes(wrong) && !raw.includes(wrong.slice(-4)), "the key is not");
    assert.equal(ofType(s.events(), "turn.end")[0].status, "failed");
  });

  it("a good key never reaches the log either", async () => {
    fake.script({ kind: "text", text: "hi" });
    const s = await start("chat");
    await s.session.send("Hello");
    await s.finish();
    const raw = fs.readFileSync(s.file, "utf8");
    assert.ok(!raw.includes(OPENAI_KEY));
    assert.ok(!raw.includes(OPENAI_KEY.slice(3, 15)));
  });

  it("cancelling the session's signal mid-stream fails the turn as cancelled", async () => {
    fake.script({ kind: "stall" });
    const s = await start("chat");
    const pending = s.session.send("Hello");
    await waitFor("the server to answer the headers", () => fake.journal[0]?.status === 200);
    s.ac.abort();
    const t = await pending;
    assert.equal(t.status, "failed");
    assert.equal(t.reason, "cancelled");
    await s.finish();
    assert.equal(ofType(s.events(), "turn.end")[0].reason, "cancelled");
  });
});
