// OpenTelemetry in the runtime service (issue 15): a turn request's W3C
// `traceparent` is continued (the turn span's parent is the caller's span, in
// the caller's trace), from a raw request and from the stateful client's
// transport inside a caller's span; the service's metrics (turns, active
// sessions, queued turns, commit latency) reach the collector; a service
// without telemetry sends nothing.

import { strict as assert } from "node:assert";
import { AsyncLocalStorage } from "node:async_hooks";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  context,
  ROOT_CONTEXT,
  trace,
  TraceFlags,
  type Context,
  type ContextManager,
} from "@opentelemetry/api";
import { HttpTransport } from "../../server/backends/statefulTransport";
import { BackendError } from "../../server/runtime/model";
import { startService, type RunningService } from "../../server/service";
import { startTelemetry, type Telemetry } from "../../server/service/telemetry";
import { OtlpReceiver } from "../helpers/otlpReceiver";
import { waitFor } from "../helpers/waitFor";
import { Client, doneOf, freshPgliteDir, removeTempDirs, testDefinition } from "./helpers";

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN = "00f067aa0ba902b7";

/** The async context an application's OpenTelemetry SDK would install (context-async-hooks, in a few lines). */
class AsyncContextManager implements ContextManager {
  private readonly store = new AsyncLocalStorage<Context>();
  active(): Context {
    return this.store.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    ctx: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return this.store.run(ctx, () => fn.apply(thisArg, args));
  }
  bind<T>(_ctx: Context, target: T): T {
    return target;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.store.disable();
    return this;
  }
}

describe("OpenTelemetry in the runtime service", function () {
  this.timeout(180_000);
  after(removeTempDirs);
  let receiver: OtlpReceiver;
  let telemetry: Telemetry;
  let svc: RunningService;
  const def = testDefinition();

  before(async () => {
    receiver = new OtlpReceiver();
    const collector = await receiver.start();
    telemetry = startTelemetry({ OTEL_EXPORTER_OTLP_ENDPOINT: collector, OTEL_SERVICE_NAME: "runtime" })!;
    svc = await startService({ port: 0, dataDir: await freshPgliteDir(), telemetry });
  });
  after(async () => {
    await svc?.close();
    await receiver.stop();
  });

  it("continues the caller's trace, traces resumed turns, and exports the service's metrics", async () => {
    const alice = new Client(svc.url);
    const first = await alice.turn(
      "otel-session",
      {
        input: "echo hi",
        definition: def,
        user: { id: "ada", name: "Ada" },
        script: [{ call: "echo", input: { text: "hi" } }, { reply: "done" }],
        approve: "all",
      },
      { traceparent: `00-${TRACE_ID}-${CALLER_SPAN}-01` },
    );
    assert.equal(doneOf(first)?.status, "ok");
    // A second turn on the same session, without a trace context: a trace of its own.
    const second = await alice.turn("otel-session", { input: "again", script: [{ reply: "still here" }] });
    assert.equal(doneOf(second)?.status, "ok");
    // Refused before it ran (no such session, no definition): counted, and out of the queue.
    assert.equal((await alice.invoke("nobody", { input: "hi" })).status, 404);

    // The stateful client inside a caller's span: its transport sends the span's traceparent.
    const manager = new AsyncContextManager();
    context.setGlobalContextManager(manager);
    try {
      const caller = trace.setSpanContext(ROOT_CONTEXT, {
        traceId: "a".repeat(32),
        spanId: "b".repeat(16),
        traceFlags: TraceFlags.SAMPLED,
      });
      const transport = new HttpTransport(svc.url, undefined, (r) => new BackendError("config", r));
      const res = await context.with(caller, () =>
        transport.invoke(
          "otel-client",
          JSON.stringify({ input: "hello", definition: def, script: [{ reply: "hi" }], approve: "all" }),
          {},
        ),
      );
      assert.equal(res.status, 200);
      for await (const _ of res.body); // the turn runs to its end
    } finally {
      context.disable();
    }

    await svc.close();
    assert.equal(await telemetry.shutdown(), undefined);
    assert.deepEqual(receiver.errors, []);

    const turns = receiver.named("invoke_agent helper").sort((a, b) => a.startMs - b.startMs);
    assert.equal(turns.length, 3);
    const [continued, resumed, fromClient] = turns;
    assert.equal(continued.traceId, TRACE_ID);
    assert.equal(continued.parentSpanId, CALLER_SPAN);
    assert.equal(continued.attributes["gen_ai.conversation.id"], "otel-session");
    assert.equal(continued.attributes["statecraft.backend.kind"], "stateful");
    assert.equal(continued.resource["service.name"], "runtime");
    const children = receiver.spans.filter((s) => s.parentSpanId === continued.spanId).map((s) => s.name);
    assert.deepEqual(children.sort(), ["chat", "chat", "execute_tool echo"]);
    assert.ok(
      receiver.spans
        .filter((s) => s.traceId === TRACE_ID)
        .every((s) => s.name !== "invoke_agent helper" || s === continued),
    );

    assert.notEqual(resumed.traceId, TRACE_ID);
    assert.equal(resumed.parentSpanId, "");
    assert.equal(resumed.attributes["gen_ai.conversation.id"], "otel-session");
    assert.equal(resumed.attributes["statecraft.turn"], 2);
    assert.equal(resumed.attributes["gen_ai.agent.name"], "helper");

    assert.equal(fromClient.traceId, "a".repeat(32));
    assert.equal(fromClient.parentSpanId, "b".repeat(16));

    // The service's metrics (cumulative: the last export holds the totals).
    const last = (name: string) => receiver.metric(name);
    const turnCounts = Object.fromEntries(
      last("statecraft.service.turns").map((p) => [p.attributes["statecraft.turn.status"], p.value]),
    );
    assert.deepEqual(turnCounts, { ok: 3, refused: 1 });
    assert.deepEqual(
      last("statecraft.service.sessions.active").map((p) => p.value),
      [0],
    );
    assert.deepEqual(
      last("statecraft.service.turns.queued").map((p) => p.value),
      [0],
    );
    const commits = last("statecraft.service.commit.duration");
    assert.equal(commits.length, 1);
    assert.ok(commits[0].count! >= 3, `a commit per turn at least, got ${commits[0].count}`);
    assert.equal(commits[0].unit, "s");
  });
});

