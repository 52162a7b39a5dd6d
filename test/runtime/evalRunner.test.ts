// The eval runner (evals.md sections 1 and 3) on hand-built EvalIR: every criterion kind passing and
// failing, each written as an eval.score event before session.end; the eval tag of each session;
// judge tokens kept out of the agent's usage; unanswered approvals rejected and recorded; judges
// whose answer does not parse (one retry); simulated users; concurrency; cancellation; judges on
// the fake OpenAI and Bedrock servers (the structured output request checked in their journals).

import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { createBackend } from "../../server/backends";
import type { EvalCaseIR, EvalCriterionIR, EvalIR, EvalStepIR } from "../../server/language/evalIR";
import type { EvalScoreEvent, SessionEvent, SessionStartEvent } from "../../server/protocol/events";
import type { EvalCaseRun } from "../../server/protocol/evals";
import {
  BUILTIN_JUDGE_PROMPTS,
  JUDGE_SYSTEM,
  NO_TOOL_SELECTION,
  SIMULATOR_SYSTEM,
} from "../../server/runtime/evalJudges";
import { runEval, trajectory, writeEvalRun, UNANSWERED_APPROVAL } from "../../server/runtime/evalRunner";
import type { BackendFactory, ModelRequest } from "../../server/runtime/model";
import { loadChecked } from "../../server/runtime/prepare";
import { FakeOpenAIServer } from "../fakes/openaiServer";
import { startFakeBedrock, type FakeBedrock } from "../fakes/bedrockServer";
import { lines, removeTempDirs, tempDir, toolScript, writeFile } from "./helpers";

const AGENT = lines(
  `backend judge_model {`,
  `  kind: stateless`,
  `  provider: local`,
  `}`,
  `tool lookup_order {`,
  `  description: "Look up an order"`,
  `  input {`,
  `    order_id: string "The order id"`,
  `  }`,
  `  run: command("node", ["lookup.js"])`,
  `}`,
  `tool refund {`,
  `  description: "Refund an order"`,
  `  input {`,
  `    order_id: string "The order"`,
  `    amount: number "USD"`,
  `  }`,
  `  run: command("node", ["lookup.js"])`,
  `}`,
  `agent support {`,
  `  backend: judge_model`,
  `  instructions: "Help with orders."`,
  `  tools: [lookup_order, refund]`,
  `  policy {`,
  `    require_approval: [refund]`,
  `  }`,
  `}`,
);

type Step = EvalCaseIR["steps"][number];
let lineNo = 100;
const step = (s: EvalStepIR, source: string = s.kind): Step => ({ ...s, line: lineNo++, source }) as Step;
const send = (text: string) => step({ kind: "send", text }, `send ${JSON.stringify(text)}`);
const replies = (text: string) => step({ kind: "model.replies", text });
const calls = (tool: string, input: Record<string, string | number>) =>
  step({ kind: "model.calls", tool, input });
const returns = (tool: string, value: Record<string, string | number>) =>
  step({ kind: "tool.returns", tool, value });
const scores = (score: number, reason: string) => step({ kind: "judge.scores", score, reason });

