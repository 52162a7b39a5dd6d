// `statecraft serve`: the Statecraft runtime service (sessions in PostgreSQL,
// the AgentCore Runtime contract, REST inspection). Runs until SIGINT/SIGTERM.

import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { ServiceConfigError, startService } from "../service";
import { StoreError } from "../service/db";
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

/** The flags of `statecraft serve` (the docs test parses the documented commands against them). */
export const SERVE_FLAGS = {
  port: { type: "string" },
  host: { type: "string" },
  data: { type: "string" },
  "database-url": { type: "string" },
  auth: { type: "string" },
} satisfies Flags;

export async function serveCommand(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: SERVE_FLAGS,
  });
  if (positionals.length)
    throw new UsageError(
      "usage: statecraft serve [--port 8080] [--host 127.0.0.1] [--data DIR] [--database-url URL] [--auth FILE]",
    );
  const port = values.port === undefined ? 8080 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--port must be a port number from 0 to 65535, not '${values.port}'`);
  const tokens = values.auth ? readAuthFile(path.resolve(io.cwd, values.auth)) : undefined;
  let service;
  try {
    service = await startService({
      port,
      host: values.host,
      dataDir: path.resolve(io.cwd, values.data ?? path.join(".statecraft", "runtime")),
      databaseUrl: values["database-url"],
      tokens,
      env: io.env,
      baseDir: io.cwd,
    });
  } catch (err) {
    if (err instanceof ServiceConfigError || err instanceof StoreError) {
      io.stderr(`statecraft serve: ${err.message}\n`);
      return 2;
    }
    const code = (err as { code?: string }).code;
    if (code === "EADDRINUSE" || code === "EACCES" || code === "EADDRNOTAVAIL") {
      io.stderr(
        `statecraft serve: cannot listen on ${values.host ?? "127.0.0.1"}:${port} (${code}); pick another --port or --host\n`,
      );
      return 2;
    }
    throw err;
  }
  const store = service.store === "pglite" ? "embedded PGlite" : "PostgreSQL";
  io.stdout(`statecraft runtime service listening on ${service.url} (${store})\n`);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      io.stderr(`statecraft serve: ${signal}, stopping\n`);
      process.off("SIGINT", onInt);
      process.off("SIGTERM", onTerm);
      service.close().then(resolve, (err: unknown) => {
        io.stderr(`statecraft serve: error while stopping: ${(err as Error).message}\n`);
        resolve();
      });
    };
    const onInt = () => stop("SIGINT");
    const onTerm = () => stop("SIGTERM");
    process.on("SIGINT", onInt);
    process.on("SIGTERM", onTerm);
  });
  return 0;
}
