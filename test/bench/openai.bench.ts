// Stateless backend benchmarks (issue 5), all against one fake OpenAI server
// (test/fakes/openaiServer.ts) in one run:
// - the backend's added time per turn over a bare `openai` SDK loop making the
//   same two streamed Chat Completions calls (tool calls, then the reply);
// - a whole Statecraft turn (engine + backend + mocked tools) against the same
//   two-tool conversation through @openai/agents 0.14 (Chat Completions model,
//   streamed, tracing off) as a peer;
// - bytes sent per turn at turns 1, 10 and 50 of a stateless session, on both APIs.
// Samples are interleaved (one of each per round) so drift hits all alike.
// Figures only: nothing here passes or fails on time; it throws when a turn
// does not do the work it is meant to time.

import OpenAI from "openai";
import { Agent, OpenAIChatCompletionsModel, run, setTracingDisabled, tool } from "@openai/agents";
import { OpenAIBackend } from "../../server/backends/openai";
import { compileAgent, isCompileError, type CompiledDefinition } from "../../server/language/compile";
import { Program, type FileSystem } from "../../server/language/program";
import { checkFiles } from "../../server/language/validate";
import { AgentSession } from "../../server/runtime/engine";
import type { Message, ToolSchema } from "../../server/protocol/events";
import { InMemoryStore } from "../../server/runtime/memoryStore";
import { MemorySink } from "../../server/runtime/sessionLog";
import { FakeOpenAIServer, type FakeReply, type JournalEntry } from "../fakes/openaiServer";
import { fmt, gc, printTable, stats } from "./harness";

const KEY = "sk-bench-0000000000000000";
const MODEL = "gpt-4.1-mini";
const INSTRUCTIONS =
  "You are the support agent of Acme. Look orders up with lookup_order and check stock with check_stock before you answer.";
const INPUT = "Where is my order A1003, and is the kettle in stock?";
const REPLY = "Order A1003 has shipped and arrives in 3 days; the kettle is in stock (12 left).";
const ORDER = { order_id: "A1003", status: "shipped", eta_days: 3 };
const STOCK = { sku: "KET-01", in_stock: 12 };

const SOURCE = (endpoint: string, api: "chat" | "responses") =>
  [
    "backend cloud {",
    "  kind: stateless",
    "  provider: openai",
    `  model: "${MODEL}"`,
    `  endpoint: "${endpoint}"`,
    `  api: ${api}`,
    '  api_key: env("OPENAI_API_KEY")',
    "}",
    "tool lookup_order {",
    '  description: "Look up an order by id"',
    "  input {",
    '    order_id: string "The order id"',
    "  }",
    "}",
    "tool check_stock {",
    '  description: "How many of a product are in stock"',
    "  input {",
    '    sku: string "The product SKU"',
    "  }",
    "}",
    "agent support {",
    "  backend: cloud",
    `  instructions: "${INSTRUCTIONS}"`,
    "  tools: [lookup_order, check_stock]",
    "}",
    "",
  ].join("\n");

function compile(endpoint: string, api: "chat" | "responses"): CompiledDefinition {
  const text = SOURCE(endpoint, api);
  const fsys: FileSystem = {
    readFile: (p) => (p === "/bench-openai/main.agent" ? text : undefined),
    exists: (p) => p === "/bench-openai/main.agent",
  };
  const program = new Program(fsys);
  program.load("/bench-openai/main.agent");
  const errors = checkFiles(program, ["/bench-openai/main.agent"]).filter((d) => d.severity === "error");
  if (errors.length) throw new Error(`bench agent: ${errors.map((e) => e.message).join("; ")}`);
  const def = compileAgent(program, "/bench-openai/main.agent", "support");
  if (isCompileError(def)) throw new Error(def.message);
  return def;
}

/** The fake's side: a user message gets the two tool calls, tool results get the reply. */
function responder(entry: JournalEntry): FakeReply {
  const body = entry.body as { messages?: { role: string }[]; input?: { type?: string; role?: string }[] };
  const last = entry.api === "chat" ? body.messages?.at(-1)?.role : (body.input?.at(-1)?.type ?? "message");
  if (last === "tool" || last === "function_call_output") return { kind: "text", text: REPLY };
  return {
    kind: "tools",
    calls: [
      { name: "lookup_order", arguments: { order_id: "A1003" } },
      { name: "check_stock", arguments: { sku: "KET-01" } },
    ],
  };
}

const mocks = (name: string) => ({ ok: true as const, output: name === "lookup_order" ? ORDER : STOCK });

