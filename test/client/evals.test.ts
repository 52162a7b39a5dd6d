// Evals in the editor without `vscode`: the Evals view's tree over a folder of recorded runs
// (client/src/evals/nodes.ts, runs.ts), a file that is not a run giving one warning without
// breaking the view, what a Run Eval target and a case's Testing outcome are (results.ts), the
// report page prepared for a webview (reportHtml.ts), and eval case sessions in the Session
// Explorer (sessions/nodes.ts): grouped, tagged, with their eval.score checks.

import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import type { EvalCheck, SessionEvent } from "../../server/protocol/events";
import type { EvalCaseRun, EvalRun } from "../../server/protocol/evals";
import { describeEvalNode, evalChildren, evalParentId, type EvalNode } from "../../client/src/evals/nodes";
import { prepareReportHtml } from "../../client/src/evals/reportHtml";
import { caseOutcomes, evalArgs, parseEvalTarget, runSummary } from "../../client/src/evals/results";
import { EVALS_DIR, EvalRunFolder, EvalRunStore } from "../../client/src/evals/runs";
import { modelFromEvents } from "../../client/src/sessions/model";
import {
  childrenOf,
  describeNode,
  describeSession,
  isShown,
  parentId,
  type NodeData,
} from "../../client/src/sessions/nodes";
import { FolderSource, SessionStore } from "../../client/src/sessions/store";
import { removeTempDirs, tempDir } from "../runtime/helpers";
import { LOOKUP, record, writeLog } from "./helpers";

const usage = (i: number, o: number) => ({ inputTokens: i, outputTokens: o });

const check = (criterion: string, passed: boolean, more: Partial<EvalCheck> = {}): EvalCheck => ({
  criterion,
  kind: "expect",
  passed,
  reason: passed ? "held" : "did not hold",
  ...more,
});

function caseRun(
  name: string,
  backend: string,
  trial: number,
  passed: boolean,
  checks: EvalCheck[],
): EvalCaseRun {
  return {
    case: name,
    trial,
    backend,
    session: `20261202-0600${trial}${backend.length}-${name.length.toString(16).padStart(6, "0")}`,
    passed,
    checks,
    usage: usage(100, 20),
    judgeUsage: usage(50, 5),
    latencyMs: 1200 + trial,
    bytesSent: 2048,
    file: "main.agent",
    line: 10,
  };
}

/** Two backends, two cases, two trials: the refund case fails its judge on aws_runtime trial 2. */
function sampleRun(run = "20261202-060000-aaaaaa", startedAt = "2026-12-02T06:00:00.000Z"): EvalRun {
  const judge = (score: number) =>
    check('judge "Confirms the amount and the order."', score >= 0.7, {
      kind: "judge",
      score,
      threshold: 0.7,
      reason: score >= 0.7 ? "Confirms 20 USD on A1001." : "Never names the order.",
      judgeBackend: "judge_model",
      line: 14,
    });
  const cases: EvalCaseRun[] = [];
  for (const backend of ["openai_cloud", "aws_runtime"])
    for (const trial of [1, 2]) {
      const failing = backend === "aws_runtime" && trial === 2;
      cases.push(
        caseRun("small refund", backend, trial, !failing, [
          check("expect tool refund called", true, { line: 12 }),
          judge(failing ? 0.4 : 0.9),
        ]),
        caseRun("late order", backend, trial, true, [check('expect reply contains "A1003"', true)]),
      );
    }
  return {
    format: 1,
    run,
    eval: "support_quality",
    file: "main.agent",
    startedAt,
    endedAt: "2026-12-02T06:00:09.000Z",
    definitionHash: "abc",
    backends: ["openai_cloud", "aws_runtime"],
    status: "failed",
    passRate: 0.9,
    trials: 2,
    cases,
    summary: {
      openai_cloud: {
        runs: 4,
        passed: 4,
        passRate: 1,
        meanScore: 0.9,
        inputTokens: 400,
        outputTokens: 80,
        p50LatencyMs: 1201,
        p95LatencyMs: 1202,
        bytesSent: 8192,
      },
      aws_runtime: {
        runs: 4,
        passed: 3,
        passRate: 0.75,
        meanScore: 0.65,
        inputTokens: 400,
        outputTokens: 80,
        p50LatencyMs: 850,
        p95LatencyMs: 1202,
        bytesSent: 3 * 1024 * 1024,
      },
    },
  };
}

