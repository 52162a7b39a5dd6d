// The session log on disk: one JSON object per line, numbered and stamped,
// written as each event happens; the reader round-trips it, skips a torn last
// line with a warning that says so and reports a corrupt line by number. And
// nothing a run writes contains a secret.
import { strict as assert } from "node:assert";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { modelFromText } from "../../client/src/sessions/model";
import { LocalBackend } from "../../server/backends/local";
import type { SessionEvent } from "../../server/protocol/events";
import { FileMemoryStore } from "../../server/runtime/memoryStore";
import {
  newSessionId,
  parseLog,
  readLog,
  SessionLogWriter,
  sessionsDir,
} from "../../server/runtime/sessionLog";
import {
  compileSource,
  filesUnder,
  json,
  lines,
  only,
  removeTempDirs,
  startServer,
  startSession,
  tempDir,
  typesOf,
} from "./helpers";

after(removeTempDirs);

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** What a JSON round trip makes of events (members that are undefined disappear). */
const plain = (events: SessionEvent[]) => JSON.parse(JSON.stringify(events)) as SessionEvent[];

const agentSource = lines(
  "tool lookup_order {",
  '  description: "Look up an order"',
  "  input { order_id: string }",
  "}",
  "agent support {",
  '  instructions: "Help {{user.name}}."',
  "  tools: [lookup_order]",
  "}",
);

describe("session log: SessionLogWriter", () => {
  it("writes one JSON object per line, seq 1..n and ISO ts, each line before the next event happens", async () => {
    const dir = tempDir();
    const id = newSessionId();
    const file = path.join(sessionsDir(dir), `${id}.jsonl`);
    const linesAtEvent: number[] = [];
    const writer = new SessionLogWriter(file, (e) => {
      // The listener runs after the append: the event's line is already in the file.
      const text = fs.readFileSync(file, "utf8");
      linesAtEvent.push(text.split("\n").length - 1);
      assert.ok(text.endsWith("\n"));
      assert.equal((JSON.parse(text.trimEnd().split("\n").at(-1)!) as SessionEvent).seq, e.seq);
    });
    try {
      const { session } = await startSession(compileSource(agentSource), {
        sink: writer,
        sessionId: id,
        mocks: () => ({ ok: true, output: { status: "shipped" } }),
        script: [
          { kind: "call", tool: "lookup_order", input: { order_id: "A1" } },
          { kind: "reply", text: "It shipped." },
          { kind: "reply", text: "Bye." },
        ],
      });
      await session.send("Where is A1?");

      // Read while the session is still open: everything so far is on disk.
      const midway = fs.readFileSync(file, "utf8");
      assert.ok(midway.endsWith("}\n"));
      const midLines = midway.trimEnd().split("\n");
      assert.equal(midLines.length, writer.events.length);
      assert.deepEqual(
        midLines.map((l) => (JSON.parse(l) as SessionEvent).type),
        typesOf(writer.events),
      );
      assert.equal(typesOf(writer.events).at(-1), "turn.end");

      await session.send("Thanks");
      await session.end();
    } finally {
      writer.close();
    }

    const text = fs.readFileSync(file, "utf8");
    const rows = text.split("\n");
    assert.equal(rows.pop(), "", "the file ends with a newline");
    assert.equal(rows.length, writer.events.length);
    assert.deepEqual(
      linesAtEvent,
      rows.map((_, i) => i + 1),
    );
    rows.forEach((row, i) => {
      assert.ok(!row.includes("\n"));
      const e = JSON.parse(row) as SessionEvent;
      assert.equal(e.seq, i + 1);
      assert.match(e.ts, ISO);
      assert.equal(new Date(e.ts).toISOString(), e.ts);
    });
    assert.equal((JSON.parse(rows[0]) as SessionEvent).type, "session.start");
    assert.equal((JSON.parse(rows.at(-1)!) as SessionEvent).type, "session.end");

    const read = readLog(file);
    assert.deepEqual(read.warnings, []);
    assert.deepEqual(read.events, plain(writer.events));
  });

  it("stamps events with its clock", () => {
    const dir = tempDir();
    const times = [new Date("2025-01-02T03:04:05.678Z"), new Date("2025-01-02T03:04:06.000Z")];
    const writer = new SessionLogWriter(path.join(dir, "a", "b.jsonl"), undefined, () => times.shift()!);
    const a = writer.append({ type: "turn.start", turn: 1, agent: "x", input: "hi" });
    const b = writer.append({ type: "turn.start", turn: 2, agent: "x", input: "again" });
    writer.close();
    assert.deepEqual(
      [a.seq, a.ts, b.seq, b.ts],
      [1, "2025-01-02T03:04:05.678Z", 2, "2025-01-02T03:04:06.000Z"],
    );
    assert.equal(
      fs.readFileSync(path.join(dir, "a", "b.jsonl"), "utf8"),
      `${JSON.stringify(a)}\n${JSON.stringify(b)}\n`,
    );
  });

  it("newSessionId: sortable by time, unique", () => {
    const a = newSessionId(new Date("2025-05-01T10:20:30.000Z"));
    const b = newSessionId(new Date("2025-05-01T10:20:31.000Z"));
    assert.match(a, /^20250501-102030-[0-9a-f]{6}$/);
    assert.ok(a < b);
    assert.notEqual(newSessionId(new Date(0)), newSessionId(new Date(0)));
  });
});

