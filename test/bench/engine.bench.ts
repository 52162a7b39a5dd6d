// Agent engine benchmarks (issue: runtime overhead): the engine's own cost per
// turn on the scripted local backend, exact replay of a generated 1,000-turn
// session, and the cost of appending one event to a session log. Baselines
// measured in the same run: the local backend's complete() calls alone for the
// same model steps (engine overhead = turn time - backend time), and a bare
// fs.writeSync of the same JSON line to an open file (the raw cost of a log
// append). Like the other suites it prints figures and never fails on time; it
// does throw when a turn or a replay does not do the work it is meant to time.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LocalBackend } from "../../server/backends/local";
import {
  compileAgent,
  isCompileError,
  type CompiledDefinition,
  type Json,
} from "../../server/language/compile";
import { Program, type FileSystem } from "../../server/language/program";
import { checkFiles } from "../../server/language/validate";
import { AgentSession, type MockProvider, type TurnResult } from "../../server/runtime/engine";
import type { NewEvent, SessionEvent } from "../../server/protocol/events";
import { InMemoryStore } from "../../server/runtime/memoryStore";
import type { ModelBackend, ModelRequest, ModelResponse, ScriptStep } from "../../server/runtime/model";
import { replayExact } from "../../server/runtime/replay";
import { MemorySink, parseLog, SessionLogWriter, type EventSink } from "../../server/runtime/sessionLog";
import type { ToolOutcome } from "../../server/runtime/tools";
import { fmt, gc, measure, measureAsync, printTable, type Stats } from "./harness";

const ROOT = "/bench-engine";
const REPLAY_TURNS = 1_000;

// ---- the agent ----------------------------------------------------------------------------------

export const REFUND_POLICY = [
  "# Acme refund policy",
  "",
  "Customers can ask for a refund on any order placed in the last 30 days, in full",
  "or in part (for example one damaged item of several). Refunds go back to the",
  "original payment method and usually arrive within 5 business days.",
  "",
  "## Who can approve a refund",
  "",
  "- Up to 500 USD per refund: tier-1 support issues it without a manager's",
  "  sign-off. A support supervisor still confirms each refund before it is sent.",
  "- Over 500 USD: tier-1 support cannot issue it. Open a ticket with priority",
  "  high for the billing team, who reply within one business day.",
  "",
  "A refund is never larger than what the customer paid for the order.",
  "",
].join("\n");

/** A realistic support agent: templated instructions, a file context, memory with fields, 3 tools, a policy. */
const SOURCE = [
  "type LineItem {",
  "  sku: string",
  "  name: string",
  "  quantity: integer",
  '  unit_price: number "Price of one unit in USD"',
  "}",
  "type Order {",
  '  id: string "The order id, for example A1001"',
  '  total: number "Order total in USD"',
  '  status: enum("open", "shipped", "delivered", "refunded")',
  '  placed_at: string "ISO 8601 date the order was placed"',
  "  items?: LineItem[]",
  "}",
  "tool lookup_order {",
  '  description: "Look up an order by id: status, total and line items"',
  "  input {",
  '    order_id: string "The order id, for example A1001"',
  "  }",
  "  output: Order",
  '  run: command("node", ["tools/lookup_order.js"])',
  '  requires: ["orders:read"]',
  "  timeout_ms: 5000",
  "}",
  "tool refund {",
  '  description: "Refund part or all of an order to the original payment method"',
  "  input {",
  '    order_id: string "The order to refund"',
  '    amount: number "Amount to refund in USD"',
  '    reason?: string "Why the customer is refunded"',
  "  }",
  '  run: command("node", ["tools/refund.js"])',
  '  requires: ["refunds:write"]',
  "  timeout_ms: 10000",
  "}",
  "tool create_ticket {",
  '  description: "Open a ticket for the support team to follow up on"',
  "  input {",
  '    subject: string "One line describing the problem"',
  '    priority: enum("low", "normal", "high", "urgent")',
  '    order_id?: string "The order the ticket is about, if any"',
  "  }",
  '  run: command("node", ["tools/create_ticket.js"])',
  '  requires: ["tickets:write"]',
  "  timeout_ms: 5000",
  "}",
  "context refund_policy {",
  '  description: "Acme refund policy"',
  '  from: file("docs/refunds.md")',
  "  max_tokens: 1500",
  "}",
  "memory customer {",
  "  scope: user",
  "  window: 10",
  "  fields {",
  '    preferred_name?: string "How the customer likes to be addressed"',
  '    open_tickets: integer "Tickets opened for this customer and not yet closed"',
  '    last_order?: string "Id of the order the customer last asked about"',
  "  }",
  "}",
  "agent support {",
  '  description: "Tier-1 customer support: orders, refunds and tickets"',
  "  temperature: 0.2",
  '  instructions: """',
  "    You are the tier-1 support agent for {{vars.company}}.",
  "    You are talking to {{user.name}} ({{user.id}}). Preferred name: {{memory.preferred_name}}.",
  "    The last order they asked about: {{memory.last_order}}. Open tickets: {{memory.open_tickets}}.",
  "    This is turn {{session.turn}} of session {{session.id}}.",
  "",
  "    - Look an order up with lookup_order before you discuss it; never guess its details.",
  "    - Follow the refund policy exactly; never refund more than 500 USD.",
  "    - When you open a ticket, remember the new number of open tickets.",
  '  """',
  "  vars {",
  '    company: "Acme"',
  "  }",
  "  context: [refund_policy]",
  "  memory: customer",
  "  tools: [lookup_order, refund, create_ticket]",
  "  identity {",
  '    role: "support-tier-1"',
  "    acts_for: user",
  '    scopes: ["orders:read", "refunds:write", "tickets:write"]',
  "  }",
  "  policy {",
  "    require_approval: [refund]",
  "    deny refund when input.amount > 500",
  "    max_tool_calls: 1_000_000",
  "  }",
  "}",
  "",
].join("\n");

