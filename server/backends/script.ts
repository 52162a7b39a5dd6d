// Scripted model output (provider local): read from a `--script` file or a
// launch configuration's "script", split into turns for a runtime service,
// and put in the wire form a turn request carries.

import * as fs from "node:fs";
import { SCRIPT_STEP_FORMS, scriptStep, scriptTurns as splitTurns } from "../language/scriptSteps";
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
  return data.map((s: unknown, i): ScriptStep => {
    const step = scriptStep(s);
    if (!step) throw new ScriptError(`${file}: step ${i + 1} must be ${SCRIPT_STEP_FORMS}`);
    return step.kind === "model.replies"
      ? { kind: "reply", text: step.text }
      : step.kind === "model.calls"
        ? { kind: "call", tool: step.tool, input: step.input }
        : { kind: "handoff", agent: step.agent };
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

/** Splits a whole-run script into turns, each up to and including the model's next reply. */
export function scriptTurns(steps: ScriptStep[]): ScriptStep[][] {
  return splitTurns(steps, (s) => s.kind === "reply");
}
