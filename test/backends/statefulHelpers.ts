// Helpers for the stateful backend's tests: a temp copy of the example
// project with a stateful backend declared, and a recording HTTP proxy put
// between the client and a real runtime service, which keeps every request
// exactly as it arrived and can cut a response stream after N messages.

import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";

export const ROOT = path.resolve(__dirname, "../..");
export const EXAMPLE = path.join(ROOT, "examples/support");

export const TURN1 = "Hi, I'm Ada. Where is my order A1003?";
export const TURN2 = "Please refund 40 USD on order A1001, it arrived damaged.";
export const REPLY1 =
  "Thanks, Ada. Order A1003 (a gooseneck kettle) has shipped and should arrive within 3 days.";
export const REPLY2 = "Done: refund RF-A1001-4000 of 40 USD is on its way to your card.";

const temps: string[] = [];
export function tempDir(prefix = "statecraft-stateful-"): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  temps.push(dir);
  return dir;
}
export function removeTemps(): void {
  for (const d of temps.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

/**
 * Copies the example project into a temp folder and declares a stateful backend `rt` on provider
 * local (scripted inference in the service), its token in env RT_TOKEN, at `endpoint` if given.
 */
export function statefulProject(endpoint?: string): string {
  const dir = tempDir();
  fs.cpSync(EXAMPLE, dir, {
    recursive: true,
    filter: (src) => !src.includes(`${path.sep}.statecraft`),
  });
  fs.appendFileSync(
    path.join(dir, "main.agent"),
    [
      "",
      "// The runtime service on scripted inference (tests).",
      "backend rt {",
      "  kind: stateful",
      "  provider: local",
      ...(endpoint ? [`  endpoint: "${endpoint}"`] : []),
      '  api_key: env("RT_TOKEN")',
      "}",
      "",
    ].join("\n"),
  );
  return dir;
}

export interface Recorded {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface Proxy {
  url: string;
  requests: Recorded[];
  /** The bodies of the turn requests (POST /invocations without an action). */
  turns(): Record<string, unknown>[];
  /**
   * Cuts the next event-stream response after `messages` SSE messages (the socket is destroyed);
   * with `goDown`, the proxy then stops listening too: the service is out of reach.
   */
  cutNextStreamAfter(messages: number, goDown?: boolean): void;
  close(): Promise<void>;
}

/** A recording reverse proxy to `target`: what the service receives is what the test sees. */
export async function recordingProxy(target: string): Promise<Proxy> {
  const requests: Recorded[] = [];
  let cutAfter: number | undefined;
  let down = false;
  const t = new URL(target);
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      requests.push({
        method: req.method ?? "",
        path: req.url ?? "",
        headers: req.headers,
        body: body.toString("utf8"),
      });
      const up = http.request(
        {
          host: t.hostname,
          port: t.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: t.host },
          agent: false,
        },
        (upRes) => {
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          const stream = String(upRes.headers["content-type"] ?? "").includes("text/event-stream");
          const limit = stream ? cutAfter : undefined;
          if (stream) cutAfter = undefined;
          if (limit === undefined) {
            upRes.pipe(res);
            return;
          }
          // Forward whole messages until the limit, then drop the connection mid-stream.
          let pending = "";
          let sent = 0;
          upRes.setEncoding("utf8");
          upRes.on("data", (text: string) => {
            pending += text;
            let end: number;
            while ((end = pending.indexOf("\n\n")) >= 0) {
              const message = pending.slice(0, end + 2);
              pending = pending.slice(end + 2);
              if (sent >= limit) continue;
              if (++sent >= limit) {
                const goDown = down;
                if (goDown) server.close();
                res.write(message, () => {
                  res.socket?.destroy();
                  if (goDown) server.closeAllConnections();
                });
                return;
              }
              res.write(message);
            }
          });
          upRes.on("end", () => res.end());
        },
      );
      up.on("error", () => {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      });
      up.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    turns: () =>
      requests
        .filter((r) => r.method === "POST" && r.path === "/invocations")
        .map((r) => JSON.parse(r.body) as Record<string, unknown>)
        .filter((b) => !("action" in b)),
    cutNextStreamAfter: (n, goDown = false) => {
      cutAfter = n;
      down = goDown;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        if (!server.listening) return r();
        server.close(() => r());
      }),
  };
}

/** A loopback port nothing listens on. */
export async function closedPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
