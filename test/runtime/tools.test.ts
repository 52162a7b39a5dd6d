// Tool calls through the engine: mocked results, real `command` tools (JSON on
// stdin, one JSON value on stdout, run in the declaring file's folder), their
// failures, `http` tools against a local server, tools without `run`, input
// validation and the untrusted-workspace refusal. Every failure is a
// tool.result with ok:false that the model is told about; the turn completes.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Json } from "../../server/language/compile";
import type { Message } from "../../server/protocol/events";
import {
  compileSource,
  json,
  ONE_TOOL_TURN,
  lines,
  ofType,
  only,
  removeTempDirs,
  snapshot,
  startServer,
  startSession,
  tempDir,
  toolScript,
  turnEvents,
  typesOf,
  writeFile,
  type TestServer,
} from "./helpers";

after(removeTempDirs);

const toolMessages = (messages: Message[]) =>
  messages.filter((m): m is Extract<Message, { role: "tool" }> => m.role === "tool");

describe("tools: mocked results", () => {
  const source = lines(
    "tool lookup_order {",
    '  description: "Look up an order"',
    "  input { order_id: string }",
    "}",
    "agent support {",
    '  instructions: "Help."',
    "  tools: [lookup_order]",
    "}",
  );

  it("returns the mock to the model as a tool message and records origin mock", async () => {
    const seen: [string, Json][] = [];
    const { session, events } = await startSession(compileSource(source), {
      mocks: (tool, input) => {
        seen.push([tool, input]);
        return { ok: true, output: { id: "A1", status: "shipped" } };
      },
      script: [
        { kind: "call", tool: "lookup_order", input: { order_id: "A1" } },
        { kind: "reply", text: "A1 has shipped." },
      ],
    });
    const result = await session.send("Where is A1?");
    assert.deepEqual(seen, [["lookup_order", { order_id: "A1" }]]);
    assert.equal(result.status, "ok");
    assert.equal(result.reply, "A1 has shipped.");
    assert.deepEqual(result.tools, [
      {
        callId: "call_1",
        tool: "lookup_order",
        input: { order_id: "A1" },
        status: "ran",
        output: { id: "A1", status: "shipped" },
        error: undefined,
      },
    ]);
    assert.deepEqual(typesOf(turnEvents(events, 1)), ONE_TOOL_TURN);
    const response = ofType(events, "model.response")[0];
    assert.deepEqual(response.toolCalls, [{ id: "call_1", name: "lookup_order", input: { order_id: "A1" } }]);
    assert.equal(response.stopReason, "tool_use");
    const call = only(events, "tool.call");
    assert.deepEqual([call.callId, call.tool, call.input], ["call_1", "lookup_order", { order_id: "A1" }]);
    const decision = only(events, "policy.decision");
    assert.deepEqual([decision.decision, decision.check, decision.reason], ["allow", "none", undefined]);
    const r = only(events, "tool.result");
    assert.deepEqual(
      [r.callId, r.ok, r.output, r.error, r.origin],
      ["call_1", true, { id: "A1", status: "shipped" }, undefined, "mock"],
    );
    const next = snapshot(events, 1, 1);
    assert.deepEqual(next.messages.slice(1), [
      { role: "user", content: "Where is A1?" },
      {
        role: "assistant",
        content: "",
        toolCalls: [{ id: "call_1", name: "lookup_order", input: { order_id: "A1" } }],
      },
      {
        role: "tool",
        toolCallId: "call_1",
        name: "lookup_order",
        content: '{"id":"A1","status":"shipped"}',
        isError: false,
      },
    ]);
  });

  it("passes a mocked failure to the model as a tool error", async () => {
    const { session, events } = await startSession(compileSource(source), {
      mocks: () => ({ ok: false, error: "order not found" }),
      script: [
        { kind: "call", tool: "lookup_order", input: { order_id: "ZZ" } },
        { kind: "reply", text: "Not found." },
      ],
    });
    const result = await session.send("Where is ZZ?");
    assert.equal(result.status, "ok");
    assert.deepEqual([result.tools[0].status, result.tools[0].error], ["failed", "order not found"]);
    const r = only(events, "tool.result");
    assert.deepEqual([r.ok, r.error, r.origin], [false, "order not found", "mock"]);
    assert.deepEqual(toolMessages(snapshot(events, 1, 1).messages)[0], {
      role: "tool",
      toolCallId: "call_1",
      name: "lookup_order",
      content: "Error: order not found",
      isError: true,
    });
  });
});

