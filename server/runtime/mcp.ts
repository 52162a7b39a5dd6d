// The MCP client side of the runtime: one `@modelcontextprotocol/sdk` Client
// per `mcp` server of a compiled definition, connected on first use over stdio
// (a child process) or streamable HTTP. `call` is the engine's McpCaller;
// every failure (a server that does not start, a tool error, a dropped
// connection) becomes a `{ ok: false, error }` that names the server and tool.

import * as fs from "node:fs";
import * as path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { DEFAULT_INHERITED_ENV_VARS, StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CompiledMcp, Json, JsonSchema } from "../language/compile";
import { childEnv } from "./secrets";
import type { McpCaller, ToolOutcome } from "./tools";

export interface McpToolInfo {
  name: string;
  description?: string;
  inputSchema: JsonSchema;
  outputSchema?: JsonSchema;
}

export interface McpPoolOptions {
  /** Longest wait for a server to start and answer `initialize` (default 60 s). */
  connectTimeoutMs?: number;
  /**
   * Longest wait for one request at the protocol level (default 10 min); the
   * tool's own `timeout_ms` is enforced by the caller through the signal.
   */
  requestTimeoutMs?: number;
}

type Environment = Record<string, string | undefined>;

interface Connection {
  client: Client;
  transport: StdioClientTransport | StreamableHTTPClientTransport;
  /** The child process of a stdio server. */
  pid?: number;
  /** What the server is, for messages: its command line or URL. */
  target: string;
  /** The last lines a stdio server wrote to stderr. */
  stderr: string[];
  /** Initialized; false while starting. */
  ready?: boolean;
  closed: boolean;
  /** Forgets the connection, so the next call starts the server again. */
  onGone?: () => void;
  tools?: McpToolInfo[];
}

const CLIENT_INFO = { name: "statecraft", version: "0.1.0" };
const STDERR_LINES = 20;
const CANCELLED: ToolOutcome = { ok: false, error: "cancelled" };

export class McpPool {
  private readonly connections = new Map<string, Promise<Connection>>();
  /** Every connection ever made and not yet closed, for close(). */
  private readonly live = new Set<Connection>();
  private closed = false;
  private readonly connectTimeoutMs: number;
  private readonly requestTimeoutMs: number;

  constructor(
    private readonly servers: Record<string, CompiledMcp>,
    /** Folder the servers' relative working folders start from. */
    private readonly baseDir: string,
    /** Resolves `{ env: "X" }` values and supplies the minimal variables (PATH, HOME...). */
    private readonly environment: Environment = process.env,
    private readonly log: (message: string) => void = () => {},
    options: McpPoolOptions = {},
  ) {
    this.connectTimeoutMs = options.connectTimeoutMs ?? 60_000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 600_000;
  }

  /** Calls `tool` of `server`; never throws. */
  readonly call: McpCaller = async (server, tool, input, signal) => {
    if (signal?.aborted) return CANCELLED;
    let conn: Connection;
    try {
      conn = await abortable(this.connection(server), signal);
    } catch (err) {
      return signal?.aborted ? CANCELLED : { ok: false, error: (err as Error).message };
    }
    if (input === null || typeof input !== "object" || Array.isArray(input))
      return {
        ok: false,
        error: `MCP tool '${tool}' of server '${server}' takes a JSON object as input, not ${JSON.stringify(input)}`,
      };
    try {
      const result = await conn.client.callTool({ name: tool, arguments: input }, undefined, {
        signal,
        timeout: this.requestTimeoutMs,
        resetTimeoutOnProgress: true,
      });
      if (signal?.aborted) return CANCELLED;
      if ("toolResult" in result) return { ok: true, output: toJson(result.toolResult) };
      const content = (result.content ?? []) as ContentPart[];
      if (result.isError) {
        const missing = await this.missingTool(conn, server, tool);
        const text = contentText(content).trim();
        return {
          ok: false,
          error:
            missing ??
            `MCP tool '${tool}' of server '${server}' returned an error: ${text || "(no message)"}`,
        };
      }
      if (result.structuredContent !== undefined)
        return { ok: true, output: toJson(result.structuredContent) };
      return { ok: true, output: contentOutput(content) };
    } catch (err) {
      if (signal?.aborted) return CANCELLED;
      const missing = conn.closed ? undefined : await this.missingTool(conn, server, tool);
      if (missing) return { ok: false, error: missing };
      const message = (err as Error).message;
      const stopped = conn.closed || /connection closed/i.test(message);
      const detail = stopped ? `the server stopped (${message})${stderrTail(conn)}` : message;
      return { ok: false, error: `MCP tool '${tool}' of server '${server}' failed: ${detail}` };
    }
  };

  /** The tools `server` offers, with their schemas; throws an Error with a clear message. */
  async listTools(server: string, signal?: AbortSignal): Promise<McpToolInfo[]> {
    const conn = await abortable(this.connection(server), signal);
    try {
      return await this.toolsOf(conn, signal);
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new Error(`MCP server '${server}' could not list its tools: ${(err as Error).message}`);
    }
  }

