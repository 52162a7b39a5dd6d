// Sessions for the Session Explorer's tests, recorded by the real engine on
// the scripted local backend (test/runtime/helpers.ts) and folded by the
// explorer's own model, so that what the tests describe is what a user's log
// holds.

import * as fs from "node:fs";
import * as path from "node:path";
import type { ScriptStep } from "../../server/runtime/model";
import type { Json } from "../../server/language/compile";
import type { SessionEvent } from "../../server/protocol/events";
import { modelFromEvents, type SessionModel } from "../../client/src/sessions/model";
import { SESSIONS_DIR } from "../../client/src/sessions/store";
import { compileSource, lines, startSession, type HarnessOptions } from "../runtime/helpers";

/** A support agent: a lookup tool, a refund tool that needs approval, and a memory. */
export const SUPPORT = lines(
  "memory customer {",
  "  scope: session",
  "  fields { name: string }",
  "}",
  "tool lookup_order {",
  '  description: "Look up an order"',
  "  input { order_id: string }",
  "}",
  "tool refund {",
  '  description: "Refund an order"',
  "  input {",
  "    order_id: string",
  "    amount: number",
  "  }",
  "}",
  "agent support {",
  '  instructions: "Look the order up before you discuss it."',
  "  tools: [lookup_order, refund]",
  "  memory: customer",
  "  policy {",
  "    require_approval: [refund]",
  "  }",
  "}",
);

export interface Turn {
  input: string;
  script: ScriptStep[];
}

export interface RecordOptions extends HarnessOptions {
  /** Tool results by tool name (mocked: nothing runs). */
  results?: Record<string, Json>;
}

/** Runs `turns` of the support agent (or `source`) and returns its events, session.end included. */
export async function record(
  turns: Turn[],
  options: RecordOptions = {},
  source = SUPPORT,
): Promise<SessionEvent[]> {
  const { results = {}, ...rest } = options;
  const h = await startSession(compileSource(source), {
    sessionId: "20261126-054358-abc123",
    mocks: (tool) => ({ ok: true, output: results[tool] ?? null }),
    approver: () => Promise.resolve(true),
    ...rest,
  });
  for (const t of turns) {
    h.script(...t.script);
    await h.session.send(t.input);
  }
  await h.session.end();
  return h.events;
}

export async function recordModel(turns: Turn[], options: RecordOptions = {}): Promise<SessionModel> {
  const events = await record(turns, options);
  return modelFromEvents(events[0].type === "session.start" ? events[0].sessionId : "s", events);
}

/** A turn in which the model looks an order up and then replies. */
export const LOOKUP: Turn = {
  input: "Where is my order A1003?",
  script: [
    { kind: "call", tool: "lookup_order", input: { order_id: "A1003" } },
    { kind: "reply", text: "A1003 has shipped." },
  ],
};

/** A turn in which the model refunds 40 on A1001 (approved) and then replies. */
export const REFUND: Turn = {
  input: "Please refund 40 USD on order A1001.",
  script: [
    { kind: "call", tool: "refund", input: { order_id: "A1001", amount: 40 } },
    { kind: "reply", text: "Refunded." },
  ],
};

/** Writes `events` as a session log under `workspace`/.statecraft/sessions, as the engine's writer does. */
export function writeLog(workspace: string, id: string, events: SessionEvent[]): string {
  const file = path.join(workspace, SESSIONS_DIR, `${id}.jsonl`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, logText(events));
  return file;
}

export const logText = (events: SessionEvent[]): string =>
  events.map((e) => JSON.stringify(e)).join("\n") + "\n";