export function compileBenchAgent(): CompiledDefinition {
  const files = new Map([
    [path.join(ROOT, "main.agent"), SOURCE],
    [path.join(ROOT, "docs/refunds.md"), REFUND_POLICY],
  ]);
  const memFs: FileSystem = {
    readFile: (p) => files.get(path.resolve(p)),
    exists: (p) => files.has(path.resolve(p)),
  };
  const root = path.join(ROOT, "main.agent");
  const program = new Program(memFs);
  program.load(root);
  const problems = checkFiles(program, [root]).filter(
    (d) => d.severity === "error" || d.severity === "warning",
  );
  if (problems.length)
    throw new Error(`the benchmark agent has ${problems.length} problems, first: ${problems[0].message}`);
  const def = compileAgent(program, root, "support");
  if (isCompileError(def)) throw new Error(def.message);
  return def;
}

// ---- the scripted conversation ------------------------------------------------------------------

const orderId = (i: number) => `A${1000 + (i % 97)}`;

/** The user input of turn i (0-based). */
function inputFor(i: number): string {
  switch (i % 4) {
    case 0:
      return `Hi, where is my order ${orderId(i)}? It was supposed to arrive on Monday.`;
    case 1:
      return `Order ${orderId(i)} arrived damaged, can I get my money back please?`;
    case 2:
      return `Nothing happened about ${orderId(i)} yet; please escalate this to someone.`;
    default:
      return `Just so you know, ${orderId(i)} is the order I care about most right now.`;
  }
}

/** The model steps of turn i: one tool call (a lookup, a refund, a ticket or a memory write), then a reply. */
function stepsFor(i: number): ScriptStep[] {
  const id = orderId(i);
  let call: ScriptStep;
  switch (i % 4) {
    case 0:
      call = { kind: "call", tool: "lookup_order", input: { order_id: id } };
      break;
    case 1:
      // Every other refund is over the limit: the deny rule answers instead of the (approved) tool.
      call = {
        kind: "call",
        tool: "refund",
        input: { order_id: id, amount: i % 8 === 1 ? 40 : 800, reason: "item arrived damaged" },
      };
      break;
    case 2:
      call = {
        kind: "call",
        tool: "create_ticket",
        input: { subject: `Delivery of ${id} is late`, priority: "normal", order_id: id },
      };
      break;
    default:
      call = { kind: "call", tool: "remember", input: { field: "last_order", value: id } };
  }
  const reply: ScriptStep = {
    kind: "reply",
    text:
      `Thanks for your patience. I have taken care of ${id} for you: you will get an email with ` +
      "the details shortly, and the support team will follow up if anything else is needed. " +
      "Is there anything else I can help you with today?",
  };
  return [call, reply];
}