describe("the eval runner", function () {
  let dir: string;
  let file: string;
  before(() => {
    dir = tempDir("statecraft-eval-");
    file = writeFile(dir, "main.agent", AGENT);
    writeFile(dir, "lookup.js", toolScript(`process.stdout.write(JSON.stringify({ ok: true }));`));
    // A scorer: the share of the log's events that are turn.end, and its reason; or what the first arg says.
    writeFile(
      dir,
      "scorers/count.js",
      lines(
        `let raw = "";`,
        `process.stdin.on("data", (c) => (raw += c));`,
        `process.stdin.on("end", () => {`,
        `  const events = raw.trim().split("\\n").map((l) => JSON.parse(l));`,
        `  const turns = events.filter((e) => e.type === "turn.end").length;`,
        `  const fixed = process.argv[2];`,
        `  if (fixed === "bad") return process.stdout.write("{\\"score\\": 7}");`,
        `  const score = fixed ? Number(fixed) : turns / 2;`,
        `  process.stdout.write(JSON.stringify({ score, reason: turns + " turns, cwd " + require("path").basename(process.cwd()) }));`,
        `});`,
      ),
    );
  });
  after(removeTempDirs);

  const criterion = (c: Omit<EvalCriterionIR, "file" | "line"> & Partial<EvalCriterionIR>): EvalCriterionIR =>
    ({ file, line: lineNo++, ...c }) as EvalCriterionIR;

  const caseOf = (name: string, steps: Step[], extra: Partial<EvalCaseIR> = {}): EvalCaseIR => ({
    name,
    file,
    line: lineNo++,
    origin: "inline",
    steps,
    criteria: [],
    ...extra,
  });

  const evalOf = (cases: EvalCaseIR[], extra: Partial<EvalIR> = {}): EvalIR => ({
    name: "quality",
    file,
    line: 1,
    agent: "support",
    backends: ["local"],
    judge: "judge_model",
    trials: 1,
    passRate: 1,
    concurrency: 4,
    judges: [],
    cases,
    ...extra,
  });

  const readLog = (run: EvalCaseRun): SessionEvent[] =>
    fs
      .readFileSync(path.join(dir, ".statecraft", "sessions", `${run.session}.jsonl`), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as SessionEvent);

  const run = (ev: EvalIR, o: Partial<Parameters<typeof runEval>[2]> = {}) =>
    runEval(loadChecked(file), ev, { workspace: dir, env: process.env, createBackend, ...o });

  /** A refund case, two turns, with one criterion of every kind; `good` makes every one hold. */
  function refundCase(good: boolean): EvalCaseIR {
    return caseOf(
      good ? "refund, all good" : "refund, all bad",
      [
        calls("lookup_order", { order_id: "A1001" }),
        returns("lookup_order", { id: "A1001", total: 20 }),
        replies("A1001 is 20 USD."),
        send("Where is A1001?"),
        calls("refund", { order_id: "A1001", amount: 20 }),
        step({ kind: "approve", tool: "refund" }),
        returns("refund", { refunded: 20 }),
        replies(good ? "Refunded 20 USD." : "Done."),
        send("Refund it please"),
        step(
          {
            kind: "expect.tool",
            tool: "refund",
            outcome: "called",
            with: { order_id: good ? "A1001" : "A9" },
          },
          "expect tool refund called",
        ),
        step({ kind: "expect.reply", op: "contains", text: "Refunded" }, `expect reply contains "Refunded"`),
        scores(good ? 0.9 : 0.2, good ? "Confirms the amount." : "Vague."),
        scores(good ? 1 : 0.5, "Faithful."),
      ],
      {
        expected: "Refunded 20 USD",
        criteria: [
          criterion({
            kind: "trajectory",
            tools: good ? ["lookup_order", "refund"] : ["refund", "lookup_order"],
            mode: "in_order",
          }),
          criterion({ kind: "judge", criterion: "Confirms the amount.", atLeast: 0.7 }),
          criterion({ kind: "judge", criterion: "correctness", builtin: "correctness", atLeast: 0.8 }),
          criterion({
            kind: "score",
            executable: "node",
            args: good ? ["scorers/count.js"] : ["scorers/count.js", "0.1"],
            cwd: ".",
            atLeast: 0.5,
          }),
        ],
      },
    );
  }

  it("checks every criterion kind after the whole case, and writes each as eval.score before session.end", async () => {
    const result = await run(evalOf([refundCase(true), refundCase(false)], { passRate: 0.5 }));
    assert.equal(result.status, "passed", "1 of 2 passed meets pass_rate 0.5");
    const [good, bad] = result.cases;
    assert.deepEqual(
      good.checks.map((k) => [k.kind, k.passed]),
      [
        ["expect", true],
        ["expect", true],
        ["trajectory", true],
        ["judge", true],
        ["judge", true],
        ["score", true],
      ],
      JSON.stringify(good.checks),
    );
    assert.equal(good.passed, true);
    assert.deepEqual(
      bad.checks.map((k) => [k.kind, k.passed]),
      [
        ["expect", false],
        ["expect", false],
        ["trajectory", false],
        ["judge", false],
        ["judge", false],
        ["score", false],
      ],
    );
    assert.equal(bad.passed, false);
    // What each check saw.
    assert.match(bad.checks[0].reason, /expected refund to be called with \{"order_id":"A9"\}/);
    assert.match(bad.checks[1].reason, /the reply was "Done\."/);
    assert.deepEqual([bad.checks[2].precision, bad.checks[2].recall], [1, 1]);
    assert.equal(bad.checks[3].score, 0.2);
    assert.equal(bad.checks[3].reason, "Vague.");
    assert.equal(bad.checks[3].threshold, 0.7);
    assert.equal(bad.checks[3].judgeBackend, "judge_model");
    assert.equal(good.checks[5].score, 1, "the scorer read the case's log on stdin: 2 turns");
    assert.equal(good.checks[5].reason, `2 turns, cwd ${path.basename(dir)}`, "it ran in the file's folder");
    assert.equal(bad.checks[5].score, 0.1);
    // In the session log: the eval tag, then eval.score events right before session.end.
    const log = readLog(good);
    const start = log[0] as SessionStartEvent;
    assert.deepEqual(start.eval, {
      run: result.run,
      eval: "quality",
      case: "refund, all good",
      trial: 1,
      backend: "local",
    });
    const tail = log.slice(-7).map((e) => e.type);
    assert.deepEqual(tail, [...Array(6).fill("eval.score"), "session.end"]);
    assert.deepEqual(
      log.filter((e): e is EvalScoreEvent => e.type === "eval.score").map((e) => e.criterion),
      good.checks.map((k) => k.criterion),
    );
    // Judge tokens count in judgeUsage, never in the agent's usage.
    const end = log.at(-1) as Extract<SessionEvent, { type: "session.end" }>;
    assert.deepEqual(good.usage, end.usage);
    assert.ok(good.judgeUsage.inputTokens > 0, "the local judge counted its prompt");
    assert.equal(
      good.judgeUsage.inputTokens,
      (good.checks[3].usage?.inputTokens ?? 0) + (good.checks[4].usage?.inputTokens ?? 0),
    );
    // The summary.
    assert.deepEqual(
      { ...result.summary.local, p50LatencyMs: 0, p95LatencyMs: 0 },
      {
        runs: 2,
        passed: 1,
        passRate: 0.5,
        meanScore: (0.9 + 1 + 1 + 0.2 + 0.5 + 0.1) / 6,
        inputTokens: good.usage.inputTokens + bad.usage.inputTokens,
        outputTokens: good.usage.outputTokens + bad.usage.outputTokens,
        p50LatencyMs: 0,
        p95LatencyMs: 0,
        bytesSent: good.bytesSent + bad.bytesSent,
      },
    );
    assert.ok(good.bytesSent > 0);
    // And the run's file.
    const written = writeEvalRun(dir, result);
    assert.equal(written, path.join(dir, ".statecraft", "evals", `${result.run}.json`));
    assert.deepEqual(JSON.parse(fs.readFileSync(written, "utf8")), result);
    assert.equal(result.file, "main.agent");
  });

  it("fails the eval when fewer case runs than pass_rate pass", async () => {
    const result = await run(evalOf([refundCase(true), refundCase(false)], { passRate: 0.6 }));
    assert.equal(result.status, "failed");
  });

  it("docs/evals.md shows every built-in judge prompt verbatim", () => {
    const docs = fs.readFileSync(path.join(__dirname, "..", "..", "docs", "evals.md"), "utf8");
    for (const prompt of [
      JUDGE_SYSTEM,
      ...Object.values(BUILTIN_JUDGE_PROMPTS),
      NO_TOOL_SELECTION,
      SIMULATOR_SYSTEM,
    ])
      assert.ok(docs.includes("```text\n" + prompt + "\n```"), `docs/evals.md shows:\n${prompt}`);
  });

  it("trajectory: exact, in_order and any_order, with precision and recall", () => {
    assert.equal(trajectory(["a", "b"], ["a", "b"], "exact").passed, true);
    assert.equal(trajectory(["a", "b"], ["a", "c", "b"], "exact").passed, false);
    assert.equal(trajectory(["a", "b"], ["a", "c", "b"], "in_order").passed, true);
    assert.equal(trajectory(["b", "a"], ["a", "c", "b"], "in_order").passed, false);
    assert.equal(trajectory(["b", "a"], ["a", "c", "b"], "any_order").passed, true);
    const t = trajectory(["a", "d"], ["a", "c", "b"], "any_order");
    assert.equal(t.passed, false);
    assert.deepEqual([t.precision, t.recall], [1 / 3, 1 / 2]);
    assert.equal(t.reason, "the calls were [a, c, b], not [a, d] any_order");
  });

  it("rejects an approval no step answered, and records who rejected it", async () => {
    const c = caseOf("unanswered", [
      calls("refund", { order_id: "A1", amount: 5 }),
      replies("I could not refund it."),
      send("Refund A1"),
      step({ kind: "expect.tool", tool: "refund", outcome: "not_called" }, "expect tool refund not_called"),
    ]);
    const result = await run(evalOf([c], { judge: undefined }));
    assert.equal(result.cases[0].passed, true, JSON.stringify(result.cases[0].checks));
    const approval = readLog(result.cases[0]).find((e) => e.type === "approval");
    assert.deepEqual(approval && { approved: approval.approved, by: approval.by }, {
      approved: false,
      by: UNANSWERED_APPROVAL,
    });
  });

  it("fails a judge criterion when the local judge has no scripted answer, saying so", async () => {
    const c = caseOf("no scores", [replies("Hi."), send("Hello")], {
      criteria: [criterion({ kind: "judge", criterion: "Polite.", atLeast: 0.5 })],
    });
    const result = await run(evalOf([c]));
    assert.equal(result.cases[0].passed, false);
    assert.match(result.cases[0].checks[0].reason, /no scripted answer left: add judge scores/);
  });

  it("scores tool_parameters once per tool call and averages; correctness without expected fails, saying so", async () => {
    const c = caseOf(
      "per call",
      [
        calls("lookup_order", { order_id: "A1" }),
        calls("lookup_order", { order_id: "A2" }),
        returns("lookup_order", { ok: 1 }),
        returns("lookup_order", { ok: 2 }),
        replies("Both found."),
        send("A1 and A2?"),
        scores(1, "Right id."),
        scores(0.5, "Guessed id."),
      ],
      {
        criteria: [
          criterion({
            kind: "judge",
            criterion: "tool_parameters",
            builtin: "tool_parameters",
            atLeast: 0.7,
          }),
          criterion({ kind: "judge", criterion: "correctness", builtin: "correctness", atLeast: 0.5 }),
        ],
      },
    );
    const [params, correct] = (await run(evalOf([c]))).cases[0].checks;
    assert.equal(params.score, 0.75);
    assert.equal(params.passed, true);
    assert.equal(params.reason, "mean of 2 tool calls; call 1: Right id. call 2: Guessed id.");
    assert.equal(correct.passed, false);
    assert.match(correct.reason, /correctness needs the case's reference answer/);
  });

  it("plays a simulated user from `user says` steps until they run out, within max_turns", async () => {
    const says = (text: string) => step({ kind: "user.says", text });
    const c = caseOf(
      "simulated",
      [
        says("My kettle A1001 broke."),
        says("I want 40 USD back."),
        says("never sent: max_turns is 2"),
        replies("Sorry! What would you like?"),
        calls("refund", { order_id: "A1001", amount: 40 }),
        step({ kind: "approve", tool: "refund" }),
        returns("refund", { refunded: 40 }),
        replies("Refunded 40 USD."),
        step({ kind: "expect.tool", tool: "refund", outcome: "called" }, "expect tool refund called"),
        scores(1, "Goal reached."),
      ],
      {
        simulate: {
          file,
          line: 5,
          backend: "judge_model",
          persona: "Angry.",
          goal: "A refund.",
          maxTurns: 2,
        },
        criteria: [
          criterion({ kind: "judge", criterion: "goal_success", builtin: "goal_success", atLeast: 0.5 }),
        ],
      },
    );
    const result = await run(evalOf([c]));
    const r = result.cases[0];
    assert.equal(r.passed, true, JSON.stringify(r.checks));
    const inputs = readLog(r)
      .filter((e) => e.type === "turn.start")
      .map((e) => (e as { input: string }).input);
    assert.deepEqual(inputs, ["My kettle A1001 broke.", "I want 40 USD back."]);
    assert.ok(
      r.judgeUsage.inputTokens > (r.checks[1].usage?.inputTokens ?? 0),
      "the simulator's tokens count too",
    );
  });

  it("runs case runs really at once, `concurrency` of them, with the same summary as one at a time", async () => {
    const cases = [refundCase(true), refundCase(false)];
    let inFlight = 0;
    let most = 0;
    let open: () => void = () => {};
    const gate = new Promise<void>((resolve) => (open = resolve));
    // Fallback so that a runner that does not overlap fails the assertion instead of hanging.
    const fallback = setTimeout(() => open(), 3000);
    const gated: BackendFactory = (spec, o) => {
      const b = createBackend(spec, o);
      if (spec.name !== "local") return b;
      const complete = b.complete.bind(b);
      return Object.assign(Object.create(b) as typeof b, {
        async complete(req: ModelRequest) {
          inFlight++;
          most = Math.max(most, inFlight);
          if (inFlight >= 4) open();
          await gate;
          inFlight--;
          return complete(req);
        },
      });
    };
    const ev = evalOf(cases, { trials: 3, passRate: 0.5, concurrency: 4 });
    const together = await run(ev, { createBackend: gated });
    clearTimeout(fallback);
    assert.equal(most, 4, "four case runs were in a model call at the same time");
    const alone = await run(ev, { concurrency: 1 });
    const strip = (r: typeof alone) =>
      Object.fromEntries(
        Object.entries(r.summary).map(([b, s]) => [b, { ...s, p50LatencyMs: 0, p95LatencyMs: 0 }]),
      );
    assert.equal(together.cases.length, 6);
    assert.deepEqual(strip(together), strip(alone));
  });

  it("a cancelled run keeps what finished, with status interrupted", async () => {
    const controller = new AbortController();
    const ev = evalOf([refundCase(true)], { trials: 6, concurrency: 2 });
    const result = await run(ev, {
      signal: controller.signal,
      onCaseRun: () => controller.abort(),
    });
    assert.equal(result.status, "interrupted");
    assert.ok(result.cases.length >= 1 && result.cases.length < 6, `${result.cases.length} finished`);
    assert.equal(result.summary.local.runs, result.cases.length);
    // The case run in flight was stopped, and is not in the run.
    const sessions = fs.readdirSync(path.join(dir, ".statecraft", "sessions"));
    const stopped = sessions
      .map((f) =>
        fs
          .readFileSync(path.join(dir, ".statecraft", "sessions", f), "utf8")
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l) as SessionEvent),
      )
      .filter(
        (log) => (log[0] as SessionStartEvent).eval?.run === result.run && log.at(-1)?.type === "session.end",
      )
      .filter((log) => (log.at(-1) as { status: string }).status === "stopped");
    assert.ok(stopped.length >= 1, "the run in flight ended as stopped");
  });

  describe("judges on real backends (fake servers, real SDKs)", () => {
    let openai: FakeOpenAIServer;
    let bedrock: FakeBedrock;
    before(async () => {
      openai = await FakeOpenAIServer.start({ apiKey: "sk-fake-eval-1234567890" });
      bedrock = await startFakeBedrock();
    });
    after(async () => {
      await openai.close();
      await bedrock.close();
    });

    const judged = () =>
      caseOf("judged", [replies("Refunded 20 USD."), send("Refund A1001")], {
        criteria: [criterion({ kind: "judge", criterion: "Confirms the amount.", atLeast: 0.5 })],
      });

    function withJudge(source: string): string {
      const f = writeFile(dir, "judged.agent", AGENT + source);
      return f;
    }

    it("OpenAI chat: response_format json_schema; an unparseable answer is retried once, then fails with it", async () => {
      const f = withJudge(
        lines(
          `backend gpt {`,
          `  kind: stateless`,
          `  provider: openai`,
          `  model: "gpt-judge"`,
          `  endpoint: "${openai.openaiURL}"`,
          `  api_key: env("EVAL_KEY")`,
          `}`,
        ),
      );
      const env = { ...process.env, EVAL_KEY: "sk-fake-eval-1234567890" };
      openai.reset();
      openai.script(
        { kind: "text", text: "I think 0.9" },
        { kind: "text", text: '{"score": 0.9, "reason": "States 20 USD."}' },
      );
      const ok = await runEval(
        loadChecked(f),
        { ...evalOf([judged()]), judge: "gpt", file: f },
        { workspace: dir, env, createBackend },
      );
      assert.equal(ok.cases[0].passed, true, JSON.stringify(ok.cases[0].checks));
      assert.equal(ok.cases[0].checks[0].reason, "States 20 USD.");
      assert.equal(openai.journal.length, 2, "one retry");
      const body = openai.journal[0].body as { response_format: unknown; model: string };
      assert.equal(body.model, "gpt-judge");
      assert.deepEqual(body.response_format, {
        type: "json_schema",
        json_schema: {
          name: "judgement",
          strict: true,
          schema: {
            type: "object",
            properties: { score: { type: "number" }, reason: { type: "string" } },
            required: ["score", "reason"],
            additionalProperties: false,
          },
        },
      });
      assert.ok(ok.cases[0].judgeUsage.inputTokens > 0);
      openai.reset();
      openai.script({ kind: "text", text: "nope" }, { kind: "text", text: '{"score": 3}' });
      const bad = await runEval(
        loadChecked(f),
        { ...evalOf([judged()]), judge: "gpt", file: f },
        { workspace: dir, env, createBackend },
      );
      assert.equal(bad.cases[0].passed, false);
      assert.equal(
        bad.cases[0].checks[0].reason,
        `the judge's answer is not {"score", "reason"} JSON, twice: "{\\"score\\": 3}"`,
      );
      assert.equal(openai.journal.length, 2);
    });

    it("OpenAI Responses API: text.format json_schema", async () => {
      const f = withJudge(
        lines(
          `backend gpt {`,
          `  kind: stateless`,
          `  provider: openai`,
          `  api: responses`,
          `  model: "gpt-judge"`,
          `  endpoint: "${openai.openaiURL}"`,
          `  api_key: env("EVAL_KEY")`,
          `}`,
        ),
      );
      openai.reset();
      openai.script({ kind: "text", text: '{"score": 0.7, "reason": "Mostly."}' });
      const r = await runEval(
        loadChecked(f),
        { ...evalOf([judged()]), judge: "gpt", file: f },
        { workspace: dir, env: { ...process.env, EVAL_KEY: "sk-fake-eval-1234567890" }, createBackend },
      );
      assert.deepEqual([r.cases[0].checks[0].score, r.cases[0].checks[0].reason], [0.7, "Mostly."]);
      assert.equal(openai.journal[0].api, "responses");
      const body = openai.journal[0].body as {
        text: { format: { type: string; name: string; strict: boolean } };
      };
      assert.deepEqual(
        { type: body.text.format.type, name: body.text.format.name, strict: body.text.format.strict },
        { type: "json_schema", name: "judgement", strict: true },
      );
    });

    it("Bedrock Converse: a forced tool whose input is the answer", async () => {
      const f = withJudge(
        lines(
          `backend claude {`,
          `  kind: stateful`,
          `  provider: bedrock`,
          `  model: "anthropic.claude-judge"`,
          `  region: "${bedrock.region}"`,
          `}`,
        ),
      );
      bedrock.script({ toolUses: [{ name: "judgement", input: { score: 0.8, reason: "Clear." } }] });
      const r = await runEval(
        loadChecked(f),
        { ...evalOf([judged()]), judge: "claude", file: f },
        { workspace: dir, env: { ...process.env, ...bedrock.env, AWS_MAX_ATTEMPTS: "1" }, createBackend },
      );
      assert.equal(r.cases[0].passed, true, JSON.stringify(r.cases[0].checks));
      assert.deepEqual([r.cases[0].checks[0].score, r.cases[0].checks[0].reason], [0.8, "Clear."]);
      const req = bedrock.requests.at(-1)!;
      const config = req.body.toolConfig as {
        tools: { toolSpec: { name: string; inputSchema: { json: unknown } } }[];
        toolChoice: unknown;
      };
      assert.deepEqual(config.toolChoice, { tool: { name: "judgement" } });
      assert.deepEqual(
        config.tools.map((t) => t.toolSpec.name),
        ["judgement"],
      );
      assert.deepEqual((config.tools[0].toolSpec.inputSchema.json as { required: string[] }).required, [
        "score",
        "reason",
      ]);
    });
  });
});
