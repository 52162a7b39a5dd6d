// The OpenTelemetry SDK, started for one configuration (service/telemetry.ts
// imports this module lazily, only when an endpoint is set): a tracer provider
// with a batch processor and a meter provider with a periodic reader, each
// exporting over OTLP/HTTP in protobuf or JSON, and the W3C trace context
// propagator that reads a request's `traceparent` and writes the stateful
// client's.

import {
  propagation,
  ROOT_CONTEXT,
  defaultTextMapGetter,
  type Attributes,
  type Context,
} from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPMetricExporter as JsonMetricExporter } from "@opentelemetry/exporter-metrics-otlp-http";
import { OTLPMetricExporter as ProtoMetricExporter } from "@opentelemetry/exporter-metrics-otlp-proto";
import { OTLPTraceExporter as JsonTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as ProtoTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { MeterProvider, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import { BasicTracerProvider, BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";
import type { SessionEvent } from "../protocol/events";
import { SessionTracer, type GenAiMetrics, type SessionInfo } from "../runtime/traceMapping";
import type { Telemetry, TelemetryConfig, TurnTelemetry } from "./telemetryTypes";

const SCOPE = "statecraft";

/** The GenAI conventions' recommended bucket boundaries for token counts and durations. */
const TOKEN_BUCKETS = [
  1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
];
const DURATION_BUCKETS = [
  0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];

export function startSdk(config: TelemetryConfig): Telemetry {
  const resource = resourceFromAttributes({
    ...config.resourceAttributes,
    "service.name": config.serviceName,
  });
  const traceOptions = {
    url: config.tracesUrl,
    headers: config.tracesHeaders,
    timeoutMillis: config.timeoutMs,
  };
  const traceExporter =
    config.tracesProtocol === "http/json"
      ? new JsonTraceExporter(traceOptions)
      : new ProtoTraceExporter(traceOptions);
  const tracerProvider = new BasicTracerProvider({
    resource,
    spanProcessors: [
      new BatchSpanProcessor(traceExporter, { ...config.batch, exportTimeoutMillis: config.timeoutMs }),
    ],
  });
  const metricOptions = {
    url: config.metricsUrl,
    headers: config.metricsHeaders,
    timeoutMillis: config.timeoutMs,
  };
  const metricExporter =
    config.metricsProtocol === "http/json"
      ? new JsonMetricExporter(metricOptions)
      : new ProtoMetricExporter(metricOptions);
  const meterProvider = new MeterProvider({
    resource,
    readers: [
      new PeriodicExportingMetricReader({
        exporter: metricExporter,
        exportIntervalMillis: config.metricIntervalMs,
        exportTimeoutMillis: Math.min(config.timeoutMs, config.metricIntervalMs),
      }),
    ],
  });
  const tracer = tracerProvider.getTracer(SCOPE);
  const meter = meterProvider.getMeter(SCOPE);
  const metrics: GenAiMetrics = {
    tokenUsage: meter.createHistogram("gen_ai.client.token.usage", {
      unit: "{token}",
      description: "Tokens used by GenAI operations",
      advice: { explicitBucketBoundaries: TOKEN_BUCKETS },
    }),
    operationDuration: meter.createHistogram("gen_ai.client.operation.duration", {
      unit: "s",
      description: "Duration of GenAI operations",
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    }),
  };
  const turns = meter.createCounter("statecraft.service.turns", {
    unit: "{turn}",
    description: "Turn requests the runtime service answered, by the turn's status",
  });
  const activeSessions = meter.createUpDownCounter("statecraft.service.sessions.active", {
    unit: "{session}",
    description: "Sessions running a turn on this instance",
  });
  const queuedTurns = meter.createUpDownCounter("statecraft.service.turns.queued", {
    unit: "{turn}",
    description: "Turn requests received and not yet running (waiting for their session's lease and state)",
  });
  const commitDuration = meter.createHistogram("statecraft.service.commit.duration", {
    unit: "s",
    description: "Time to commit a batch of a turn's events",
    advice: { explicitBucketBoundaries: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] },
  });

  // The W3C propagator, registered for the stateful client (which injects through the API); the
  // service extracts with its own instance, so a propagator registered earlier changes nothing here.
  const w3c = new W3CTraceContextPropagator();
  propagation.setGlobalPropagator(w3c);

  const sessionTracer = (
    o: { session?: SessionInfo; parent?: Context; backendKind?: "stateful"; metrics?: false } = {},
  ) =>
    new SessionTracer({
      tracer,
      captureContent: config.captureContent,
      session: o.session,
      parent: o.parent,
      backendKind: o.backendKind,
      metrics: o.metrics === false ? undefined : metrics,
    });

  const serviceTurn = (headers: Record<string, string | string[] | undefined>): TurnTelemetry => {
    const parent = w3c.extract(ROOT_CONTEXT, headers, defaultTextMapGetter);
    let state: "queued" | "running" | "done" = "queued";
    let status = "refused";
    let mapping: SessionTracer | undefined;
    queuedTurns.add(1);
    return {
      running(session) {
        if (state !== "queued") return;
        state = "running";
        queuedTurns.add(-1);
        activeSessions.add(1);
        mapping = sessionTracer({ session, parent, backendKind: "stateful" });
      },
      committed(events: SessionEvent[]) {
        for (const e of events) {
          mapping?.onEvent(e);
          if (e.type === "turn.end") status = e.status;
        }
      },
      commitSeconds(seconds) {
        commitDuration.record(seconds);
      },
      finish() {
        if (state === "done") return;
        if (state === "queued") queuedTurns.add(-1);
        else activeSessions.add(-1);
        state = "done";
        mapping?.close();
        const attributes: Attributes = { "statecraft.turn.status": status };
        turns.add(1, attributes);
      },
    };
  };

  let stopped: Promise<string | undefined> | undefined;
  const shutdown = () =>
    (stopped ??= (async () => {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<string>((resolve) => {
        timer = setTimeout(() => resolve(`no answer within ${config.timeoutMs} ms`), config.timeoutMs + 250);
        timer.unref();
      });
      // Shutting down exports what is pending (the spans, the metrics' last collection) once.
      const flushed = Promise.all([tracerProvider.shutdown(), meterProvider.shutdown()]).then(
        () => undefined,
        (err: unknown) => (err instanceof Error ? err.message : String(err)),
      );
      const problem = await Promise.race([flushed, late]);
      // Whatever is still in flight after the timeout is dropped: the process must not wait on a
      // collector that is not there (the exporters' own timeout ends those requests).
      clearTimeout(timer);
      return problem === undefined
        ? undefined
        : `telemetry was not exported to ${config.tracesUrl} (${problem}); set OTEL_EXPORTER_OTLP_ENDPOINT to a reachable collector, or unset it`;
    })());

  return {
    config,
    tracer,
    metrics,
    sessionTracer,
    observer() {
      const mapping = sessionTracer();
      return (e) => mapping.onEvent(e);
    },
    serviceTurn,
    shutdown,
  };
}