/** Deterministic tool results (the tools never run). */
const mocks: MockProvider = (tool, input): ToolOutcome | undefined => {
  const args = input as Record<string, Json>;
  const id = String(args.order_id ?? "A1000");
  switch (tool) {
    case "lookup_order":
      return {
        ok: true,
        output: {
          id,
          total: 129.9,
          status: "shipped",
          placed_at: "2025-03-02T10:15:00Z",
          items: [
            { sku: "KB-104", name: "Mechanical keyboard", quantity: 1, unit_price: 89.9 },
            { sku: "MS-220", name: "Wireless mouse", quantity: 1, unit_price: 40 },
          ],
        },
      };
    case "refund":
      return {
        ok: true,
        output: { refund_id: `R-${id}`, order_id: id, amount: args.amount ?? null, status: "issued" },
      };
    case "create_ticket":
      return {
        ok: true,
        output: { id: `T-${id}`, subject: args.subject ?? null, priority: "normal", status: "open" },
      };
  }
  return undefined;
};

/** Throws unless turn i did what it was scripted to do: a benchmark must time real work. */
function checkTurn(r: TurnResult, i: number, backend: LocalBackend): void {
  const expected = i % 4 === 1 && i % 8 !== 1 ? "denied" : "ran";
  if (r.status !== "ok" || r.tools.length !== 1 || r.tools[0].status !== expected || backend.pending !== 0)
    throw new Error(
      `turn ${i + 1} did not run as scripted: ${r.status} ${r.reason ?? ""} ${JSON.stringify(r.tools)}`,
    );
}

export interface Rig {
  session: AgentSession;
  backend: LocalBackend;
  next: number;
  /** Runs the next scripted turn. */
  turn(): Promise<void>;
}

export async function startRig(
  def: CompiledDefinition,
  baseDir: string,
  sink: EventSink,
  sessionId: string,
  wrap: (b: LocalBackend) => ModelBackend = (b) => b,
): Promise<Rig> {
  const backend = new LocalBackend();
  const session = await AgentSession.start({
    definition: def,
    baseDir,
    backend: wrap(backend),
    backendName: "local",
    sink,
    sessionId,
    user: { id: "u-ada", name: "Ada Lovelace" },
    memoryStore: new InMemoryStore(),
    trusted: true,
    mocks,
    approver: () => Promise.resolve(true),
    onText: () => undefined,
    source: "main.agent",
  });
  const rig: Rig = {
    session,
    backend,
    next: 0,
    turn: async () => {
      const i = rig.next++;
      backend.enqueue(...stepsFor(i));
      checkTurn(await session.send(inputFor(i)), i, backend);
    },
  };
  return rig;
}

// ---- 1. engine overhead per turn ----------------------------------------------------------------

interface TurnFigures {
  memory: Stats;
  file: Stats;
  backend: Stats;
}

async function benchTurns(def: CompiledDefinition, dir: string): Promise<TurnFigures> {
  const TURNS = 1_000;
  const WARMUP = 200;

  // The requests the engine sends in steady state (history at its window), captured once, then played to
  // a bare LocalBackend: the model's share of a turn.
  const captured: ModelRequest[] = [];
  const capture = await startRig(def, dir, new MemorySink(), "s-capture", (b) => ({
    name: b.name,
    kind: b.kind,
    provider: b.provider,
    complete: (req: ModelRequest): Promise<ModelResponse> => {
      captured.push(req);
      return b.complete(req);
    },
  }));
  const CAPTURE_FROM = 24; // past the window of 10 turns
  const CAPTURE_TURNS = 16; // 4 cycles of the 4 kinds of turn
  for (let i = 0; i < CAPTURE_FROM + CAPTURE_TURNS; i++) await capture.turn();
  if (captured.length !== 2 * (CAPTURE_FROM + CAPTURE_TURNS))
    throw new Error(`expected 2 model calls per turn, captured ${captured.length}`);
  const requests = captured.slice(2 * CAPTURE_FROM);

  const bare = new LocalBackend();
  let k = 0;
  const backendStats = await measureAsync(
    async () => {
      const j = k++ % CAPTURE_TURNS;
      bare.enqueue(...stepsFor(CAPTURE_FROM + j));
      await bare.complete(requests[2 * j]);
      await bare.complete(requests[2 * j + 1]);
      if (bare.pending !== 0) throw new Error("the bare backend did not consume its script");
    },
    TURNS,
    WARMUP,
  );

  gc();
  const memRig = await startRig(def, dir, new MemorySink(), "s-memory");
  const memory = await measureAsync(memRig.turn, TURNS, WARMUP);

  gc();
  const writer = new SessionLogWriter(path.join(dir, "turns.jsonl"));
  const fileRig = await startRig(def, dir, writer, "s-file");
  const file = await measureAsync(fileRig.turn, TURNS, WARMUP);
  await fileRig.session.end();
  writer.close();

  return { memory, file, backend: backendStats };
}

