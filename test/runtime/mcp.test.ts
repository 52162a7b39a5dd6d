// The MCP client pool against a real MCP server built with the same SDK
// (test/fakes/mcpServer.ts), over stdio (a child process) and streamable HTTP:
// structured and text outputs, tool errors, unknown tools and servers, servers
// that do not start, env values, cancellation, clean shutdown, tool listing,
// and one turn of the engine calling an MCP tool.

import { strict as assert } from "node:assert";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { LocalBackend } from "../../server/backends/local";
import { compileAgent, isCompileError, type CompiledMcp } from "../../server/language/compile";
import { checkFiles } from "../../server/language/validate";
import { AgentSession } from "../../server/runtime/engine";
import type { ToolResultEvent } from "../../server/protocol/events";
import { McpPool } from "../../server/runtime/mcp";
import { MemorySink } from "../../server/runtime/sessionLog";
import { serveFakeMcpOverHttp, type FakeMcpHttpServer } from "../fakes/mcpServer";
import { waitFor } from "../helpers/waitFor";
import { loadSources, wsPath } from "../unit/helpers/memfs";

const REPO = path.resolve(__dirname, "../..");
/** The fake server, relative to the repository (the servers' base folder in these tests). */
const FAKE = "test/fakes/mcpServer.ts";
const NODE_ARGS = ["--import", "tsx", FAKE];

const ENVIRONMENT = {
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  LANG: "C.UTF-8",
  TZ: "Europe/Paris",
  FAKE_ORDERS_TOKEN: "tok-123",
  UNRELATED_SECRET: "must-not-leak",
};

const ORDER = { order_id: "A-1", status: "shipped", total: 42.5, items: [{ sku: "SKU-1", qty: 2 }] };

function stdioServer(name = "orders", overrides: Partial<CompiledMcp> = {}): CompiledMcp {
  return {
    name,
    transport: { kind: "stdio", executable: "node", args: NODE_ARGS, cwd: "." },
    env: {},
    source: { file: "main.agent", line: 1 },
    ...overrides,
  };
}

