// Runtime service benchmark (issue 15): concurrent sessions of scripted turns
// over HTTP (POST /invocations, events streamed as server-sent events after
// they are committed) against `node dist/cli.js serve` in its own process, on
// embedded PGlite and on a PostgreSQL server (the Debian package, on a
// loopback port, fsync on). Workloads: 100 sessions x 20 turns on both
// stores, 1,000 sessions x 5 turns on PostgreSQL.
//
// Reports turns per second, p50/p99/max turn latency (request sent -> `done`
// received), the spread of per-session completion times (a starved session
// finishes long after the others), the service's peak RSS, the CPU each
// process spent per turn (the service, the PostgreSQL server, the load
// generator: on two shared cores their sum bounds the throughput, and it is
// steadier than wall time), and on PostgreSQL the SQL statements and
// transactions per turn (pg_stat_statements and pg_stat_database, so they
// count what any build of the service sends; BENCH_PGSS=1 also prints the
// statements that took the most time). BENCH_SERVICE_ARGS adds `serve`
// flags for this build (e.g. "--warm-up 0"), BENCH_SERVICE_SHAPE=SxT replaces
// the workloads' shape.
//
// With BENCH_BASELINE_DIST=<folder holding another build's cli.js> (e.g. a
// build of main), that build runs the same workloads in the same run,
// alternating with this one, so the two are compared under the same load.
// BENCH_SERVICE_ROUNDS=n (default 1) repeats each workload; figures are the
// medians of the rounds. The engine in process with an in-memory sink is the
// floor: what the service adds is the store, the rebuild of each session and
// HTTP. Prints figures, never fails on time; it throws when a turn does not
// finish ok.

import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { Client as PgClient } from "pg";
import { AgentSession } from "../../server/runtime/engine";
import { InMemoryStore } from "../../server/runtime/memoryStore";
import { MemorySink } from "../../server/runtime/sessionLog";
import { LocalBackend } from "../../server/backends/local";
import { freshPgliteDir, removeTempDirs, SESSION_HEADER, tempDir, testDefinition } from "../service/helpers";
import { processCpuSeconds, startPostgres, type PostgresServer } from "../service/postgres";
import { fmt, printTable, type Row } from "./harness";

interface Workload {
  sessions: number;
  turns: number;
}

interface Figures {
  turns: number;
  seconds: number;
  p50: number;
  p99: number;
  max: number;
  /** Seconds from the start to each session's last `done`: earliest, median, latest. */
  sessionDone: [number, number, number];
  rssMb?: number;
  /** CPU milliseconds per turn: the service, the database server (PostgreSQL), this load generator. */
  cpu?: { service: number; db?: number; client: number };
  statementsPerTurn?: number;
  xactsPerTurn?: number;
}

const pct = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const median = (xs: number[]) =>
  pct(
    [...xs].sort((a, b) => a - b),
    0.5,
  );

