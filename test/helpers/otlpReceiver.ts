// An OTLP/HTTP receiver on a loopback port for telemetry tests: it accepts
// POST /v1/traces and /v1/metrics in protobuf (decoded with the classes that
// protobufjs generated from the official OTLP .proto files, as shipped in
// @opentelemetry/otlp-transformer 0.52) and in JSON, and keeps every span and
// metric point in one plain shape whatever the protocol was.

import * as http from "node:http";
import type { AddressInfo } from "node:net";
// eslint-disable-next-line @typescript-eslint/no-require-imports
const root = require("otlp-proto-root/build/src/generated/root.js") as ProtoRoot;

interface ProtoType {
  decode(buf: Uint8Array): unknown;
  toObject(message: unknown, options: { longs: StringConstructor; defaults?: boolean }): unknown;
}
interface ProtoRoot {
  opentelemetry: {
    proto: {
      collector: {
        trace: { v1: { ExportTraceServiceRequest: ProtoType } };
        metrics: { v1: { ExportMetricsServiceRequest: ProtoType } };
      };
    };
  };
}

export type AttrValue = string | number | boolean | AttrValue[] | undefined;

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** "" for a root span. */
  parentSpanId: string;
  name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client. */
  kind: number;
  startMs: number;
  endMs: number;
  attributes: Record<string, AttrValue>;
  /** 0 unset, 1 ok, 2 error. */
  status: { code: number; message?: string };
  resource: Record<string, AttrValue>;
}

export interface ReceivedPoint {
  metric: string;
  unit: string;
  attributes: Record<string, AttrValue>;
  /** A histogram's count and sum, or a sum's value. */
  count?: number;
  sum?: number;
  value?: number;
}

export interface ReceivedRequest {
  path: string;
  contentType: string;
  headers: http.IncomingHttpHeaders;
}

export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  readonly points: ReceivedPoint[] = [];
  readonly requests: ReceivedRequest[] = [];
  /** Problems decoding a request (the test fails on any). */
  readonly errors: string[] = [];
  private server?: http.Server;
  /** When set, requests are read and never answered (a collector that hangs). */
  hang = false;

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const contentType = String(req.headers["content-type"] ?? "");
        this.requests.push({ path: req.url ?? "", contentType, headers: req.headers });
        if (this.hang) return;
        try {
          this.take(req.url ?? "", contentType, Buffer.concat(chunks));
        } catch (err) {
          this.errors.push(`${req.url}: ${(err as Error).message}`);
        }
        const json = contentType.includes("json");
        res.writeHead(200, { "content-type": json ? "application/json" : "application/x-protobuf" });
        res.end(json ? "{}" : Buffer.alloc(0));
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, "127.0.0.1", r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  private take(path: string, contentType: string, body: Buffer): void {
    const proto = contentType.includes("protobuf");
    if (!proto && !contentType.includes("json")) throw new Error(`unexpected content-type ${contentType}`);
    const { trace, metrics } = root.opentelemetry.proto.collector;
    const decode = (t: ProtoType) =>
      proto ? t.toObject(t.decode(body), { longs: String }) : (JSON.parse(body.toString("utf8")) as unknown);
    if (path === "/v1/traces") this.takeSpans(decode(trace.v1.ExportTraceServiceRequest) as Traces);
    else if (path === "/v1/metrics")
      this.takeMetrics(decode(metrics.v1.ExportMetricsServiceRequest) as Metrics);
    else throw new Error(`unexpected path ${path}`);
  }

  private takeSpans(req: Traces): void {
    for (const rs of req.resourceSpans ?? [])
      for (const ss of rs.scopeSpans ?? [])
        for (const s of ss.spans ?? [])
          this.spans.push({
            traceId: id(s.traceId),
            spanId: id(s.spanId),
            parentSpanId: id(s.parentSpanId),
            name: s.name,
            kind: s.kind ?? 0,
            startMs: Number(BigInt(s.startTimeUnixNano) / 1_000_000n),
            endMs: Number(BigInt(s.endTimeUnixNano) / 1_000_000n),
            attributes: attributes(s.attributes),
            status: { code: s.status?.code ?? 0, message: s.status?.message || undefined },
            resource: attributes(rs.resource?.attributes),
          });
  }

  private takeMetrics(req: Metrics): void {
    for (const rm of req.resourceMetrics ?? [])
      for (const sm of rm.scopeMetrics ?? [])
        for (const m of sm.metrics ?? []) {
          const points = m.histogram?.dataPoints ?? m.sum?.dataPoints ?? m.gauge?.dataPoints ?? [];
          for (const p of points)
            this.points.push({
              metric: m.name,
              unit: m.unit ?? "",
              attributes: attributes(p.attributes),
              ...(m.histogram ? { count: Number(p.count), sum: Number(p.sum) } : {}),
              ...(p.asInt !== undefined ? { value: Number(p.asInt) } : {}),
              ...(p.asDouble !== undefined ? { value: Number(p.asDouble) } : {}),
            });
        }
  }

  /** The spans named `name` (in the order received). */
  named(name: string): ReceivedSpan[] {
    return this.spans.filter((s) => s.name === name);
  }

  /** The last exported points of a metric (cumulative: the latest export has the totals). */
  metric(name: string): ReceivedPoint[] {
    return this.points.filter((p) => p.metric === name);
  }
}

type Id = string | Uint8Array | undefined;
interface KeyValue {
  key: string;
  value?: AnyValue;
}
interface AnyValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: AnyValue[] };
}
interface Traces {
  resourceSpans?: {
    resource?: { attributes?: KeyValue[] };
    scopeSpans?: {
      spans?: {
        traceId: Id;
        spanId: Id;
        parentSpanId?: Id;
        name: string;
        kind?: number;
        startTimeUnixNano: string;
        endTimeUnixNano: string;
        attributes?: KeyValue[];
        status?: { code?: number; message?: string };
      }[];
    }[];
  }[];
}
interface DataPoint {
  attributes?: KeyValue[];
  count?: string | number;
  sum?: number;
  asInt?: string | number;
  asDouble?: number;
}
interface Metrics {
  resourceMetrics?: {
    scopeMetrics?: {
      metrics?: {
        name: string;
        unit?: string;
        histogram?: { dataPoints?: DataPoint[] };
        sum?: { dataPoints?: DataPoint[] };
        gauge?: { dataPoints?: DataPoint[] };
      }[];
    }[];
  }[];
}

/** Protobuf ids are bytes, OTLP/JSON ids are hex strings: both as hex. */
function id(v: Id): string {
  if (v === undefined) return "";
  return typeof v === "string" ? v.toLowerCase() : Buffer.from(v).toString("hex");
}

function value(v: AnyValue | undefined): AttrValue {
  if (!v) return undefined;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(value);
  return undefined;
}

function attributes(kvs: KeyValue[] | undefined): Record<string, AttrValue> {
  return Object.fromEntries((kvs ?? []).map((kv) => [kv.key, value(kv.value)]));
}