function writeRun(workspace: string, run: EvalRun, name = `${run.run}.json`): string {
  const file = path.join(workspace, EVALS_DIR, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(run, null, 2));
  return file;
}

async function storeOf(workspace: string): Promise<EvalRunStore> {
  const folder = new EvalRunFolder("folder:w", "w", workspace);
  await folder.scan();
  const store = new EvalRunStore();
  store.setFolders([folder]);
  return store;
}

const labelsOf = (store: EvalRunStore, nodes: EvalNode[]) =>
  nodes.map((n) => describeEvalNode(store, n).label);

describe("Evals view", () => {
  after(removeTempDirs);

  it("goes run -> backends -> cases -> trials -> failing criteria, each node's parent the node above", async () => {
    const workspace = tempDir("statecraft-evals-");
    writeRun(workspace, sampleRun());
    const store = await storeOf(workspace);
    const runs = evalChildren(store);
    assert.deepEqual(labelsOf(store, runs), ["support_quality"]);
    const run = describeEvalNode(store, runs[0], new Date("2026-12-02T07:00:00Z"));
    assert.match(run.description!, /^failed · 88% passed \(7\/8\) · \d\d:\d\d:\d\d$/);
    assert.equal(run.icon, "error");
    assert.match(run.tooltip!, /the eval needs 90%/);

    const backends = evalChildren(store, runs[0]);
    assert.deepEqual(labelsOf(store, backends), ["openai_cloud", "aws_runtime"]);
    assert.deepEqual(
      backends.map((b) => describeEvalNode(store, b).description),
      [
        "100% passed (4/4) · score 0.90 · p50 1.2 s · 8.0 KB sent",
        "75% passed (3/4) · score 0.65 · p50 850 ms · 3.0 MB sent",
      ],
    );
    assert.deepEqual(
      backends.map((b) => describeEvalNode(store, b).icon),
      ["pass", "error"],
    );

    const cases = evalChildren(store, backends[1]);
    assert.deepEqual(labelsOf(store, cases), ["small refund", "late order"]);
    assert.deepEqual(
      cases.map((c) => describeEvalNode(store, c).description),
      ["1/2 trials passed", "2/2 trials passed"],
    );
    const trials = evalChildren(store, cases[0]);
    assert.deepEqual(labelsOf(store, trials), ["Trial 1", "Trial 2"]);
    const failed = describeEvalNode(store, trials[1]);
    assert.match(failed.description!, /^failed: 1 of 2 criteria · 1\.2 s · 120 tokens$/);
    assert.match(
      failed.tooltip!,
      /✗ judge "Confirms the amount and the order." 0\.40 < 0\.70: Never names the order\./,
    );
    assert.equal(trials[1].kind === "trial" && trials[1].session, sampleRun().cases[6].session);

    assert.deepEqual(evalChildren(store, trials[0]), [], "a passing trial has no children");
    const [reason, ...more] = evalChildren(store, trials[1]);
    assert.equal(more.length, 0, "only the failing criterion");
    assert.deepEqual(
      (({ label, description, icon }) => ({ label, description, icon }))(describeEvalNode(store, reason)),
      {
        label: 'judge "Confirms the amount and the order."',
        description: "0.40 < 0.70: Never names the order.",
        icon: "error",
      },
    );
    for (const [child, parent] of [
      [backends[1], runs[0]],
      [cases[0], backends[1]],
      [trials[1], cases[0]],
      [reason, trials[1]],
    ] as [EvalNode, EvalNode][])
      assert.equal(evalParentId(child), parent.id, `the parent of ${child.id}`);
    assert.equal(evalParentId(runs[0]), undefined);
  });

  it("shows a case run that did not complete with its error, and keeps ids stable across reads", async () => {
    const workspace = tempDir("statecraft-evals-");
    const run = sampleRun();
    run.cases = [
      { ...run.cases[0], passed: false, error: "openai_cloud: 429 Too Many Requests", checks: [] },
    ];
    writeRun(workspace, run);
    const store = await storeOf(workspace);
    const read = () => {
      const [r] = evalChildren(store);
      const [b] = evalChildren(store, r);
      const [c] = evalChildren(store, b);
      const [t] = evalChildren(store, c);
      return { c, t, leaves: evalChildren(store, t) };
    };
    const { c, t, leaves } = read();
    assert.equal(describeEvalNode(store, c).description, "did not complete");
    assert.match(describeEvalNode(store, t).description!, /^did not complete · /);
    assert.deepEqual(
      leaves.map((n) => (({ label, description }) => ({ label, description }))(describeEvalNode(store, n))),
      [{ label: "Did not complete", description: "openai_cloud: 429 Too Many Requests" }],
    );
    assert.deepEqual(
      read().leaves.map((n) => n.id),
      leaves.map((n) => n.id),
    );
  });

  it("lists runs newest first; a file that is not a run is one warning and the others still show", async () => {
    const workspace = tempDir("statecraft-evals-");
    writeRun(workspace, sampleRun("20261202-050000-old000", "2026-12-02T05:00:00.000Z"));
    writeRun(workspace, sampleRun("20261202-060000-new000", "2026-12-02T06:00:00.000Z"));
    const dir = path.join(workspace, EVALS_DIR);
    fs.writeFileSync(path.join(dir, "torn.json"), '{"run": "20261202-0');
    fs.writeFileSync(path.join(dir, "other.json"), JSON.stringify({ run: "x", cases: [{ case: 1 }] }));
    fs.writeFileSync(path.join(dir, "notes.txt"), "not a run file");
    const store = await storeOf(workspace);
    const top = evalChildren(store);
    assert.deepEqual(
      top.map((n) => n.kind),
      ["info", "info", "run", "run"],
    );
    const [other, torn] = top.map((n) => describeEvalNode(store, n));
    assert.match(
      other.label,
      /^other\.json: not an eval run \(eval, file, startedAt, status, passRate, backends, summary, cases missing or of the wrong type\); the run is not shown$/,
    );
    assert.match(torn.label, /^torn\.json: not valid JSON \(.+\); the run is not shown$/);
    assert.equal(torn.icon, "warning");
    assert.deepEqual(
      top.slice(2).map((n) => n.kind === "run" && n.run),
      ["20261202-060000-new000", "20261202-050000-old000"],
    );
    // The view below the good runs works as before.
    assert.equal(evalChildren(store, top[2]).length, 2);
  });

  it("reads a new run when it appears and a run file only when it changed", async () => {
    const workspace = tempDir("statecraft-evals-");
    const folder = new EvalRunFolder("folder:w", "w", workspace);
    await folder.scan();
    assert.deepEqual(folder.runs(), []);
    assert.equal(folder.error, undefined, "no .statecraft/evals yet is not an error");
    const file = writeRun(workspace, sampleRun());
    assert.equal(await folder.update(file), true);
    assert.equal(await folder.update(file), false, "unchanged");
    assert.deepEqual(
      folder.runs().map((r) => r.run),
      ["20261202-060000-aaaaaa"],
    );
    fs.writeFileSync(file, "{");
    assert.equal(await folder.update(file), true);
    assert.deepEqual(folder.runs(), []);
    assert.equal(folder.warnings().length, 1);
    fs.rmSync(file);
    assert.equal(await folder.update(file), true);
    assert.deepEqual(folder.warnings(), []);
    const store = new EvalRunStore();
    store.setFolders([folder]);
    assert.deepEqual(evalChildren(store), [], "nothing to show: the welcome content shows instead");
  });
});

