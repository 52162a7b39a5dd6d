// The step format of scripted model output, shared by the CLI's `--script`
// files (backends/script.ts) and the `script` field of eval dataset lines
// (language/dataset.ts): {"reply": text} | {"call": tool, "input": {...}} |
// {"handoff": agent}, read here into the scripted model steps of tests.

import type { Json } from "../protocol/definition";
import type { TestStepIR } from "./compileTests";

/** A scripted model step, as tests write it: `model replies`, `model calls`, `model hands_off`. */
export type ScriptedModelStep = Extract<
  TestStepIR,
  { kind: "model.replies" | "model.calls" | "model.hands_off" }
>;

/** The three forms of a step, as error messages name them. */
export const SCRIPT_STEP_FORMS = `{"reply": "..."}, {"call": "tool", "input": {...}} or {"handoff": "agent"}`;

/** One step of a script, or undefined when it is none of the three forms. */
export function scriptStep(value: unknown): ScriptedModelStep | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const s = value as Record<string, Json | undefined>;
  if (typeof s.reply === "string") return { kind: "model.replies", text: s.reply };
  if (typeof s.call === "string") {
    const input = s.input ?? {};
    if (typeof input !== "object" || input === null || Array.isArray(input)) return undefined;
    return { kind: "model.calls", tool: s.call, input };
  }
  if (typeof s.handoff === "string") return { kind: "model.hands_off", agent: s.handoff };
  return undefined;
}

/**
 * Splits a whole-run script into turns: a turn ends when the model replies (a tool call or a handoff
 * lets it go on), so each turn takes the steps up to and including the next reply.
 */
export function scriptTurns<T>(steps: T[], isReply: (step: T) => boolean): T[][] {
  const turns: T[][] = [];
  let current: T[] = [];
  for (const s of steps) {
    current.push(s);
    if (isReply(s)) {
      turns.push(current);
      current = [];
    }
  }
  if (current.length) turns.push(current);
  return turns;
}
