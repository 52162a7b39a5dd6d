// OpenTelemetry for `statecraft run`, `test`, `serve` and `export otel`: the
// standard OTEL_* configuration read from the run's environment, and the SDK
// (tracer and meter providers, OTLP/HTTP exporters) started only when an
// endpoint is set. Without one nothing here loads the SDK (it is imported
// lazily from ./otelSdk), no exporter exists, and callers get `undefined`:
// the session events are not even observed.

import type { OtlpProtocol, Telemetry, TelemetryConfig } from "./telemetryTypes";

export type { OtlpProtocol, Telemetry, TelemetryConfig, TurnTelemetry } from "./telemetryTypes";

/** A configuration the user can fix (a protocol the exporters do not speak, a bad URL): one line, exit 2. */
export class TelemetryConfigError extends Error {}

const truthy = (v: string | undefined) => v?.trim().toLowerCase() === "true";

/** `k=v,k2=v2`, values percent-decoded (the OTel spec's format for headers and resource attributes). */
function keyValues(raw: string | undefined, what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (raw ?? "").split(",")) {
    if (!pair.trim()) continue;
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new TelemetryConfigError(`${what} must be key=value pairs separated by commas`);
    try {
      out[decodeURIComponent(pair.slice(0, eq).trim())] = decodeURIComponent(pair.slice(eq + 1).trim());
    } catch {
      throw new TelemetryConfigError(`${what} has a value that is not valid percent-encoding`);
    }
  }
  return out;
}

function protocolOf(env: NodeJS.ProcessEnv, signal: "TRACES" | "METRICS"): OtlpProtocol {
  const name = `OTEL_EXPORTER_OTLP_${signal}_PROTOCOL`;
  const [variable, value] = env[name]
    ? [name, env[name]]
    : ["OTEL_EXPORTER_OTLP_PROTOCOL", env.OTEL_EXPORTER_OTLP_PROTOCOL];
  const v = value?.trim() || "http/protobuf";
  if (v === "http/protobuf" || v === "http/json") return v;
  throw new TelemetryConfigError(
    `${variable}=${v} is not supported: Statecraft exports over OTLP/HTTP, set http/protobuf (the default) or http/json`,
  );
}

function checkUrl(url: string, variable: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TelemetryConfigError(`${variable} '${url}' is not a URL (for example http://localhost:4318)`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:")
    throw new TelemetryConfigError(`${variable} '${url}' must be an http:// or https:// URL`);
  return url;
}

function signalUrl(env: NodeJS.ProcessEnv, signal: "TRACES" | "METRICS", base?: string): string | undefined {
  const specific = env[`OTEL_EXPORTER_OTLP_${signal}_ENDPOINT`]?.trim();
  if (specific && base === undefined) return checkUrl(specific, `OTEL_EXPORTER_OTLP_${signal}_ENDPOINT`);
  const root = base ?? env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (!root) return undefined;
  const variable = base !== undefined ? "--endpoint" : "OTEL_EXPORTER_OTLP_ENDPOINT";
  checkUrl(root, variable);
  return `${root.replace(/\/+$/, "")}/v1/${signal.toLowerCase()}`;
}

function positiveMs(raw: string | undefined, fallback: number, variable: string): number {
  if (raw === undefined || raw.trim() === "") return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0)
    throw new TelemetryConfigError(`${variable} must be a positive number of milliseconds, not '${raw}'`);
  return n;
}

function optionalCount(raw: string | undefined, variable: string): number | undefined {
  if (raw === undefined || raw.trim() === "") return undefined;
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < 1)
    throw new TelemetryConfigError(`${variable} must be a whole number of 1 or more, not '${raw}'`);
  return Number(raw);
}

/**
 * The telemetry configuration of an environment, or undefined when it is off: no endpoint, or
 * OTEL_SDK_DISABLED=true. `endpoint` (a command's --endpoint) stands for OTEL_EXPORTER_OTLP_ENDPOINT.
 */
export function telemetryConfig(env: NodeJS.ProcessEnv, endpoint?: string): TelemetryConfig | undefined {
  if (truthy(env.OTEL_SDK_DISABLED)) return undefined;
  const tracesUrl = signalUrl(env, "TRACES", endpoint);
  if (!tracesUrl) return undefined;
  const headers = keyValues(env.OTEL_EXPORTER_OTLP_HEADERS, "OTEL_EXPORTER_OTLP_HEADERS");
  return {
    tracesUrl,
    metricsUrl: signalUrl(env, "METRICS", endpoint) ?? tracesUrl.replace(/\/v1\/traces$/, "/v1/metrics"),
    tracesProtocol: protocolOf(env, "TRACES"),
    metricsProtocol: protocolOf(env, "METRICS"),
    tracesHeaders: {
      ...headers,
      ...keyValues(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS, "OTEL_EXPORTER_OTLP_TRACES_HEADERS"),
    },
    metricsHeaders: {
      ...headers,
      ...keyValues(env.OTEL_EXPORTER_OTLP_METRICS_HEADERS, "OTEL_EXPORTER_OTLP_METRICS_HEADERS"),
    },
    serviceName: env.OTEL_SERVICE_NAME?.trim() || "statecraft",
    resourceAttributes: keyValues(env.OTEL_RESOURCE_ATTRIBUTES, "OTEL_RESOURCE_ATTRIBUTES"),
    captureContent: truthy(env.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT),
    timeoutMs: positiveMs(env.OTEL_EXPORTER_OTLP_TIMEOUT, 5_000, "OTEL_EXPORTER_OTLP_TIMEOUT"),
    metricIntervalMs: positiveMs(env.OTEL_METRIC_EXPORT_INTERVAL, 60_000, "OTEL_METRIC_EXPORT_INTERVAL"),
    batch: {
      maxQueueSize: optionalCount(env.OTEL_BSP_MAX_QUEUE_SIZE, "OTEL_BSP_MAX_QUEUE_SIZE"),
      maxExportBatchSize: optionalCount(env.OTEL_BSP_MAX_EXPORT_BATCH_SIZE, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE"),
      scheduledDelayMillis: optionalCount(env.OTEL_BSP_SCHEDULE_DELAY, "OTEL_BSP_SCHEDULE_DELAY"),
    },
  };
}

/** Telemetry for an environment, or undefined (and the SDK not loaded) when no endpoint is set. */
export function startTelemetry(env: NodeJS.ProcessEnv, endpoint?: string): Telemetry | undefined {
  const config = telemetryConfig(env, endpoint);
  if (!config) return undefined;
  // Required here, not imported at the top: a process without an endpoint never evaluates the SDK.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { startSdk } = require("./otelSdk") as typeof import("./otelSdk");
  return startSdk(config);
}
