// The eval runner's own cost (evals.md section 3): 1,000 case runs of a one-turn case on the local
// backend with a scripted judge score, 8 at a time, next to the same 1,000 turns run by the test
// runner in the same process. Both record a session per run; the difference per run is what the
// eval adds (the pool, the judge call, the checks, the eval.score events, the run's summary).

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createBackend } from "../../server/backends";
import type { TestIR } from "../../server/language/compileTests";
import type { EvalIR } from "../../server/language/evalIR";
import { runEval, writeEvalRun } from "../../server/runtime/evalRunner";
import { loadChecked } from "../../server/runtime/prepare";
import { runTest } from "../../server/runtime/testRunner";
import { fmt, gc, printTable } from "./harness";

const RUNS = 1000;

const AGENT = `backend judge_model {
  kind: stateless
  provider: local
}

agent support {
  backend: judge_model
  instructions: "Answer questions about orders."
}
`;

export async function runEvalBench(): Promise<void> {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "statecraft-bench-eval-")));
  try {
    const file = path.join(dir, "main.agent");
    fs.writeFileSync(file, AGENT);
    const loaded = loadChecked(file);
    const steps: TestIR["steps"] = [
      { kind: "model.replies", text: "Order A1003 ships on Tuesday.", line: 10, source: "model replies" },
      { kind: "send", text: "Where is A1003?", line: 11, source: "send" },
      { kind: "expect.reply", op: "contains", text: "A1003", line: 12, source: "expect reply" },
    ];
    const ev: EvalIR = {
      name: "bench",
      file,
      line: 1,
      agent: "support",
      backends: ["judge_model"],
      judge: "judge_model",
      trials: RUNS,
      passRate: 1,
      concurrency: 8,
      judges: [{ kind: "judge", criterion: "Gives a date.", atLeast: 0.5, file, line: 3 }],
      cases: [
        {
          name: "one turn",
          file,
          line: 5,
          origin: "inline",
          steps: [
            ...steps,
            { kind: "judge.scores", score: 0.9, reason: "A date.", line: 13, source: "judge scores" },
          ],
          criteria: [],
        },
      ],
    };
    const test: TestIR = { name: "one turn", file, line: 5, agent: "support", backend: "judge_model", steps };
    const options = { workspace: dir, env: process.env, createBackend };

    // Warm both paths, then measure the test runner's 1,000 turns and the eval's 1,000 case runs.
    for (let i = 0; i < 50; i++) await runTest(loaded, test, options);
    await runEval(loaded, { ...ev, trials: 50 }, options);
    gc();
    let t0 = performance.now();
    for (let i = 0; i < RUNS; i++) {
      const r = await runTest(loaded, test, options);
      if (!r.passed) throw new Error(`the bench's test failed: ${JSON.stringify(r.failures)}`);
    }
    const testMs = performance.now() - t0;
    // The eval one case run at a time: against the test runner's same turns, the eval's own cost.
    gc();
    t0 = performance.now();
    const serial = await runEval(loaded, { ...ev, concurrency: 1 }, options);
    const serialMs = performance.now() - t0;
    gc();
    t0 = performance.now();
    const run = await runEval(loaded, ev, options);
    writeEvalRun(dir, run);
    const evalMs = performance.now() - t0;
    for (const r of [serial, run])
      if (r.summary.judge_model.passed !== RUNS)
        throw new Error("the bench's eval did not pass every case run");
    printTable(`Eval runner: ${RUNS} case runs of a one-turn case, local backend, scripted judge`, [
      { name: "whole eval run, concurrency 8 (ms)", value: fmt(evalMs), target: "< 5000" },
      { name: "whole eval run, concurrency 1 (ms)", value: fmt(serialMs) },
      { name: `test runner, the same ${RUNS} turns one at a time (ms)`, value: fmt(testMs) },
      {
        name: "eval overhead per case run (concurrency 1 less the test runner, ms)",
        value: fmt((serialMs - testMs) / RUNS),
        target: "< 2",
      },
    ]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