  /** The pid of a connected stdio server (for tests and diagnostics). */
  async pid(server: string): Promise<number | undefined> {
    const pending = this.connections.get(server);
    return pending ? (await pending.catch(() => undefined))?.pid : undefined;
  }

  /** Closes every client and stops every stdio server; later calls fail. */
  async close(): Promise<void> {
    this.closed = true;
    const pending = [...this.connections.values()];
    this.connections.clear();
    await Promise.all(pending.map((p) => p.catch(() => undefined)));
    await Promise.all([...this.live].map((c) => this.shutdown(c)));
  }

  // ---- connections --------------------------------------------------------------

  private connection(name: string): Promise<Connection> {
    if (this.closed)
      return Promise.reject(new Error(`MCP server '${name}' is not available: its connections were closed`));
    let pending = this.connections.get(name);
    if (!pending) {
      pending = this.connect(name);
      this.connections.set(name, pending);
      const forget = () => {
        if (this.connections.get(name) === pending) this.connections.delete(name);
      };
      // A server that failed to start, or stopped later, is started again on the next call.
      pending.then((c) => {
        c.onGone = forget;
        if (c.closed) forget();
      }, forget);
    }
    return pending;
  }

  private async connect(name: string): Promise<Connection> {
    const spec = Object.hasOwn(this.servers, name) ? this.servers[name] : undefined;
    if (!spec) {
      const known = Object.keys(this.servers);
      throw new Error(
        `no MCP server '${name}' is declared${known.length ? ` (servers: ${known.join(", ")})` : ""}`,
      );
    }
    const fail = (why: string, conn?: Connection): Error =>
      new Error(`MCP server '${name}' could not start: ${why}${conn ? stderrTail(conn) : ""}`);

    let conn: Connection;
    if (spec.transport.kind === "stdio") {
      const { executable, args } = spec.transport;
      const cwd = path.resolve(this.baseDir, spec.transport.cwd);
      if (!executable) throw fail("its command is empty");
      if (!fs.existsSync(cwd)) throw fail(`its working folder ${cwd} does not exist`);
      const transport = new StdioClientTransport({
        command: executable,
        args,
        cwd,
        env: this.serverEnv(spec),
        stderr: "pipe",
      });
      conn = {
        client: new Client(CLIENT_INFO, { capabilities: {} }),
        transport,
        target: [executable, ...args].join(" "),
        stderr: [],
        closed: false,
      };
      const c = conn;
      let partial = "";
      transport.stderr?.on("data", (chunk: Buffer) => {
        const lines = (partial + chunk.toString()).split(/\r?\n/);
        partial = lines.pop() ?? "";
        for (const line of lines) this.stderrLine(name, c, line);
      });
      transport.stderr?.on("end", () => {
        if (partial) this.stderrLine(name, c, partial);
        partial = "";
      });
    } else {
      let url: URL;
      try {
        url = new URL(spec.transport.url);
      } catch {
        throw fail(`'${spec.transport.url}' is not a valid URL`);
      }
      conn = {
        client: new Client(CLIENT_INFO, { capabilities: {} }),
        transport: new StreamableHTTPClientTransport(url),
        target: url.href,
        stderr: [],
        closed: false,
      };
    }

    const c = conn;
    c.client.onerror = (err) => this.log(`MCP server '${name}': ${err.message}`);
    c.client.onclose = () => {
      const wasUp = !c.closed && c.ready;
      c.closed = true;
      this.live.delete(c);
      c.onGone?.();
      if (wasUp) this.log(`MCP server '${name}' disconnected (${c.target})`);
    };
    this.live.add(c);
    try {
      await c.client.connect(c.transport, { timeout: this.connectTimeoutMs });
    } catch (err) {
      await this.shutdown(c);
      throw fail(describeStartError(err, c, spec), c);
    }
    c.ready = true;
    if (c.transport instanceof StdioClientTransport) c.pid = c.transport.pid ?? undefined;
    this.log(`MCP server '${name}' connected: ${c.target}${c.pid ? ` (pid ${c.pid})` : ""}`);
    if (this.closed) {
      // close() ran while this server was starting.
      await this.shutdown(c);
      throw new Error(`MCP server '${name}' is not available: its connections were closed`);
    }
    return c;
  }

  /**
   * The minimal environment plus the server's own `env { }`; the parent's keys and credentials are never
   * passed on. The SDK adds a few variables of its own (LOGNAME, SHELL, TERM, USER) from process.env to
   * whatever it is given: they are set to undefined here, which the spawn leaves out.
   */
  private serverEnv(spec: CompiledMcp): Record<string, string> {
    const env: Record<string, string | undefined> = {};
    for (const key of DEFAULT_INHERITED_ENV_VARS) env[key] = undefined;
    Object.assign(
      env,
      childEnv(this.environment, spec.env, (key, from) =>
        this.log(
          `MCP server '${spec.name}': environment variable ${from} (for ${key}) is not set; ${key} is left out`,
        ),
      ),
    );
    return env as Record<string, string>;
  }

