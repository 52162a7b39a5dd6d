// The dataset of an eval (evals.md section 2): one JSON object per line, each
// a case. Read into DatasetLine values, and every line that is not a valid
// case into a problem at that line naming the field, so `statecraft check`
// and the editor report it (`dataset-line`): a line is never silently skipped.

import type { Span } from "./ast";
import { SCRIPT_STEP_FORMS, scriptStep } from "./scriptSteps";
import { TRAJECTORY_MODES } from "./ast";
import type { DatasetLine } from "./evalIR";
import type { Json } from "../protocol/definition";
import { regexProblem } from "./validation/values";

export interface DatasetEntry {
  /** 1-based line of the dataset file. */
  line: number;
  /** The line's offsets in the dataset's text. */
  span: Span;
  value: DatasetLine;
}

export interface DatasetProblem {
  line: number;
  /** The offending field's key in the line when it can be found, else the whole line. */
  span: Span;
  message: string;
}

/** The fields of a dataset line, as messages list them. */
export const DATASET_FIELDS = ["name", "input", "user", "expected", "goal", "expect", "judge", "script"];
const EXPECT_FIELDS = ["tools", "trajectory", "reply_contains", "reply_matches"];

type Obj = Record<string, Json>;
const isObject = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === "string");

function kindOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "an object";
  if (typeof v === "string") return "a string";
  return `${typeof v === "number" ? "the number" : ""} ${JSON.stringify(v)}`.trim();
}

/** A field's problem: thrown while one line is read, caught into a DatasetProblem. */
class FieldError extends Error {
  constructor(
    readonly path: string[],
    message: string,
  ) {
    super(message);
  }
}

/** Reads a dataset's text: the valid lines, and a problem for each line that is not a valid case. */
export function parseDataset(text: string): { entries: DatasetEntry[]; problems: DatasetProblem[] } {
  const entries: DatasetEntry[] = [];
  const problems: DatasetProblem[] = [];
  let start = 0;
  let line = 0;
  while (start <= text.length) {
    line++;
    const nl = text.indexOf("\n", start);
    const rawEnd = nl < 0 ? text.length : nl;
    const end = rawEnd > start && text[rawEnd - 1] === "\r" ? rawEnd - 1 : rawEnd;
    const lineText = text.slice(start, end);
    const span = { start, end };
    if (lineText.trim()) {
      try {
        entries.push({ line, span, value: readLine(lineText) });
      } catch (err) {
        if (err instanceof FieldError)
          problems.push({ line, span: keySpan(lineText, start, err.path) ?? span, message: err.message });
        else problems.push({ line, span, message: `not a JSON object: ${(err as Error).message}` });
      }
    }
    if (nl < 0) break;
    start = nl + 1;
  }
  return { entries, problems };
}

/** Where the key of a (nested) field is written in the line, found by its quoted name after its parent's. */
function keySpan(lineText: string, lineStart: number, fieldPath: string[]): Span | undefined {
  let from = 0;
  let found: Span | undefined;
  for (const key of fieldPath) {
    const quoted = JSON.stringify(key);
    const re = new RegExp(`${quoted.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\s*:`, "g");
    re.lastIndex = from;
    const m = re.exec(lineText);
    if (!m) return found;
    found = { start: lineStart + m.index, end: lineStart + m.index + quoted.length };
    from = m.index + quoted.length;
  }
  return found;
}

