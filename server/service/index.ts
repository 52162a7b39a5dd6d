// The Statecraft runtime service (`statecraft serve`): an HTTP service that
// holds sessions in PostgreSQL (embedded PGlite, or a server shared by a
// fleet) and runs their turns. It speaks the Amazon Bedrock AgentCore Runtime
// container contract (GET /ping, POST /invocations) plus REST inspection
// endpoints; see docs/runtime-service.md for the protocol.

import { timingSafeEqual } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { SESSION_HEADER } from "../protocol/runtimeService";
import { openDb, type Db } from "./db";
import {
  errorBody,
  HttpError,
  notFound,
  onlyFields,
  parseJsonObject,
  readBody,
  sendError,
  sendJson,
  SseStream,
} from "./http";
import { checkSessionId, RuntimeService } from "./runtimeService";
import { prepareStatements } from "./store";
import { warmUp } from "./warmUp";
import { TokenVault, vaultKey, VaultKeyError, vaultRoute } from "./vault";
import type { Telemetry } from "./telemetry";

export interface ServiceOptions {
  /** 0 = an ephemeral port. Default 8080 (the AgentCore Runtime port). */
  port?: number;
  /** Default 127.0.0.1. Anything but loopback needs a token. */
  host?: string;
  /** The embedded database's folder (default .statecraft/runtime), when no databaseUrl. */
  dataDir?: string;
  /** A PostgreSQL server (else env DATABASE_URL, else the embedded database). */
  databaseUrl?: string;
  /** Bearer token -> actor id. Default: env STATECRAFT_TOKEN as actor "default". */
  tokens?: Record<string, string>;
  env?: NodeJS.ProcessEnv;
  /** Largest accepted request body (default 4 MiB). */
  maxBodyBytes?: number;
  /** Folder tools' relative paths start from (default the current folder). */
  baseDir?: string;
  /** How long a turn lease lasts without renewal (default 30 s): a dead instance's turn is taken over after it. */
  leaseMs?: number;
  /** How long a turn waits for an approval (approve "ask") before refusing (default 5 min). */
  approvalTimeoutMs?: number;
  /** How often waiting turns look for an answer in the database (default 100 ms). */
  pollMs?: number;
  /** OpenTelemetry (service/telemetry.ts): each turn traced, continuing its request's `traceparent`, and the service's metrics. */
  telemetry?: Telemetry;
  /** Scripted turns run (and rolled back) before listening, so the first real turns run warm code (warmUp.ts). Default 0. */
  warmUpTurns?: number;
}

export interface RunningService {
  url: string;
  /** Stops listening, cancels running turns (recording their end) and closes the database. */
  close(): Promise<void>;
  /** Embedded or server database. */
  readonly store: "pglite" | "postgres";
  /** The warm-up before listening: turns run and how long it took, or why it failed (the service runs anyway). */
  readonly warmUp?: { turns: number; seconds: number } | { error: string };
}

export class ServiceConfigError extends Error {}

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost", "::ffff:127.0.0.1"]);
export const isLoopback = (host: string) => LOOPBACK.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);

/** Node lower-cases the headers it receives. */
const SESSION_HEADER_KEY = SESSION_HEADER.toLowerCase();

function tokensFrom(o: ServiceOptions, env: NodeJS.ProcessEnv): Map<Buffer, string> {
  const map = new Map<Buffer, string>();
  const tokens = o.tokens ?? (env.STATECRAFT_TOKEN ? { [env.STATECRAFT_TOKEN]: "default" } : {});
  for (const [token, actor] of Object.entries(tokens)) {
    if (!token || typeof actor !== "string" || !actor)
      throw new ServiceConfigError("every token must map to a non-empty actor id");
    map.set(Buffer.from(token), actor);
  }
  return map;
}

/** The actor a request acts for; with no token configured (loopback only) everyone is actor "default". */
function authenticate(req: http.IncomingMessage, tokens: Map<Buffer, string>): string {
  if (tokens.size === 0) return "default";
  const header = req.headers.authorization;
  const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  if (!m)
    throw new HttpError(
      "unauthorized",
      header
        ? "the Authorization header must be 'Bearer TOKEN'"
        : "this service needs a token: send 'Authorization: Bearer TOKEN'",
    );
  const given = Buffer.from(m[1]);
  let actor: string | undefined;
  // Compare with every token in constant time, so timing says nothing about which is close.
  for (const [token, a] of tokens)
    if (token.length === given.length && timingSafeEqual(token, given) && actor === undefined) actor = a;
  if (!actor) throw new HttpError("unauthorized", "the token is not valid for this service");
  return actor;
}

