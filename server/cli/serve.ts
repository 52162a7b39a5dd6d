// `statecraft serve`: the Statecraft runtime service (sessions in PostgreSQL,
// the AgentCore Runtime contract, REST inspection). Runs until SIGINT/SIGTERM.

import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { ServiceConfigError, startService } from "../service";
import { StoreError } from "../service/db";
import { startTelemetry, TelemetryConfigError, type Telemetry } from "../service/telemetry";
import { UsageError, type CliIO, type Flags } from "./io";

function readAuthFile(file: string): Record<string, string> {
  let data: unknown;
  try {
    data = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (err) {
    throw new UsageError(`cannot read the auth file ${file}: ${(err as Error).message}`);
  }
  if (typeof data !== "object" || data === null || Array.isArray(data))
    throw new UsageError(`${file}: the auth file is a JSON object {"token": "actor id", ...}`);
  const tokens = data as Record<string, unknown>;
  for (const [token, actor] of Object.entries(tokens))
    if (!token || typeof actor !== "string" || !actor)
      throw new UsageError(`${file}: every token must map to a non-empty actor id (a string)`);
  if (!Object.keys(tokens).length) throw new UsageError(`${file}: the auth file has no token`);
  return tokens as Record<string, string>;
}

function listenMessage(host: string, port: number, err: NodeJS.ErrnoException): string {
  const why =
    err.code === "EADDRINUSE"
      ? "the port is in use"
      : err.code === "EACCES"
        ? "permission denied (ports below 1024 need privileges)"
        : err.code === "EADDRNOTAVAIL" || err.code === "ENOTFOUND"
          ? "no such address on this machine"
          : (err.code ?? err.message);
  return `cannot listen on ${host}:${port}: ${why}; pick another --port or --host`;
}

/** Why the service could not listen on host:port (tried, then released), or undefined. */
function listenProblem(host: string, port: number): Promise<string | undefined> {
  if (port === 0) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once("error", (err: NodeJS.ErrnoException) => resolve(listenMessage(host, port, err)));
    probe.listen(port, host, () => probe.close(() => resolve(undefined)));
  });
}

/** The flags of `statecraft serve` (the docs test parses the documented commands against them). */
export const SERVE_FLAGS = {
  port: { type: "string" },
  host: { type: "string" },
  data: { type: "string" },
  "database-url": { type: "string" },
  auth: { type: "string" },
  "max-body-bytes": { type: "string" },
  "warm-up": { type: "string" },
} satisfies Flags;

/** Scripted turns run (in a rolled-back transaction) before listening, by default. */
const DEFAULT_WARM_UP = 200;

export async function serveCommand(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: SERVE_FLAGS,
  });
  if (positionals.length)
    throw new UsageError(
      "usage: statecraft serve [--port 8080] [--host 127.0.0.1] [--data DIR] [--database-url URL] [--auth FILE] [--max-body-bytes N] [--warm-up N]",
    );
  const port = values.port === undefined ? 8080 : Number(values.port);
  if (!/^\d+$/.test(values.port ?? "0") || port > 65535)
    throw new UsageError(`--port must be a port number from 0 to 65535, not '${values.port}'`);
  const maxBodyBytes = values["max-body-bytes"] === undefined ? undefined : Number(values["max-body-bytes"]);
  if (maxBodyBytes !== undefined && (!/^\d+$/.test(values["max-body-bytes"]!) || maxBodyBytes < 1))
    throw new UsageError(
      `--max-body-bytes must be a whole number of bytes, 1 or more, not '${values["max-body-bytes"]}'`,
    );
  const warmUpTurns = values["warm-up"] === undefined ? DEFAULT_WARM_UP : Number(values["warm-up"]);
  if (!/^\d+$/.test(values["warm-up"] ?? "0") || warmUpTurns > 100_000)
    throw new UsageError(
      `--warm-up must be a number of turns from 0 (none) to 100000, not '${values["warm-up"]}'`,
    );
  const tokens = values.auth ? readAuthFile(path.resolve(io.cwd, values.auth)) : undefined;
  const host = values.host ?? "127.0.0.1";
  // The port first: a port in use must not leave a new database behind.
  const busy = await listenProblem(host, port);
  if (busy) {
    io.stderr(`statecraft serve: ${busy}\n`);
    return 2;
  }
  let telemetry: Telemetry | undefined;
  try {
    telemetry = startTelemetry(io.env);
  } catch (err) {
    if (err instanceof TelemetryConfigError) throw new UsageError(err.message);
    throw err;
  }
  let service;
  try {
    service = await startService({
      port,
      host: values.host,
      maxBodyBytes,
      dataDir: path.resolve(io.cwd, values.data ?? path.join(".statecraft", "runtime")),
      databaseUrl: values["database-url"],
      tokens,
      env: io.env,
      baseDir: io.cwd,
      telemetry,
      warmUpTurns,
    });
  } catch (err) {
    await telemetry?.shutdown();
    if (err instanceof ServiceConfigError || err instanceof StoreError) {
      io.stderr(`statecraft serve: ${err.message}\n`);
      return 2;
    }
    const e = err as NodeJS.ErrnoException;
    if (e.syscall === "listen" || e.syscall === "bind") {
      io.stderr(`statecraft serve: ${listenMessage(host, port, e)}\n`);
      return 2;
    }
    throw err;
  }
  const store = service.store === "pglite" ? "embedded PGlite" : "PostgreSQL";
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      io.stderr(`statecraft serve: ${signal}, stopping\n`);
      process.off("SIGINT", onInt);
      process.off("SIGTERM", onTerm);
      // The turns' spans are exported once their ends are recorded, within the telemetry's timeout.
      const closed = service.close().catch((err: unknown) => {
        io.stderr(`statecraft serve: error while stopping: ${(err as Error).message}\n`);
      });
      void closed
        .then(() => telemetry?.shutdown())
        .then((warning) => {
          if (warning) io.stderr(`warning: ${warning}\n`);
          resolve();
        });
    };
    const onInt = () => stop("SIGINT");
    const onTerm = () => stop("SIGTERM");
    process.on("SIGINT", onInt);
    process.on("SIGTERM", onTerm);
    const w = service.warmUp;
    if (w && "error" in w)
      io.stderr(`statecraft serve: the warm-up failed (${w.error}); the first turns will be slower\n`);
    // Only now: a supervisor that stops the service as soon as it reads this line (a test, a container
    // runtime) must find the handlers in place, or its SIGTERM kills the process before it closes the store.
    io.stdout(
      `statecraft runtime service listening on ${service.url} (${store})` +
        (telemetry ? `; traces and metrics to ${telemetry.config.tracesUrl}` : "") +
        (w && "turns" in w ? `; warmed up with ${w.turns} turns in ${w.seconds.toFixed(2)} s` : "") +
        "\n",
    );
  });
  return 0;
}
