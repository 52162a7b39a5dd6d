// OpenTelemetry from the CLI (issue 15): `statecraft run` traced into an
// OTLP/HTTP receiver on a loopback port, in protobuf and in JSON (a tool call,
// a denied call and a failed model call: span names, parents, attributes,
// status, metrics); `statecraft export otel` of the recorded session gives the
// same trace with the recorded times; without an endpoint (or with
// OTEL_SDK_DISABLED=true) the SDK is never loaded and nothing is sent; an
// unreachable collector costs one warning line, not a hang.

import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { main } from "../../server/cli/main";
import type { SessionEvent } from "../../server/protocol/events";
import { readLog } from "../../server/runtime/sessionLog";
import { FakeOpenAIServer } from "../fakes/openaiServer";
import { OtlpReceiver, type ReceivedSpan } from "../helpers/otlpReceiver";

const ROOT = path.resolve(__dirname, "../..");
const FIXTURE = path.join(ROOT, "test/fixtures/otel");
const KEY = "sk-otel-test-Zq81Hv0Lw2";
const BASE_ENV = { OPENAI_API_KEY: KEY, STATECRAFT_MODEL_MAX_RETRIES: "0" };

async function cli(args: string[], cwd: string, env: NodeJS.ProcessEnv) {
  let out = "";
  let err = "";
  const code = await main(args, { cwd, env, stdout: (t) => (out += t), stderr: (t) => (err += t) });
  return { code, out, err };
}

const temps: string[] = [];
after(() => {
  for (const d of temps.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function workspace(fake: FakeOpenAIServer): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "statecraft-otel-")));
  temps.push(dir);
  fs.cpSync(FIXTURE, dir, { recursive: true });
  const file = path.join(dir, "support.agent");
  fs.writeFileSync(file, fs.readFileSync(file, "utf8").replaceAll("OPENAI_URL", fake.url));
  return dir;
}

function onlySession(dir: string): SessionEvent[] {
  const d = path.join(dir, ".statecraft/sessions");
  const files = fs.readdirSync(d);
  assert.equal(files.length, 1);
  return readLog(path.join(d, files[0])).events;
}

/** Turn 1: a tool that runs, a refund the policy denies, a reply. Turn 2: the model answers 500. */
function scriptConversation(fake: FakeOpenAIServer): void {
  fake.script(
    {
      kind: "tools",
      calls: [
        { name: "lookup_order", arguments: { order_id: "A1003" }, id: "call_lookup" },
        { name: "refund", arguments: { order_id: "A1003", amount: 900 }, id: "call_refund" },
      ],
      usage: { input: 120, output: 30 },
    },
    {
      kind: "text",
      text: "Order A1003 has shipped; I cannot refund 900 USD.",
      usage: { input: 200, output: 12 },
    },
    { kind: "error", status: 500, message: "The server had an error" },
  );
}

const RUN = [
  "run",
  "support.agent",
  "--workspace",
  ".",
  "--input",
  "Where is A1003? Refund 900.",
  "--input",
  "And now?",
];

/** The spans of one trace, each with its parent's name ("" for the root). */
function tree(spans: ReceivedSpan[]): string[] {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  return spans
    .map((s) => `${byId.get(s.parentSpanId)?.name ?? ""} > ${s.name}`)
    .sort((a, b) => a.localeCompare(b));
}