describe("session log: parseLog", () => {
  const events = async () => {
    const { session, events } = await startSession(compileSource(agentSource), {
      script: [{ kind: "reply", text: "Hello." }],
    });
    await session.send("Hi");
    await session.end();
    return plain(events);
  };
  const toText = (es: SessionEvent[]) => es.map((e) => JSON.stringify(e) + "\n").join("");

  it("round-trips the events", async () => {
    const es = await events();
    assert.deepEqual(parseLog(toText(es)), { events: es, warnings: [], skipped: [] });
    // Blank lines are not events and not problems.
    assert.deepEqual(parseLog("\n" + toText(es) + "\n\n"), { events: es, warnings: [], skipped: [] });
  });

  it("skips a torn last line with a warning that says so", async () => {
    const es = await events();
    const torn = toText(es) + JSON.stringify(es[0]).slice(0, 25);
    const read = parseLog(torn, "s1.jsonl");
    assert.deepEqual(read.events, es);
    assert.deepEqual(read.warnings, [
      "s1.jsonl: the last line is incomplete (the run was interrupted while writing it); it was skipped",
    ]);
  });

  it("reports a corrupt line in the middle with its line number and keeps the rest", async () => {
    const es = await events();
    const rows = toText(es).split("\n");
    rows[2] = '{"seq":3,"ty';
    const read = parseLog(rows.join("\n"), "s1.jsonl");
    assert.deepEqual(read.warnings, ["s1.jsonl:3: not valid JSON; the line was skipped"]);
    assert.deepEqual(read.events, [...es.slice(0, 2), ...es.slice(3)]);
  });

  it("a complete but corrupt last line (newline written) is reported by number, not as torn", async () => {
    const es = await events();
    const read = parseLog(toText(es) + "not json\n", "s1.jsonl");
    assert.deepEqual(read.warnings, [`s1.jsonl:${es.length + 1}: not valid JSON; the line was skipped`]);
    assert.deepEqual(read.events, es);
  });

  it("skips a line that is JSON but not an event, naming the line, and keeps the rest", async () => {
    const es = await events();
    const rows = toText(es).split("\n");
    rows.splice(2, 0, "null", "[1,2]", '"text"', '{"seq":9}');
    const read = parseLog(rows.join("\n"), "s1.jsonl");
    assert.deepEqual(read.events, es);
    assert.deepEqual(read.skipped, [3, 4, 5, 6]);
    assert.deepEqual(read.warnings, [
      "s1.jsonl:3: not an event (a JSON null, not an object); the line was skipped",
      "s1.jsonl:4: not an event (a JSON array, not an object); the line was skipped",
      "s1.jsonl:5: not an event (a JSON string, not an object); the line was skipped",
      's1.jsonl:6: not an event (no "type"); the line was skipped',
    ]);
  });

  it("skips an event without the fields its readers use: a session.start without a definition", async () => {
    const es = await events();
    const { definition: _d, ...start } = es[0] as SessionEvent & { definition: unknown };
    const turnStart = { ...es[1], input: 42 };
    const read = parseLog(
      [start, turnStart, ...es.slice(2)].map((e) => JSON.stringify(e)).join("\n"),
      "s1.jsonl",
    );
    assert.deepEqual(read.events, es.slice(2));
    assert.deepEqual(read.warnings, [
      's1.jsonl:1: a session.start event without "definition" (an object); the line was skipped',
      `s1.jsonl:2: a ${es[1].type} event without "input" (a string); the line was skipped`,
    ]);
  });

  it("the Session Explorer's reader skips what would crash it too: null, an array, a start without a backend", async () => {
    const es = await events();
    const { backend: _b, ...start } = es[0] as SessionEvent & { backend: unknown };
    const text = ["null", "[1,2]", JSON.stringify(start), ...es.slice(1).map((e) => JSON.stringify(e))].join(
      "\n",
    );
    const model = modelFromText("s1", text + "\n");
    assert.equal(model.start, undefined);
    assert.deepEqual(model.warnings, [
      "s1.jsonl:1: not a session event (no type and seq); the line was skipped",
      "s1.jsonl:2: not a session event (no type and seq); the line was skipped",
      "s1.jsonl:3: a session.start without its agent or backend; the line was skipped",
    ]);
    assert.equal(model.events.length, es.length - 1);
  });

  it("readLog names the file in its warnings", () => {
    const dir = tempDir();
    const file = path.join(dir, "x.jsonl");
    fs.writeFileSync(
      file,
      '{"seq":1,"ts":"2025-01-01T00:00:00.000Z","type":"session.end","status":"ok"}\n{"seq":2',
    );
    const read = readLog(file);
    assert.equal(read.events.length, 1);
    assert.match(read.warnings[0], /^x\.jsonl: the last line is incomplete/);
  });
});