describe("tools: command", () => {
  let dir: string;
  const tool = (name: string, script: string, extra = "") =>
    lines(
      `tool ${name} {`,
      `  description: "The ${name} tool"`,
      "  input {",
      "    order_id: string",
      "    note?: string",
      "  }",
      `  run: command("node", ["${script}", "--id={{input.order_id}}"])`,
      extra,
      "}",
    );
  const files = () => ({
    "main.agent": lines(
      'import "lib/tools.agent"',
      "agent worker {",
      '  instructions: "Work."',
      "  tools: [echo, exit_three, not_json, slow, big, marker]",
      "}",
    ),
    "lib/tools.agent": [
      tool("echo", "echo.js"),
      tool("exit_three", "exit3.js"),
      tool("not_json", "notjson.js"),
      tool("slow", "slow.js", "  timeout_ms: 300"),
      tool("big", "big.js"),
      tool("marker", "marker.js"),
    ].join(""),
  });

  before(() => {
    dir = tempDir();
    // The tools are declared in lib/tools.agent, so they run in <baseDir>/lib.
    writeFile(
      dir,
      "lib/echo.js",
      toolScript(
        "  process.stdout.write(JSON.stringify({ received: input, cwd: process.cwd(), args: process.argv.slice(2) }));",
      ),
    );
    writeFile(
      dir,
      "lib/exit3.js",
      toolScript('  process.stderr.write("boom: the order service is down");\n  process.exit(3);'),
    );
    writeFile(dir, "lib/notjson.js", toolScript('  process.stdout.write("hello, this is not JSON");'));
    writeFile(dir, "lib/slow.js", toolScript("  setTimeout(() => process.stdout.write('{}'), 10000);"));
    // 200,000 bytes of two-byte characters: pipe chunks split some of them.
    writeFile(
      dir,
      "lib/big.js",
      toolScript('  process.stdout.write(JSON.stringify({ text: "é".repeat(100000) }));'),
    );
    writeFile(
      dir,
      "lib/marker.js",
      toolScript(
        '  require("fs").writeFileSync("ran.txt", JSON.stringify(input));\n  process.stdout.write("{}");',
      ),
    );
  });

  const markerFile = () => path.join(dir, "lib", "ran.txt");
  afterEach(() => fs.rmSync(markerFile(), { force: true }));

  it("runs in the declaring file's folder with JSON on stdin and returns its JSON to the model", async () => {
    const { session, events } = await startSession(compileSource(files()), {
      baseDir: dir,
      script: [
        { kind: "call", tool: "echo", input: { order_id: "A1", note: 'héllo "quoted"' } },
        { kind: "reply", text: "done" },
      ],
    });
    const result = await session.send("go");
    const expected = {
      received: { order_id: "A1", note: 'héllo "quoted"' },
      cwd: path.join(dir, "lib"),
      args: ["--id=A1"],
    };
    assert.equal(result.status, "ok");
    assert.deepEqual(result.tools[0].output, expected);
    assert.deepEqual(typesOf(turnEvents(events, 1)), ONE_TOOL_TURN);
    const r = only(events, "tool.result");
    assert.deepEqual([r.ok, r.output, r.origin], [true, expected, "run"]);
    assert.ok(r.latencyMs > 0);
    const [message] = toolMessages(snapshot(events, 1, 1).messages);
    assert.deepEqual(message, {
      role: "tool",
      toolCallId: "call_1",
      name: "echo",
      content: JSON.stringify(expected),
      isError: false,
    });
  });

  it("reads multi-byte output that spans pipe chunks intact", async () => {
    const { session } = await startSession(compileSource(files()), {
      baseDir: dir,
      script: [
        { kind: "call", tool: "big", input: { order_id: "A1" } },
        { kind: "reply", text: "done" },
      ],
    });
    const result = await session.send("go");
    assert.equal(result.tools[0].status, "ran", result.tools[0].error);
    const text = (result.tools[0].output as { text: string }).text;
    assert.equal(text.length, 100000);
    assert.ok(text === "é".repeat(100000), "no character was mangled at a chunk boundary");
  });

  const failures: [string, RegExp][] = [
    ["exit_three", /^node exited with code 3: boom: the order service is down$/],
    ["not_json", /^node did not print one JSON value on stdout: "hello, this is not JSON"$/],
    ["slow", /^node .*slow\.js --id=A1 timed out after 300 ms and was killed$/],
  ];
  for (const [name, error] of failures) {
    it(`${name}: tool.result ok:false, the model is told, and the turn completes`, async () => {
      const { session, events } = await startSession(compileSource(files()), {
        baseDir: dir,
        script: [
          { kind: "call", tool: name, input: { order_id: "A1" } },
          { kind: "reply", text: "The tool failed." },
        ],
      });
      const t0 = Date.now();
      const result = await session.send("go");
      assert.ok(Date.now() - t0 < 5000, "the timeout is honoured");
      assert.equal(result.status, "ok");
      assert.equal(result.reply, "The tool failed.");
      assert.equal(result.tools[0].status, "failed");
      assert.match(result.tools[0].error!, error);
      assert.deepEqual(typesOf(turnEvents(events, 1)), ONE_TOOL_TURN);
      const r = only(events, "tool.result");
      assert.equal(r.ok, false);
      assert.equal(r.output, undefined);
      assert.match(r.error!, error);
      const [message] = toolMessages(snapshot(events, 1, 1).messages);
      assert.equal(message.isError, true);
      assert.equal(message.content, `Error: ${r.error}`);
      assert.equal(only(events, "turn.end").status, "ok");
    });
  }

  it("rejects input that does not fit the tool's schema: ok:false, the tool does not run", async () => {
    const { session, events } = await startSession(compileSource(files()), {
      baseDir: dir,
      script: [
        { kind: "call", tool: "marker", input: { order_id: 42 } },
        { kind: "call", tool: "marker", input: { note: "no id" } },
        { kind: "call", tool: "marker", input: { order_id: "A1", colour: "red" } },
        { kind: "reply", text: "Bad input." },
      ],
    });
    const result = await session.send("go");
    assert.equal(result.status, "ok");
    const errors = ofType(events, "tool.result").map((r) => [r.ok, r.error]);
    assert.deepEqual(errors, [
      [false, "invalid input: input.order_id must be of type string; got number"],
      [false, "invalid input: input.order_id is required"],
      [false, "invalid input: input has no field 'colour'; fields: order_id, note"],
    ]);
    assert.ok(!fs.existsSync(markerFile()), "the command never ran");
  });

  it("refuses command tools in an untrusted workspace", async () => {
    const { session, events } = await startSession(compileSource(files()), {
      baseDir: dir,
      trusted: false,
      script: [
        { kind: "call", tool: "marker", input: { order_id: "A1" } },
        { kind: "reply", text: "Cannot." },
      ],
    });
    const result = await session.send("go");
    assert.equal(result.status, "ok");
    const r = only(events, "tool.result");
    assert.equal(r.ok, false);
    assert.equal(r.error, "command tools do not run in an untrusted workspace (marker)");
    assert.ok(!fs.existsSync(markerFile()), "the command never ran");
  });

  it("the same tool runs in a trusted workspace (control for the two tests above)", async () => {
    const { session } = await startSession(compileSource(files()), {
      baseDir: dir,
      script: [
        { kind: "call", tool: "marker", input: { order_id: "A1" } },
        { kind: "reply", text: "ok" },
      ],
    });
    const result = await session.send("go");
    assert.equal(result.tools[0].status, "ran");
    assert.deepEqual(JSON.parse(fs.readFileSync(markerFile(), "utf8")), { order_id: "A1" });
  });
});

