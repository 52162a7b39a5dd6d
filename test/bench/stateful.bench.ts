// Bytes the client sends per turn, stateful against stateless (issue 6), one
// agent and one 50-turn conversation on both:
// - stateful: a RemoteSession against the runtime service (startService on
//   PGlite, in-process); the body of each turn's POST /invocations (plus any
//   other request it made) as sent. Inference in the service is scripted
//   (provider local), so each turn's body also carries its 3-step script,
//   which a real model would not need: reported apart.
// - stateless: the engine with OpenAIBackend against the fake OpenAI server
//   (test/fakes/openaiServer.ts): every request body the fake received for
//   the turn (its journal's byte counts), 2 model calls per turn.
// Both run the same two tools for real (http tools on a loopback server).
// The service's own model requests (its recorded model.request bytes) are
// shown too: the context still grows, but inside the service.
// Figures only: it throws when a turn does not do its work.

import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { OpenAIBackend } from "../../server/backends/openai";
import { statefulClient } from "../../server/backends/stateful";
import type { WireScriptStep } from "../../server/protocol/runtimeService";
import { RemoteSession } from "../../server/backends/statefulSession";
import { compileAgent, isCompileError, type CompiledDefinition } from "../../server/language/compile";
import { Program, type FileSystem } from "../../server/language/program";
import { checkFiles } from "../../server/language/validate";
import { AgentSession } from "../../server/runtime/engine";
import { InMemoryStore } from "../../server/runtime/memoryStore";
import { MemorySink } from "../../server/runtime/sessionLog";
import { startService } from "../../server/service";
import { FakeOpenAIServer, type FakeReply, type JournalEntry } from "../fakes/openaiServer";
import { printTable } from "./harness";

const KEY = "sk-bench-stateful-000000000000";
const TOKEN = "tok-bench-stateful";
const MODEL = "gpt-4.1-mini";
const TURNS = 50;
const AT = [1, 10, 50];
const INSTRUCTIONS =
  "You are the support agent of Acme. Look orders up with lookup_order and check stock with check_stock before you answer.";
const INPUT = "Where is my order A1003, and is the kettle in stock?";
const REPLY = "Order A1003 has shipped and arrives in 3 days; the kettle is in stock (12 left).";
const ORDER = { order_id: "A1003", status: "shipped", eta_days: 3 };
const STOCK = { sku: "KET-01", in_stock: 12 };

function compile(backend: string, tools: string): CompiledDefinition {
  const text = [
    backend,
    "tool lookup_order {",
    '  description: "Look up an order by id"',
    "  input {",
    '    order_id: string "The order id"',
    "  }",
    `  run: http("POST", "${tools}/lookup_order")`,
    "}",
    "tool check_stock {",
    '  description: "How many of a product are in stock"',
    "  input {",
    '    sku: string "The product SKU"',
    "  }",
    `  run: http("POST", "${tools}/check_stock")`,
    "}",
    "agent support {",
    "  backend: b",
    `  instructions: "${INSTRUCTIONS}"`,
    "  tools: [lookup_order, check_stock]",
    "}",
    "",
  ].join("\n");
  const file = "/bench-stateful/main.agent";
  const fsys: FileSystem = {
    readFile: (p) => (p === file ? text : undefined),
    exists: (p) => p === file,
  };
  const program = new Program(fsys);
  program.load(file);
  const errors = checkFiles(program, [file]).filter((d) => d.severity === "error");
  if (errors.length) throw new Error(`bench agent: ${errors.map((e) => e.message).join("; ")}`);
  const def = compileAgent(program, file, "support");
  if (isCompileError(def)) throw new Error(def.message);
  return def;
}

/** The fake's side: a user message gets the two tool calls, tool results get the reply. */
function responder(entry: JournalEntry): FakeReply {
  const body = entry.body as { messages?: { role: string }[] };
  if (body.messages?.at(-1)?.role === "tool") return { kind: "text", text: REPLY };
  return {
    kind: "tools",
    calls: [
      { name: "lookup_order", arguments: { order_id: "A1003" } },
      { name: "check_stock", arguments: { sku: "KET-01" } },
    ],
  };
}

const SCRIPT: WireScriptStep[] = [
  { call: "lookup_order", input: { order_id: "A1003" } },
  { call: "check_stock", input: { sku: "KET-01" } },
  { reply: REPLY },
];