// ---- 2. exact replay of a 1,000-turn session ----------------------------------------------------

interface ReplayFigures {
  replay: Stats;
  read: Stats;
  bytes: number;
  events: SessionEvent[];
  requests: number;
}

async function benchReplay(def: CompiledDefinition, dir: string): Promise<ReplayFigures> {
  const file = path.join(dir, "replay.jsonl");
  const writer = new SessionLogWriter(file);
  const rig = await startRig(def, dir, writer, "s-replay");
  for (let i = 0; i < REPLAY_TURNS; i++) await rig.turn();
  await rig.session.end();
  writer.close();

  const text = fs.readFileSync(file, "utf8");
  const bytes = Buffer.byteLength(text);
  const read = measure(
    () => {
      parseLog(fs.readFileSync(file, "utf8"), "replay.jsonl");
    },
    5,
    1,
  );
  const parsed = parseLog(text, "replay.jsonl");
  if (parsed.warnings.length) throw new Error(`the recorded log has problems: ${parsed.warnings[0]}`);
  const events = parsed.events;

  let requests = 0;
  const replay = await measureAsync(
    async () => {
      const r = await replayExact(events, def, dir);
      if (!r.matched || r.turns !== REPLAY_TURNS)
        throw new Error(
          `exact replay of the recorded session did not match: ${r.divergence?.summary ?? `${r.turns} turns`}`,
        );
      requests = r.requests;
    },
    5,
    1,
  );
  return { replay, read, bytes, events, requests };
}

// ---- 3. log append cost per event ---------------------------------------------------------------

interface AppendFigures {
  label: string;
  bytes: number;
  append: Stats;
  raw: Stats;
}

const strip = (e: SessionEvent): NewEvent => {
  const { seq: _seq, ts: _ts, ...rest } = e;
  return rest as NewEvent;
};

function benchAppend(events: SessionEvent[], dir: string): AppendFigures[] {
  // One steady-state turn of the recorded session: its events as the engine appends them.
  // A refund turn that runs (0-based index i with i % 8 == 1): call, decision, approval, result.
  const turn = Math.floor(REPLAY_TURNS / 16) * 8 + 1 + 1;
  const turnEvents = events.filter((e) => "turn" in e && e.turn === turn).map(strip);
  const snapshot = turnEvents.find((e) => e.type === "context.snapshot" && e.step === 0);
  if (!snapshot) throw new Error(`no context snapshot in turn ${turn} of the recorded session`);
  const small = turnEvents.filter(
    (e) => e.type !== "context.snapshot" && e.type !== "turn.end" && e.type !== "memory.snapshot",
  );
  const cases: { label: string; batch: NewEvent[] }[] = [
    { label: "context.snapshot", batch: Array.from({ length: 4 }, () => snapshot) },
    // turn.start, model.request/response, tool.call, policy.decision, approval, tool.result.
    { label: `the ${small.length} small events of a turn`, batch: small },
    { label: `a whole turn (${turnEvents.length} events)`, batch: turnEvents },
  ];

  const out: AppendFigures[] = [];
  cases.forEach(({ label, batch }, n) => {
    const logFile = path.join(dir, `append-${n}.jsonl`);
    const rawFile = path.join(dir, `raw-${n}.jsonl`);
    const writer = new SessionLogWriter(logFile);
    const append = measure(() => {
      for (const e of batch) writer.append(e);
    }, 400);
    writer.close();
    // The raw cost: the same lines (numbered and stamped the way the writer does) written to an open fd.
    const ts = new Date().toISOString();
    const lines = batch.map((e, i) => JSON.stringify({ seq: i + 1, ts, ...e }) + "\n");
    const fd = fs.openSync(rawFile, "a");
    const raw = measure(() => {
      for (const l of lines) fs.writeSync(fd, l);
    }, 400);
    fs.closeSync(fd);
    const perEvent = (s: Stats): Stats => ({
      samples: s.samples,
      median: s.median / batch.length,
      p95: s.p95 / batch.length,
      min: s.min / batch.length,
    });
    const bytes = lines.reduce((a, l) => a + Buffer.byteLength(l), 0) / lines.length;
    out.push({ label, bytes, append: perEvent(append), raw: perEvent(raw) });
    fs.rmSync(logFile, { force: true });
    fs.rmSync(rawFile, { force: true });
  });
  return out;
}