function readLine(lineText: string): DatasetLine {
  const data: unknown = JSON.parse(lineText);
  if (!isObject(data)) throw new FieldError([], `a case is a JSON object; found ${kindOf(data)}.`);
  for (const key of Object.keys(data))
    if (!DATASET_FIELDS.includes(key))
      throw new FieldError([key], `unknown field '${key}': a case has ${DATASET_FIELDS.join(", ")}.`);
  const fail = (key: string, expected: string, nested: string[] = []): never => {
    const at = [key, ...nested];
    let v: unknown = data;
    for (const k of at) v = isObject(v) ? v[k] : undefined;
    throw new FieldError(at, `'${at.join(".")}' must be ${expected}; found ${kindOf(v)}.`);
  };
  const out: DatasetLine = { input: "" };
  if (data.name !== undefined) {
    if (typeof data.name !== "string" || !data.name.trim()) fail("name", "a non-empty string");
    out.name = data.name as string;
  }
  if (data.input === undefined)
    throw new FieldError([], `missing field 'input': the user's message, or a list of them (one turn each).`);
  if (typeof data.input === "string") out.input = data.input;
  else if (isStringList(data.input) && data.input.length) out.input = data.input;
  else fail("input", "a string or a non-empty list of strings (one turn each)");
  if (data.user !== undefined) {
    const u = data.user;
    if (!isObject(u) || typeof u.id !== "string") fail("user", 'an object with an "id" string');
    const user = u as Obj;
    for (const k of Object.keys(user))
      if (k !== "id" && k !== "name")
        throw new FieldError(["user", k], `unknown field 'user.${k}': a user has id and name.`);
    if (user.name !== undefined && typeof user.name !== "string") fail("user", "a string", ["name"]);
    out.user = { id: user.id as string, ...(user.name !== undefined ? { name: user.name as string } : {}) };
  }
  for (const key of ["expected", "goal"] as const) {
    if (data[key] === undefined) continue;
    if (typeof data[key] !== "string") fail(key, "a string");
    out[key] = data[key] as string;
  }
  if (data.expect !== undefined) out.expect = readExpect(data.expect, fail);
  if (data.judge !== undefined) {
    if (!Array.isArray(data.judge)) fail("judge", 'a list of {"criterion": "...", "at_least": 0.5}');
    out.judge = (data.judge as Json[]).map((j, i) => {
      if (!isObject(j) || typeof j.criterion !== "string" || !j.criterion.trim())
        throw new FieldError(
          ["judge"],
          `'judge[${i}]' must be {"criterion": "...", "at_least": 0.5}; found ${kindOf(j)}.`,
        );
      for (const k of Object.keys(j))
        if (k !== "criterion" && k !== "at_least")
          throw new FieldError(
            ["judge", k],
            `unknown field '${k}' in 'judge[${i}]': a judge has criterion and at_least.`,
          );
      if (j.at_least !== undefined && (typeof j.at_least !== "number" || j.at_least < 0 || j.at_least > 1))
        throw new FieldError(
          ["judge", "at_least"],
          `'judge[${i}].at_least' must be a number from 0 to 1; found ${kindOf(j.at_least)}.`,
        );
      return {
        criterion: j.criterion,
        ...(j.at_least !== undefined ? { at_least: j.at_least as number } : {}),
      };
    });
  }
  if (data.script !== undefined) {
    if (!Array.isArray(data.script)) fail("script", `a list of steps: ${SCRIPT_STEP_FORMS}`);
    (data.script as Json[]).forEach((s, i) => {
      if (!scriptStep(s))
        throw new FieldError(
          ["script"],
          `'script[${i}]' must be ${SCRIPT_STEP_FORMS}; found ${JSON.stringify(s)}.`,
        );
    });
    out.script = data.script as Json[];
  }
  return out;
}

function readExpect(
  value: Json,
  fail: (key: string, expected: string, nested?: string[]) => never,
): NonNullable<DatasetLine["expect"]> {
  if (!isObject(value)) return fail("expect", `an object with ${EXPECT_FIELDS.join(", ")}`);
  for (const k of Object.keys(value))
    if (!EXPECT_FIELDS.includes(k))
      throw new FieldError(
        ["expect", k],
        `unknown field 'expect.${k}': expect has ${EXPECT_FIELDS.join(", ")}.`,
      );
  const out: NonNullable<DatasetLine["expect"]> = {};
  if (value.tools !== undefined) {
    if (!isStringList(value.tools)) fail("expect", "a list of tool names", ["tools"]);
    out.tools = value.tools as string[];
  }
  if (value.trajectory !== undefined) {
    const mode = value.trajectory;
    if (typeof mode !== "string" || !(TRAJECTORY_MODES as readonly string[]).includes(mode))
      fail("expect", `one of ${TRAJECTORY_MODES.join(", ")}`, ["trajectory"]);
    if (!out.tools) fail("expect", 'a list of tool names when "trajectory" is given', ["tools"]);
    out.trajectory = mode as (typeof TRAJECTORY_MODES)[number];
  }
  if (value.reply_contains !== undefined) {
    const rc = value.reply_contains;
    if (typeof rc === "string") out.reply_contains = [rc];
    else if (isStringList(rc)) out.reply_contains = rc;
    else fail("expect", "a string or a list of strings", ["reply_contains"]);
  }
  if (value.reply_matches !== undefined) {
    if (typeof value.reply_matches !== "string")
      fail("expect", "a regular expression, as a string", ["reply_matches"]);
    try {
      new RegExp(value.reply_matches as string);
    } catch (err) {
      throw new FieldError(["expect", "reply_matches"], `'expect.reply_matches': ${regexProblem(err)}.`);
    }
    out.reply_matches = value.reply_matches as string;
  }
  return out;
}