async function toolServer(): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(req.url === "/lookup_order" ? ORDER : STOCK));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export async function runStatefulBench(): Promise<Record<string, number>> {
  const tools = await toolServer();
  const fake = await FakeOpenAIServer.start({ apiKey: KEY, models: [MODEL] });
  fake.respond = responder;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "statecraft-bench-stateful-"));
  const service = await startService({
    port: 0,
    dataDir: path.join(dir, "db"),
    tokens: { [TOKEN]: "bench" },
    env: {},
    baseDir: dir,
  });
  try {
    // -- stateless: the whole context in every model request ---------------------------------------
    const stateless = compile(
      `backend b {\n  kind: stateless\n  provider: openai\n  model: "${MODEL}"\n  endpoint: "${fake.openaiURL}"\n  api_key: env("OPENAI_API_KEY")\n}`,
      tools.url,
    );
    const local = await AgentSession.start({
      definition: stateless,
      baseDir: dir,
      backend: new OpenAIBackend(stateless.backends.b, { env: { OPENAI_API_KEY: KEY } }),
      backendName: "b",
      sink: new MemorySink(),
      sessionId: "bench-stateless",
      memoryStore: new InMemoryStore(),
      trusted: true,
    });
    const statelessBytes: number[] = [];
    for (let t = 1; t <= TURNS; t++) {
      const before = fake.journal.length;
      const r = await local.send(`${INPUT} (turn ${t})`);
      if (r.status !== "ok" || r.reply !== REPLY)
        throw new Error(`stateless turn ${t}: ${r.reason ?? r.reply}`);
      statelessBytes.push(fake.journal.slice(before).reduce((a, j) => a + j.bytes, 0));
    }
    await local.end();

    // -- stateful: the session id and the new input ---------------------------------------------------
    const stateful = compile(
      `backend b {\n  kind: stateful\n  provider: local\n  endpoint: "${service.url}"\n  api_key: env("RT_TOKEN")\n}`,
      tools.url,
    );
    const remote = new RemoteSession({
      client: statefulClient(stateful.backends.b, { RT_TOKEN: TOKEN }),
      definition: stateful,
      workspace: dir,
      runtimeEndpoint: service.url,
      user: { id: "bench" },
      approve: "all",
    });
    const statefulBytes: number[] = [];
    const scriptBytes = Buffer.byteLength(JSON.stringify({ script: SCRIPT })) - 2 + 1; // `,"script":[...]`
    for (let t = 1; t <= TURNS; t++) {
      const r = await remote.send(`${INPUT} (turn ${t})`, { script: SCRIPT });
      if (r.status !== "ok" || r.reply !== REPLY)
        throw new Error(`stateful turn ${t}: ${r.reason ?? r.reply}`);
      statefulBytes.push(r.bytesSent);
    }
    const serviceToModel = new Map<number, number>();
    for (const e of remote.events)
      if (e.type === "model.request") serviceToModel.set(e.turn, (serviceToModel.get(e.turn) ?? 0) + e.bytes);
    await remote.end();

    const kb = (n: number) => (n < 1024 ? `${n} B` : `${(n / 1024).toFixed(1)} KiB`);
    printTable(
      `Bytes the client sends per turn, stateful vs stateless (same agent, same ${TURNS}-turn conversation, 2 tools run per turn)`,
      [
        ...AT.map((t) => ({
          name: `stateless (OpenAI chat, fake server), turn ${t}`,
          value: kb(statelessBytes[t - 1]),
        })),
        ...AT.map((t) => ({
          name: `stateful (runtime service), turn ${t}`,
          value: `${kb(statefulBytes[t - 1])} (${kb(statefulBytes[t - 1] - scriptBytes)} without the test script)`,
        })),
        ...AT.map((t) => ({
          name: `  in the service: its model requests (3 scripted calls), turn ${t}`,
          value: kb(serviceToModel.get(t) ?? 0),
        })),
        {
          name: `ratio stateless / stateful at turn ${TURNS}`,
          value: `${(statelessBytes[TURNS - 1] / statefulBytes[TURNS - 1]).toFixed(1)}x`,
        },
      ],
    );
    const out: Record<string, number> = {};
    for (const t of AT) {
      out[`stateless_turn${t}`] = statelessBytes[t - 1];
      out[`stateful_turn${t}`] = statefulBytes[t - 1];
      out[`service_model_turn${t}`] = serviceToModel.get(t) ?? 0;
    }
    return out;
  } finally {
    await service.close();
    await fake.close();
    await tools.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
