// Runtime service benchmark (issue: the stateful runtime service): 100
// concurrent sessions of 20 turns each over HTTP (POST /invocations, events
// streamed as server-sent events after they are committed), on scripted local
// inference, against embedded PGlite and against a PostgreSQL server (the
// Debian package, started on a loopback port with fsync on). Reports turns per
// second and p50/p99 turn latency (request sent -> `done` received). The
// baseline, measured in the same run, is the same turns on the engine in
// process with an in-memory sink: what the service adds is the store, the
// rebuild of each session from it and HTTP. Prints figures, never fails on
// time; it throws when a turn does not finish ok.

import { AgentSession } from "../../server/runtime/engine";
import { InMemoryStore } from "../../server/runtime/memoryStore";
import { MemorySink } from "../../server/runtime/sessionLog";
import { LocalBackend } from "../../server/backends/local";
import { startService, type RunningService } from "../../server/service";
import { Client, doneOf, freshPgliteDir, removeTempDirs, testDefinition } from "../service/helpers";
import { startPostgres } from "../service/postgres";
import { fmt, printTable, type Row } from "./harness";

const SESSIONS = 100;
const TURNS = 20;

const pct = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

interface Figures {
  turns: number;
  seconds: number;
  p50: number;
  p99: number;
}

async function drive(svc: RunningService, tag: string): Promise<Figures> {
  const def = testDefinition();
  const c = new Client(svc.url);
  const latencies: number[] = [];
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: SESSIONS }, async (_, s) => {
      const id = `bench-${tag}-${s}`;
      for (let t = 1; t <= TURNS; t++) {
        const started = performance.now();
        const frames = await c.turn(id, {
          input: `question ${t} of session ${s}`,
          ...(t === 1 ? { definition: def, user: { id: `user-${s}` } } : {}),
          approve: "all",
          script: [{ reply: `answer ${t} of session ${s}: noted, anything else?` }],
        });
        latencies.push(performance.now() - started);
        const done = doneOf(frames);
        if (done?.status !== "ok" || done.turn !== t)
          throw new Error(`service bench: ${id} turn ${t} ended ${JSON.stringify(done)}`);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  return { turns: latencies.length, seconds, p50: pct(latencies, 0.5), p99: pct(latencies, 0.99) };
}

async function baseline(): Promise<Figures> {
  const def = testDefinition();
  const latencies: number[] = [];
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: SESSIONS }, async (_, s) => {
      const backend = new LocalBackend("local", "stateless");
      const session = await AgentSession.start({
        definition: def,
        baseDir: process.cwd(),
        backend,
        backendName: "local",
        sink: new MemorySink(),
        sessionId: `base-${s}`,
        user: { id: `user-${s}` },
        memoryStore: new InMemoryStore(),
      });
      for (let t = 1; t <= TURNS; t++) {
        const started = performance.now();
        backend.enqueue({ kind: "reply", text: `answer ${t} of session ${s}: noted, anything else?` });
        const r = await session.send(`question ${t} of session ${s}`);
        if (r.status !== "ok") throw new Error(`service bench baseline: turn ${t} ${r.status}`);
        latencies.push(performance.now() - started);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  return { turns: latencies.length, seconds, p50: pct(latencies, 0.5), p99: pct(latencies, 0.99) };
}

const rows = (name: string, f: Figures, base?: Figures): Row[] => [
  {
    name: `${name}: turns/s`,
    value: `${(f.turns / f.seconds).toFixed(0)} (${f.turns} turns in ${f.seconds.toFixed(1)} s)`,
  },
  {
    name: `${name}: turn latency p50 / p99 ms`,
    value: `${fmt(f.p50)} / ${fmt(f.p99)}${base ? ` (${(f.p50 / base.p50).toFixed(0)}x the engine alone at p50)` : ""}`,
  },
];

export async function runServiceBench(): Promise<void> {
  const base = await baseline();
  const out: Row[] = rows("engine in process, in-memory sink (baseline)", base);
  const pglite = await startService({ port: 0, dataDir: await freshPgliteDir() });
  try {
    out.push(...rows("service on PGlite", await drive(pglite, "pglite"), base));
  } finally {
    await pglite.close();
  }
  const server = await startPostgres({ fsync: true });
  try {
    const pg = await startService({ port: 0, databaseUrl: await server.createDatabase("bench") });
    try {
      out.push(...rows("service on PostgreSQL", await drive(pg, "pg"), base));
    } finally {
      await pg.close();
    }
  } finally {
    await server.stop();
    removeTempDirs();
  }
  printTable(
    `runtime service: ${SESSIONS} concurrent sessions x ${TURNS} turns, scripted local inference, over HTTP + SSE`,
    out,
  );
}