// ---- the suite ----------------------------------------------------------------------------------

export async function runEngineBench(): Promise<Record<string, number>> {
  const def = compileBenchAgent();
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "statecraft-bench-engine-")));
  try {
    fs.mkdirSync(path.join(dir, "docs"));
    fs.writeFileSync(path.join(dir, "docs", "refunds.md"), REFUND_POLICY);

    const turns = await benchTurns(def, dir);
    gc();
    const rp = await benchReplay(def, dir);
    gc();
    const appends = benchAppend(rp.events, dir);

    const us = (ms: number) => `${(ms * 1000).toFixed(1)} µs`;
    const overheadMem = turns.memory.median - turns.backend.median;
    const overheadFile = turns.file.median - turns.backend.median;
    const mb = rp.bytes / 1024 / 1024;
    printTable("Agent engine: turns on the local backend, 1 tool call + 1 reply each (median of samples)", [
      {
        name: "turn, MemorySink",
        value: `${fmt(turns.memory.median)} ms (p95 ${fmt(turns.memory.p95)})`,
      },
      {
        name: "turn, SessionLogWriter to a file",
        value: `${fmt(turns.file.median)} ms (p95 ${fmt(turns.file.p95)})`,
      },
      {
        name: "local backend complete() x2 alone (baseline)",
        value: `${fmt(turns.backend.median)} ms (p95 ${fmt(turns.backend.p95)})`,
      },
      { name: "engine overhead per turn, MemorySink", value: `${fmt(overheadMem)} ms`, target: "< 1 ms" },
      { name: "engine overhead per turn, log file", value: `${fmt(overheadFile)} ms`, target: "< 1 ms" },
    ]);
    printTable(`Exact replay: a recorded ${REPLAY_TURNS}-turn session`, [
      {
        name: "replayExact (matched)",
        value: `${fmt(rp.replay.median)} ms (min ${fmt(rp.replay.min)}, ${rp.replay.samples} runs)`,
        target: "< 1 s",
      },
      { name: "read + parse the log", value: `${fmt(rp.read.median)} ms` },
      { name: "log size", value: `${mb.toFixed(1)} MB` },
      { name: "events / model requests compared", value: `${rp.events.length} / ${rp.requests}` },
    ]);
    printTable(
      "Session log: SessionLogWriter.append vs fs.writeSync of the same line (median per event)",
      appends.flatMap((a) => [
        {
          name: `${a.label}, ${(a.bytes / 1024).toFixed(1)} KiB avg`,
          value: `${us(a.append.median)} (p95 ${us(a.append.p95)})`,
        },
        { name: "  fs.writeSync alone (baseline)", value: us(a.raw.median) },
        { name: "  append / raw write", value: `${(a.append.median / a.raw.median).toFixed(2)}x` },
      ]),
    );

    const [snap, small, turn] = appends;
    return {
      turnMemoryMs: turns.memory.median,
      turnMemoryP95Ms: turns.memory.p95,
      turnFileMs: turns.file.median,
      turnFileP95Ms: turns.file.p95,
      backendPerTurnMs: turns.backend.median,
      overheadMemoryMs: overheadMem,
      overheadFileMs: overheadFile,
      replayMs: rp.replay.median,
      replayLogMB: mb,
      replayEvents: rp.events.length,
      appendSnapshotUs: snap.append.median * 1000,
      appendSnapshotRatio: snap.append.median / snap.raw.median,
      appendSmallUs: small.append.median * 1000,
      appendSmallRatio: small.append.median / small.raw.median,
      appendTurnUs: turn.append.median * 1000,
      appendTurnRatio: turn.append.median / turn.raw.median,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
