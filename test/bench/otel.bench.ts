// OpenTelemetry's cost (issue 15: "no measurable cost without an endpoint"):
// engine turns recorded the way `statecraft run` records them, in one run and
// interleaved round by round so drift hits every mode alike: main's path (the
// activity printer as the session's only listener, no telemetry code at all),
// telemetry off (the same run through startTelemetry and sessionListener with
// no endpoint set), and telemetry on (spans and metrics exported over
// OTLP/HTTP protobuf to a receiver on a loopback port). Also what deciding
// "off" costs, and the one-time cost of loading the SDK when it is on. It
// throws when the traced mode exported nothing (it would time nothing).

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { activityPrinter } from "../../server/cli/conversation";
import { sessionListener, type CliIO } from "../../server/cli/io";
import { MemorySink } from "../../server/runtime/sessionLog";
import { startTelemetry } from "../../server/service/telemetry";
import { OtlpReceiver } from "../helpers/otlpReceiver";
import { compileBenchAgent, REFUND_POLICY, startRig, type Rig } from "./engine.bench";
import { fmt, gc, measure, measureAsync, printTable, stats } from "./harness";

const ROUNDS = 9;
const TURNS_PER_ROUND = 200;
const WARMUP = 100;

export async function runOtelBench(): Promise<Record<string, number>> {
  const def = compileBenchAgent();
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "statecraft-bench-otel-")));
  const receiver = new OtlpReceiver();
  const collector = await receiver.start();
  try {
    fs.mkdirSync(path.join(dir, "docs"));
    fs.writeFileSync(path.join(dir, "docs", "refunds.md"), REFUND_POLICY);
    const io: CliIO = { cwd: dir, env: {}, stdout: () => undefined, stderr: () => undefined };
    const offEnv = { OTEL_SERVICE_NAME: "bench" };
    // A queue that holds a round's spans: the SDK's default (2,048) drops spans at this rate, as it should under overload.
    const onEnv = {
      OTEL_EXPORTER_OTLP_ENDPOINT: collector,
      OTEL_METRIC_EXPORT_INTERVAL: "1000",
      OTEL_BSP_MAX_QUEUE_SIZE: "16384",
      OTEL_BSP_SCHEDULE_DELAY: "200",
    };

    // Deciding that telemetry is off: what every run/test/serve pays at start.
    const decide = measure(() => {
      if (startTelemetry(offEnv)) throw new Error("telemetry is on without an endpoint");
    }, 20_000);
    // Loading and starting the SDK, once (the first call pays the module evaluation).
    const t0 = performance.now();
    const telemetry = startTelemetry(onEnv);
    const loadMs = performance.now() - t0;
    if (!telemetry) throw new Error("telemetry is off with an endpoint");

    // Off, the session's listener is the activity printer itself, as on main: nothing is added per event.
    const printer = activityPrinter(io);
    const offListener = sessionListener({ ...io, observe: startTelemetry(offEnv)?.observer }, printer);
    if (offListener !== printer) throw new Error("telemetry off wraps the session's listener");
    const rigs: Record<"main" | "off" | "on", Rig> = {
      // main's path: `statecraft run` before telemetry, the activity printer as the only listener.
      main: await startRig(def, dir, new MemorySink(activityPrinter(io)), "s-main"),
      off: await startRig(def, dir, new MemorySink(offListener), "s-off"),
      on: await startRig(
        def,
        dir,
        new MemorySink(sessionListener({ ...io, observe: () => telemetry.observer() }, activityPrinter(io))),
        "s-on",
      ),
    };
    const samples: Record<keyof typeof rigs, number[]> = { main: [], off: [], on: [] };
    for (const rig of Object.values(rigs)) for (let i = 0; i < WARMUP; i++) await rig.turn();
    for (let round = 0; round < ROUNDS; round++)
      for (const mode of ["main", "off", "on"] as const) {
        gc();
        const s = await measureAsync(rigs[mode].turn, TURNS_PER_ROUND, 0);
        samples[mode].push(s.median);
      }
    const warning = await telemetry.shutdown();
    if (warning) throw new Error(`the traced mode did not export: ${warning}`);
    const spans = receiver.spans.length;
    const expected = (WARMUP + ROUNDS * TURNS_PER_ROUND) * 4; // a turn, 2 model calls, 1 tool call
    if (spans !== expected) throw new Error(`the receiver got ${spans} spans, expected ${expected}`);

    const main = stats(samples.main);
    const off = stats(samples.off);
    const on = stats(samples.on);
    const pct = (a: number, b: number) => `${a >= b ? "+" : ""}${(((a - b) / b) * 100).toFixed(1)}%`;
    const spread = (mode: keyof typeof samples) =>
      `${fmt(Math.min(...samples[mode]))}..${fmt(Math.max(...samples[mode]))}`;
    printTable(
      `OpenTelemetry: engine turns on the local backend, as \`statecraft run\` records them (each round's median; ${ROUNDS} interleaved rounds x ${TURNS_PER_ROUND} turns: median and fastest round)`,
      [
        {
          name: "turn, main's path (no telemetry code)",
          value: `${fmt(main.median)} ms (rounds ${spread("main")})`,
        },
        {
          name: "turn, telemetry off (no endpoint)",
          value: `${fmt(off.median)} ms (rounds ${spread("off")}), median ${pct(off.median, main.median)}, fastest ${pct(off.min, main.min)} vs main`,
          target: "within noise of main (the same listener: checked)",
        },
        {
          name: "turn, telemetry on (OTLP/HTTP protobuf, loopback)",
          value: `${fmt(on.median)} ms (rounds ${spread("on")}), median ${pct(on.median, main.median)}, fastest ${pct(on.min, main.min)} vs main`,
        },
        { name: "deciding telemetry is off, per command", value: `${(decide.median * 1000).toFixed(2)} µs` },
        { name: "loading + starting the SDK (on only, once)", value: `${fmt(loadMs)} ms` },
        {
          name: "spans / exporter requests received (on)",
          value: `${spans} / ${receiver.requests.length}`,
        },
      ],
    );
    return {
      otelTurnMainMs: main.median,
      otelTurnOffMs: off.median,
      otelTurnOnMs: on.median,
      otelTurnMainFastestMs: main.min,
      otelTurnOffFastestMs: off.min,
      otelDecideOffUs: decide.median * 1000,
      otelSdkLoadMs: loadMs,
    };
  } finally {
    await receiver.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
