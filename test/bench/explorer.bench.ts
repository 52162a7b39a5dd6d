// Session Explorer benchmark (issue 7: "time until a 10,000-event session
// shows its turns"): the explorer's data layer — reading the log from disk
// (client/src/sessions/store.ts, the reader the tree provider uses), folding
// it into a session with turns (model.ts) and describing the session and
// every turn node (nodes.ts, what getChildren / getTreeItem compute) — timed
// in Node on a log recorded by the real engine. Baseline in the same run: the
// runtime's own parseLog of the same file (read + JSON.parse of every line),
// the floor any reader pays. Also the cost of following a live session: one
// more turn appended to the file, read incrementally. Prints figures; never
// fails on time, but throws when the work is not done (wrong turn count).

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LocalBackend } from "../../server/backends/local";
import type { ScriptStep } from "../../server/runtime/model";
import { AgentSession } from "../../server/runtime/engine";
import { InMemoryStore } from "../../server/runtime/memoryStore";
import { compileFor, loadChecked } from "../../server/runtime/prepare";
import { parseLog, SessionLogWriter } from "../../server/runtime/sessionLog";
import { describeSession, describeTurn, turnNodes } from "../../client/src/sessions/nodes";
import { FolderSource } from "../../client/src/sessions/store";
import { fmt, gc, measure, measureAsync, printTable } from "./harness";

const TARGET_EVENTS = 10_000;
const SESSION_ID = "20261126-000000-bench0";

/** A support agent with memory (a window of 20 turns, like the example) and two tools; no limits. */
const AGENT = `
backend local_dev {
  kind: stateless
  provider: local
}
tool lookup_order {
  description: "Look up an order by id: status, total and line items"
  input {
    order_id: string "The order id, for example A1001"
  }
  run: command("node", ["tools/lookup_order.js"])
}
memory customer {
  scope: user
  window: 20
  fields {
    last_order?: string "Id of the order the customer last asked about"
  }
}
agent support {
  backend: local_dev
  instructions: "You are the support agent. The last order they asked about: {{memory.last_order}}."
  memory: customer
  tools: [lookup_order]
}
`;

const ORDER = {
  id: "A1001",
  total: 65,
  status: "delivered",
  placed_at: "2025-05-20",
  items: [{ sku: "MUG-SET-4", name: "Ceramic mug set", quantity: 1, unit_price: 40 }],
};

/** Records a session of at least TARGET_EVENTS events with the engine; returns the log file. */
async function record(dir: string): Promise<{ file: string; turns: number; events: number }> {
  fs.writeFileSync(path.join(dir, "main.agent"), AGENT);
  const loaded = loadChecked(path.join(dir, "main.agent"));
  const definition = compileFor(loaded, "support", "local_dev");
  const sessions = path.join(dir, ".statecraft", "sessions");
  const file = path.join(sessions, `${SESSION_ID}.jsonl`);
  const writer = new SessionLogWriter(file);
  const backend = new LocalBackend("local_dev", "stateless");
  const session = await AgentSession.start({
    definition,
    baseDir: dir,
    backend,
    backendName: "local_dev",
    sink: writer,
    sessionId: SESSION_ID,
    user: { id: "ada", name: "Ada" },
    memoryStore: new InMemoryStore(),
    mocks: () => ({ ok: true, output: ORDER }),
    source: "main.agent",
  });
  let turns = 0;
  while (writer.events.length < TARGET_EVENTS) {
    const id = `A${1000 + (turns % 50)}`;
    const steps: ScriptStep[] = [
      { kind: "call", tool: "lookup_order", input: { order_id: id } },
      { kind: "call", tool: "remember", input: { field: "last_order", value: id } },
      { kind: "reply", text: `Order ${id} was delivered on 2025-05-20; anything else?` },
    ];
    backend.enqueue(...steps);
    const r = await session.send(`Where is my order ${id}? (question ${turns + 1})`);
    if (r.status !== "ok") throw new Error(`turn ${turns + 1} of the recording ${r.status}: ${r.reason}`);
    turns++;
  }
  await session.end();
  writer.close();
  return { file, turns, events: writer.events.length };
}

/** What the explorer does to show a session's turns: read the folder, describe the session and each turn. */
async function showTurns(dir: string, expectTurns: number): Promise<void> {
  const source = new FolderSource("bench", "bench", dir);
  await source.scan();
  const model = source.session(SESSION_ID);
  if (!model) throw new Error("the explorer did not find the session");
  describeSession(model);
  const nodes = turnNodes(source.id, model);
  for (const n of nodes) if (n.kind === "turn") describeTurn(model.turn(n.turn)!);
  if (nodes.length !== expectTurns)
    throw new Error(`the explorer shows ${nodes.length} turns, not ${expectTurns}`);
}

export async function runExplorerBench(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "statecraft-bench-explorer-"));
  try {
    const rec = await record(dir);
    const bytes = fs.statSync(rec.file).size;
    gc();
    const baseline = measure(() => {
      const log = parseLog(fs.readFileSync(rec.file, "utf8"), "bench.jsonl");
      if (log.events.length !== rec.events) throw new Error("parseLog lost events");
    }, 20);
    gc();
    const show = await measureAsync(() => showTurns(dir, rec.turns), 20);

    // A live session: the explorer has read the log; one more turn is appended and read on.
    const live = new FolderSource("live", "live", dir);
    await live.scan();
    const text = fs.readFileSync(rec.file, "utf8").trimEnd().split("\n");
    const lastTurnStart = text.findLastIndex((l) => l.includes('"type":"turn.start"'));
    const oneTurn = text.slice(lastTurnStart, text.findLastIndex((l) => l.includes('"type":"turn.end"')) + 1);
    let nextSeq = rec.events + 1;
    let nextTurn = rec.turns + 1;
    const follow = await measureAsync(async () => {
      const lines = oneTurn.map((l) => {
        const e = JSON.parse(l) as { seq: number; turn: number };
        return JSON.stringify({ ...e, seq: nextSeq++, turn: nextTurn });
      });
      nextTurn++;
      fs.appendFileSync(rec.file, lines.join("\n") + "\n");
      if (!(await live.update(rec.file))) throw new Error("the appended turn was not read");
      const model = live.session(SESSION_ID)!;
      describeTurn(model.turns[model.turns.length - 1]);
    }, 50);

    printTable(
      `Session Explorer: a recorded ${rec.events.toLocaleString("en-US")}-event session (${rec.turns} turns, ${(bytes / 1e6).toFixed(1)} MB)`,
      [
        { name: "read the log and show its turns (median)", value: `${fmt(show.median)} ms` },
        { name: "  p95", value: `${fmt(show.p95)} ms` },
        { name: "baseline: parseLog of the same file (median)", value: `${fmt(baseline.median)} ms` },
        { name: "ratio to the baseline", value: `${(show.median / baseline.median).toFixed(2)}x` },
        {
          name: `follow a live session: one more turn (${oneTurn.length} events) read`,
          value: `${fmt(follow.median)} ms`,
        },
      ],
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