describe("Run Eval and the Testing view's eval outcomes", () => {
  it("takes the code lens's {file, eval, case?} as a path or a file: URI", () => {
    const file = path.resolve("/work/ws/main.agent");
    assert.deepEqual(parseEvalTarget({ file, eval: "quality", case: "small refund" }), {
      file,
      eval: "quality",
      case: "small refund",
    });
    assert.deepEqual(parseEvalTarget({ file: pathToFileURL(file).toString(), eval: "quality" }), {
      file,
      eval: "quality",
    });
    assert.deepEqual(parseEvalTarget({ uri: pathToFileURL(file).toString(), eval: "q" }), {
      file,
      eval: "q",
    });
    assert.deepEqual(parseEvalTarget({ file: "main.agent", eval: "q" }, "/work/ws"), {
      file: path.resolve("/work/ws/main.agent"),
      eval: "q",
    });
    assert.equal(parseEvalTarget({ file }), undefined);
    assert.equal(parseEvalTarget({ file: "untitled:Untitled-1", eval: "q" }), undefined);
    assert.equal(parseEvalTarget(undefined), undefined);
    assert.deepEqual(evalArgs({ file, eval: "q", case: "late order" }, "/tmp/x.json"), [
      "eval",
      file,
      "--eval",
      "q",
      "--case",
      "late order",
      "--json",
      "/tmp/x.json",
    ]);
  });

  it("a case passes when every run of it passed; its failures are at the criterion's line", () => {
    const run = sampleRun();
    run.cases[6].checks[1].file = "cases/support.jsonl";
    run.cases[6].checks[1].line = 3;
    const outcomes = caseOutcomes(run, "/work/ws");
    assert.deepEqual(
      outcomes.map((o) => [o.case, o.passed, o.sessions.length]),
      [
        ["small refund", false, 4],
        ["late order", true, 4],
      ],
    );
    assert.deepEqual(outcomes[0].failures, [
      {
        message: `aws_runtime, trial 2: judge "Confirms the amount and the order." (score 0.40, needs 0.70): Never names the order.\n  session ${run.cases[6].session}`,
        file: path.resolve("/work/ws/cases/support.jsonl"),
        line: 3,
      },
    ]);
    assert.equal(runSummary(run), "support_quality failed: 7 of 8 case runs passed (88%; needs 90%)");
  });
});