  private stderrLine(name: string, conn: Connection, line: string): void {
    if (!line.trim()) return;
    conn.stderr.push(line);
    if (conn.stderr.length > STDERR_LINES) conn.stderr.shift();
    this.log(`[mcp ${name}] ${line}`);
  }

  private async shutdown(conn: Connection): Promise<void> {
    this.live.delete(conn);
    conn.closed = true;
    if (conn.transport instanceof StreamableHTTPClientTransport && conn.transport.sessionId) {
      // Best effort: tell the server the session is over.
      await withDeadline(conn.transport.terminateSession(), 2000).catch(() => undefined);
    }
    await conn.client.close().catch(() => undefined);
    const pid =
      conn.pid ??
      (conn.transport instanceof StdioClientTransport ? (conn.transport.pid ?? undefined) : undefined);
    if (pid !== undefined) await ensureGone(pid);
  }

  private async toolsOf(conn: Connection, signal?: AbortSignal): Promise<McpToolInfo[]> {
    if (conn.tools) return conn.tools;
    const tools: McpToolInfo[] = [];
    let cursor: string | undefined;
    do {
      const page = await conn.client.listTools(cursor ? { cursor } : undefined, {
        signal,
        timeout: this.connectTimeoutMs,
      });
      for (const t of page.tools)
        tools.push({
          name: t.name,
          ...(t.description !== undefined ? { description: t.description } : {}),
          inputSchema: toJson(t.inputSchema) as JsonSchema,
          ...(t.outputSchema !== undefined ? { outputSchema: toJson(t.outputSchema) as JsonSchema } : {}),
        });
      cursor = page.nextCursor;
    } while (cursor);
    conn.tools = tools;
    return tools;
  }

  /** A clearer message when the failure is that the tool does not exist. */
  private async missingTool(conn: Connection, server: string, tool: string): Promise<string | undefined> {
    try {
      const tools = await this.toolsOf(conn);
      if (tools.some((t) => t.name === tool)) return undefined;
      const names = tools.map((t) => t.name);
      return `MCP server '${server}' has no tool '${tool}'${names.length ? ` (its tools: ${names.join(", ")})` : ""}`;
    } catch {
      return undefined;
    }
  }
}

// ---- results ----------------------------------------------------------------------

type ContentPart =
  | { type: "text"; text: string }
  | { type: "image" | "audio"; data: string; mimeType: string }
  | { type: "resource"; resource: { uri: string; text?: string; mimeType?: string } }
  | { type: "resource_link"; uri: string; name?: string }
  | { type: string };

function partText(part: ContentPart): string {
  switch (part.type) {
    case "text":
      return (part as { text: string }).text;
    case "image":
    case "audio": {
      const p = part as { data: string; mimeType: string };
      return `[${part.type} ${p.mimeType}, ${Math.floor((p.data.length * 3) / 4)} bytes]`;
    }
    case "resource": {
      const r = (part as { resource: { uri: string; text?: string } }).resource;
      return r.text ?? `[resource ${r.uri}]`;
    }
    case "resource_link":
      return `[resource link ${(part as { uri: string }).uri}]`;
    default:
      return `[${part.type} content]`;
  }
}

function contentText(content: ContentPart[]): string {
  return content.map(partText).join("\n");
}

/** The text content, parsed as JSON when it is JSON. */
function contentOutput(content: ContentPart[]): Json {
  if (content.length === 0) return null;
  const text = contentText(content);
  try {
    return JSON.parse(text) as Json;
  } catch {
    return text;
  }
}

function toJson(value: unknown): Json {
  return value === undefined ? null : (JSON.parse(JSON.stringify(value)) as Json);
}

// ---- helpers ------------------------------------------------------------------------

function stderrTail(conn: Connection): string {
  return conn.stderr.length ? `; its stderr ends with:\n${conn.stderr.slice(-5).join("\n")}` : "";
}

function describeStartError(err: unknown, conn: Connection, spec: CompiledMcp): string {
  const e = err as Error & { code?: string | number; cause?: { code?: string; message?: string } };
  if (spec.transport.kind === "stdio") {
    if (e.code === "ENOENT") return `the command '${spec.transport.executable}' was not found (${e.message})`;
    if (e.code === "EACCES")
      return `the command '${spec.transport.executable}' is not executable (${e.message})`;
    if (/connection closed/i.test(e.message)) return `'${conn.target}' exited before answering initialize`;
    return `${conn.target}: ${e.message}`;
  }
  const cause = e.cause?.code ?? e.cause?.message;
  return `cannot connect to ${conn.target}: ${e.message}${cause && !e.message.includes(cause) ? ` (${cause})` : ""}`;
}

/** `p`, or a rejection as soon as `signal` aborts (the work behind `p` goes on). */
function abortable<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(new Error("cancelled"));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error("cancelled"));
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

async function withDeadline<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Waits for a child to be gone, killing it if it outlives the transport's own shutdown. */
async function ensureGone(pid: number): Promise<void> {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  for (let i = 0; i < 25 && alive(pid); i++) await sleep(20);
  if (!alive(pid)) return;
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    return;
  }
  for (let i = 0; i < 100 && alive(pid); i++) await sleep(20);
}