export async function runOpenAIBench(): Promise<Record<string, number>> {
  const fake = await FakeOpenAIServer.start({ apiKey: KEY, models: [MODEL] });
  fake.respond = responder;
  try {
    const def = compile(fake.openaiURL, "chat");
    const spec = def.backends.cloud;
    const env = { OPENAI_API_KEY: KEY };
    const backend = new OpenAIBackend(spec, { env });
    const schemas: ToolSchema[] = ["lookup_order", "check_stock"].map((n) => ({
      name: n,
      description: def.tools[n].description,
      parameters: def.tools[n].parameters,
    }));

    // -- bare SDK: the same two streamed calls, the bodies built by hand ------------------------------
    const sdk = new OpenAI({ apiKey: KEY, baseURL: fake.openaiURL, maxRetries: 2, logLevel: "off" });
    const sdkTools: OpenAI.Chat.Completions.ChatCompletionFunctionTool[] = schemas.map((s) => ({
      type: "function",
      function: {
        name: s.name,
        description: s.description,
        parameters: s.parameters as Record<string, unknown>,
      },
    }));
    const bareCall = async (messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[]) => {
      const stream = await sdk.chat.completions.create({
        model: MODEL,
        messages,
        tools: sdkTools,
        stream: true,
        stream_options: { include_usage: true },
      });
      let text = "";
      const calls: { id: string; name: string; args: string }[] = [];
      for await (const chunk of stream) {
        const d = chunk.choices[0]?.delta;
        if (d?.content) text += d.content;
        for (const tc of d?.tool_calls ?? []) {
          const c = (calls[tc.index] ??= { id: "", name: "", args: "" });
          if (tc.id) c.id = tc.id;
          if (tc.function?.name) c.name += tc.function.name;
          if (tc.function?.arguments) c.args += tc.function.arguments;
        }
      }
      return { text, calls };
    };
    const bareTurn = async () => {
      const messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [
        { role: "system", content: INSTRUCTIONS },
        { role: "user", content: INPUT },
      ];
      const first = await bareCall(messages);
      messages.push({
        role: "assistant",
        content: null,
        tool_calls: first.calls.map((c) => ({
          id: c.id,
          type: "function",
          function: { name: c.name, arguments: c.args },
        })),
      });
      for (const c of first.calls)
        messages.push({ role: "tool", tool_call_id: c.id, content: JSON.stringify(mocks(c.name).output) });
      const second = await bareCall(messages);
      if (second.text !== REPLY || first.calls.length !== 2)
        throw new Error("bare SDK turn did not complete");
    };

    // -- the backend alone: the same two calls through OpenAIBackend.complete ------------------------
    const backendTurn = async () => {
      const messages: Message[] = [
        { role: "system", content: INSTRUCTIONS },
        { role: "user", content: INPUT },
      ];
      const first = await backend.complete({ model: MODEL, messages, tools: schemas });
      const next: Message[] = [
        ...messages,
        { role: "assistant", content: first.text, toolCalls: first.toolCalls },
        ...first.toolCalls.map((c): Message => ({
          role: "tool",
          toolCallId: c.id,
          name: c.name,
          content: JSON.stringify(mocks(c.name).output),
        })),
      ];
      const second = await backend.complete({ model: MODEL, messages: next, tools: schemas });
      if (second.text !== REPLY || first.toolCalls.length !== 2)
        throw new Error("backend turn did not complete");
    };

    // -- a whole Statecraft turn: engine + backend + (mocked) tools, a fresh session each ------------
    const engineTurn = async () => {
      const session = await AgentSession.start({
        definition: def,
        baseDir: "/",
        backend,
        backendName: "cloud",
        sink: new MemorySink(),
        sessionId: "bench",
        memoryStore: new InMemoryStore(),
        trusted: true,
        mocks,
      });
      const r = await session.send(INPUT);
      await session.end();
      if (r.reply !== REPLY || r.tools.length !== 2) throw new Error(`engine turn: ${r.status} ${r.reason}`);
    };

    // -- @openai/agents: the same agent, tools and conversation, Chat Completions, streamed ------------
    setTracingDisabled(true);
    const agentsClient = new OpenAI({ apiKey: KEY, baseURL: fake.openaiURL, maxRetries: 2, logLevel: "off" });
    const peer = new Agent({
      name: "support",
      instructions: INSTRUCTIONS,
      model: new OpenAIChatCompletionsModel(agentsClient, MODEL),
      tools: [
        tool({
          name: "lookup_order",
          description: def.tools.lookup_order.description,
          parameters: {
            type: "object",
            properties: { order_id: { type: "string", description: "The order id" } },
            required: ["order_id"],
            additionalProperties: false,
          },
          strict: true,
          execute: () => Promise.resolve(JSON.stringify(ORDER)),
        }),
        tool({
          name: "check_stock",
          description: def.tools.check_stock.description,
          parameters: {
            type: "object",
            properties: { sku: { type: "string", description: "The product SKU" } },
            required: ["sku"],
            additionalProperties: false,
          },
          strict: true,
          execute: () => Promise.resolve(JSON.stringify(STOCK)),
        }),
      ],
    });
    const agentsTurn = async () => {
      const result = await run(peer, INPUT, { stream: true });
      await result.completed;
      if (result.finalOutput !== REPLY) throw new Error(`@openai/agents turn: ${String(result.finalOutput)}`);
    };

    // -- interleaved samples ---------------------------------------------------------------------------
    const ROUNDS = 150;
    const variants = { bare: bareTurn, backend: backendTurn, engine: engineTurn, agents: agentsTurn };
    const samples: Record<keyof typeof variants, number[]> = {
      bare: [],
      backend: [],
      engine: [],
      agents: [],
    };
    const cpu: Record<keyof typeof variants, number[]> = { bare: [], backend: [], engine: [], agents: [] };
    for (const fn of Object.values(variants)) for (let i = 0; i < 20; i++) await fn();
    gc();
    const entries = Object.entries(variants) as [keyof typeof variants, () => Promise<void>][];
    for (let i = 0; i < ROUNDS; i++)
      // Alternate the order, so neither variant always runs first in a round.
      for (const [name, fn] of i % 2 ? [...entries].reverse() : entries) {
        const c0 = process.cpuUsage();
        const t0 = process.hrtime.bigint();
        await fn();
        samples[name].push(Number(process.hrtime.bigint() - t0) / 1e6);
        const c = process.cpuUsage(c0);
        // CPU time of this process (client and fake alike): less disturbed by other load than wall time.
        cpu[name].push((c.user + c.system) / 1000);
      }
    const paired = samples.backend.map((b, i) => b - samples.bare[i]);
    const pairedCpu = cpu.backend.map((b, i) => b - cpu.bare[i]);
    const s = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, stats(v)])) as Record<
      keyof typeof variants,
      ReturnType<typeof stats>
    >;
    const added = stats(paired).median;
    const addedCpu = stats(pairedCpu).median;
    const row = (name: string, st: ReturnType<typeof stats>) => ({
      name,
      value: `${fmt(st.median)} ms (p95 ${fmt(st.p95)})`,
    });
    printTable(
      `OpenAI backend vs a bare openai SDK loop: one turn = 2 streamed chat calls (tool calls, reply), fake server, ${ROUNDS} interleaved rounds`,
      [
        row("bare openai SDK loop (baseline)", s.bare),
        row("OpenAIBackend.complete x2", s.backend),
        {
          name: "backend's added time per turn (median of paired differences)",
          value: `${fmt(added)} ms`,
          target: "< 1 ms",
        },
        {
          name: "backend's added CPU time per turn (median of paired differences)",
          value: `${fmt(addedCpu)} ms`,
        },
        {
          name: "ratio backend / bare SDK (medians)",
          value: `${(s.backend.median / s.bare.median).toFixed(3)}x`,
        },
        {
          name: "CPU per turn (client and fake), bare / backend (medians)",
          value: `${fmt(stats(cpu.bare).median)} / ${fmt(stats(cpu.backend).median)} ms`,
        },
      ],
    );
    printTable(
      "A whole two-tool turn: Statecraft engine + OpenAIBackend vs @openai/agents 0.14 (same fake)",
      [
        row("Statecraft turn (session start, send, end; MemorySink)", s.engine),
        row("@openai/agents run(), Chat Completions, streamed", s.agents),
        {
          name: "ratio @openai/agents / Statecraft (medians; > 1: Statecraft faster)",
          value: `${(s.agents.median / s.engine.median).toFixed(2)}x`,
          target: "> 1",
        },
      ],
    );

    // -- bytes per turn over a 50-turn stateless session ------------------------------------------------
    const bytes: Record<string, number> = {};
    for (const api of ["chat", "responses"] as const) {
      const d = compile(fake.openaiURL, api);
      const b = new OpenAIBackend(d.backends.cloud, { env });
      const sink = new MemorySink();
      const session = await AgentSession.start({
        definition: d,
        baseDir: "/",
        backend: b,
        backendName: "cloud",
        sink,
        sessionId: `bytes-${api}`,
        memoryStore: new InMemoryStore(),
        trusted: true,
        mocks,
      });
      fake.journal.length = 0;
      const perTurn: number[] = [];
      for (let t = 1; t <= 50; t++) {
        const before = fake.journal.length;
        const r = await session.send(`${INPUT} (turn ${t})`);
        if (r.status !== "ok") throw new Error(`bytes session turn ${t}: ${r.reason}`);
        perTurn.push(fake.journal.slice(before).reduce((a, j) => a + j.bytes, 0));
      }
      await session.end();
      for (const t of [1, 10, 50]) bytes[`${api}_turn${t}`] = perTurn[t - 1];
    }
    const kb = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
    printTable(
      "Bytes sent per turn, stateless: 2 model calls per turn (tool calls, reply), whole context each call; history capped at the default memory window of 20 turns",
      [
        ...(["chat", "responses"] as const).flatMap((api) =>
          [1, 10, 50].map((t) => ({ name: `${api}, turn ${t}`, value: kb(bytes[`${api}_turn${t}`]) })),
        ),
      ],
    );
    return {
      bareTurnMs: s.bare.median,
      backendTurnMs: s.backend.median,
      backendAddedMs: added,
      backendAddedCpuMs: addedCpu,
      engineTurnMs: s.engine.median,
      agentsTurnMs: s.agents.median,
      ...bytes,
    };
  } finally {
    await fake.close();
  }
}
