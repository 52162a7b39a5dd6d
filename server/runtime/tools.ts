// Runs tools: `command` (JSON on stdin, one JSON value on stdout), `http`
// (templated URL, JSON body, the actor as a header; through a connection: its
// URL, headers and credential), `sql` on a connection and, through a
// pluggable client, `mcp`. Every failure becomes a value the engine gives back to the
// model; nothing here throws for a tool's own misbehaviour.

import { spawn } from "node:child_process";
import * as path from "node:path";
import type { CompiledTool, Json, RunIR } from "../language/compile";
import type { SqlParamIR } from "../protocol/definition";
import { ConnectionError, type Connections, type HttpTarget } from "./connections";
import { childEnv, type EnvValue, type Environment } from "./secrets";
import {
  DEFAULT_MAX_ROWS,
  DEFAULT_SQL_TIMEOUT_MS,
  describeSqlError,
  runStatement,
  type StatementRun,
} from "./sql";
import { lookupPath, renderTemplate, type TemplateScope } from "./templates";

export type ToolOutcome = { ok: true; output: Json } | { ok: false; error: string };

export interface ToolRunContext {
  /** Folder the compiled definition's relative paths start from. */
  baseDir: string;
  scope: TemplateScope;
  actor?: string;
  sessionId: string;
  signal?: AbortSignal;
  /** Command tools and MCP servers run only in a trusted workspace. */
  trusted: boolean;
  /**
   * The run's environment: what a command tool's `env { NAME: env("X") }` reads. The tool itself gets only
   * the minimal variables and what it declares (secrets.ts), never this whole environment.
   */
  env?: Environment;
  /** The run's connections: `http(METHOD, CONNECTION, ...)` and `sql(CONNECTION, ...)` go through them. */
  connections?: Connections;
}

/** Calls a tool of an MCP server (supplied by the MCP module, so the engine has no SDK dependency). */
export type McpCaller = (
  server: string,
  tool: string,
  input: Json,
  signal?: AbortSignal,
) => Promise<ToolOutcome>;

export const DEFAULT_TIMEOUT_MS = 30_000;
const MAX_OUTPUT = 4 * 1024 * 1024;

export async function runTool(
  tool: CompiledTool,
  input: Json,
  ctx: ToolRunContext,
  mcp?: McpCaller,
): Promise<ToolOutcome> {
  const run = tool.run;
  if (!run)
    return {
      ok: false,
      error: `tool '${tool.name}' has no 'run' in its declaration: it can only be mocked in tests (tool ${tool.name} returns ...)`,
    };
  const connection = "connection" in run && run.connection ? run.connection : undefined;
  if (connection && !ctx.connections)
    return { ok: false, error: `connection '${connection}' is not available to this run (${tool.name})` };
  const connTimeout = connection ? ctx.connections?.timeoutOf(connection) : undefined;
  const timeout =
    tool.timeoutMs ?? connTimeout ?? (run.kind === "sql" ? DEFAULT_SQL_TIMEOUT_MS : DEFAULT_TIMEOUT_MS);
  const scope = { ...ctx.scope, input };
  switch (run.kind) {
    case "command":
      if (!ctx.trusted)
        return { ok: false, error: `command tools do not run in an untrusted workspace (${tool.name})` };
      return runCommand(run, tool.env, input, scope, ctx, timeout);
    case "http":
      return runHttp(run, input, scope, ctx, timeout);
    case "mcp":
      if (!ctx.trusted)
        return { ok: false, error: `MCP servers do not run in an untrusted workspace (${tool.name})` };
      if (!mcp) return { ok: false, error: `no MCP client is available to call ${run.server}/${run.tool}` };
      // The timeout also cancels the MCP request, not only the wait for it.
      return withTimeout(
        mcp(
          run.server,
          run.tool,
          input,
          AbortSignal.any([AbortSignal.timeout(timeout), ...(ctx.signal ? [ctx.signal] : [])]),
        ),
        timeout,
        `${tool.name} (mcp ${run.server})`,
      );
    case "sql":
      return runSql(tool, run, scope, ctx.connections!, timeout);
  }
}

/** A SQL parameter's value: a literal, or a path into the call's scope (`input.x`, `user.id`, `session.id`). */
function paramValue(p: SqlParamIR, scope: TemplateScope): unknown {
  if ("value" in p) return p.value;
  const v = lookupPath(scope, p.path);
  // Objects go as JSON text (json/jsonb columns); absent values as NULL.
  return v !== null && typeof v === "object" && !Array.isArray(v) ? JSON.stringify(v) : (v ?? null);
}

async function runSql(
  tool: CompiledTool,
  run: Extract<RunIR, { kind: "sql" }>,
  scope: TemplateScope,
  connections: Connections,
  timeout: number,
): Promise<ToolOutcome> {
  const what = `sql on connection '${run.connection}' (${tool.name})`;
  const statement: StatementRun = {
    statement: run.statement,
    params: run.params.map((p) => paramValue(p, scope)),
    write: tool.write === true,
    maxRows: tool.maxRows ?? DEFAULT_MAX_ROWS,
    timeoutMs: timeout,
  };
  try {
    const db = await connections.database(run.connection);
    const result = await runStatement(db, statement);
    return {
      ok: true,
      output: { rows: result.rows, rowCount: result.rowCount, truncated: result.truncated },
    };
  } catch (err) {
    if (err instanceof ConnectionError) return { ok: false, error: err.message };
    return { ok: false, error: describeSqlError(err, what, statement).message };
  }
}

async function withTimeout(p: Promise<ToolOutcome>, ms: number, what: string): Promise<ToolOutcome> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<ToolOutcome>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, error: `${what} timed out after ${ms} ms` }), ms);
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