describe("statecraft serve with OTEL_EXPORTER_OTLP_ENDPOINT (dist/cli.js)", function () {
  this.timeout(180_000);
  after(removeTempDirs);
  const CLI = path.resolve(__dirname, "../../dist/cli.js");

  it("says where telemetry goes, and exports the turns' spans when stopped with SIGTERM", async () => {
    assert.ok(fs.existsSync(CLI), `${CLI} is missing: build it first with npm run build`);
    const receiver = new OtlpReceiver();
    const collector = await receiver.start();
    try {
      const child = spawn(process.execPath, [CLI, "serve", "--port", "0", "--data", await freshPgliteDir()], {
        env: {
          ...process.env,
          STATECRAFT_TOKEN: "",
          DATABASE_URL: "",
          OTEL_EXPORTER_OTLP_ENDPOINT: collector,
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
      child.stderr!.on("data", (c: Buffer) => (out += c.toString()));
      const exit = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
      const url = await waitFor(
        () => `statecraft serve to listen; it printed: ${out}`,
        () => {
          if (child.exitCode !== null) throw new Error(`statecraft serve exited: ${out}`);
          return /listening on (http:\/\/\S+)/.exec(out)?.[1];
        },
        { timeoutMs: 60_000 },
      );
      assert.match(out, new RegExp(`; traces and metrics to ${collector}/v1/traces`));
      const turn = await new Client(url).turn("served", {
        input: "hi",
        definition: testDefinition(),
        script: [{ reply: "hello" }],
        approve: "all",
      });
      assert.equal(doneOf(turn)?.status, "ok");
      // Whatever the batch processor still holds (its delay is 5 s) is exported on shutdown.
      child.kill("SIGTERM");
      assert.equal(await exit, 0, out);
      assert.deepEqual(receiver.spans.map((s) => s.name).sort(), ["chat", "invoke_agent helper"]);
      assert.deepEqual(
        receiver
          .metric("statecraft.service.turns")
          .map((p) => [p.attributes["statecraft.turn.status"], p.value]),
        [["ok", 1]],
      );
    } finally {
      await receiver.stop();
    }
  });
});