describe("tools: http", () => {
  let server: TestServer;
  before(async () => {
    server = await startServer((req, res) => {
      if (req.url.startsWith("/orders/")) return json(res, 200, { method: req.method, url: req.url });
      if (req.url.startsWith("/notes")) return json(res, 201, { saved: JSON.parse(req.body || "null") });
      if (req.url === "/hang") return; // never answers
      if (req.url === "/text") {
        res.writeHead(200, { "content-type": "text/plain" });
        return res.end("plain words");
      }
      json(res, 404, { error: "no such thing" });
    });
  });
  after(() => server.close());
  beforeEach(() => (server.requests.length = 0));

  const source = () =>
    lines(
      "tool get_order {",
      '  description: "Get an order"',
      "  input { order_id: string }",
      `  run: http("GET", "${server.url}/orders/{{input.order_id}}?v=1")`,
      "}",
      "tool add_note {",
      '  description: "Add a note"',
      "  input {",
      "    order_id: string",
      "    text: string",
      "    tags?: string[]",
      "  }",
      `  run: http("POST", "${server.url}/notes")`,
      "}",
      "tool drop_note {",
      '  description: "Delete a note"',
      "  input { id: integer }",
      `  run: http("DELETE", "${server.url}/notes/{{input.id}}")`,
      "}",
      "tool missing {",
      '  description: "A 404"',
      "  input { id: string }",
      `  run: http("GET", "${server.url}/nowhere/{{input.id}}")`,
      "}",
      "tool words {",
      '  description: "A text answer"',
      `  run: http("GET", "${server.url}/text")`,
      "}",
      "tool hang {",
      '  description: "Never answers"',
      `  run: http("GET", "${server.url}/hang")`,
      "  timeout_ms: 200",
      "}",
      "agent web {",
      '  instructions: "Use the web."',
      "  tools: [get_order, add_note, drop_note, missing, words, hang]",
      "}",
    );

  const runOne = async (tool: string, input: Json, user = { id: "user-42", name: "Ada" }) => {
    const h = await startSession(compileSource(source()), {
      user,
      sessionId: "s-http",
      script: [
        { kind: "call", tool, input },
        { kind: "reply", text: "done" },
      ],
    });
    const result = await h.session.send("go");
    assert.equal(result.status, "ok");
    assert.deepEqual(typesOf(turnEvents(h.events, 1)), ONE_TOOL_TURN);
    return { result, r: only(h.events, "tool.result"), events: h.events };
  };

  it("GET: fills the URL template with the input URL-encoded and sends the actor header, no body", async () => {
    const { r, events } = await runOne("get_order", { order_id: "A 1/2?x=&y" });
    assert.equal(server.requests.length, 1);
    const req = server.requests[0];
    assert.equal(req.method, "GET");
    assert.equal(req.url, "/orders/A%201%2F2%3Fx%3D%26y?v=1");
    assert.equal(req.headers["x-statecraft-actor"], "user-42");
    assert.equal(req.headers["x-statecraft-session"], "s-http");
    assert.equal(req.body, "");
    assert.equal(req.headers["content-type"], undefined);
    assert.deepEqual([r.ok, r.output, r.origin], [true, { method: "GET", url: req.url }, "run"]);
    assert.equal(toolMessages(snapshot(events, 1, 1).messages)[0].content, JSON.stringify(r.output));
  });

  it("POST: sends the input as a JSON body", async () => {
    const input = { order_id: "A1", text: "Called the customer", tags: ["phone"] };
    const { r } = await runOne("add_note", input);
    const req = server.requests[0];
    assert.equal(req.method, "POST");
    assert.equal(req.url, "/notes");
    assert.match(req.headers["content-type"] ?? "", /^application\/json/);
    assert.deepEqual(JSON.parse(req.body), input);
    assert.equal(req.headers["x-statecraft-actor"], "user-42");
    assert.deepEqual([r.ok, r.output], [true, { saved: input }]);
  });

  it("DELETE: a method other than GET also sends the input as a JSON body (language.md 3.3)", async () => {
    const { r } = await runOne("drop_note", { id: 7 });
    const req = server.requests[0];
    assert.deepEqual([req.method, req.url], ["DELETE", "/notes/7"]);
    assert.deepEqual(JSON.parse(req.body), { id: 7 });
    assert.equal(r.ok, true);
  });

  it("a 404 is ok:false with the status in the error", async () => {
    const { result, r } = await runOne("missing", { id: "x" });
    assert.equal(r.ok, false);
    assert.match(
      r.error!,
      new RegExp(`^GET ${server.url}/nowhere/x answered 404 Not Found: \\{"error":"no such thing"\\}$`),
    );
    assert.equal(result.tools[0].status, "failed");
  });

  it("a text answer is returned as a string", async () => {
    const { r } = await runOne("words", {});
    assert.deepEqual([r.ok, r.output], [true, "plain words"]);
  });

  it("a server that does not answer within timeout_ms is ok:false, and the turn completes", async () => {
    const t0 = Date.now();
    const { r } = await runOne("hang", {});
    assert.ok(Date.now() - t0 < 3000, "the timeout is honoured");
    assert.equal(r.ok, false);
    assert.equal(r.error, `GET ${server.url}/hang timed out after 200 ms`);
  });

  it("an unreachable server is ok:false with the cause", async () => {
    const closed = await startServer(() => undefined);
    await closed.close();
    const def = compileSource(
      lines(
        "tool gone {",
        '  description: "Nobody listens"',
        `  run: http("GET", "${closed.url}/x")`,
        "}",
        "agent web {",
        '  instructions: "Use the web."',
        "  tools: [gone]",
        "}",
      ),
    );
    const { session, events } = await startSession(def, {
      script: [
        { kind: "call", tool: "gone", input: {} },
        { kind: "reply", text: "It is down." },
      ],
    });
    const result = await session.send("go");
    assert.equal(result.status, "ok");
    const r = only(events, "tool.result");
    assert.equal(r.ok, false);
    assert.match(r.error!, /^GET http:\/\/127\.0\.0\.1:\d+\/x failed: ECONNREFUSED$/);
  });
});

describe("tools: without run", () => {
  it("is ok:false with a message that says it can only be mocked", async () => {
    const def = compileSource(
      lines(
        "tool ghost {",
        '  description: "Declared, not implemented"',
        "  input { id: string }",
        "}",
        "agent a {",
        '  instructions: "Hi."',
        "  tools: [ghost]",
        "}",
      ),
    );
    const { session, events } = await startSession(def, {
      script: [
        { kind: "call", tool: "ghost", input: { id: "1" } },
        { kind: "reply", text: "No." },
      ],
    });
    const result = await session.send("go");
    assert.equal(result.status, "ok");
    const r = only(events, "tool.result");
    assert.equal(r.ok, false);
    assert.equal(
      r.error,
      "tool 'ghost' has no 'run' in its declaration: it can only be mocked in tests (tool ghost returns ...)",
    );
    assert.equal(r.origin, "run");
  });
});