function runCommand(
  run: Extract<RunIR, { kind: "command" }>,
  declaredEnv: Record<string, EnvValue> | undefined,
  input: Json,
  scope: TemplateScope,
  ctx: ToolRunContext,
  timeout: number,
): Promise<ToolOutcome> {
  const executable = renderTemplate(run.executable, scope);
  const args = run.args.map((a) => renderTemplate(a, scope));
  return runJsonProcess(executable, args, {
    cwd: path.resolve(ctx.baseDir, run.cwd),
    env: childEnv(ctx.env ?? process.env, declaredEnv),
    stdin: JSON.stringify(input),
    timeout,
    signal: ctx.signal,
  });
}

/**
 * Runs a program that reads `stdin` and prints one JSON value: command tools, and the eval's
 * `score command(...)` scorers. Killed on timeout or abort; never rejects.
 */
export function runJsonProcess(
  executable: string,
  args: string[],
  o: { cwd: string; env: Record<string, string>; stdin: string; timeout: number; signal?: AbortSignal },
): Promise<ToolOutcome> {
  const { cwd, timeout } = o;
  const ctx = { signal: o.signal };
  return new Promise((resolve) => {
    let settled = false;
    const done = (o: ToolOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ctx.signal?.removeEventListener("abort", onAbort);
      resolve(o);
    };
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(executable, args, {
        cwd,
        stdio: ["pipe", "pipe", "pipe"],
        env: o.env,
      });
    } catch (err) {
      done({ ok: false, error: `cannot start ${executable}: ${(err as Error).message}` });
      return;
    }
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      done({
        ok: false,
        error: `${executable} ${args.join(" ")} timed out after ${timeout} ms and was killed`,
      });
    }, timeout);
    const onAbort = () => {
      child.kill("SIGKILL");
      done({ ok: false, error: "cancelled" });
    };
    ctx.signal?.addEventListener("abort", onAbort, { once: true });
    // Decode as a stream: a multi-byte character may be split across two chunks.
    child.stdout!.setEncoding("utf8");
    child.stderr!.setEncoding("utf8");
    child.stdout!.on("data", (d: string) => {
      if (stdout.length < MAX_OUTPUT) stdout += d;
    });
    child.stderr!.on("data", (d: string) => {
      if (stderr.length < 64 * 1024) stderr += d;
    });
    child.on("error", (err) =>
      done({ ok: false, error: `cannot run ${executable} in ${cwd}: ${err.message}` }),
    );
    child.on("close", (code) => {
      if (code !== 0) {
        const detail = (stdout.trim() || stderr.trim()).slice(-2000);
        done({ ok: false, error: `${executable} exited with code ${code}${detail ? `: ${detail}` : ""}` });
        return;
      }
      try {
        done({ ok: true, output: JSON.parse(stdout) as Json });
      } catch {
        done({
          ok: false,
          error: `${executable} did not print one JSON value on stdout: ${JSON.stringify(stdout.slice(0, 200))}`,
        });
      }
    });
    child.stdin!.on("error", () => {
      // The tool may exit without reading its input; its exit code tells what happened.
    });
    child.stdin!.end(o.stdin);
  });
}

async function runHttp(
  run: Extract<RunIR, { kind: "http" }>,
  input: Json,
  scope: TemplateScope,
  ctx: ToolRunContext,
  timeout: number,
): Promise<ToolOutcome> {
  let url = renderTemplate(run.url, scope, encodeURIComponent);
  const signals = [AbortSignal.timeout(timeout), ...(ctx.signal ? [ctx.signal] : [])];
  let headers: Record<string, string> = {
    accept: "application/json, text/plain;q=0.9",
    "x-statecraft-session": ctx.sessionId,
  };
  if (ctx.actor) headers["x-statecraft-actor"] = ctx.actor;
  let target: HttpTarget | undefined;
  if (run.connection) {
    try {
      target = await ctx.connections!.http(run.connection, url);
    } catch (err) {
      if (err instanceof ConnectionError) return { ok: false, error: err.message };
      throw err;
    }
    url = target.url;
    headers = { ...headers, ...target.headers };
  }
  let body: string | undefined;
  // language.md 3.3: the input goes as a JSON body for every method other than GET.
  if (run.method !== "GET") {
    headers["content-type"] = "application/json";
    body = JSON.stringify(input);
  }
  try {
    const signal = AbortSignal.any(signals);
    let res = await fetch(url, { method: run.method, headers, body, signal });
    if (res.status === 401 && target?.retry) {
      // The token may have been revoked or expired early: one new token, one more try.
      await res.body?.cancel();
      try {
        headers = await target.retry();
      } catch (err) {
        if (err instanceof ConnectionError) return { ok: false, error: err.message };
        throw err;
      }
      res = await fetch(url, { method: run.method, headers, body, signal });
    }
    const text = await res.text();
    if (!res.ok)
      return {
        ok: false,
        error: `${run.method} ${url} answered ${res.status} ${res.statusText}${text ? `: ${text.slice(0, 500)}` : ""}`,
      };
    if ((res.headers.get("content-type") ?? "").includes("json")) {
      try {
        return { ok: true, output: JSON.parse(text) as Json };
      } catch {
        return { ok: false, error: `${run.method} ${url} sent invalid JSON` };
      }
    }
    return { ok: true, output: text };
  } catch (err) {
    const e = err as Error;
    if (e.name === "TimeoutError")
      return { ok: false, error: `${run.method} ${url} timed out after ${timeout} ms` };
    if (e.name === "AbortError") return { ok: false, error: "cancelled" };
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    return { ok: false, error: `${run.method} ${url} failed: ${cause?.code ?? cause?.message ?? e.message}` };
  }
}