function httpServer(url: string, name = "docs"): CompiledMcp {
  return { name, transport: { kind: "http", url }, env: {}, source: { file: "main.agent", line: 1 } };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

/** The count of `slow` calls the server saw cancelled (its `stats` tool), or undefined when it does not answer. */
async function cancelledCount(p: McpPool, server: string): Promise<number | undefined> {
  const stats = await p.call(server, "stats", {});
  return stats.ok ? (stats.output as { cancelled: number }).cancelled : undefined;
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe("McpPool", function () {
  // Each stdio test starts a real server process (node + tsx + the SDK): slow on a loaded machine.
  this.timeout(60_000);
  const pools: McpPool[] = [];
  const logs: string[] = [];
  const pool = (
    servers: Record<string, CompiledMcp>,
    environment: Record<string, string | undefined> = ENVIRONMENT,
  ) => {
    const p = new McpPool(servers, REPO, environment, (m) => logs.push(m));
    pools.push(p);
    return p;
  };

  afterEach(async () => {
    await Promise.all(pools.splice(0).map((p) => p.close()));
    logs.length = 0;
  });

  describe("over stdio", () => {
    it("calls a tool and returns its structured output", async () => {
      const p = pool({ orders: stdioServer() });
      const result = await p.call("orders", "lookup_order", { order_id: "A-1" });
      assert.deepEqual(result, { ok: true, output: ORDER });
      assert.ok(
        logs.some((l) => /MCP server 'orders' connected: node --import tsx .*\(pid \d+\)/.test(l)),
        logs.join("\n"),
      );
    });

    it("returns text content, parsed as JSON when it is JSON", async () => {
      const p = pool({ orders: stdioServer() });
      assert.deepEqual(await p.call("orders", "greet", { name: "Ada" }), {
        ok: true,
        output: "Hello, Ada.\nYour order is on its way.",
      });
      const stats = await p.call("orders", "stats", {});
      assert.ok(stats.ok);
      assert.equal((stats.output as { cancelled: number }).cancelled, 0);
    });

    it("reuses one server process for every call", async () => {
      const p = pool({ orders: stdioServer() });
      const pids = [];
      for (let i = 0; i < 3; i++) {
        const r = await p.call("orders", "stats", {});
        assert.ok(r.ok);
        pids.push((r.output as { pid: number }).pid);
      }
      assert.equal(new Set(pids).size, 1);
      assert.equal(await p.pid("orders"), pids[0]);
    });

    it("turns a tool's isError result into ok:false naming the server and tool", async () => {
      const p = pool({ orders: stdioServer() });
      const r = await p.call("orders", "fail", { reason: "maintenance" });
      assert.deepEqual(r, {
        ok: false,
        error: "MCP tool 'fail' of server 'orders' returned an error: order service is down: maintenance",
      });
    });

    it("reports an unknown tool with the tools the server has", async () => {
      const p = pool({ orders: stdioServer() });
      const r = await p.call("orders", "no_such_tool", {});
      assert.equal(r.ok, false);
      assert.match(
        !r.ok ? r.error : "",
        /^MCP server 'orders' has no tool 'no_such_tool' \(its tools: .*lookup_order.*\)$/,
      );
    });

    it("reports an input the server rejects", async () => {
      const p = pool({ orders: stdioServer() });
      const r = await p.call("orders", "lookup_order", { order_id: 5 });
      assert.equal(r.ok, false);
      assert.match(
        !r.ok ? r.error : "",
        /^MCP tool 'lookup_order' of server 'orders' returned an error: .*order_id/s,
      );
      const notObject = await p.call("orders", "lookup_order", ["A-1"]);
      assert.match(!notObject.ok ? notObject.error : "", /takes a JSON object as input/);
    });

    it("reports a server that is not declared", async () => {
      const p = pool({ orders: stdioServer() });
      assert.deepEqual(await p.call("nowhere", "lookup_order", {}), {
        ok: false,
        error: "no MCP server 'nowhere' is declared (servers: orders)",
      });
    });

    it("reports a server whose command does not exist, without throwing", async () => {
      const p = pool({
        orders: stdioServer("orders", {
          transport: { kind: "stdio", executable: "statecraft-no-such-command-xyz", args: [], cwd: "." },
        }),
      });
      const r = await p.call("orders", "lookup_order", { order_id: "A-1" });
      assert.equal(r.ok, false);
      assert.match(
        !r.ok ? r.error : "",
        /^MCP server 'orders' could not start: the command 'statecraft-no-such-command-xyz' was not found/,
      );
      // Tried again (and failing the same way) on the next call.
      const again = await p.call("orders", "lookup_order", { order_id: "A-1" });
      assert.match(!again.ok ? again.error : "", /could not start/);
      await assert.rejects(p.listTools("orders"), /MCP server 'orders' could not start/);
    });

    it("reports a server that exits at start with the end of its stderr", async () => {
      const p = pool({
        orders: stdioServer("orders", {
          transport: {
            kind: "stdio",
            executable: "node",
            args: ["-e", "console.error('fatal: ORDERS_TOKEN is required'); process.exit(3)"],
            cwd: ".",
          },
        }),
      });
      const r = await p.call("orders", "lookup_order", { order_id: "A-1" });
      assert.equal(r.ok, false);
      const error = !r.ok ? r.error : "";
      assert.match(error, /^MCP server 'orders' could not start: /);
      assert.match(error, /fatal: ORDERS_TOKEN is required/);
    });

    it("reports a working folder that does not exist", async () => {
      const p = pool({
        orders: stdioServer("orders", {
          transport: { kind: "stdio", executable: "node", args: NODE_ARGS, cwd: "no/such/folder" },
        }),
      });
      const r = await p.call("orders", "lookup_order", { order_id: "A-1" });
      assert.match(
        !r.ok ? r.error : "",
        /^MCP server 'orders' could not start: its working folder .*no\/such\/folder does not exist/,
      );
    });

    it("passes the server's env, resolving env(...) values, over only the minimal variables", async () => {
      const saved = { ...process.env };
      Object.assign(process.env, { SHELL: "/bin/sh", USER: "ada", LOGNAME: "ada", TERM: "xterm" });
      process.env.OPENAI_API_KEY = "sk-parent-process-key-0000000000";
      after(() => {
        for (const k of ["SHELL", "USER", "LOGNAME", "TERM", "OPENAI_API_KEY"])
          if (saved[k] === undefined) delete process.env[k];
          else process.env[k] = saved[k];
      });
      const p = pool({
        orders: stdioServer("orders", {
          env: {
            ORDERS_TOKEN: { env: "FAKE_ORDERS_TOKEN" },
            MODE: "test",
            MISSING: { env: "NOT_SET_ANYWHERE" },
          },
        }),
      });
      const echo = async (name: string) => {
        const r = await p.call("orders", "echo_env", { name });
        assert.ok(r.ok, JSON.stringify(r));
        return (r.output as { value: string | null }).value;
      };
      assert.equal(await echo("ORDERS_TOKEN"), "tok-123");
      assert.equal(await echo("MODE"), "test");
      assert.equal(await echo("PATH"), process.env.PATH);
      assert.equal(await echo("LANG"), "C.UTF-8");
      assert.equal(await echo("TZ"), "Europe/Paris");
      assert.equal(await echo("UNRELATED_SECRET"), null, "variables that are not safe are not inherited");
      // Nor what the SDK would add from this process's own environment beyond the minimal set.
      for (const name of ["SHELL", "USER", "LOGNAME", "TERM", "OPENAI_API_KEY"])
        assert.equal(await echo(name), null, `${name} is not passed on`);
      assert.equal(await echo("MISSING"), null);
      assert.ok(
        logs.some((l) => l.includes("NOT_SET_ANYWHERE (for MISSING) is not set")),
        logs.join("\n"),
      );
      assert.ok(!logs.some((l) => l.includes("tok-123")), "secret values are never logged");
    });

    it("cancels a call when its signal aborts, and the server sees the cancellation", async () => {
      const p = pool({ orders: stdioServer() });
      assert.ok((await p.call("orders", "stats", {})).ok, "started");
      const controller = new AbortController();
      const t0 = Date.now();
      setTimeout(() => controller.abort(), 200);
      const r = await p.call("orders", "slow", { ms: 10_000 }, controller.signal);
      assert.deepEqual(r, { ok: false, error: "cancelled" });
      assert.ok(Date.now() - t0 < 3000, `returned after ${Date.now() - t0} ms`);
      await waitFor(
        "the server to see the cancellation",
        async () => (await cancelledCount(p, "orders")) === 1,
      );
      const already = new AbortController();
      already.abort();
      assert.deepEqual(await p.call("orders", "slow", { ms: 10_000 }, already.signal), {
        ok: false,
        error: "cancelled",
      });
    });

    it("close() stops every server process and later calls fail", async () => {
      const p = pool({ orders: stdioServer(), other: stdioServer("other") });
      const started = await Promise.all([p.call("orders", "stats", {}), p.call("other", "stats", {})]);
      assert.ok(started.every((r) => r.ok));
      const pids = [(await p.pid("orders"))!, (await p.pid("other"))!];
      assert.ok(pids.every((pid) => typeof pid === "number" && alive(pid)));
      await p.close();
      for (const pid of pids) assert.equal(alive(pid), false, `process ${pid} is gone`);
      const r = await p.call("orders", "stats", {});
      assert.equal(r.ok, false);
      assert.match(!r.ok ? r.error : "", /connections were closed/);
    });

    it("close() while a call is running ends it and the process", async () => {
      const p = pool({ orders: stdioServer() });
      assert.ok((await p.call("orders", "stats", {})).ok);
      const pid = (await p.pid("orders"))!;
      const running = p.call("orders", "slow", { ms: 30_000 });
      await waitFor("the slow call to reach the server", async () => {
        const stats = await p.call("orders", "stats", {});
        return stats.ok && (stats.output as { running: number }).running === 1;
      });
      await p.close();
      const r = await running;
      assert.equal(r.ok, false);
      assert.equal(alive(pid), false);
    });

    it("starts a server again after it stopped", async () => {
      const p = pool({ orders: stdioServer() });
      assert.ok((await p.call("orders", "stats", {})).ok);
      const pid = (await p.pid("orders"))!;
      process.kill(pid, "SIGKILL");
      await waitFor(
        "the server process to end and the pool to notice",
        async () => !alive(pid) && (await p.pid("orders")) === undefined,
      );
      const r = await p.call("orders", "lookup_order", { order_id: "A-1" });
      assert.deepEqual(r, { ok: true, output: ORDER });
      assert.notEqual(await p.pid("orders"), pid);
    });

    it("lists the tools with their descriptions and schemas", async () => {
      const p = pool({ orders: stdioServer() });
      const tools = await p.listTools("orders");
      assert.deepEqual(tools.map((t) => t.name).sort(), [
        "echo_env",
        "fail",
        "greet",
        "lookup_order",
        "slow",
        "stats",
      ]);
      const lookup = tools.find((t) => t.name === "lookup_order")!;
      assert.equal(lookup.description, "Look up an order by id");
      assert.equal(lookup.inputSchema.type, "object");
      assert.deepEqual((lookup.inputSchema.properties as Record<string, unknown>).order_id, {
        type: "string",
        description: "The order id",
      });
      assert.deepEqual(lookup.inputSchema.required, ["order_id"]);
      assert.equal(lookup.outputSchema?.type, "object");
      const slow = tools.find((t) => t.name === "slow")!;
      assert.equal((slow.inputSchema.properties as Record<string, { type: string }>).ms.type, "integer");
    });
  });

  describe("over streamable HTTP", () => {
    let server: FakeMcpHttpServer;
    before(async () => {
      server = await serveFakeMcpOverHttp();
    });
    after(async () => {
      await server.close();
    });

    it("calls a tool and returns its structured output", async () => {
      const p = pool({ docs: httpServer(server.url) });
      assert.deepEqual(await p.call("docs", "lookup_order", { order_id: "A-1" }), {
        ok: true,
        output: ORDER,
      });
      assert.equal(await p.pid("docs"), undefined);
    });

    it("reports tool errors and unknown tools", async () => {
      const p = pool({ docs: httpServer(server.url) });
      assert.deepEqual(await p.call("docs", "fail", {}), {
        ok: false,
        error: "MCP tool 'fail' of server 'docs' returned an error: order service is down",
      });
      const r = await p.call("docs", "nope", {});
      assert.match(!r.ok ? r.error : "", /^MCP server 'docs' has no tool 'nope'/);
    });

    it("lists the tools", async () => {
      const p = pool({ docs: httpServer(server.url) });
      const tools = await p.listTools("docs");
      assert.ok(tools.some((t) => t.name === "echo_env" && t.inputSchema.type === "object"));
    });

    it("cancels a call when its signal aborts", async () => {
      const p = pool({ docs: httpServer(server.url) });
      const before = await p.call("docs", "stats", {});
      assert.ok(before.ok);
      const start = (before.output as { cancelled: number }).cancelled;
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 200);
      const t0 = Date.now();
      assert.deepEqual(await p.call("docs", "slow", { ms: 10_000 }, controller.signal), {
        ok: false,
        error: "cancelled",
      });
      assert.ok(Date.now() - t0 < 3000);
      await waitFor(
        "the server to see the cancellation",
        async () => (await cancelledCount(p, "docs"))! > start,
      );
    });

    it("close() ends the HTTP session", async () => {
      const p = pool({ docs: httpServer(server.url) });
      const open = server.sessions();
      assert.ok((await p.call("docs", "stats", {})).ok);
      assert.equal(server.sessions(), open + 1);
      await p.close();
      assert.equal(server.sessions(), open);
    });

    it("reports a server that does not answer as one that could not start", async () => {
      const url = `http://127.0.0.1:${await closedPort()}/mcp`;
      const p = pool({ docs: httpServer(url) });
      const r = await p.call("docs", "lookup_order", { order_id: "A-1" });
      assert.equal(r.ok, false);
      assert.match(
        !r.ok ? r.error : "",
        new RegExp(`^MCP server 'docs' could not start: cannot connect to ${url}`),
      );
    });
  });

  describe("in the engine", () => {
    it("runs a tool declared with run: mcp(...) and records its output", async () => {
      const files = {
        "main.agent": [
          "mcp orders {",
          `  command: command("node", ${JSON.stringify(NODE_ARGS)})`,
          '  env { ORDERS_TOKEN: env("FAKE_ORDERS_TOKEN") }',
          "}",
          "",
          "tool lookup_order {",
          '  description: "Look up an order by id"',
          "  input { order_id: string }",
          '  run: mcp(orders, "lookup_order")',
          "}",
          "",
          "agent support {",
          '  instructions: "You help customers with their orders."',
          "  tools: [lookup_order]",
          "}",
          "",
        ].join("\n"),
      };
      const program = loadSources(files);
      const root = wsPath("main.agent");
      const errors = checkFiles(program, [root]).filter((d) => d.severity === "error");
      assert.deepEqual(
        errors.map((d) => `${d.code}: ${d.message}`),
        [],
      );
      const definition = compileAgent(program, root, "support");
      if (isCompileError(definition)) assert.fail(definition.message);
      assert.deepEqual(definition.mcpServers.orders.transport, {
        kind: "stdio",
        executable: "node",
        args: NODE_ARGS,
        cwd: ".",
      });

      // The definition's folder is in memory; its relative paths resolve against the repository here.
      const p = pool(definition.mcpServers);
      const backend = new LocalBackend();
      backend.enqueue(
        { kind: "call", tool: "lookup_order", input: { order_id: "A-1" } },
        { kind: "reply", text: "done" },
      );
      const sink = new MemorySink();
      const session = await AgentSession.start({
        definition,
        baseDir: REPO,
        backend,
        backendName: "local",
        sink,
        sessionId: "s1",
        mcp: p.call,
        trusted: true,
      });
      const turn = await session.send("Where is order A-1?");
      await session.end();

      assert.equal(turn.status, "ok", turn.reason);
      assert.equal(turn.reply, "done");
      const results = sink.events.filter((e): e is ToolResultEvent => e.type === "tool.result");
      assert.equal(results.length, 1);
      assert.equal(results[0].tool, "lookup_order");
      assert.equal(results[0].ok, true, results[0].error);
      assert.equal(results[0].origin, "run");
      assert.deepEqual(results[0].output, ORDER);
      assert.deepEqual(turn.tools[0].output, ORDER);
      assert.ok(!JSON.stringify(sink.events).includes("tok-123"), "the env value never enters the log");
    });
  });
});