describe("OpenTelemetry traces and metrics from the CLI (OTLP/HTTP receiver)", function () {
  let fake: FakeOpenAIServer;
  let receiver: OtlpReceiver;
  let collector: string;
  before(async () => {
    fake = await FakeOpenAIServer.start({ apiKey: KEY, models: ["gpt-4.1-mini"] });
  });
  after(async () => {
    await fake.close();
  });
  beforeEach(async () => {
    fake.reset();
    receiver = new OtlpReceiver();
    collector = await receiver.start();
  });
  afterEach(async () => {
    await receiver.stop();
  });

  for (const protocol of ["http/protobuf", "http/json"] as const)
    it(`traces a run with a tool call, a denied call and a failed model call (${protocol})`, async () => {
      const dir = workspace(fake);
      scriptConversation(fake);
      const r = await cli(RUN, dir, {
        ...BASE_ENV,
        OTEL_EXPORTER_OTLP_ENDPOINT: collector,
        OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
        OTEL_EXPORTER_OTLP_HEADERS: "x-team=agents,x-note=a%20b",
        OTEL_SERVICE_NAME: "support-bot",
        OTEL_RESOURCE_ATTRIBUTES: "deployment.environment=test",
      });
      assert.equal(r.code, 1, "the second turn fails: " + r.err);
      assert.match(r.err, /turn 2 failed/);
      assert.doesNotMatch(r.err, /warning: telemetry/);
      assert.deepEqual(receiver.errors, []);
      const events = onlySession(dir);
      const sessionId = (events[0] as { sessionId: string }).sessionId;

      // Every request went out in the configured protocol with the configured headers.
      assert.ok(receiver.requests.some((q) => q.path === "/v1/traces"));
      assert.ok(receiver.requests.some((q) => q.path === "/v1/metrics"));
      for (const q of receiver.requests) {
        assert.match(
          q.contentType,
          protocol === "http/json" ? /application\/json/ : /application\/x-protobuf/,
        );
        assert.equal(q.headers["x-team"], "agents");
        assert.equal(q.headers["x-note"], "a b");
      }

      const spans = receiver.spans;
      assert.equal(spans.length, 7, spans.map((s) => s.name).join(", "));
      const [turn1, turn2] = receiver.named("invoke_agent support").sort((a, b) => a.startMs - b.startMs);
      assert.ok(turn1 && turn2);
      // Each turn is a trace of its own, its spans below the turn's.
      assert.notEqual(turn1.traceId, turn2.traceId);
      assert.deepEqual(tree(spans.filter((s) => s.traceId === turn1.traceId)), [
        " > invoke_agent support",
        "invoke_agent support > chat gpt-4.1-mini",
        "invoke_agent support > chat gpt-4.1-mini",
        "invoke_agent support > execute_tool lookup_order",
        "invoke_agent support > execute_tool refund",
      ]);
      assert.deepEqual(tree(spans.filter((s) => s.traceId === turn2.traceId)), [
        " > invoke_agent support",
        "invoke_agent support > chat gpt-4.1-mini",
      ]);
      assert.equal(turn1.resource["service.name"], "support-bot");
      assert.equal(turn1.resource["deployment.environment"], "test");

      // The turn: GenAI attributes, the session as the conversation, Statecraft's own.
      assert.equal(turn1.kind, 1);
      assert.equal(turn1.status.code, 0);
      assert.deepEqual(
        pick(turn1.attributes, [
          "gen_ai.operation.name",
          "gen_ai.agent.name",
          "gen_ai.conversation.id",
          "gen_ai.provider.name",
          "gen_ai.usage.input_tokens",
          "gen_ai.usage.output_tokens",
          "statecraft.backend.kind",
          "statecraft.turn",
          "statecraft.turn.status",
        ]),
        {
          "gen_ai.operation.name": "invoke_agent",
          "gen_ai.agent.name": "support",
          "gen_ai.conversation.id": sessionId,
          "gen_ai.provider.name": "openai",
          "gen_ai.usage.input_tokens": 320,
          "gen_ai.usage.output_tokens": 42,
          "statecraft.backend.kind": "stateless",
          "statecraft.turn": 1,
          "statecraft.turn.status": "ok",
        },
      );
      assert.ok((turn1.attributes["statecraft.bytes_sent"] as number) > 0);

      // The model calls: the first asked for the two tools.
      const chats = spans.filter((s) => s.name === "chat gpt-4.1-mini").sort((a, b) => a.startMs - b.startMs);
      assert.equal(chats[0].kind, 3, "a chat span is a client span");
      assert.deepEqual(
        pick(chats[0].attributes, [
          "gen_ai.operation.name",
          "gen_ai.provider.name",
          "gen_ai.request.model",
          "gen_ai.response.model",
          "gen_ai.usage.input_tokens",
          "gen_ai.usage.output_tokens",
          "gen_ai.response.finish_reasons",
          "gen_ai.conversation.id",
        ]),
        {
          "gen_ai.operation.name": "chat",
          "gen_ai.provider.name": "openai",
          "gen_ai.request.model": "gpt-4.1-mini",
          "gen_ai.response.model": "gpt-4.1-mini",
          "gen_ai.usage.input_tokens": 120,
          "gen_ai.usage.output_tokens": 30,
          "gen_ai.response.finish_reasons": ["tool_use"],
          "gen_ai.conversation.id": sessionId,
        },
      );
      // Bytes sent: the request body as the backend put it on the wire.
      const response = events.find((e) => e.type === "model.response")!;
      assert.ok(response.wireBytes);
      assert.equal(chats[0].attributes["statecraft.bytes_sent"], response.wireBytes);
      // No message content unless asked for.
      assert.equal(chats[0].attributes["gen_ai.input.messages"], undefined);

      // The failed model call and its turn: status ERROR with the reason.
      const failed = chats[2];
      assert.equal(failed.traceId, turn2.traceId);
      assert.equal(failed.status.code, 2);
      assert.match(failed.status.message ?? "", /500/);
      assert.equal(failed.attributes["error.type"], "500");
      assert.equal(turn2.status.code, 2);
      assert.match(turn2.status.message ?? "", /500/);
      assert.equal(turn2.attributes["statecraft.turn.status"], "failed");

      // The tool that ran, and the one the policy denied.
      const [lookup] = receiver.named("execute_tool lookup_order");
      assert.equal(lookup.status.code, 0);
      assert.deepEqual(
        pick(lookup.attributes, [
          "gen_ai.operation.name",
          "gen_ai.tool.name",
          "gen_ai.tool.call.id",
          "statecraft.policy.decision",
        ]),
        {
          "gen_ai.operation.name": "execute_tool",
          "gen_ai.tool.name": "lookup_order",
          "gen_ai.tool.call.id": "call_lookup",
          "statecraft.policy.decision": "allow",
        },
      );
      const [refund] = receiver.named("execute_tool refund");
      assert.equal(refund.status.code, 2);
      assert.match(refund.status.message ?? "", /denied: .*500/);
      assert.equal(refund.attributes["statecraft.policy.decision"], "deny");
      assert.equal(refund.attributes["gen_ai.tool.call.id"], "call_refund");

      // Spans carry the events' own times.
      const start1 = events.find((e) => e.type === "turn.start" && e.turn === 1)!;
      const end1 = events.find((e) => e.type === "turn.end" && e.turn === 1)!;
      assert.equal(turn1.startMs, Date.parse(start1.ts));
      assert.equal(turn1.endMs, Date.parse(end1.ts));

      // Metrics: tokens by type, and the duration of each of the 3 model calls (one failed).
      const tokens = receiver.metric("gen_ai.client.token.usage");
      const input = tokens.find((p) => p.attributes["gen_ai.token.type"] === "input")!;
      const output = tokens.find((p) => p.attributes["gen_ai.token.type"] === "output")!;
      assert.deepEqual([input.count, input.sum, output.count, output.sum], [2, 320, 2, 42]);
      assert.equal(input.unit, "{token}");
      assert.equal(input.attributes["gen_ai.provider.name"], "openai");
      const durations = receiver.metric("gen_ai.client.operation.duration");
      assert.equal(durations[0].unit, "s");
      assert.deepEqual(durations.map((p) => [p.attributes["error.type"] ?? "ok", p.count]).sort(), [
        ["500", 1],
        ["ok", 2],
      ]);

      // The secret never leaves: not in a span, not in a header.
      assert.ok(!JSON.stringify(receiver.spans).includes(KEY));
    });

  it("puts message content on spans only with OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true, redacted", async () => {
    const dir = workspace(fake);
    fake.script({ kind: "text", text: `Your key ends in ${KEY.slice(-6)}; the full one is ${KEY}` });
    const r = await cli(["run", "support.agent", "--workspace", ".", "--input", "What is my key?"], dir, {
      ...BASE_ENV,
      OTEL_EXPORTER_OTLP_ENDPOINT: collector,
      OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: "true",
    });
    assert.equal(r.code, 0, r.err);
    const [chat] = receiver.named("chat gpt-4.1-mini");
    const input = JSON.parse(chat.attributes["gen_ai.input.messages"] as string) as { role: string }[];
    assert.deepEqual(
      input.map((m) => m.role),
      ["system", "user"],
    );
    const output = chat.attributes["gen_ai.output.messages"] as string;
    assert.match(output, /the full one is/);
    assert.ok(!JSON.stringify(receiver.spans).includes(KEY), "the key is redacted as in the log");
  });

  it("`export otel` of a recorded session sends the same trace, with the recorded times", async () => {
    const dir = workspace(fake);
    scriptConversation(fake);
    const live = await cli(RUN, dir, { ...BASE_ENV, OTEL_EXPORTER_OTLP_ENDPOINT: collector });
    assert.equal(live.code, 1);
    const liveSpans = [...receiver.spans];
    receiver.spans.length = 0;
    const livePoints = receiver.metric("gen_ai.client.token.usage").length;
    assert.ok(livePoints > 0);
    const events = onlySession(dir);
    const sessionId = (events[0] as { sessionId: string }).sessionId;

    // Without telemetry in the environment: --endpoint is the collector; the id prefix is enough.
    const r = await cli(["export", "otel", sessionId.slice(0, 18), "--endpoint", collector], dir, {});
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, new RegExp(`exported session ${sessionId} \\(2 turns\\) to ${collector}/v1/traces`));
    const shape = (spans: ReceivedSpan[]) => {
      const byId = new Map(spans.map((s) => [s.spanId, s]));
      return spans
        .map((s) => ({
          name: s.name,
          parent: byId.get(s.parentSpanId)?.name ?? "",
          startMs: s.startMs,
          endMs: s.endMs,
          status: s.status.code,
          attributes: s.attributes,
        }))
        .sort((a, b) => a.startMs - b.startMs || a.name.localeCompare(b.name));
    };
    assert.equal(receiver.spans.length, 7);
    assert.deepEqual(shape(receiver.spans), shape(liveSpans));
    // An export is a re-reading: no metrics that would count the session's tokens twice.
    assert.equal(receiver.metric("gen_ai.client.token.usage").length, livePoints);
  });

  it("`export otel` needs a collector, and says so in one line (exit 2)", async () => {
    const dir = workspace(fake);
    fake.script({ kind: "text", text: "Hi" });
    assert.equal(
      (await cli(["run", "support.agent", "--workspace", ".", "--input", "Hi"], dir, BASE_ENV)).code,
      0,
    );
    const id = (onlySession(dir)[0] as { sessionId: string }).sessionId;
    const none = await cli(["export", "otel", id], dir, {});
    assert.equal(none.code, 2);
    assert.equal(
      none.err,
      "statecraft export: no collector to export to: pass --endpoint URL (for example http://localhost:4318) or set OTEL_EXPORTER_OTLP_ENDPOINT\n",
    );
    const bad = await cli(["export", "otel", id, "--endpoint", "localhost:4318"], dir, {});
    assert.equal(bad.code, 2);
    assert.match(bad.err, /--endpoint 'localhost:4318' must be an http:\/\/ or https:\/\/ URL/);
    const format = await cli(["export", "jaeger", id], dir, {});
    assert.equal(format.code, 2);
    assert.match(format.err, /writes 'otel'/);
    const grpc = await cli(["run", "support.agent", "--workspace", ".", "--input", "Hi"], dir, {
      ...BASE_ENV,
      OTEL_EXPORTER_OTLP_ENDPOINT: collector,
      OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
    });
    assert.equal(grpc.code, 2);
    assert.match(grpc.err, /^statecraft run: OTEL_EXPORTER_OTLP_PROTOCOL=grpc is not supported/);
  });

  it("an unreachable collector costs one warning line and no hang (refused, and silent)", async () => {
    const dir = workspace(fake);
    // A port nobody listens on.
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    fake.script({ kind: "text", text: "Hi" });
    const refused = await cli(["run", "support.agent", "--workspace", ".", "--input", "Hi"], dir, {
      ...BASE_ENV,
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
      OTEL_EXPORTER_OTLP_TIMEOUT: "1000",
    });
    assert.equal(refused.code, 0, "the run itself went well");
    const warnings = refused.err.split("\n").filter((l) => l.startsWith("warning:"));
    assert.equal(warnings.length, 1, refused.err);
    assert.match(warnings[0], new RegExp(`telemetry was not exported to http://127.0.0.1:${port}/v1/traces`));

    // A collector that reads the request and never answers: bounded by OTEL_EXPORTER_OTLP_TIMEOUT.
    receiver.hang = true;
    fake.script({ kind: "text", text: "Hi" });
    const t0 = Date.now();
    const silent = await cli(["run", "support.agent", "--workspace", ".", "--input", "Hi"], dir, {
      ...BASE_ENV,
      OTEL_EXPORTER_OTLP_ENDPOINT: collector,
      OTEL_EXPORTER_OTLP_TIMEOUT: "400",
    });
    assert.equal(silent.code, 0);
    assert.ok(Date.now() - t0 < 10_000);
    assert.equal(silent.err.split("\n").filter((l) => l.startsWith("warning:")).length, 1, silent.err);
    assert.ok(receiver.requests.length > 0, "the collector was reached");
  });

  it("`statecraft test` traces each test's session", async () => {
    const dir = workspace(fake);
    fs.writeFileSync(
      path.join(dir, "support.test.agent"),
      [
        'import "support.agent"',
        "test lookup {",
        "  agent: support",
        "  backend: openai_fake",
        '  send "Where is A1003?"',
        '  expect reply contains "shipped"',
        "}",
        "",
      ].join("\n"),
    );
    fake.script({ kind: "text", text: "It has shipped." });
    const r = await cli(["test", "support.test.agent", "--workspace", "."], dir, {
      ...BASE_ENV,
      OTEL_EXPORTER_OTLP_ENDPOINT: collector,
    });
    assert.equal(r.code, 0, r.out + r.err);
    assert.equal(receiver.named("invoke_agent support").length, 1);
    assert.equal(receiver.named("chat gpt-4.1-mini").length, 1);
  });
});

