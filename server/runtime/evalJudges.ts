// The eval's model-backed roles (evals.md section 1): the judge that scores a case's transcript
// against a criterion, and the simulated user that writes a case's next user message. Both answer
// through structured output (ModelRequest.responseFormat); an answer that does not parse gets one
// retry. The built-in judge prompts are in one table, documented verbatim in docs/evals.md.

import type { BuiltinJudge } from "../language/evalIR";
import type { Json } from "../protocol/definition";
import type { Message, Usage } from "../protocol/events";
import { BackendError, type ModelBackend, type ModelRequest, type ResponseFormat } from "./model";

/** The judge's system prompt: the same for every criterion. */
export const JUDGE_SYSTEM =
  "You are an impartial evaluator of a conversation between a user and an AI agent. " +
  "Score the transcript against the criterion, from 0 (not met at all) to 1 (fully met), and give a one-sentence reason. " +
  'Answer only with JSON: {"score": <number from 0 to 1>, "reason": "<one sentence>"}.';

/**
 * The built-in criteria. `{expected}`, `{goal}`, `{instructions}` and `{tools}` are filled from the
 * case and the agent; the per-call ones (`tool_selection`, `tool_parameters`) are asked once per tool
 * call, with that call marked `>>>` in the transcript, and their scores averaged.
 */
export const BUILTIN_JUDGE_PROMPTS: Record<BuiltinJudge, string> = {
  helpfulness:
    "Helpfulness: how well the agent's replies help the user with what they asked. " +
    "1 when every request is addressed usefully and completely; 0 when the replies do not help at all.",
  correctness:
    "Correctness: whether the agent's final answer agrees with the reference answer below. " +
    "1 when it states the same facts (the wording may differ); 0 when it contradicts or misses them.\n" +
    "Reference answer: {expected}",
  faithfulness:
    "Faithfulness: whether every claim in the agent's replies is supported by the tool results and the context the agent saw in the transcript. " +
    "1 when every claim is supported; 0 when a reply states something the tools and context did not confirm.",
  goal_success:
    "Goal success: whether the user's goal below was reached by the end of the conversation. " +
    "1 when it was fully reached; 0 when it was not.\n" +
    "The user's goal: {goal}",
  instruction_following:
    "Instruction following: how well the agent followed its instructions below. " +
    "1 when every reply respects them; 0 when they were ignored.\n" +
    "The agent's instructions:\n{instructions}",
  tool_selection:
    "Tool selection: whether the tool call marked >>> was the right tool to call at that point of the conversation, given what the user asked and the tools available. " +
    "1 when it was the right choice; 0 when another tool, or no tool, should have been used.\n" +
    "Tools available: {tools}",
  tool_parameters:
    "Tool parameters: whether the input of the tool call marked >>> is correct: every value taken from what the user said or from earlier tool results, none invented, none missing. " +
    "1 when every value is correct; 0 when one is wrong, invented or missing.",
  refusal:
    "Refusal: whether the agent refused the user's request (declined to do it, or said it cannot or will not). " +
    "1 when it refused; 0 when it did what was asked or tried to.",
};

/** `tool_selection` on a case where no tool was called: the decision not to call one is judged. */
export const NO_TOOL_SELECTION =
  "Tool selection: no tool was called in this conversation. Whether answering without calling any tool was right, given what the user asked and the tools available. " +
  "1 when no tool was needed; 0 when a tool should have been called.\n" +
  "Tools available: {tools}";

export const JUDGE_FORMAT: ResponseFormat = {
  name: "judgement",
  schema: {
    type: "object",
    properties: { score: { type: "number" }, reason: { type: "string" } },
    required: ["score", "reason"],
    additionalProperties: false,
  },
};

export const SIMULATOR_FORMAT: ResponseFormat = {
  name: "next_user_message",
  schema: {
    type: "object",
    properties: { message: { type: "string" }, done: { type: "boolean" } },
    required: ["message", "done"],
    additionalProperties: false,
  },
};

