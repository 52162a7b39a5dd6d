// The engine on the Bedrock backend: an AgentSession whose model is the fake
// Bedrock runtime through the real AWS SDK runs a two-turn session with a real
// command tool, and nothing the session writes (log file, events, console)
// carries a credential.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { BedrockBackend } from "../../server/backends/bedrock";
import { AgentSession } from "../../server/runtime/engine";
import { InMemoryStore } from "../../server/runtime/memoryStore";
import { MemorySink, parseLog, SessionLogWriter } from "../../server/runtime/sessionLog";
import { FAKE_CREDENTIALS, startFakeBedrock, type FakeBedrock } from "../fakes/bedrockServer";
import {
  compileSource,
  lines,
  ofType,
  ONE_TOOL_TURN,
  only,
  removeTempDirs,
  tempDir,
  toolScript,
  turnEvents,
  typesOf,
  writeFile,
} from "../runtime/helpers";

const SESSION_TOKEN = "FwoGZXIvYXdzEFakeSessionTokenForStatecraftTests0123456789";

describe("bedrock backend: an engine session against the fake Bedrock", () => {
  let fake: FakeBedrock;
  let dir: string;
  before(async () => {
    fake = await startFakeBedrock();
    dir = tempDir();
    writeFile(
      dir,
      "lookup.js",
      toolScript(
        `  process.stdout.write(JSON.stringify({ order_id: input.order_id, status: "shipped", carrier: "UPS" }));`,
      ),
    );
  });
  after(async () => {
    await fake.close();
    removeTempDirs();
  });

  const source = lines(
    "backend aws {",
    "  kind: stateful",
    "  provider: bedrock",
    '  model: "us.anthropic.claude-3-5-haiku-20241022-v1:0"',
    '  region: "us-east-1"',
    '  endpoint: "http://127.0.0.1:9"',
    "}",
    "tool lookup_order {",
    '  description: "Look up an order"',
    "  input { order_id: string }",
    '  run: command("node", ["lookup.js"])',
    "}",
    "agent support {",
    '  instructions: "You are support for {{user.name}}."',
    "  backend: aws",
    "  tools: [lookup_order]",
    "  temperature: 0.3",
    "}",
  );

  it("runs two turns with a tool call: events, the requests Bedrock got, and no credential anywhere", async () => {
    const def = compileSource(source);
    const backend = new BedrockBackend(def.backends.aws, {
      env: { ...fake.env, AWS_SESSION_TOKEN: SESSION_TOKEN, AWS_MAX_ATTEMPTS: "1" },
    });
    const logFile = path.join(dir, ".statecraft", "sessions", "s-bedrock.jsonl");
    fs.mkdirSync(path.dirname(logFile), { recursive: true });
    const writer = new SessionLogWriter(logFile);
    const events = writer.events;

    // Everything printed while the session runs, to check for secrets.
    const printed: string[] = [];
    const origOut = process.stdout.write.bind(process.stdout);
    const origErr = process.stderr.write.bind(process.stderr);
    const capture =
      (orig: typeof process.stdout.write) =>
      (chunk: unknown, ...rest: unknown[]): boolean => {
        printed.push(String(chunk));
        return (orig as (c: unknown, ...r: unknown[]) => boolean)(chunk, ...rest);
      };
    process.stdout.write = capture(origOut) as typeof process.stdout.write;
    process.stderr.write = capture(origErr) as typeof process.stderr.write;
    const streamed: string[] = [];
    try {
      fake.script(
        {
          text: "Let me look that up.",
          toolUses: [{ id: "tooluse_1", name: "lookup_order", input: { order_id: "A1003" } }],
        },
        { chunks: ["Order A1003 ", "shipped with UPS."], usage: { inputTokens: 220, outputTokens: 8 } },
        { text: "You're welcome, Ada!", usage: { inputTokens: 260, outputTokens: 6 } },
      );
      const session = await AgentSession.start({
        definition: def,
        baseDir: dir,
        backend,
        backendName: "aws",
        sink: writer,
        sessionId: "s-bedrock",
        user: { id: "u1", name: "Ada" },
        memoryStore: new InMemoryStore(),
        trusted: true,
        onText: (d) => streamed.push(d),
      });
      const first = await session.send("Where is my order A1003?");
      const second = await session.send("Thanks!");
      await session.end();
      writer.close();

      assert.equal(first.status, "ok", first.reason);
      assert.equal(first.reply, "Order A1003 shipped with UPS.");
      assert.deepEqual(
        first.tools.map((t) => [t.tool, t.status, t.output]),
        [["lookup_order", "ran", { order_id: "A1003", status: "shipped", carrier: "UPS" }]],
      );
      assert.equal(second.reply, "You're welcome, Ada!");
      assert.deepEqual(
        streamed.join(""),
        "Let me look that up.Order A1003 shipped with UPS.You're welcome, Ada!",
      );

      assert.deepEqual(typesOf(turnEvents(events, 1)), ONE_TOOL_TURN);
      const responses = ofType(events, "model.response");
      assert.deepEqual(
        responses.map((r) => r.stopReason),
        ["tool_use", "end_turn", "end_turn"],
      );
      assert.deepEqual(responses[1].usage, { inputTokens: 220, outputTokens: 8 });
      assert.deepEqual(only(events, "tool.call").input, { order_id: "A1003" });

      // What Bedrock received: three ConverseStream calls; the second carries the toolUse and its toolResult,
      // the third the whole history (Bedrock is stateless: the runtime service resends it).
      assert.deepEqual(
        fake.requests.map((r) => [r.operation, r.modelId, r.auth]),
        Array(3).fill(["converse-stream", "us.anthropic.claude-3-5-haiku-20241022-v1:0", "sigv4"]),
      );
      assert.equal(
        fake.requests[0].headers["x-amz-security-token"],
        SESSION_TOKEN,
        "the session token is sent to AWS",
      );
      assert.deepEqual(fake.requests[0].body.system, [{ text: "You are support for Ada." }]);
      assert.deepEqual(fake.requests[0].body.inferenceConfig, { temperature: 0.3 });
      assert.deepEqual(
        fake.requests[0].body.toolConfig?.tools.map((t) => t.toolSpec.name),
        ["lookup_order"],
      );
      const second2 = fake.requests[1].body.messages ?? [];
      assert.deepEqual(second2.slice(1), [
        {
          role: "assistant",
          content: [
            { text: "Let me look that up." },
            { toolUse: { toolUseId: "tooluse_1", name: "lookup_order", input: { order_id: "A1003" } } },
          ],
        },
        {
          role: "user",
          content: [
            {
              toolResult: {
                toolUseId: "tooluse_1",
                content: [{ text: JSON.stringify({ order_id: "A1003", status: "shipped", carrier: "UPS" }) }],
                status: "success",
              },
            },
          ],
        },
      ]);
      const third = fake.requests[2].body.messages ?? [];
      assert.deepEqual(
        third.map((m) => m.role),
        ["user", "assistant", "user", "assistant", "user"],
      );
      assert.deepEqual(third.at(-1), { role: "user", content: [{ text: "Thanks!" }] });
    } finally {
      process.stdout.write = origOut;
      process.stderr.write = origErr;
    }

    const logText = fs.readFileSync(logFile, "utf8");
    assert.equal(parseLog(logText).events.length, events.length, "the log file holds every event");
    for (const secret of [FAKE_CREDENTIALS.secretAccessKey, FAKE_CREDENTIALS.accessKeyId, SESSION_TOKEN]) {
      assert.ok(!logText.includes(secret), "no credential in the session log file");
      assert.ok(!JSON.stringify(events).includes(secret), "no credential in the events");
      assert.ok(!printed.join("").includes(secret), "no credential printed");
    }
    backend.destroy();
  });

  it("a Bedrock failure fails the turn with the backend's message, and the session goes on", async () => {
    const def = compileSource(source);
    const backend = new BedrockBackend(def.backends.aws, { env: { ...fake.env, AWS_MAX_ATTEMPTS: "1" } });
    const sink = new MemorySink();
    const events = sink.events;
    fake.script({ error: "accessDeniedException" }, { text: "Back again." });
    const session = await AgentSession.start({
      definition: def,
      baseDir: dir,
      backend,
      backendName: "aws",
      sink,
      sessionId: "s-bedrock-fail",
      user: { id: "u1", name: "Ada" },
      trusted: true,
    });
    const failed = await session.send("Hello?");
    assert.equal(failed.status, "failed");
    assert.match(failed.reason ?? "", /denied access to model/);
    assert.equal(only(events, "turn.end").status, "failed");
    const ok = await session.send("Hello again?");
    assert.equal(ok.reply, "Back again.");
    await session.end();
    backend.destroy();
  });
});
