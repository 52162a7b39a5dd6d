// A real Model Context Protocol server, built with the same SDK the runtime's
// client uses, for the MCP tests. Run as a script it serves over stdio:
//
//   node --import tsx test/fakes/mcpServer.ts
//
// and `serveFakeMcpOverHttp()` serves it over streamable HTTP on 127.0.0.1
// with an ephemeral port, inside the test process.
//
// Tools: lookup_order (structured output), fail (an isError result), slow
// (waits, and counts the calls that were cancelled), echo_env (an environment
// variable, as JSON text), greet (plain text), stats (the cancellation count
// and the slow calls in progress).

import { randomUUID } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { z } from "zod";

export const FAKE_TOOLS = ["lookup_order", "fail", "slow", "echo_env", "greet", "stats"];

/** Slow calls that saw their request cancelled, and slow calls in progress, in this process. */
let cancelledCalls = 0;
let runningCalls = 0;

export function createFakeMcpServer(): McpServer {
  const server = new McpServer({ name: "fake-orders", version: "1.0.0" });

  server.registerTool(
    "lookup_order",
    {
      description: "Look up an order by id",
      inputSchema: { order_id: z.string().describe("The order id") },
      outputSchema: {
        order_id: z.string(),
        status: z.enum(["shipped", "pending"]),
        total: z.number(),
        items: z.array(z.object({ sku: z.string(), qty: z.number() })),
      },
    },
    ({ order_id }) => {
      const order = {
        order_id,
        status: order_id.endsWith("7") ? ("pending" as const) : ("shipped" as const),
        total: 42.5,
        items: [{ sku: "SKU-1", qty: 2 }],
      };
      return { content: [{ type: "text", text: JSON.stringify(order) }], structuredContent: order };
    },
  );

  server.registerTool(
    "fail",
    { description: "Always fails", inputSchema: { reason: z.string().optional() } },
    ({ reason }) => ({
      isError: true,
      content: [{ type: "text", text: `order service is down${reason ? `: ${reason}` : ""}` }],
    }),
  );

  server.registerTool(
    "slow",
    {
      description: "Waits ms milliseconds, then answers",
      inputSchema: { ms: z.number().int().nonnegative() },
    },
    ({ ms }, extra) =>
      new Promise((resolve, reject) => {
        runningCalls++;
        const timer = setTimeout(() => {
          runningCalls--;
          resolve({ content: [{ type: "text", text: `waited ${ms} ms` }] });
        }, ms);
        extra.signal.addEventListener(
          "abort",
          () => {
            clearTimeout(timer);
            runningCalls--;
            cancelledCalls++;
            reject(new Error("cancelled"));
          },
          { once: true },
        );
      }),
  );

  server.registerTool(
    "echo_env",
    {
      description: "The value of an environment variable of the server process",
      inputSchema: { name: z.string() },
    },
    ({ name }) => ({
      content: [{ type: "text", text: JSON.stringify({ name, value: process.env[name] ?? null }) }],
    }),
  );

  server.registerTool(
    "greet",
    { description: "Plain text in two parts", inputSchema: { name: z.string() } },
    ({ name }) => ({
      content: [
        { type: "text", text: `Hello, ${name}.` },
        { type: "text", text: "Your order is on its way." },
      ],
    }),
  );

  server.registerTool("stats", { description: "Counters of this server process" }, () => ({
    content: [
      {
        type: "text",
        text: JSON.stringify({ cancelled: cancelledCalls, running: runningCalls, pid: process.pid }),
      },
    ],
  }));

  return server;
}

export interface FakeMcpHttpServer {
  /** The streamable HTTP endpoint, http://127.0.0.1:PORT/mcp. */
  url: string;
  /** Sessions currently open. */
  sessions(): number;
  close(): Promise<void>;
}

/** Serves the fake over streamable HTTP (stateful sessions) on 127.0.0.1 with an ephemeral port. */
export async function serveFakeMcpOverHttp(): Promise<FakeMcpHttpServer> {
  const transports = new Map<string, StreamableHTTPServerTransport>();
  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (!req.url?.startsWith("/mcp")) {
      res.writeHead(404).end();
      return;
    }
    const sid = req.headers["mcp-session-id"];
    let transport = typeof sid === "string" ? transports.get(sid) : undefined;
    if (!transport) {
      if (sid !== undefined) {
        res.writeHead(404, { "content-type": "application/json" });
        res.end(
          JSON.stringify({ jsonrpc: "2.0", error: { code: -32001, message: "Session not found" }, id: null }),
        );
        return;
      }
      const created: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => {
          transports.set(id, created);
        },
      });
      created.onclose = () => {
        if (created.sessionId) transports.delete(created.sessionId);
      };
      await createFakeMcpServer().connect(created);
      transport = created;
    }
    await transport.handleRequest(req, res);
  };
  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    sessions: () => transports.size,
    close: async () => {
      await Promise.all([...transports.values()].map((t) => t.close()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function serveStdio(): Promise<void> {
  // The client closing our stdin is the end of the session.
  process.stdin.on("end", () => process.exit(0));
  await createFakeMcpServer().connect(new StdioServerTransport());
  if (process.env.FAKE_MCP_ANNOUNCE) process.stderr.write(`fake MCP server ready (pid ${process.pid})\n`);
}

if (require.main === module) {
  serveStdio().catch((err: unknown) => {
    process.stderr.write(`fake MCP server failed: ${String(err)}\n`);
    process.exit(1);
  });
}