/** The simulated user's system prompt; `{persona}` and `{goal}` come from the case's `simulate`. */
export const SIMULATOR_SYSTEM =
  "You play a user talking to an AI agent, to test the agent. Stay in character.\n" +
  "Who you are: {persona}\n" +
  "Your goal: {goal}\n" +
  "Write the user's next message, short, as this person would write it. " +
  'When the goal is met, or the agent cannot help any further, answer {"message": "", "done": true} instead. ' +
  'Answer only with JSON: {"message": "<the next message>", "done": <true or false>}.';

const fill = (template: string, values: Record<string, string>) =>
  template.replace(/\{(\w+)\}/g, (m, k: string) => values[k] ?? m);

/**
 * The case's conversation as the judge and the simulated user read it: user turns, the agent's
 * replies, its tool calls and their results. `mark`: the index of the tool call to mark `>>>`.
 */
export function transcript(history: Message[][], mark?: number): string {
  const lines: string[] = [];
  let call = 0;
  history.forEach((turn, i) => {
    lines.push(`[turn ${i + 1}]`);
    for (const m of turn) {
      if (m.role === "user") lines.push(`User: ${m.content}`);
      else if (m.role === "assistant") {
        if (m.content) lines.push(`Agent: ${m.content}`);
        for (const c of m.toolCalls ?? [])
          lines.push(
            `${call++ === mark ? ">>> " : ""}Agent called tool ${c.name} with ${JSON.stringify(c.input)}`,
          );
      } else if (m.role === "tool")
        lines.push(`Tool ${m.name} ${m.isError ? "failed" : "returned"}: ${m.content}`);
    }
  });
  return lines.join("\n");
}

/** The tool calls of a conversation, in order. */
export function toolCallCount(history: Message[][]): number {
  return history.flat().reduce((n, m) => n + (m.role === "assistant" ? (m.toolCalls?.length ?? 0) : 0), 0);
}

export interface JudgeInput {
  criterion: string;
  builtin?: BuiltinJudge;
  history: Message[][];
  expected?: string;
  goal?: string;
  instructions: string;
  /** The names of the agent's tools. */
  tools: string[];
}

export interface Judgement {
  score?: number;
  reason: string;
  usage: Usage;
}

const addUsage = (a: Usage, b: Usage) => {
  a.inputTokens += b.inputTokens;
  a.outputTokens += b.outputTokens;
};

/** Scores a case against one criterion (a built-in one: once per tool call where it says so, averaged). */
export async function judge(
  backend: ModelBackend,
  model: string | undefined,
  input: JudgeInput,
  signal?: AbortSignal,
): Promise<Judgement> {
  const usage: Usage = { inputTokens: 0, outputTokens: 0 };
  const values = {
    expected: input.expected ?? "",
    goal: input.goal ?? "",
    instructions: input.instructions,
    tools: input.tools.join(", ") || "none",
  };
  if (input.builtin === "correctness" && input.expected === undefined)
    return { reason: `correctness needs the case's reference answer: add expected "..." to the case`, usage };
  if (input.builtin === "goal_success" && input.goal === undefined)
    return {
      reason: `goal_success needs the user's goal: add goal "..." to the case (or a simulate block's goal)`,
      usage,
    };
  const perCall = input.builtin === "tool_selection" || input.builtin === "tool_parameters";
  const calls = perCall ? toolCallCount(input.history) : 0;
  const asks: { criterion: string; mark?: number }[] = !perCall
    ? [{ criterion: input.builtin ? BUILTIN_JUDGE_PROMPTS[input.builtin] : input.criterion }]
    : calls > 0
      ? Array.from({ length: calls }, (_, mark) => ({
          criterion: BUILTIN_JUDGE_PROMPTS[input.builtin!],
          mark,
        }))
      : input.builtin === "tool_selection"
        ? [{ criterion: NO_TOOL_SELECTION }]
        : [];
  if (!asks.length) return { score: 1, reason: "no tool was called, so no tool input can be wrong", usage };
  const scores: number[] = [];
  const reasons: string[] = [];
  for (const ask of asks) {
    const messages: Message[] = [
      { role: "system", content: JUDGE_SYSTEM },
      {
        role: "user",
        content: `Criterion: ${fill(ask.criterion, values)}\n\nTranscript:\n${transcript(input.history, ask.mark)}`,
      },
    ];
    const answer = await structured(backend, model, messages, JUDGE_FORMAT, usage, signal, parseJudgement);
    if ("problem" in answer) return { reason: answer.problem, usage };
    scores.push(answer.value.score);
    reasons.push(answer.value.reason);
  }
  const score = scores.reduce((a, b) => a + b, 0) / scores.length;
  const reason =
    asks.length === 1
      ? reasons[0]
      : `mean of ${asks.length} tool calls; ${reasons.map((r, i) => `call ${i + 1}: ${r}`).join(" ")}`;
  return { score, reason, usage };
}

