// A stateful runtime's sessions in the Session Explorer
// (client/src/sessions/runtimeClient.ts, store.ts's RuntimeSource): against a
// small server that speaks the runtime service's REST endpoints
// (docs/runtime-service.md): the list, events page by page, errors that say
// what to do, and a session fetched once per version.

import { strict as assert } from "node:assert";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import {
  RuntimeClient,
  RuntimeError,
  type RuntimeSessionSummary,
} from "../../client/src/sessions/runtimeClient";
import { RuntimeSource } from "../../client/src/sessions/store";
import type { SessionEvent } from "../../server/protocol/events";
import { LOOKUP, record, REFUND } from "./helpers";

const TOKEN = "tok-client";

interface Fake {
  url: string;
  requests: string[];
  summaries: RuntimeSessionSummary[];
  close(): Promise<void>;
}

/** The runtime's routes the explorer uses; `events` pages by `limit`. */
async function fakeRuntime(events: SessionEvent[], summaries: RuntimeSessionSummary[]): Promise<Fake> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url!, "http://x");
    requests.push(`${req.method} ${url.pathname}${url.search}`);
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== `Bearer ${TOKEN}`)
      return send(401, { error: { code: "unauthorized", message: "a bearer token is required" } });
    if (url.pathname === "/sessions") return send(200, { sessions: fake.summaries });
    const m = /^\/sessions\/([^/]+)\/events$/.exec(url.pathname);
    if (m && m[1] === fake.summaries[0]?.id) {
      const after = Number(url.searchParams.get("after"));
      const page = events.filter((e) => e.seq > after).slice(0, 4);
      const last = page.at(-1);
      return send(200, { events: page, next: last && last.seq < events.at(-1)!.seq ? last.seq : null });
    }
    send(404, { error: { code: "not_found", message: `no session ${m?.[1]}` } });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const fake: Fake = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    summaries,
    close: () => new Promise((r) => server.close(() => r())),
  };
  return fake;
}

describe("Session Explorer: a stateful runtime's sessions", () => {
  let events: SessionEvent[];
  let fake: Fake;
  const summary = (updatedAt: string): RuntimeSessionSummary => ({
    id: "rt-1",
    agent: "support",
    backend: { name: "runtime_local", kind: "stateful", provider: "local" },
    status: "idle",
    turns: 2,
    createdAt: "2026-11-26T05:43:58.000Z",
    updatedAt,
  });

  before(async () => {
    events = await record([LOOKUP, REFUND]);
    fake = await fakeRuntime(events, [summary("2026-11-26T05:44:00.000Z")]);
  });
  after(() => fake.close());

  it("lists the sessions and reads every event, page by page", async () => {
    const client = new RuntimeClient({ name: "dev", url: fake.url }, TOKEN);
    assert.deepEqual(
      (await client.listSessions()).map((s) => s.id),
      ["rt-1"],
    );
    fake.requests.length = 0;
    assert.deepEqual(await client.events("rt-1"), JSON.parse(JSON.stringify(events)));
    assert.equal(fake.requests.length, Math.ceil(events.length / 4));
    assert.equal(fake.requests[1], "GET /sessions/rt-1/events?after=4&limit=1000");
  });

  it("a runtime that refuses the token says how to set one; one that is down says so, with the fix", async () => {
    await assert.rejects(
      new RuntimeClient({ name: "dev", url: fake.url }, "wrong").listSessions(),
      (err: RuntimeError) =>
        err.status === 401 &&
        err.message ===
          'runtime dev: GET /sessions: 401 a bearer token is required. Set its token with "Statecraft: Set API Key" (secret statecraft.runtime.dev).',
    );
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise((r) => closed.close(r));
    await assert.rejects(
      new RuntimeClient({ name: "down", url }, TOKEN).listSessions(),
      /: runtime down \(http:\/\/127\.0\.0\.1:\d+\) cannot be reached: .*\. Is it running\?/,
    );
  });

  it("a runtime source shows its sessions and fetches a session's events once per version of it", async () => {
    const source = new RuntimeSource(
      "runtime:dev",
      { name: "dev", url: fake.url },
      new RuntimeClient({ name: "dev", url: fake.url }, TOKEN),
    );
    await source.scan();
    assert.equal(source.error, undefined);
    const model = await source.load("rt-1");
    assert.equal(model.turnCount, 2);
    fake.requests.length = 0;
    assert.equal(await source.load("rt-1"), model, "the same version: not fetched again");
    assert.equal(fake.requests.length, 0, fake.requests.join(", "));
    fake.summaries = [summary("2026-11-26T05:45:00.000Z")];
    await source.scan();
    assert.notEqual(await source.load("rt-1"), model, "a newer version is fetched");
    assert.ok(fake.requests.some((r) => r.startsWith("GET /sessions/rt-1/events")));
  });
});