function pick(o: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((k) => [k, o[k]]));
}

describe("OpenTelemetry off: no endpoint, or OTEL_SDK_DISABLED=true", function () {
  let fake: FakeOpenAIServer;
  let receiver: OtlpReceiver;
  before(async () => {
    fake = await FakeOpenAIServer.start({ apiKey: KEY, models: ["gpt-4.1-mini"] });
    receiver = new OtlpReceiver();
  });
  after(async () => {
    await fake.close();
    await receiver.stop();
  });

  /**
   * A run in a fresh node process (so nothing else loaded the SDK first): its exit code and the
   * @opentelemetry modules it loaded besides the API.
   */
  function runAlone(
    dir: string,
    env: Record<string, string>,
  ): Promise<{ code: number; loaded: string[]; err: string }> {
    const script = [
      'const { main } = require("./server/cli/main");',
      "let err = '';",
      `main(["run", "support.agent", "--workspace", ".", "--input", "Hi"], { cwd: ${JSON.stringify(dir)}, env: ${JSON.stringify(env)}, stdout: () => {}, stderr: (t) => (err += t) })`,
      "  .then((code) => {",
      "    const loaded = Object.keys(require.cache).filter((k) => /@opentelemetry\\/(?!api\\/)/.test(k));",
      "    console.log(JSON.stringify({ code, loaded, err }));",
      "  });",
    ].join("\n");
    return new Promise((resolve, reject) =>
      execFile(process.execPath, ["-r", "tsx/cjs", "-e", script], { cwd: ROOT }, (error, stdout, stderr) => {
        if (error) reject(new Error(`${error.message}\n${stderr}`));
        else
          resolve(
            JSON.parse(stdout.trim().split("\n").pop()!) as { code: number; loaded: string[]; err: string },
          );
      }),
    );
  }

  it("loads no SDK and sends nothing without an endpoint, nor with OTEL_SDK_DISABLED=true", async function () {
    // Three fresh node processes compiling the CLI with tsx.
    this.timeout(120_000);
    const collector = await receiver.start();
    const dir = workspace(fake);
    fake.script({ kind: "text", text: "Hi" }, { kind: "text", text: "Hi" }, { kind: "text", text: "Hi" });
    const bare = await runAlone(dir, { ...BASE_ENV, OTEL_SERVICE_NAME: "support-bot" });
    assert.equal(bare.code, 0, bare.err);
    assert.deepEqual(bare.loaded, []);
    const disabled = await runAlone(dir, {
      ...BASE_ENV,
      OTEL_EXPORTER_OTLP_ENDPOINT: collector,
      OTEL_SDK_DISABLED: "true",
    });
    assert.equal(disabled.code, 0, disabled.err);
    assert.deepEqual(disabled.loaded, []);
    assert.equal(receiver.requests.length, 0);
    // The same run with the endpoint does load it and send (what the two above are compared with).
    const on = await runAlone(dir, { ...BASE_ENV, OTEL_EXPORTER_OTLP_ENDPOINT: collector });
    assert.equal(on.code, 0, on.err);
    assert.ok(on.loaded.some((m) => m.includes("sdk-trace-base")));
    assert.ok(receiver.requests.length > 0);
  });
});
