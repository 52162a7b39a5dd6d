// HTTP plumbing of the runtime service: JSON errors a caller can act on,
// bounded body reading, and server-sent events.

import type * as http from "node:http";

export type ErrorCode =
  "bad_request" | "unauthorized" | "not_found" | "conflict" | "too_large" | "internal" | "unavailable";

const STATUS: Record<ErrorCode, number> = {
  bad_request: 400,
  unauthorized: 401,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  internal: 500,
  unavailable: 503,
};

/** A refusal with its status; `message` says what is wrong and what to do. */
export class HttpError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
  get status(): number {
    return STATUS[this.code];
  }
}

export const badRequest = (m: string) => new HttpError("bad_request", m);
export const notFound = (m: string) => new HttpError("not_found", m);
export const conflict = (m: string) => new HttpError("conflict", m);

export function errorBody(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  if (status === 204) {
    res.writeHead(204).end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

export function sendError(res: http.ServerResponse, err: HttpError): void {
  if (err.code === "unauthorized") res.setHeader("www-authenticate", 'Bearer realm="statecraft"');
  sendJson(res, err.status, errorBody(err.code, err.message));
}

/** Reads the whole body, refusing (413) past `limit` bytes without buffering the rest. */
export function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"]);
  const tooLarge = () =>
    new HttpError(
      "too_large",
      `the request body is larger than ${limit} bytes, the limit of this service; send a smaller body, or start the service with a larger limit (statecraft serve --max-body-bytes N)`,
    );
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.reject(tooLarge());
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on("data", (c: Buffer) => {
      if (failed) return;
      size += c.length;
      if (size > limit) {
        failed = true;
        reject(tooLarge());
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => {
      if (!failed) resolve(Buffer.concat(chunks));
    });
    req.on("error", (err) => {
      if (!failed) reject(badRequest(`the request body could not be read: ${err.message}`));
    });
  });
}

/** Parses a JSON object body; an empty body is `{}` when `emptyOk`. */
export function parseJsonObject(buf: Buffer, emptyOk = false): Record<string, unknown> {
  const text = buf.toString("utf8");
  if (!text.trim()) {
    if (emptyOk) return {};
    throw badRequest("the request body is empty; send a JSON object");
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw badRequest(`the request body is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw badRequest("the request body must be a JSON object");
  return value as Record<string, unknown>;
}

/** Refuses fields a body may not carry, naming them and the allowed ones. */
export function onlyFields(body: Record<string, unknown>, allowed: readonly string[], what: string): void {
  const unknown = Object.keys(body).filter((k) => !allowed.includes(k));
  if (unknown.length)
    throw badRequest(
      `unknown field${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => `'${k}'`).join(", ")} in ${what}; ` +
        `allowed: ${allowed.join(", ")}`,
    );
}

/**
 * A server-sent events stream; writes after the client left are dropped. The frames written in one
 * tick (the events of one commit, a turn's last events and its `done`) leave in one socket write.
 */
export class SseStream {
  private started = false;
  private corked = false;
  constructor(private readonly res: http.ServerResponse) {}

  private cork(): void {
    if (this.corked) return;
    this.corked = true;
    this.res.cork();
    process.nextTick(() => {
      this.corked = false;
      this.res.uncork();
    });
  }

  get open(): boolean {
    return !this.res.destroyed && !this.res.writableEnded;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.cork();
    this.res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      "x-accel-buffering": "no",
    });
    this.res.flushHeaders();
  }

  send(event: string, data: unknown, id?: number): void {
    this.sendJson(event, JSON.stringify(data), id);
  }

  /** A frame whose data is JSON text already (one line: what JSON.stringify makes). */
  sendJson(event: string, json: string, id?: number): void {
    this.start();
    if (!this.open) return;
    this.cork();
    this.res.write(`${id !== undefined ? `id: ${id}\n` : ""}event: ${event}\ndata: ${json}\n\n`);
  }

  end(): void {
    this.start();
    if (this.open) this.res.end();
  }
}
