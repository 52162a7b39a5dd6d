// Helpers for the runtime service tests: the stores to run the contract on
// (embedded PGlite from a copied template, a real PostgreSQL server), a small
// HTTP + server-sent events client, and the agent the tests run.

import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { CompiledDefinition } from "../../server/language/compile";
import type { SessionEvent } from "../../server/protocol/events";
import { openPglite } from "../../server/service/db";
import { migrate } from "../../server/service/db";
import { startService, type RunningService, type ServiceOptions } from "../../server/service";
import { compileSource, lines } from "../runtime/helpers";
import { startPostgres, type PostgresServer } from "./postgres";

/** A JSON response body, inspected loosely by the tests. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Any = any;

export const SESSION_HEADER = "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id";

const scratch: string[] = [];
export function tempDir(prefix = "statecraft-svc-"): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  scratch.push(d);
  return d;
}
/**
 * Removes the scratch folders. As a mocha hook it allows two minutes: a
 * loaded machine removes many copies of a 39 MB PGlite database slowly.
 */
export function removeTempDirs(this: Mocha.Context | void): void {
  if (this) this.timeout(120_000);
  for (const d of scratch.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

let template: Promise<string> | undefined;
/**
 * A fresh embedded database folder: initdb is slow, so one migrated template is copied. The template is
 * not a scratch folder: a suite's removeTempDirs must not take it from the suites after it; it goes when
 * the process exits.
 */
export async function freshPgliteDir(): Promise<string> {
  template ??= (async () => {
    const parent = fs.mkdtempSync(path.join(os.tmpdir(), "statecraft-pglite-template-"));
    process.once("exit", () => fs.rmSync(parent, { recursive: true, force: true }));
    const dir = path.join(parent, "db");
    const db = await openPglite(dir);
    await migrate(db);
    await db.close();
    return dir;
  })();
  const src = await template;
  const dst = path.join(tempDir(), "db");
  fs.cpSync(src, dst, { recursive: true });
  return dst;
}

/** A store the contract suite runs on: each `options()` is a fresh, empty database. */
export interface StoreKind {
  name: "pglite" | "postgres";
  setup(): Promise<void>;
  options(): Promise<Pick<ServiceOptions, "dataDir" | "databaseUrl">>;
  teardown(): Promise<void>;
}

export function pgliteStore(): StoreKind {
  return {
    name: "pglite",
    setup: async () => {},
    options: async () => ({ dataDir: await freshPgliteDir() }),
    teardown: async () => {},
  };
}

export function postgresStore(): StoreKind & { server(): PostgresServer } {
  let server: PostgresServer | undefined;
  return {
    name: "postgres",
    setup: async () => {
      server = await startPostgres({ fsync: false });
    },
    options: async () => ({ databaseUrl: await server!.createDatabase() }),
    teardown: async () => {
      await server?.stop();
    },
    server: () => server!,
  };
}

// ---- the agent the tests run ---------------------------------------------------------

export function testDefinition(extraTools = "", approval = "refund"): CompiledDefinition {
  return compileSource(
    lines(
      "memory profile {",
      "  scope: user",
      "  fields {",
      "    count: integer",
      "    nick?: string",
      "  }",
      "}",
      "tool refund {",
      '  description: "Refund an order"',
      "  input { amount: number }",
      '  run: command("node", ["-e", "console.log(JSON.stringify({refunded: true}))"])',
      "}",
      "tool echo {",
      '  description: "Echo a text"',
      "  input { text: string }",
      '  run: command("node", ["-e", "console.log(JSON.stringify({echo: process.argv[1]}))", "{{input.text}}"])',
      "}",
      extraTools,
      "agent helper {",
      '  instructions: "Help {{user.name}}. Count {{memory.count}}."',
      `  tools: [refund, echo${extraTools ? ", wait" : ""}]`,
      "  memory: profile",
      "  policy {",
      `    require_approval: [${approval}]`,
      "  }",
      "}",
    ),
  );
}

/** A tool that blocks for a while (the crash test kills the service while it runs). */
export const WAIT_TOOL = lines(
  "tool wait {",
  '  description: "Wait a while"',
  '  run: command("node", ["-e", "setTimeout(() => console.log(JSON.stringify({waited: true})), 20000)"])',
  "}",
);

// ---- HTTP + SSE client ------------------------------------------------------------------

export interface Frame {
  event: string;
  id?: number;
  data: unknown;
}

export class Client {
  constructor(
    readonly url: string,
    readonly token?: string,
  ) {}

  headers(extra: Record<string, string> = {}): Record<string, string> {
    return {
      ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
      ...extra,
    };
  }

  async json(method: string, p: string, body?: unknown): Promise<{ status: number; body: Any }> {
    const res = await fetch(this.url + p, {
      method,
      headers: this.headers(body === undefined ? {} : { "content-type": "application/json" }),
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }

  /** POST /invocations; the raw response (stream it with `frames`). */
  invoke(session: string | undefined, body: unknown, extra: Record<string, string> = {}): Promise<Response> {
    return fetch(this.url + "/invocations", {
      method: "POST",
      headers: this.headers({
        "content-type": "application/json",
        ...(session !== undefined ? { [SESSION_HEADER]: session } : {}),
        ...extra,
      }),
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
  }

  /** A whole turn: every frame up to the end of the stream. */
  async turn(session: string, body: unknown, extra: Record<string, string> = {}): Promise<Frame[]> {
    const res = await this.invoke(session, body, extra);
    if (res.status !== 200) assert.fail(`turn refused: ${res.status} ${await res.text()}`);
    assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
    const out: Frame[] = [];
    for await (const f of frames(res)) out.push(f);
    return out;
  }

  /** An action of /invocations: status and JSON body. */
  async action(session: string | undefined, body: unknown): Promise<{ status: number; body: Any }> {
    const res = await this.invoke(session, body);
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }
}

/** Parses a text/event-stream response into frames as they arrive. */
export async function* frames(res: Response): AsyncGenerator<Frame> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (value) buf += decoder.decode(value, { stream: true });
    let i: number;
    while ((i = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const f: Partial<Frame> & { data?: unknown } = {};
      const data: string[] = [];
      for (const line of block.split("\n")) {
        const m = /^([a-z]+): ?(.*)$/.exec(line);
        if (!m) continue;
        if (m[1] === "event") f.event = m[2];
        else if (m[1] === "id") f.id = Number(m[2]);
        else if (m[1] === "data") data.push(m[2]);
      }
      yield { event: f.event ?? "message", id: f.id, data: JSON.parse(data.join("\n")) };
    }
    if (done) return;
  }
}

export const eventsOf = (fs: Frame[]) =>
  fs.filter((f) => f.id !== undefined).map((f) => f.data as SessionEvent);
export const doneOf = (fs: Frame[]) =>
  fs.find((f) => f.event === "done")?.data as { turn: number; status: string; reason?: string } | undefined;

/** Everything an actor can see: its sessions and all their events (to prove a refusal changed nothing). */
export async function dump(c: Client): Promise<unknown> {
  const list = await c.json("GET", "/sessions");
  const out: Record<string, unknown> = {};
  for (const s of list.body.sessions as { id: string }[]) {
    const ev = await c.json("GET", `/sessions/${s.id}/events?limit=1000`);
    out[s.id] = { summary: s, events: ev.body.events };
  }
  return out;
}

export async function withService(
  options: ServiceOptions,
  fn: (svc: RunningService) => Promise<void>,
): Promise<void> {
  const svc = await startService({ port: 0, ...options });
  try {
    await fn(svc);
  } finally {
    await svc.close();
  }
}

export { lines };
