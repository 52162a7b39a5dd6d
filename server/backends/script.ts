// Scripted model output (provider local): read from a `--script` file or a
// launch configuration's "script", split into turns for a runtime service,
// and put in the wire form a turn request carries.

import * as fs from "node:fs";
import type { Json } from "../protocol/definition";
import type { WireScriptStep } from "../protocol/runtimeService";
import type { ScriptStep } from "../runtime/model";

/** A script file that cannot be used: the message names the file and what to fix (the CLI exits 2 on it). */
export class ScriptError extends Error {}

/** A script file: a JSON array of {"reply": text} | {"call": tool, "input": {...}} | {"handoff": agent}. */
export function readScript(file: string): ScriptStep[] {
  let data: unknown;
  try {
    data = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (err) {
    throw new ScriptError(`cannot read the script ${file}: ${(err as Error).message}`);
  }
  if (!Array.isArray(data)) throw new ScriptError(`${file}: a script is a JSON array of steps`);
  return data.map((s: Record<string, Json>, i) => {
    if (typeof s?.reply === "string") return { kind: "reply", text: s.reply };
    if (typeof s?.call === "string") return { kind: "call", tool: s.call, input: s.input ?? {} };
    if (typeof s?.handoff === "string") return { kind: "handoff", agent: s.handoff };
    throw new ScriptError(
      `${file}: step ${i + 1} must be {"reply": "..."}, {"call": "tool", "input": {...}} or {"handoff": "agent"}`,
    );
  });
}

export function toWireScript(steps: ScriptStep[]): WireScriptStep[] {
  return steps.map((s) =>
    s.kind === "reply"
      ? { reply: s.text }
      : s.kind === "call"
        ? { call: s.tool, input: s.input }
        : { handoff: s.agent },
  );
}

/**
 * Splits a whole-run script into turns: a turn ends when the model replies (a tool call or a handoff
 * lets it go on), so each turn takes the steps up to and including the next reply.
 */
export function scriptTurns(steps: ScriptStep[]): ScriptStep[][] {
  const turns: ScriptStep[][] = [];
  let current: ScriptStep[] = [];
  for (const s of steps) {
    current.push(s);
    if (s.kind === "reply") {
      turns.push(current);
      current = [];
    }
  }
  if (current.length) turns.push(current);
  return turns;
}
