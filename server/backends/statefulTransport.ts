// How the stateful client's requests reach a runtime service: the contract
// both transports meet, and plain HTTP(S) to `statecraft serve` (the
// AgentCore Runtime transport is statefulAgentCore.ts).

import * as http from "node:http";
import * as https from "node:https";
import { context, propagation } from "@opentelemetry/api";
import { SESSION_HEADER } from "../protocol/runtimeService";
import { BackendError } from "../runtime/model";

/** A raw response of the service: status, content type, and the body as a stream of bytes. */
export interface WireResponse {
  status: number;
  contentType: string;
  body: AsyncIterable<Uint8Array>;
}

/** How requests reach the service; both transports carry the same bodies. */
export interface StatefulTransport {
  /** For messages: the URL, or `agentcore:<ARN>`. */
  readonly display: string;
  invoke(
    sessionId: string | undefined,
    body: string,
    o: { signal?: AbortSignal; idempotencyKey?: string },
  ): Promise<WireResponse>;
  /** A REST call (HTTP only); undefined when the transport has only /invocations. */
  rest?(method: string, path: string, body?: string): Promise<WireResponse>;
}

/**
 * The W3C trace context of the current span (`traceparent`, `tracestate`), when there is one and a
 * propagator is registered (an application's OpenTelemetry SDK, or Statecraft's own telemetry): the
 * runtime service continues that trace, so the caller's trace includes the turn. Else nothing.
 */
export function traceContextHeaders(): { traceparent?: string; tracestate?: string } {
  const carrier: { traceparent?: string; tracestate?: string } = {};
  propagation.inject(context.active(), carrier);
  return carrier;
}

/** Why a connection failed, as short as the error allows (its code). */
export function netReason(err: unknown): string {
  const e = err as { code?: string; message?: string };
  return e.code ? `${e.code}` : (e.message ?? String(err));
}

/** Errors of a connection that never reached the service. */
const UNREACHABLE = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ETIMEDOUT",
  "EADDRNOTAVAIL",
]);

/** Plain HTTP(S) to a runtime service: one connection per request, so nothing lingers afterwards. */
export class HttpTransport implements StatefulTransport {
  readonly display: string;
  private readonly base: URL;

  constructor(
    endpoint: string,
    private readonly token: string | undefined,
    private readonly unreachable: (reason: string) => BackendError,
  ) {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw new BackendError(
        "config",
        `the stateful backend's endpoint '${endpoint}' is not a URL: give the runtime service's URL (http://127.0.0.1:8080 for \`statecraft serve\`), agentcore:<runtime ARN>, or leave endpoint out to use the embedded runtime`,
      );
    }
    if (url.protocol !== "http:" && url.protocol !== "https:")
      throw new BackendError(
        "config",
        `the stateful backend's endpoint '${endpoint}' must be an http(s) URL or agentcore:<runtime ARN>`,
      );
    this.base = url;
    this.display = endpoint.replace(/\/+$/, "");
  }

  private request(
    method: string,
    path: string,
    body: string | undefined,
    headers: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<WireResponse> {
    const url = new URL(this.base.pathname.replace(/\/+$/, "") + path, this.base);
    const lib = url.protocol === "https:" ? https : http;
    const all: Record<string, string> = { accept: "text/event-stream, application/json", ...headers };
    if (this.token) all.authorization = `Bearer ${this.token}`;
    if (body !== undefined) {
      all["content-type"] = "application/json";
      all["content-length"] = String(Buffer.byteLength(body));
    }
    return new Promise<WireResponse>((resolve, reject) => {
      const req = lib.request(url, { method, headers: all, agent: false, signal }, (res) => {
        resolve({
          status: res.statusCode ?? 0,
          contentType: String(res.headers["content-type"] ?? ""),
          body: res,
        });
      });
      req.on("error", (err) => {
        const code = (err as { code?: string }).code ?? "";
        if ((err as { name?: string }).name === "AbortError")
          reject(new BackendError("cancelled", "the turn was cancelled"));
        else if (UNREACHABLE.has(code)) reject(this.unreachable(netReason(err)));
        else
          // Connected, then lost before the answer: the service may have acted on the request.
          reject(
            new BackendError(
              "stream_cut",
              `the connection to the runtime service at ${this.display} was lost before it answered (${netReason(err)})`,
            ),
          );
      });
      req.end(body);
    });
  }

  invoke(
    sessionId: string | undefined,
    body: string,
    o: { signal?: AbortSignal; idempotencyKey?: string },
  ): Promise<WireResponse> {
    const headers: Record<string, string> = { ...traceContextHeaders() };
    if (sessionId) headers[SESSION_HEADER] = sessionId;
    if (o.idempotencyKey) headers["idempotency-key"] = o.idempotencyKey;
    return this.request("POST", "/invocations", body, headers, o.signal);
  }

  rest(method: string, path: string, body?: string): Promise<WireResponse> {
    return this.request(method, path, body, {});
  }
}