describe("the Eval Report page in a webview", () => {
  // The shape of the CLI's page (server/cli/evalHtml.ts): its own policy and nonce, which the
  // webview's replace.
  const page = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'nonce-PAGE'; script-src 'nonce-PAGE'">
<title>support_quality</title>
<style nonce="PAGE">body{color:var(--fg)}</style>
</head>
<body><table><tr><td>1</td></tr></table><svg></svg>
<script nonce="PAGE">const api = acquireVsCodeApi();</script>
</body>
</html>`;

  it("allows the page's own styles and scripts under the webview's nonce, and nothing from the network", () => {
    const html = prepareReportHtml(page, "N0nce");
    const policies = [...html.matchAll(/<meta http-equiv="Content-Security-Policy" content="([^"]+)">/g)];
    assert.deepEqual(
      policies.map((m) => m[1]),
      [
        "default-src 'none'; style-src 'nonce-N0nce'; style-src-attr 'unsafe-inline'; script-src 'nonce-N0nce'; img-src data:; font-src data:",
      ],
    );
    assert.ok(!html.includes("PAGE"), "no trace of the page's nonce");
    const tags = html.match(/<(script|style)\b[^>]*>/g)!;
    assert.deepEqual(tags, [
      '<script nonce="N0nce">',
      '<style nonce="N0nce">',
      '<style nonce="N0nce">',
      '<script nonce="N0nce">',
    ]);
    // The bridge runs first and hands the page's script the same API object.
    const bridge = html.indexOf("window.acquireVsCodeApi = () => api");
    assert.ok(bridge > 0 && bridge < html.indexOf("const api = acquireVsCodeApi();</script>"));
    assert.ok(html.indexOf("Content-Security-Policy") < html.indexOf("<style"), "the policy comes first");
    assert.match(html, /body\.vscode-dark, body\.vscode-high-contrast \{ color-scheme: dark; \}/);
  });

  it("wraps a fragment without a head in a document with the policy", () => {
    const html = prepareReportHtml("<p>no head</p>", "x");
    assert.match(html, /^<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy"/);
    assert.match(html, /<p>no head<\/p>/);
  });
});

describe("eval case sessions in the Session Explorer", () => {
  after(removeTempDirs);

  /** A recorded session tagged as an eval case run, with its checks before session.end. */
  async function evalSession(checks: EvalCheck[]): Promise<SessionEvent[]> {
    const events = await record([LOOKUP]);
    const end = events.findIndex((e) => e.type === "session.end");
    const scores = checks.map((k, i) => ({
      ...k,
      seq: end + 1 + i,
      ts: events[end].ts,
      type: "eval.score" as const,
    }));
    return [
      ...events.slice(0, end).map((e) =>
        e.type === "session.start"
          ? {
              ...e,
              eval: { run: "r1", eval: "support_quality", case: "late order", trial: 2, backend: "local" },
            }
          : e,
      ),
      ...scores,
      ...events.slice(end).map((e) => ({ ...e, seq: e.seq + scores.length })),
    ];
  }

  it("groups them under Eval runs, tagged with eval, case, trial and backend, their checks first", async () => {
    const workspace = tempDir("statecraft-evals-");
    const plain = "20261202-050000-plain0";
    const evalId = "20261202-060000-eval00";
    writeLog(workspace, plain, await record([LOOKUP]));
    writeLog(
      workspace,
      evalId,
      await evalSession([
        check("trajectory [lookup_order] in_order", true, {
          kind: "trajectory",
          score: 1,
          precision: 1,
          recall: 1,
        }),
        check('judge "Gives a date."', false, {
          kind: "judge",
          score: 0.2,
          threshold: 0.6,
          reason: "No date given.",
        }),
      ]),
    );
    const source = new FolderSource("folder:e", "ws", workspace);
    await source.scan();
    const store = new SessionStore();
    store.setSources([source]);
    const [top] = await childrenOf(store);
    const under = await childrenOf(store, top);
    assert.deepEqual(
      under.map((n) => n.id),
      [`session:folder:e/${plain}`, "evals:folder:e"],
    );
    assert.deepEqual(
      (({ label, description }) => ({ label, description }))(await describeNode(store, under[1])),
      { label: "Eval runs", description: "1 session · 1 run" },
    );
    const [session] = await childrenOf(store, under[1]);
    assert.equal(parentId(session), "evals:folder:e");
    const shown = describeSession(source.session(evalId)!);
    assert.equal(shown.label, 'support_quality: "late order"');
    assert.match(
      shown.description!,
      /^local · trial 2 · ✗ 1 of 2 criteria failed · stateless · ok · 1 turn · /,
    );
    assert.equal(shown.icon, "error", "a case run whose criterion failed shows failed");
    assert.match(shown.tooltip!, /eval support_quality, case "late order", trial 2 on local \(run r1\)/);

    const children = await childrenOf(store, session);
    assert.deepEqual(
      children.map((n) => n.kind),
      ["check", "check", "turn"],
    );
    const judge = await describeNode(store, children[1]);
    assert.deepEqual((({ label, description, icon }) => ({ label, description, icon }))(judge), {
      label: 'judge "Gives a date."',
      description: "0.20 < 0.60: No date given.",
      icon: "error",
    });
    assert.equal(parentId(children[0]), session.id);
    // The checks are the session's: no turn lists them.
    const model = source.session(evalId)!;
    assert.equal(model.turns[0].events.filter((e) => e.type === "eval.score").length, 0);
    assert.equal(isShown(model.evalScores[0]), false, "not a node under a turn");
    assert.equal((children[2] as Extract<NodeData, { kind: "turn" }>).turn, 1);
  });

  it("a passing eval case run shows passed, whatever its last turn", async () => {
    const model = modelFromEvents("s", await evalSession([check("expect tool lookup_order called", true)]));
    const shown = describeSession(model);
    assert.equal(shown.icon, "pass");
    assert.match(shown.description!, /· ✓ 1 criterion ·/);
  });
});