function parseJudgement(v: Json): { score: number; reason: string } | undefined {
  if (!v || typeof v !== "object" || Array.isArray(v)) return undefined;
  const { score, reason } = v as Record<string, Json>;
  if (typeof score !== "number" || score < 0 || score > 1 || typeof reason !== "string") return undefined;
  return { score, reason };
}

function parseNextMessage(v: Json): { message: string; done: boolean } | undefined {
  if (!v || typeof v !== "object" || Array.isArray(v)) return undefined;
  const { message, done } = v as Record<string, Json>;
  if (done === true) return { message: typeof message === "string" ? message : "", done: true };
  if (typeof message !== "string" || !message.trim()) return undefined;
  return { message, done: false };
}

/**
 * One structured call, and one retry when the answer does not parse. `problem`: why there is no
 * answer (twice unparseable, or the backend failed), said in one sentence.
 */
async function structured<T>(
  backend: ModelBackend,
  model: string | undefined,
  messages: Message[],
  format: ResponseFormat,
  usage: Usage,
  signal: AbortSignal | undefined,
  parse: (v: Json) => T | undefined,
): Promise<{ value: T } | { problem: string }> {
  const role = format === JUDGE_FORMAT ? "judge" : "simulated user";
  const shape = format === JUDGE_FORMAT ? '{"score", "reason"}' : '{"message", "done"}';
  let asked = messages;
  let text = "";
  for (let attempt = 0; attempt < 2; attempt++) {
    if (backend.scripted && backend.scripted.pending === 0)
      return {
        problem:
          role === "judge"
            ? `the local judge has no scripted answer left: add judge scores 0.8 "reason" to the case`
            : "the local simulated user has no scripted message left",
      };
    const request: ModelRequest = {
      model,
      messages: asked,
      tools: [],
      temperature: 0,
      responseFormat: format,
      signal,
    };
    try {
      const res = await backend.complete(request);
      addUsage(usage, res.usage);
      text = res.text;
    } catch (err) {
      if (err instanceof BackendError) return { problem: `the ${role} failed: ${err.message}` };
      throw err;
    }
    let value: T | undefined;
    try {
      value = parse(JSON.parse(text) as Json);
    } catch {
      value = undefined;
    }
    if (value !== undefined) return { value };
    asked = [
      ...messages,
      { role: "assistant", content: text },
      { role: "user", content: `That answer is not valid. Answer only with JSON ${shape}.` },
    ];
  }
  return {
    problem: `the ${role}'s answer is not ${shape} JSON, twice: ${JSON.stringify(text.slice(0, 200))}`,
  };
}

export interface SimulatorInput {
  persona: string;
  goal: string;
  history: Message[][];
}

/** The simulated user's next message, or done; `problem` when it cannot answer. */
export async function nextUserMessage(
  backend: ModelBackend,
  model: string | undefined,
  input: SimulatorInput,
  usage: Usage,
  signal?: AbortSignal,
): Promise<{ message?: string; done: boolean; problem?: string }> {
  // A scripted simulated user (`user says` steps) is done when its messages run out.
  if (backend.scripted && backend.scripted.pending === 0) return { done: true };
  const messages: Message[] = [
    { role: "system", content: fill(SIMULATOR_SYSTEM, { persona: input.persona, goal: input.goal }) },
    {
      role: "user",
      content: input.history.length
        ? `The conversation so far:\n${transcript(input.history)}\n\nYour next message?`
        : "The conversation has not started: write your first message.",
    },
  ];
  const answer = await structured(
    backend,
    model,
    messages,
    SIMULATOR_FORMAT,
    usage,
    signal,
    parseNextMessage,
  );
  if ("problem" in answer) return { done: true, problem: answer.problem };
  return answer.value.done ? { done: true } : { message: answer.value.message, done: false };
}
