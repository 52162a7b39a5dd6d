// The shapes of the service's OpenTelemetry (service/telemetry.ts reads the
// configuration, service/otelSdk.ts implements it with the SDK): here so that
// both, and the service that only holds a Telemetry, share them without the
// SDK module importing the module that loads it.

import type { Context, Tracer } from "@opentelemetry/api";
import type { SessionEvent } from "../protocol/events";
import type { GenAiMetrics, SessionInfo, SessionTracer } from "../runtime/traceMapping";

export type OtlpProtocol = "http/protobuf" | "http/json";

export interface TelemetryConfig {
  /** Where spans go (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, or OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces). */
  tracesUrl: string;
  metricsUrl: string;
  tracesProtocol: OtlpProtocol;
  metricsProtocol: OtlpProtocol;
  tracesHeaders: Record<string, string>;
  metricsHeaders: Record<string, string>;
  /** OTEL_SERVICE_NAME, else `statecraft`. */
  serviceName: string;
  /** OTEL_RESOURCE_ATTRIBUTES. */
  resourceAttributes: Record<string, string>;
  /** OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true. */
  captureContent: boolean;
  /** How long an export, and the flush at exit, may take (OTEL_EXPORTER_OTLP_TIMEOUT, default 5 s). */
  timeoutMs: number;
  /** OTEL_METRIC_EXPORT_INTERVAL (default 60 s). */
  metricIntervalMs: number;
  /** The batch span processor's OTEL_BSP_* settings that are set (else the SDK's defaults). */
  batch: { maxQueueSize?: number; maxExportBatchSize?: number; scheduledDelayMillis?: number };
}

/** The runtime service's own measures (issue 15): turns, active sessions, queued turns, commit latency. */
export interface TurnTelemetry {
  /** The turn left the queue (it holds its session's lease) and runs the session described. */
  running(session: SessionInfo): void;
  /** Events as they were committed, in order. */
  committed(events: SessionEvent[]): void;
  /** How long one commit took. */
  commitSeconds(seconds: number): void;
  /** The request is over (answered, refused or failed): the only call that must always come. */
  finish(): void;
}

export interface Telemetry {
  readonly config: TelemetryConfig;
  readonly tracer: Tracer;
  readonly metrics: GenAiMetrics;
  /** A tracer for one session's events (the CLI's session log: whatever the backend). */
  sessionTracer(o?: { session?: SessionInfo; parent?: Context; metrics?: false }): SessionTracer;
  /** Feeds a session's events to a new tracer as they are recorded. */
  observer(): (event: SessionEvent) => void;
  /** A turn request of the runtime service, continuing the trace of its `traceparent` header. */
  serviceTurn(headers: Record<string, string | string[] | undefined>): TurnTelemetry;
  /**
   * Exports what is pending and stops, within the configured timeout. Resolves to why, in one line,
   * when the collector could not be reached in time (the CLI warns and exits as it would have).
   */
  shutdown(): Promise<string | undefined>;
}