const ACTIONS = ["list_sessions", "get_session", "events", "snapshot", "fork", "approve", "end", "delete"];

export async function startService(options: ServiceOptions = {}): Promise<RunningService> {
  const env = options.env ?? process.env;
  const host = options.host ?? "127.0.0.1";
  const tokens = tokensFrom(options, env);
  if (tokens.size === 0 && !isLoopback(host))
    throw new ServiceConfigError(
      `refusing to listen on ${host} without a token: anyone who can reach it could run agents. ` +
        `Set STATECRAFT_TOKEN or pass --auth FILE (a JSON object {"token": "actor"}), or listen on 127.0.0.1`,
    );
  let key: Buffer | undefined;
  try {
    key = vaultKey(env);
  } catch (err) {
    if (err instanceof VaultKeyError) throw new ServiceConfigError(err.message);
    throw err;
  }
  const maxBody = options.maxBodyBytes ?? 4 * 1024 * 1024;
  const databaseUrl = options.databaseUrl ?? env.DATABASE_URL;
  const db: Db = await openDb({
    dataDir: options.dataDir ?? path.join(".statecraft", "runtime"),
    databaseUrl: databaseUrl || undefined,
  });
  const vault = new TokenVault(db, key);
  const service = new RuntimeService({
    db,
    vault,
    env,
    baseDir: path.resolve(options.baseDir ?? "."),
    leaseMs: options.leaseMs ?? 30_000,
    approvalTimeoutMs: options.approvalTimeoutMs ?? 300_000,
    pollMs: options.pollMs ?? 100,
  });
  try {
    // The embedded database belongs to this one process: leases left by a previous run are dead.
    if (db.kind === "pglite") await db.query("UPDATE sessions SET lease_owner = NULL, lease_until = NULL");
    await service.recover();
    await db.eachConnection(prepareStatements);
  } catch (err) {
    await db.close().catch(() => {});
    throw err;
  }
  let warmed: RunningService["warmUp"];
  if (options.warmUpTurns) {
    const t0 = performance.now();
    const sessions = Math.min(20, options.warmUpTurns);
    try {
      const turns = await warmUp(db, { sessions, turns: Math.ceil(options.warmUpTurns / sessions) });
      warmed = { turns, seconds: (performance.now() - t0) / 1000 };
    } catch (err) {
      warmed = { error: (err as Error).message };
    }
  }
  let lastUpdate = Math.floor(Date.now() / 1000);

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://service");
    let parts: string[];
    try {
      parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
    } catch {
      throw new HttpError("bad_request", `the path ${url.pathname} is not valid percent-encoding`);
    }
    const method = req.method ?? "GET";
    if (method === "GET" && url.pathname === "/ping") {
      sendJson(res, 200, {
        status: service.busy ? "HealthyBusy" : "Healthy",
        time_of_last_update: lastUpdate,
      });
      return;
    }
    const actor = authenticate(req, tokens);
    const body = async () =>
      parseJsonObject(await readBody(req, maxBody), method !== "POST" || parts[0] !== "invocations");

    if (method === "POST" && url.pathname === "/invocations") {
      const payload = await body();
      const sessionHeader = req.headers[SESSION_HEADER_KEY];
      const sessionId = Array.isArray(sessionHeader) ? sessionHeader[0] : sessionHeader;
      if (typeof payload.action === "string" || "action" in payload) {
        const { status, result } = await runAction(payload, sessionId, actor);
        sendJson(res, status, result);
        return;
      }
      const id = checkSessionId(sessionId, "the session header");
      const key = req.headers["idempotency-key"];
      const stream = new SseStream(res);
      lastUpdate = Math.floor(Date.now() / 1000);
      const traced = options.telemetry?.serviceTurn(req.headers);
      try {
        await service.turn(actor, id, payload, Array.isArray(key) ? key[0] : key, stream, traced);
      } catch (err) {
        if (res.headersSent) {
          const e = err instanceof HttpError ? err : undefined;
          stream.send(
            "error",
            errorBody(e?.code ?? "internal", e ? e.message : `the turn failed: ${(err as Error).message}`),
          );
        } else throw err;
      } finally {
        traced?.finish();
        lastUpdate = Math.floor(Date.now() / 1000);
      }
      stream.end();
      return;
    }

    const vaultAnswer = await vaultRoute(vault, method, parts, actor, body);
    if (vaultAnswer) return sendJson(res, vaultAnswer.status, vaultAnswer.result);

    if (parts[0] === "sessions") {
      const id = parts[1] === undefined ? undefined : checkSessionId(parts[1], "the session id in the path");
      if (method === "GET" && parts.length === 1) return sendJson(res, 200, await service.list(actor));
      if (method === "GET" && parts.length === 2) return sendJson(res, 200, await service.get(actor, id!));
      if (method === "GET" && parts.length === 3 && parts[2] === "events")
        return sendJson(
          res,
          200,
          await service.events(
            actor,
            id!,
            url.searchParams.get("after") ?? undefined,
            url.searchParams.get("limit") ?? undefined,
          ),
        );
      if (method === "GET" && parts.length === 5 && parts[2] === "turns" && parts[4] === "snapshot")
        return sendJson(res, 200, await service.snapshot(actor, id!, parts[3]));
      if (method === "POST" && parts.length === 3 && parts[2] === "fork")
        return sendJson(res, 201, await service.fork(actor, id!, await body()));
      if (method === "POST" && parts.length === 4 && parts[2] === "approvals")
        return sendJson(res, 200, await service.approve(actor, id!, parts[3], await body()));
      if (method === "DELETE" && parts.length === 2) {
        await service.delete(actor, id!);
        return sendJson(res, 204, undefined);
      }
    }
    throw notFound(
      `no endpoint ${method} ${url.pathname}; the service answers GET /ping, POST /invocations, GET /sessions, ` +
        `GET /sessions/{id}, GET /sessions/{id}/events, GET /sessions/{id}/turns/{n}/snapshot, ` +
        `POST /sessions/{id}/fork, POST /sessions/{id}/approvals/{callId}, DELETE /sessions/{id}, ` +
        `GET /users/{userId}/tokens, PUT and DELETE /users/{userId}/tokens/{name}`,
    );
  };

  const runAction = async (
    payload: Record<string, unknown>,
    sessionId: string | undefined,
    actor: string,
  ): Promise<{ status: number; result: unknown }> => {
    const { action, ...rest } = payload;
    if (typeof action !== "string" || !ACTIONS.includes(action))
      throw new HttpError("bad_request", `'action' must be one of ${ACTIONS.join(", ")}`);
    const allowed: Record<string, string[]> = {
      list_sessions: [],
      get_session: [],
      events: ["after", "limit"],
      snapshot: ["turn"],
      fork: ["turn"],
      approve: ["callId", "approved"],
      end: ["scores"],
      delete: [],
    };
    onlyFields(rest, allowed[action], `the '${action}' action`);
    if (action === "list_sessions") return { status: 200, result: await service.list(actor) };
    const id = checkSessionId(sessionId, "the session header");
    switch (action) {
      case "get_session":
        return { status: 200, result: await service.get(actor, id) };
      case "events":
        return { status: 200, result: await service.events(actor, id, rest.after, rest.limit) };
      case "snapshot":
        return { status: 200, result: await service.snapshot(actor, id, rest.turn) };
      case "fork":
        return { status: 201, result: await service.fork(actor, id, rest) };
      case "approve": {
        if (typeof rest.callId !== "string" || !rest.callId)
          throw new HttpError("bad_request", "'callId' (the tool call waiting for approval) is required");
        return {
          status: 200,
          result: await service.approve(actor, id, rest.callId, { approved: rest.approved }),
        };
      }
      case "end":
        return { status: 200, result: await service.end(actor, id, rest.scores) };
      default:
        await service.delete(actor, id);
        return { status: 204, result: undefined };
    }
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (err instanceof HttpError) {
        sendError(res, err);
        // A refused upload is not read any further; the connection closes after the answer.
        if (err.code === "too_large") res.once("finish", () => req.destroy());
        return;
      }
      const message = `internal error: ${(err as Error)?.message ?? String(err)}`;
      if (!res.headersSent) sendJson(res, 500, errorBody("internal", message));
      else res.end();
    });
  });
  server.keepAliveTimeout = 65_000;

  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 8080, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (err) {
    await db.close().catch(() => {});
    throw err;
  }
  const address = server.address() as AddressInfo;
  const shown = address.family === "IPv6" ? `[${address.address}]` : address.address;
  let closed: Promise<void> | undefined;
  return {
    url: `http://${shown}:${address.port}`,
    store: db.kind,
    ...(warmed ? { warmUp: warmed } : {}),
    close: () =>
      (closed ??= (async () => {
        const stopped = new Promise<void>((r) => server.close(() => r()));
        await service.shutdown();
        server.closeAllConnections();
        await stopped;
        await db.close();
      })()),
  };
}
