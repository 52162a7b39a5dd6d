// A real PostgreSQL server for tests and benchmarks: initdb in a temporary
// folder, `postgres` on a free loopback port, stopped and removed after.
// The server comes from the Debian package (scripts/postgres/setup.sh). As
// root (PostgreSQL refuses to run as root) it runs as the `postgres` user.
// Nothing is skipped: when it cannot start, the caller gets an error saying why.

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { Client } from "pg";
import { waitFor } from "../helpers/waitFor";

export interface PostgresServer {
  /** postgres://postgres@127.0.0.1:PORT/postgres */
  url: string;
  port: number;
  /** A new empty database on this server, as a URL. */
  createDatabase(name?: string): Promise<string>;
  /** CPU seconds the server has used so far: the postmaster, its live processes and those that exited. */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

const CLK_TCK = 100;

/** utime + stime (+ cutime + cstime: children reaped) of a process, in seconds; 0 when it is gone. */
export function processCpuSeconds(pid: number, withReaped = false): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command (which may hold spaces) start at state: utime is the 12th after it.
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const [ut, st, cut, cst] = [11, 12, 13, 14].map((i) => Number(f[i]));
    return (ut + st + (withReaped ? cut + cst : 0)) / CLK_TCK;
  } catch {
    return 0;
  }
}

/** The pids whose parent is `ppid`. */
function childrenOf(ppid: number): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, "utf8");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === ppid) out.push(Number(d));
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

function binDir(): string {
  const root = "/usr/lib/postgresql";
  const versions = fs.existsSync(root)
    ? fs
        .readdirSync(root)
        .filter((v) => fs.existsSync(path.join(root, v, "bin", "postgres")))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (!versions.length)
    throw new Error(
      "PostgreSQL is not installed (no /usr/lib/postgresql/VERSION/bin/postgres): run `bash scripts/postgres/setup.sh` (npm test does)",
    );
  return path.join(root, versions[0], "bin");
}

const asRoot = process.getuid?.() === 0;

/** Runs a PostgreSQL program as the postgres user when we are root. */
function command(bin: string, args: string[]): [string, string[]] {
  return asRoot ? ["runuser", ["-u", "postgres", "--", bin, ...args]] : [bin, args];
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

let counter = 0;

export async function startPostgres(
  options: {
    fsync?: boolean;
    /** More server settings (-c name=value), e.g. shared_preload_libraries. */ settings?: Record<
      string,
      string
    >;
  } = {},
): Promise<PostgresServer> {
  const bin = binDir();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "statecraft-pg-"));
  const data = path.join(dir, "data");
  fs.mkdirSync(data);
  if (asRoot) spawnSync("chown", ["-R", "postgres:postgres", dir]);
  const [initCmd, initArgs] = command(path.join(bin, "initdb"), [
    "-D",
    data,
    "-U",
    "postgres",
    "-A",
    "trust",
    "-E",
    "UTF8",
    "--locale=C",
    "--no-sync",
  ]);
  const init = spawnSync(initCmd, initArgs, { encoding: "utf8" });
  if (init.status !== 0) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(
      `PostgreSQL initdb failed (${init.error?.message ?? `exit ${init.status}`}): ${init.stderr || init.stdout}`,
    );
  }
  const port = await freePort();
  const [cmd, args] = command(path.join(bin, "postgres"), [
    "-D",
    data,
    "-p",
    String(port),
    "-k",
    dir,
    "-c",
    "listen_addresses=127.0.0.1",
    "-c",
    `fsync=${options.fsync === false ? "off" : "on"}`,
    "-c",
    "max_connections=200",
    ...Object.entries(options.settings ?? {}).flatMap(([k, v]) => ["-c", `${k}=${v}`]),
  ]);
  const child: ChildProcess = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  child.stderr!.on("data", (c: Buffer) => (log = (log + c.toString()).slice(-4000)));
  let exited = false;
  const exit = new Promise<void>((r) =>
    child.once("exit", () => {
      exited = true;
      r();
    }),
  );
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let refused = "";
  try {
    await waitFor(
      () => `PostgreSQL to accept connections on port ${port}: ${refused}; ${log.trim()}`,
      async () => {
        if (exited)
          throw new Error(`PostgreSQL did not start: ${log.trim() || "it exited without a message"}`);
        const c = new Client({ connectionString: url });
        try {
          await c.connect();
          await c.query("SELECT 1");
          await c.end();
          return true;
        } catch (err) {
          await c.end().catch(() => {});
          refused = (err as Error).message;
          return false;
        }
      },
      { timeoutMs: 30_000, everyMs: 100 },
    );
  } catch (err) {
    child.kill("SIGKILL");
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    url,
    port,
    async createDatabase(name = `t_${process.pid}_${++counter}`) {
      const c = new Client({ connectionString: url });
      await c.connect();
      try {
        await c.query(`CREATE DATABASE "${name}"`);
      } finally {
        await c.end();
      }
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    cpuSeconds() {
      const pid = Number(fs.readFileSync(path.join(data, "postmaster.pid"), "utf8").split("\n")[0]);
      return processCpuSeconds(pid, true) + childrenOf(pid).reduce((sum, c) => sum + processCpuSeconds(c), 0);
    },
    async stop() {
      // The postmaster's pid (runuser's child when we are root): SIGINT is PostgreSQL's fast shutdown.
      let pid: number | undefined;
      try {
        pid = Number(fs.readFileSync(path.join(data, "postmaster.pid"), "utf8").split("\n")[0]);
      } catch {
        pid = child.pid;
      }
      if (!exited && pid) {
        try {
          process.kill(pid, "SIGINT");
        } catch {
          // Already gone.
        }
        const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        await exit;
        clearTimeout(timer);
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