describe("secrets", () => {
  const saved = process.env.SECRET_KEY;
  afterEach(() => {
    if (saved === undefined) delete process.env.SECRET_KEY;
    else process.env.SECRET_KEY = saved;
  });

  it("an env() API key never appears in anything the run wrote or sent", async () => {
    const secret = `sk-test-${randomBytes(16).toString("hex")}`;
    process.env.SECRET_KEY = secret;
    // The server echoes the request headers and body into its answer, which is logged as the tool result.
    const server = await startServer((req, res) => json(res, 200, { headers: req.headers, body: req.body }));
    const dir = tempDir();
    const sessionId = "s-secret";
    const file = path.join(sessionsDir(dir), `${sessionId}.jsonl`);
    const writer = new SessionLogWriter(file);
    try {
      const def = compileSource(
        lines(
          "backend live {",
          "  kind: stateless",
          "  provider: openai",
          '  model: "gpt-4.1-mini"',
          '  api_key: env("SECRET_KEY")',
          "}",
          "tool lookup_order {",
          '  description: "Look up an order"',
          "  input { order_id: string }",
          `  run: http("POST", "${server.url}/orders/{{input.order_id}}")`,
          "}",
          "memory customer {",
          "  scope: user",
          "  fields { nick?: string }",
          "}",
          "agent support {",
          "  backend: live",
          '  instructions: "Help {{user.name}}."',
          "  tools: [lookup_order]",
          "  memory: customer",
          "}",
        ),
      );
      assert.equal(def.backends.live.apiKeyEnv, "SECRET_KEY");
      const { session, events } = await startSession(def, {
        backend: new LocalBackend("live"),
        backendName: "live",
        sink: writer,
        sessionId,
        memoryStore: new FileMemoryStore(path.join(dir, ".statecraft", "memory")),
        baseDir: dir,
        script: [
          { kind: "call", tool: "lookup_order", input: { order_id: "A1" } },
          { kind: "call", tool: "remember", input: { field: "nick", value: "Ace" } },
          { kind: "reply", text: "Done." },
        ],
      });
      const result = await session.send("Where is A1? Call me Ace.");
      await session.end();
      assert.equal(result.status, "ok");
      assert.equal(only(events, "tool.result").ok, true, "the http tool ran");
      assert.equal(only(events, "session.start").backend.name, "live");
    } finally {
      writer.close();
      await server.close();
    }

    const written = filesUnder(dir);
    assert.deepEqual(written.map((f) => path.relative(dir, f)).sort(), [
      path.join(".statecraft", "memory", "customer", "user%3au1.json"),
      path.join(".statecraft", "sessions", "s-secret.jsonl"),
    ]);
    for (const f of written) assert.ok(!fs.readFileSync(f, "utf8").includes(secret), `${f} holds the secret`);
    for (const r of server.requests) {
      assert.ok(!JSON.stringify(r.headers).includes(secret), "the secret went to a tool server in a header");
      assert.ok(!r.body.includes(secret), "the secret went to a tool server in the body");
    }
  });
});