/** `node DIST/cli.js serve` on an ephemeral port; its peak RSS is read from /proc before it stops. */
async function spawnService(dist: string, args: string[]) {
  const cwd = tempDir("statecraft-bench-cwd-");
  const extra = process.env.BENCH_SERVICE_NODE_OPTIONS?.split(" ").filter(Boolean) ?? [];
  const child = spawn(
    process.execPath,
    [...extra, path.join(dist, "cli.js"), "serve", "--port", "0", ...args],
    {
      cwd,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let err = "";
  child.stderr!.on("data", (c: Buffer) => (err = (err + c.toString()).slice(-4000)));
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      const m = /listening on (\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.once("exit", (code) =>
      reject(new Error(`statecraft serve exited (${code}) before listening: ${err}`)),
    );
  });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  return {
    url,
    /** How it ended, when it did (a crash under load), with the end of what it printed. */
    ended: () =>
      child.exitCode !== null || child.signalCode !== null
        ? `the service exited (${child.exitCode ?? child.signalCode}): ${err.trim().slice(-1000)}`
        : undefined,
    cpuSeconds: () => processCpuSeconds(child.pid!),
    peakRssMb(): number | undefined {
      const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${child.pid}/status`, "utf8"));
      return m ? Number(m[1]) / 1024 : undefined;
    },
    async stop() {
      child.kill("SIGTERM");
      await exited;
    },
  };
}

/**
 * The load generator: POST /invocations over kept-alive connections (node:http, as a load tool
 * would; fetch and web streams cost this process more CPU than the service spends on a turn, on
 * the same two cores), the event stream parsed frame by frame, every frame's data as JSON.
 * Resolves with the `done` frame's data; rejects on any other status than 200.
 */
function turnOver(
  agent: http.Agent,
  url: URL,
  session: string,
  body: string,
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: "/invocations",
        method: "POST",
        headers: {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
          [SESSION_HEADER]: session,
        },
      },
      (res) => {
        let buf = "";
        let done: Record<string, unknown> | undefined;
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          buf += chunk;
          let i: number;
          while ((i = buf.indexOf("\n\n")) >= 0) {
            const block = buf.slice(0, i);
            buf = buf.slice(i + 2);
            const ev = /^event: (.*)$/m.exec(block)?.[1];
            const data = /^data: (.*)$/m.exec(block)?.[1];
            const parsed = data === undefined ? undefined : JSON.parse(data);
            if (ev === "done") done = parsed;
          }
        });
        res.on("end", () =>
          res.statusCode === 200 && done
            ? resolve(done)
            : reject(
                new Error(`turn ended with status ${res.statusCode} and no done frame: ${buf.slice(0, 300)}`),
              ),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/**
 * Opens the generator's n kept-alive connections before the clock starts (as load tools do), so
 * turn latencies do not include TCP handshakes queued behind each other: n concurrent GET /ping.
 */
async function preconnect(agent: http.Agent, url: URL, n: number): Promise<void> {
  await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<void>((resolve, reject) =>
          http
            .get({ agent, host: url.hostname, port: url.port, path: "/ping" }, (res) => {
              res.resume();
              res.on("end", resolve);
            })
            .on("error", reject),
        ),
    ),
  );
}

/** Runs the workload; `started` is called once the connections are open, right before the clock starts. */
async function drive(url: string, tag: string, w: Workload, started: () => void): Promise<Figures> {
  const def = testDefinition();
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: Infinity });
  const target = new URL(url);
  await preconnect(agent, target, w.sessions);
  started();
  const latencies: number[] = [];
  const done: number[] = [];
  const byTurn: number[][] = Array.from({ length: w.turns }, () => []);
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: w.sessions }, async (_, s) => {
      const id = `bench-${tag}-${s}`;
      for (let t = 1; t <= w.turns; t++) {
        const started = performance.now();
        const d = await turnOver(
          agent,
          target,
          id,
          JSON.stringify({
            input: `question ${t} of session ${s}`,
            ...(t === 1 ? { definition: def, user: { id: `user-${s}` } } : {}),
            approve: "all",
            script: [{ reply: `answer ${t} of session ${s}: noted, anything else?` }],
          }),
        );
        latencies.push(performance.now() - started);
        if (process.env.BENCH_TRACE) byTurn[t - 1].push(performance.now() - started);
        if (d.status !== "ok" || d.turn !== t)
          throw new Error(`service bench: ${id} turn ${t} ended ${JSON.stringify(d)}`);
      }
      done.push((performance.now() - t0) / 1000);
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  agent.destroy();
  if (process.env.BENCH_TRACE)
    console.log(
      byTurn.map((l, i) => `turn ${i + 1}: median ${fmt(median(l))} max ${fmt(Math.max(...l))}`).join("\n"),
    );
  latencies.sort((a, b) => a - b);
  done.sort((a, b) => a - b);
  return {
    turns: latencies.length,
    seconds,
    p50: pct(latencies, 0.5),
    p99: pct(latencies, 0.99),
    max: latencies[latencies.length - 1],
    sessionDone: [done[0], pct(done, 0.5), done[done.length - 1]],
  };
}

/** What the database did for a workload: statements (pg_stat_statements) and commits, reset before. */
async function pgCounters(url: string, reset: boolean): Promise<{ statements: number; xacts: number }> {
  const c = new PgClient({ connectionString: url });
  await c.connect();
  try {
    if (reset) {
      await c.query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
      await c.query("SELECT pg_stat_statements_reset(), pg_stat_reset()");
      return { statements: 0, xacts: 0 };
    }
    await c.query("SELECT pg_stat_force_next_flush()").catch(() => {});
    const [st] = (
      await c.query(
        `SELECT COALESCE(sum(calls), 0)::float AS n FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
         WHERE d.datname = current_database() AND s.query NOT ILIKE '%pg_stat%'`,
      )
    ).rows;
    if (process.env.BENCH_PGSS)
      console.log(
        (
          await c.query(
            `SELECT calls, rows, round(total_exec_time::numeric,1) AS exec_ms, round(total_plan_time::numeric,1) AS plan_ms, plans, wal_bytes, left(regexp_replace(query, '\\s+', ' ', 'g'), 90) AS q FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = current_database() ORDER BY total_exec_time DESC LIMIT 8`,
          )
        ).rows,
      );
    const [x] = (
      await c.query("SELECT xact_commit::float AS n FROM pg_stat_database WHERE datname = current_database()")
    ).rows;
    return { statements: st.n as number, xacts: x.n as number };
  } finally {
    await c.end();
  }
}

async function runOn(
  dist: string,
  store: "pglite" | "postgres",
  w: Workload,
  pg: PostgresServer | undefined,
  tag: string,
): Promise<Figures> {
  let args: string[];
  let dbUrl: string | undefined;
  if (store === "postgres") {
    dbUrl = await pg!.createDatabase(`bench_${tag}`);
    args = ["--database-url", dbUrl];
  } else args = ["--data", await freshPgliteDir()];
  // BENCH_SERVICE_ARGS: more `serve` flags for this build (e.g. --warm-up 0: a cold service).
  const extra =
    dist === path.resolve(__dirname)
      ? (process.env.BENCH_SERVICE_ARGS?.split(" ").filter(Boolean) ?? [])
      : [];
  const svc = await spawnService(dist, [...args, ...extra]);
  try {
    if (dbUrl) await pgCounters(dbUrl, true);
    let f: Figures;
    let cpu0 = { service: 0, db: 0 as number | undefined, client: process.cpuUsage() };
    try {
      f = await drive(svc.url, tag, w, () => {
        cpu0 = { service: svc.cpuSeconds(), db: pg?.cpuSeconds(), client: process.cpuUsage() };
      });
      const client = process.cpuUsage(cpu0.client);
      const perTurn = (s: number) => (s * 1000) / f.turns;
      f.cpu = {
        service: perTurn(svc.cpuSeconds() - cpu0.service),
        ...(store === "postgres" ? { db: perTurn(pg!.cpuSeconds() - cpu0.db!) } : {}),
        client: perTurn((client.user + client.system) / 1e6),
      };
    } catch (err) {
      throw new Error(
        `service bench ${tag} (${dist}): ${(err as Error).message}; ${svc.ended() ?? "the service still runs"}`,
      );
    }
    f.rssMb = svc.peakRssMb();
    if (dbUrl) {
      const n = await pgCounters(dbUrl, false);
      f.statementsPerTurn = n.statements / f.turns;
      f.xactsPerTurn = n.xacts / f.turns;
    }
    return f;
  } finally {
    await svc.stop();
  }
}

async function engineFloor(w: Workload): Promise<Figures> {
  const def = testDefinition();
  const latencies: number[] = [];
  const done: number[] = [];
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: w.sessions }, async (_, s) => {
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
      for (let t = 1; t <= w.turns; t++) {
        const started = performance.now();
        backend.enqueue({ kind: "reply", text: `answer ${t} of session ${s}: noted, anything else?` });
        const r = await session.send(`question ${t} of session ${s}`);
        if (r.status !== "ok") throw new Error(`service bench baseline: turn ${t} ${r.status}`);
        latencies.push(performance.now() - started);
      }
      done.push((performance.now() - t0) / 1000);
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  done.sort((a, b) => a - b);
  return {
    turns: latencies.length,
    seconds,
    p50: pct(latencies, 0.5),
    p99: pct(latencies, 0.99),
    max: latencies[latencies.length - 1],
    sessionDone: [done[0], pct(done, 0.5), done[done.length - 1]],
  };
}

/** The median of each figure over the rounds. */
function medianOf(rounds: Figures[]): Figures {
  const m = (f: (x: Figures) => number | undefined) => {
    const xs = rounds.map(f).filter((x): x is number => x !== undefined);
    return xs.length ? median(xs) : undefined;
  };
  return {
    turns: rounds[0].turns,
    seconds: m((x) => x.seconds)!,
    p50: m((x) => x.p50)!,
    p99: m((x) => x.p99)!,
    max: m((x) => x.max)!,
    sessionDone: [0, 1, 2].map((i) => m((x) => x.sessionDone[i])!) as [number, number, number],
    rssMb: m((x) => x.rssMb),
    cpu: rounds[0].cpu && {
      service: m((x) => x.cpu?.service)!,
      db: m((x) => x.cpu?.db),
      client: m((x) => x.cpu?.client)!,
    },
    statementsPerTurn: m((x) => x.statementsPerTurn),
    xactsPerTurn: m((x) => x.xactsPerTurn),
  };
}

const rows = (name: string, f: Figures, target?: { tps: number; p99: number }): Row[] => {
  const out: Row[] = [
    {
      name: `${name}: turns/s`,
      value: `${(f.turns / f.seconds).toFixed(0)} (${f.turns} turns in ${f.seconds.toFixed(1)} s)`,
      ...(target ? { target: `>= ${target.tps}` } : {}),
    },
    {
      name: `${name}: turn latency p50 / p99 / max ms`,
      value: `${fmt(f.p50)} / ${fmt(f.p99)} / ${fmt(f.max)}`,
      ...(target ? { target: `p99 < ${target.p99}` } : {}),
    },
    {
      name: `${name}: sessions done after s (first / median / last)`,
      value: f.sessionDone.map((s) => s.toFixed(2)).join(" / "),
    },
  ];
  if (f.rssMb !== undefined) out.push({ name: `${name}: service peak RSS MB`, value: f.rssMb.toFixed(0) });
  if (f.cpu)
    out.push({
      name: `${name}: CPU ms per turn: service${f.cpu.db !== undefined ? " / PostgreSQL" : ""} / load generator`,
      value: [f.cpu.service, f.cpu.db, f.cpu.client]
        .filter((x) => x !== undefined)
        .map((x) => x!.toFixed(2))
        .join(" / "),
    });
  if (f.statementsPerTurn !== undefined)
    out.push({
      name: `${name}: SQL statements / transactions per turn`,
      value: `${f.statementsPerTurn.toFixed(2)} / ${f.xactsPerTurn!.toFixed(2)}`,
    });
  return out;
};

export async function runServiceBench(): Promise<void> {
  const rounds = Math.max(1, Number(process.env.BENCH_SERVICE_ROUNDS ?? 1));
  const builds: [string, string][] = [["this build", path.resolve(__dirname)]];
  const baselineDist = process.env.BENCH_BASELINE_DIST;
  if (baselineDist) {
    if (!fs.existsSync(path.join(baselineDist, "cli.js")))
      throw new Error(`BENCH_BASELINE_DIST=${baselineDist} holds no cli.js (a built dist/ folder)`);
    builds.unshift(["baseline", path.resolve(baselineDist)]);
  }
  const only = process.env.BENCH_SERVICE_ONLY; // e.g. pglite100x20,postgresql100x20,postgresql1000x5
  // BENCH_SERVICE_SHAPE=SxT replaces every workload's shape (to look at one part, e.g. 100x1: first turns).
  const shape = /^(\d+)x(\d+)$/.exec(process.env.BENCH_SERVICE_SHAPE ?? "");
  const small: Workload = shape ? { sessions: +shape[1], turns: +shape[2] } : { sessions: 100, turns: 20 };
  const large: Workload = shape ? small : { sessions: 1000, turns: 5 };
  const workloads: {
    name: string;
    store: "pglite" | "postgres";
    w: Workload;
    target?: { tps: number; p99: number };
  }[] = [
    { name: "PGlite 100x20", store: "pglite" as const, w: small, target: { tps: 500, p99: 1000 } },
    { name: "PostgreSQL 100x20", store: "postgres" as const, w: small, target: { tps: 1000, p99: 250 } },
    { name: "PostgreSQL 1000x5", store: "postgres" as const, w: large },
  ].filter((x) => !only || only.split(",").includes(x.name.toLowerCase().replace(/\s/g, "")));

  const out: Row[] = rows("engine in process, in-memory sink, 100x20 (floor)", await engineFloor(small));
  const pg = workloads.some((x) => x.store === "postgres")
    ? await startPostgres({
        fsync: true,
        settings: {
          shared_preload_libraries: "pg_stat_statements",
          ...(process.env.BENCH_PGSS ? { "pg_stat_statements.track_planning": "on" } : {}),
        },
      })
    : undefined;
  try {
    let n = 0;
    for (const x of workloads) {
      const results = new Map<string, Figures[]>(builds.map(([b]) => [b, []]));
      for (let r = 0; r < rounds; r++)
        for (const [b, dist] of builds)
          results.get(b)!.push(await runOn(dist, x.store, x.w, pg, `${x.store}_${++n}`));
      for (const [b] of builds)
        out.push(
          ...rows(`${x.name}, ${b}`, medianOf(results.get(b)!), b === "this build" ? x.target : undefined),
        );
    }
  } finally {
    await pg?.stop();
    removeTempDirs();
  }
  printTable(
    `runtime service (node dist/cli.js serve): concurrent sessions x turns, scripted local inference, over HTTP + SSE` +
      `${rounds > 1 ? `, medians of ${rounds} rounds` : ""}`,
    out,
  );
}
