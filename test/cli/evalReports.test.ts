// The reports of eval runs: loading recorded runs, `eval list`, `eval report`, `eval compare`,
// the baseline's regressions, the JUnit XML and the HTML page (opened in headless Chromium).
// The runs are test/fixtures/evals/*.json: two runs of one eval on two backends, 2 trials a case.

import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import type { EvalRun } from "../../server/protocol/evals";
import { baselineRegressions, compareEvalRuns, regressionText } from "../../server/cli/evalCompare";
import { evalComparisonHtml, evalRunHtml } from "../../server/cli/evalHtml";
import { evalJunitXml } from "../../server/cli/evalJunit";
import { loadBaseline, reportBaseline, writeEvalReports } from "../../server/cli/evalReports";
import { evalRunProblem } from "../../server/cli/evalRuns";
import { UsageError, type CliIO } from "../../server/cli/io";
import { ROOT, runCli } from "./helpers";

const FIXTURES = path.join(ROOT, "test/fixtures/evals");
const A_ID = "20261201-141500-a1c4e9";
const B_ID = "20261202-091200-b2d87f";
const RESULTS = path.join(ROOT, "test-results/evals");
const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

const fixture = (id: string): EvalRun =>
  JSON.parse(fs.readFileSync(path.join(FIXTURES, `${id}.json`), "utf8")) as EvalRun;

/** A case name and a reason that try to run script in the page or break the XML. */
const HOSTILE = `<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"> & "quoted" 'x' \u0007]]>`;

function hostileRun(): EvalRun {
  const run = fixture(B_ID);
  const first = run.cases.find((c) => !c.passed && c.checks.some((k) => !k.passed))!;
  for (const c of run.cases) if (c.case === first.case) c.case = HOSTILE;
  first.checks.find((k) => !k.passed)!.reason = `reason ${HOSTILE}`;
  return run;
}

const tmpDirs: string[] = [];
function workspace(...ids: string[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "statecraft-evals-"));
  tmpDirs.push(dir);
  fs.writeFileSync(path.join(dir, "package.json"), "{}\n");
  fs.mkdirSync(path.join(dir, ".statecraft", "evals"), { recursive: true });
  for (const id of ids)
    fs.copyFileSync(path.join(FIXTURES, `${id}.json`), path.join(dir, ".statecraft", "evals", `${id}.json`));
  return dir;
}
after(() => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

/** One line on stderr, exit 2: what every unusable input gives. */
function assertOneLine(r: { code: number; out: string; err: string }, pattern: RegExp) {
  assert.equal(r.code, 2, r.out + r.err);
  assert.equal(r.err.trimEnd().split("\n").length, 1, r.err);
  assert.match(r.err, pattern);
  assert.doesNotMatch(r.err, /\n\s+at /);
}

describe("eval runs: list and loading", () => {
  it("eval list: the runs newest first, with the pass rate per backend", async () => {
    const dir = workspace(A_ID, B_ID);
    const r = await runCli(["eval", "list"], dir);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trimEnd().split("\n");
    assert.equal(lines.length, 2);
    assert.match(
      lines[0],
      new RegExp(
        `^${B_ID} +support_quality +failed +2026-12-02 09:12 UTC +openai_cloud 88%, aws_runtime 63%$`,
      ),
    );
    assert.match(lines[1], new RegExp(`^${A_ID} .*openai_cloud 75%, aws_runtime 88%$`));
  });

  it("eval list --json: an array with status, backends and pass rates", async () => {
    const dir = workspace(A_ID, B_ID);
    const r = await runCli(["eval", "list", "--json"], dir);
    assert.equal(r.code, 0, r.err);
    const list = JSON.parse(r.out) as Record<string, unknown>[];
    assert.deepEqual(
      list.map((x) => [x.run, x.status, x.passRates, x.runs, x.passed]),
      [
        [B_ID, "failed", { openai_cloud: 0.875, aws_runtime: 0.625 }, 16, 12],
        [A_ID, "failed", { openai_cloud: 0.75, aws_runtime: 0.875 }, 16, 13],
      ],
    );
    assert.equal(list[0].path, path.join(".statecraft", "evals", `${B_ID}.json`));
  });

  it("eval list with no runs: says so on stderr, exit 0; --json prints []", async () => {
    const dir = workspace();
    const r = await runCli(["eval", "list"], dir);
    assert.equal(r.code, 0);
    assert.equal(r.out, "");
    assert.match(r.err, /^no eval runs under \.statecraft\/evals: run statecraft eval first\n$/);
    assert.deepEqual(JSON.parse((await runCli(["eval", "list", "--json"], dir)).out), []);
  });

  it("eval list: a corrupt run file is one warning line naming it; the others are listed", async () => {
    const dir = workspace(A_ID);
    fs.writeFileSync(path.join(dir, ".statecraft/evals/broken.json"), '{"format": 1, "run": \n');
    const r = await runCli(["eval", "list"], dir);
    assert.equal(r.code, 0);
    assert.match(r.out, new RegExp(`^${A_ID} `));
    assert.equal(r.err.trimEnd().split("\n").length, 1, r.err);
    assert.match(r.err, /^warning: \.statecraft\/evals\/broken\.json is not valid JSON/);
  });

  it("a run is found by id, by a unique start of its id, by path; from a subfolder of the project", async () => {
    const dir = workspace(A_ID, B_ID);
    fs.mkdirSync(path.join(dir, "sub"));
    for (const [arg, cwd] of [
      [B_ID, dir],
      ["20261202", dir],
      [`${B_ID}.json`, dir],
      [path.join(FIXTURES, `${B_ID}.json`), os.tmpdir()],
      [B_ID, path.join(dir, "sub")],
    ]) {
      const r = await runCli(["eval", "report", arg], cwd);
      assert.equal(r.code, 0, `${arg}: ${r.err}`);
      assert.match(
        r.out,
        new RegExp(`^eval support_quality \\(examples/support/evals\\.agent\\): failed, run ${B_ID}`),
      );
    }
  });

  const bad: [string, (dir: string) => string[], RegExp][] = [
    ["no run given", () => ["eval", "report"], /^statecraft eval: usage: statecraft eval report RUN/],
    [
      "an unknown id",
      () => ["eval", "report", "20990101"],
      /^statecraft eval: no eval run '20990101' \(not a file, nor an id under \.statecraft\/evals; statecraft eval list shows them\)$/m,
    ],
    [
      "an ambiguous prefix",
      () => ["eval", "report", "2026"],
      /^statecraft eval: '2026' matches 2 eval runs; give more of the id$/m,
    ],
    [
      "corrupt JSON",
      (dir) => {
        fs.writeFileSync(path.join(dir, "corrupt.json"), '{"format": 1, "cases": [');
        return ["eval", "report", "corrupt.json"];
      },
      /^statecraft eval: corrupt\.json is not valid JSON \(.*\): not an eval run$/m,
    ],
    [
      "a foreign JSON file",
      (dir) => ["eval", "report", path.join(dir, "package.json")],
      /^statecraft eval: .*package\.json is not a Statecraft eval run: no 'format' field$/m,
    ],
    [
      "a run of a newer format",
      (dir) => {
        fs.writeFileSync(path.join(dir, "new.json"), JSON.stringify({ ...fixture(A_ID), format: 99 }));
        return ["eval", "report", "new.json"];
      },
      /is not a Statecraft eval run: format 99, written by a newer Statecraft \(this one reads format 1\)$/m,
    ],
    [
      "a binary file",
      (dir) => {
        fs.writeFileSync(path.join(dir, "bin.json"), Buffer.from([0, 1, 2, 0xff, 0x1b, 10, 13]));
        return ["eval", "report", "bin.json"];
      },
      /^statecraft eval: bin\.json is not valid JSON/m,
    ],
    [
      "compare with one run",
      () => ["eval", "compare", A_ID],
      /^statecraft eval: usage: statecraft eval compare RUN_A RUN_B/,
    ],
    [
      "compare with a missing run",
      () => ["eval", "compare", A_ID, "nope"],
      /^statecraft eval: no eval run 'nope'/,
    ],
    [
      "neither a subcommand nor a file",
      () => ["eval", "frob"],
      /^statecraft eval: No such file or folder: frob$/m,
    ],
    ["an unknown option", () => ["eval", "list", "--html", "x"], /^statecraft eval: Unknown option '--html'/],
  ];
  for (const [what, args, pattern] of bad)
    it(`${what}: one line, exit 2`, async () => {
      const dir = workspace(A_ID, B_ID);
      assertOneLine(await runCli(args(dir), dir), pattern);
    });

  it("every field a report reads is checked, and the first wrong one is named", () => {
    // [the field's path, its new value (DELETE: none), the message]
    const DELETE = Symbol("delete");
    const cases: [string, unknown, string][] = [
      ["cases", DELETE, "cases is missing"],
      ["status", "done", "status 'done' is not passed, failed or interrupted"],
      ["cases.3.passed", "yes", "cases[3].passed is a string, not a boolean"],
      ["cases.0.usage", DELETE, "cases[0].usage is missing"],
      ["cases.1.judgeUsage.outputTokens", null, "cases[1].judgeUsage.outputTokens is a null, not a number"],
      [
        "cases.2.checks.1.kind",
        "vibes",
        "cases[2].checks[1].kind 'vibes' is not judge, score, expect or trajectory",
      ],
      ["cases.2.checks.0.reason", 3, "cases[2].checks[0].reason is a number, not a string"],
      [
        "summary.aws_runtime.meanScore",
        "high",
        "summary.aws_runtime.meanScore is a string, not a number or null",
      ],
      ["summary.aws_runtime", DELETE, "summary has no entry for the backend aws_runtime"],
      ["backends", "openai_cloud", "backends is a string, not an array"],
    ];
    assert.equal(evalRunProblem(fixture(A_ID)), undefined);
    assert.equal(evalRunProblem([]), "a JSON array, not an object");
    for (const [field, value, message] of cases) {
      const run = fixture(A_ID) as unknown as Record<string, unknown>;
      const keys = field.split(".");
      const parent = keys.slice(0, -1).reduce((o, k) => o[k] as Record<string, unknown>, run);
      if (value === DELETE) delete parent[keys.at(-1)!];
      else parent[keys.at(-1)!] = value;
      assert.equal(evalRunProblem(run), message, field);
    }
  });
});

describe("eval compare and the baseline", () => {
  const a = fixture(A_ID);
  const b = fixture(B_ID);

  it("regressions first (largest drop first), then improvements, then unchanged", () => {
    const cmp = compareEvalRuns(a, b);
    assert.deepEqual(
      cmp.cases.map((c) => [
        c.change,
        c.case,
        c.backend,
        `${c.a?.passed}/${c.a?.runs}`,
        `${c.b?.passed}/${c.b?.runs}`,
      ]),
      [
        ["regression", "small refund", "aws_runtime", "2/2", "0/2"],
        ["regression", "angry customer, simulated", "openai_cloud", "2/2", "1/2"],
        ["improvement", "late order", "openai_cloud", "0/2", "2/2"],
        ...cmp.cases
          .slice(3)
          .map((c) => [
            "unchanged",
            c.case,
            c.backend,
            `${c.a?.passed}/${c.a?.runs}`,
            `${c.b?.passed}/${c.b?.runs}`,
          ]),
      ],
    );
    assert.equal(cmp.cases.length, 8);
    assert.deepEqual(cmp.counts, { regression: 2, improvement: 1, unchanged: 5, added: 0, removed: 0 });
    // The failing checks of a regression are B's, with their trial and session.
    const refund = cmp.cases[0];
    assert.deepEqual(
      refund.b!.failures.map((f) => [f.trial, f.session, f.checks.length]),
      [
        [1, "20261202-091202-09d87f", 3],
        [2, "20261202-091203-0ad87f", 2],
      ],
    );
  });

  it("the deltas: per backend from the summaries, per criterion the mean of its scores over the trials", () => {
    const cmp = compareEvalRuns(a, b);
    const aws = cmp.backends.find((x) => x.backend === "aws_runtime")!;
    const sa = a.summary.aws_runtime;
    const sb = b.summary.aws_runtime;
    assert.equal(aws.delta.passRate, sb.passRate - sa.passRate);
    assert.equal(aws.delta.passRate, -0.25);
    assert.equal(aws.delta.tokens, sb.inputTokens + sb.outputTokens - (sa.inputTokens + sa.outputTokens));
    assert.equal(aws.delta.p95LatencyMs, sb.p95LatencyMs - sa.p95LatencyMs);
    assert.equal(aws.delta.bytesSent, sb.bytesSent - sa.bytesSent);
    assert.ok(Math.abs(aws.delta.meanScore! - (sb.meanScore! - sa.meanScore!)) < 1e-12);
    const criterion = 'judge "Confirms the amount and the order." at_least 0.7';
    const mean = (run: EvalRun) => {
      const xs = run.cases
        .filter((c) => c.case === "small refund" && c.backend === "aws_runtime")
        .map((c) => c.checks.find((k) => k.criterion === criterion)!.score!);
      return xs.reduce((s, x) => s + x, 0) / xs.length;
    };
    const delta = cmp.cases[0].scores.find((s) => s.criterion === criterion)!;
    assert.equal(delta.a, mean(a));
    assert.equal(delta.b, mean(b));
    assert.ok(Math.abs(delta.delta! - (mean(b) - mean(a))) < 1e-12);
    assert.ok(delta.delta! < -0.3, String(delta.delta));
  });

  it("a case in one run only is added or removed, never a regression", () => {
    const fewer = fixture(B_ID);
    fewer.cases = fewer.cases.filter((c) => c.case !== "small refund");
    const extra = fixture(B_ID);
    extra.cases.push({ ...extra.cases[0], case: "new case", passed: false });
    assert.deepEqual(
      compareEvalRuns(a, fewer)
        .cases.filter((c) => c.case === "small refund")
        .map((c) => c.change),
      ["removed", "removed"],
    );
    const added = compareEvalRuns(a, extra).cases.filter((c) => c.change === "added");
    assert.deepEqual(
      added.map((c) => [c.case, c.backend]),
      [["new case", "openai_cloud"]],
    );
    assert.deepEqual(
      baselineRegressions(fewer, a).map((c) => c.case),
      ["angry customer, simulated"],
    );
  });

  it("baselineRegressions: the cases that passed in the baseline and fail now", () => {
    assert.deepEqual(
      baselineRegressions(b, a).map((c) => [c.case, c.backend]),
      [
        ["small refund", "aws_runtime"],
        ["angry customer, simulated", "openai_cloud"],
      ],
    );
    assert.deepEqual(baselineRegressions(a, a), []);
    // With B as the baseline, A's regression is the case B improved.
    assert.deepEqual(
      baselineRegressions(a, b).map((c) => [c.case, c.backend]),
      [["late order", "openai_cloud"]],
    );
    // One trial: passed in the baseline, fails now.
    const one = (passed: boolean): EvalRun => ({
      ...a,
      trials: 1,
      cases: [{ ...a.cases[0], trial: 1, passed }],
    });
    assert.equal(baselineRegressions(one(false), one(true)).length, 1);
    assert.equal(baselineRegressions(one(true), one(false)).length, 0);
    const text = regressionText(baselineRegressions(b, a), A_ID);
    assert.match(
      text,
      new RegExp(
        `^2 regressions against the baseline ${A_ID}:\n  "small refund" on aws_runtime: 2/2 -> 0/2 passed`,
      ),
    );
    assert.match(
      text,
      /\n {4}trial 1, session 20261202-091202-09d87f:\n {6}expect tool refund called with .*: refund was never called/,
    );
    assert.equal(regressionText([], A_ID), `no regressions against the baseline ${A_ID}\n`);
  });

  it("eval compare: per backend, regressions before improvements, then score changes; exit 0", async () => {
    const dir = workspace(A_ID, B_ID);
    const r = await runCli(["eval", "compare", A_ID, B_ID], dir);
    assert.equal(r.code, 0, r.err);
    const at = (s: string) => r.out.indexOf(s);
    assert.ok(at("per backend (A -> B):") > 0);
    assert.match(r.out, /\n {2}aws_runtime: pass rate 88% -> 63% \(-25 pts\)/);
    assert.ok(at("regressions: passed more often in A (2):") > at("per backend"));
    assert.ok(at("improvements: pass more often in B (1):") > at("regressions:"));
    assert.ok(at("score changes (") > at("improvements:"));
    assert.match(r.out, /\n2 regressions, 1 improvement, 5 unchanged\n$/);
  });

  it("eval compare --json: the comparison object", async () => {
    const dir = workspace(A_ID, B_ID);
    const r = await runCli(["eval", "compare", A_ID, B_ID, "--json"], dir);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(JSON.parse(r.out), JSON.parse(JSON.stringify(compareEvalRuns(a, b))));
  });
});

/** An in-process CliIO whose output is kept. */
function captureIO(cwd: string): CliIO & { out: string; err: string } {
  const io = {
    cwd,
    env: {},
    out: "",
    err: "",
    stdout: (t: string) => void (io.out += t),
    stderr: (t: string) => void (io.err += t),
  };
  return io;
}

describe("statecraft eval --baseline (the functions the command calls)", () => {
  it("loadBaseline: a run id, or a --json file of several runs; a bad one is a UsageError before anything runs", () => {
    const dir = workspace(A_ID);
    assert.deepEqual(
      loadBaseline(A_ID, dir, dir).map((r) => r.run),
      [A_ID],
    );
    fs.writeFileSync(path.join(dir, "both.json"), JSON.stringify([fixture(A_ID), fixture(B_ID)]));
    assert.deepEqual(
      loadBaseline("both.json", dir, dir).map((r) => r.run),
      [A_ID, B_ID],
    );
    assert.throws(() => loadBaseline("nope", dir, dir), UsageError);
    fs.writeFileSync(path.join(dir, "half.json"), JSON.stringify([fixture(A_ID), { format: 1 }]));
    assert.throws(() => loadBaseline("half.json", dir, dir), {
      message: "half.json is not a Statecraft eval run: [1]: run is missing",
    });
  });

  it("reportBaseline: the regressions of each run against the baseline's run of its eval, and their count", () => {
    const io = captureIO(os.tmpdir());
    assert.equal(reportBaseline([fixture(B_ID)], [fixture(A_ID)], io), 2);
    assert.equal(io.out, regressionText(baselineRegressions(fixture(B_ID), fixture(A_ID)), A_ID));
    assert.equal(io.err, "");
    const other = { ...fixture(A_ID), eval: "other_eval" };
    const io2 = captureIO(os.tmpdir());
    assert.equal(reportBaseline([fixture(B_ID)], [other], io2), 0);
    assert.equal(io2.out, "");
    assert.equal(
      io2.err,
      "statecraft eval: the baseline has no run of the eval support_quality (it has other_eval): not compared\n",
    );
    const io3 = captureIO(os.tmpdir());
    assert.equal(reportBaseline([fixture(A_ID)], [fixture(A_ID)], io3), 0);
    assert.equal(io3.out, `no regressions against the baseline ${A_ID}\n`);
  });
});

describe("eval reports: files and stdout", () => {
  it("a file of several runs: report shows them all (text, HTML sections, JUnit suites); compare wants one", async () => {
    const dir = workspace();
    fs.writeFileSync(path.join(dir, "both.json"), JSON.stringify([fixture(A_ID), fixture(B_ID)]));
    const text = await runCli(["eval", "report", "both.json"], dir);
    assert.equal(text.code, 0, text.err);
    assert.equal(text.out.match(/^eval support_quality /gm)?.length, 2);
    const html = await runCli(["eval", "report", "both.json", "--html", "-"], dir);
    assert.equal(html.out.match(/<section class="report run" data-run="/g)?.length, 2);
    const junit = await runCli(["eval", "report", "both.json", "--junit", "-"], dir);
    assert.equal(junit.out.match(/<testsuite /g)?.length, 4);
    assert.match(
      junit.out,
      /<testsuites name="evals support_quality, support_quality" tests="32" failures="6" errors="1"/,
    );
    assertOneLine(
      await runCli(["eval", "compare", "both.json", "both.json"], dir),
      new RegExp(
        `^statecraft eval: both\\.json holds 2 eval runs \\(${A_ID}, ${B_ID}\\): name one of them by its id$`,
        "m",
      ),
    );
  });

  it("eval report --html FILE --junit FILE writes both (folders made); - writes to stdout", async () => {
    const dir = workspace(A_ID, B_ID);
    const r = await runCli(["eval", "report", B_ID, "--html", "out/r.html", "--junit", "out/j.xml"], dir);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, "");
    assert.match(fs.readFileSync(path.join(dir, "out/r.html"), "utf8"), /^<!DOCTYPE html>/);
    assert.match(fs.readFileSync(path.join(dir, "out/j.xml"), "utf8"), /^<\?xml version="1\.0"/);
    const html = await runCli(["eval", "report", B_ID, "--html", "-"], dir);
    assert.equal(html.code, 0);
    assert.match(html.out, /^<!DOCTYPE html>[\s\S]*<\/html>\n$/);
    const junit = await runCli(["eval", "report", B_ID, "--junit", "-"], dir);
    assert.match(junit.out, /^<\?xml[\s\S]*<\/testsuites>\n$/);
    const cmp = await runCli(
      ["eval", "compare", A_ID, path.join(FIXTURES, `${B_ID}.json`), "--html", "-"],
      dir,
    );
    assert.equal(cmp.code, 0, cmp.err);
    assert.match(cmp.out, /^<!DOCTYPE html>[\s\S]*compare eval support_quality/);
    assertOneLine(
      await runCli(["eval", "report", B_ID, "--html", "-", "--junit", "-"], dir),
      /--html - and --junit - would both write to stdout/,
    );
  });

  it("writeEvalReports: a report that cannot be written is one line and false; the other is written", () => {
    const dir = workspace();
    fs.writeFileSync(path.join(dir, "blocker"), "");
    let err = "";
    const io = { cwd: dir, env: {}, stdout: () => undefined, stderr: (t: string) => (err += t) };
    const ok = writeEvalReports(fixture(B_ID), { html: "blocker/r.html", junit: "j.xml" }, io);
    assert.equal(ok, false);
    assert.match(
      err,
      /^statecraft eval: cannot write the HTML report blocker\/r\.html: .*\nJUnit report: j\.xml\n$/,
    );
    assert.ok(fs.existsSync(path.join(dir, "j.xml")));
    assert.equal(
      writeEvalReports(fixture(B_ID), { html: "r.html" }, { ...io, stderr: () => undefined }),
      true,
    );
  });
});

describe("eval reports of an interrupted run with no case run", () => {
  const empty: EvalRun = {
    ...fixture(A_ID),
    status: "interrupted",
    cases: [],
    summary: Object.fromEntries(
      ["openai_cloud", "aws_runtime"].map((b) => [
        b,
        {
          runs: 0,
          passed: 0,
          passRate: 0,
          meanScore: null,
          inputTokens: 0,
          outputTokens: 0,
          p50LatencyMs: 0,
          p95LatencyMs: 0,
          bytesSent: 0,
        },
      ]),
    ),
  };

  it("the page says no case ran, the JUnit has empty suites, the comparison lists A's cases as only in A", () => {
    const html = evalRunHtml(empty);
    assert.match(html, /<p class="empty">no case ran: the run was interrupted<\/p>/);
    assert.match(html, /<p class="empty">no judge or score criteria in this run<\/p>/);
    const junit = evalJunitXml(empty);
    assert.match(junit, /<testsuites [^>]*tests="0" failures="0" errors="0"/);
    assert.equal(junit.match(/<testsuite /g)?.length, 2);
    const cmp = compareEvalRuns(fixture(A_ID), empty);
    assert.deepEqual(cmp.counts, { regression: 0, improvement: 0, unchanged: 0, added: 0, removed: 8 });
    assert.deepEqual(baselineRegressions(empty, fixture(A_ID)), []);
  });
});

describe("eval reports in Chromium (HTML page, JUnit parsed back)", function () {
  this.timeout(60_000);
  let context: BrowserContext;
  let profile: string;
  let page: Page;
  let errors: string[];
  let requests: string[];
  const b = fixture(B_ID);

  before(async () => {
    profile = fs.mkdtempSync(path.join(os.tmpdir(), "statecraft-chromium-"));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1360, height: 900 },
    });
    fs.mkdirSync(RESULTS, { recursive: true });
  });
  after(async () => {
    await context?.close();
    fs.rmSync(profile, { recursive: true, force: true });
  });
  beforeEach(async () => {
    page = await context.newPage();
    errors = [];
    requests = [];
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") errors.push(m.text());
    });
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("request", (r) => requests.push(r.url()));
  });
  afterEach(async () => page.close());

  /** Opens the page from a file, as a user would; returns its URL. */
  async function open(html: string, name: string): Promise<string> {
    const file = path.join(workspace(), name);
    fs.writeFileSync(file, html);
    const url = `file://${file}`;
    await page.goto(url);
    return url;
  }

  /** Nothing but the page itself was requested, and nothing in it could request anything. */
  async function assertOffline(url: string) {
    assert.deepEqual(requests, [url]);
    // (Browser code is passed as text: the page has no DOM types here, and tsx would add helpers to a function.)
    const fetched = await page.evaluate(`({
      resources: performance.getEntriesByType("resource").length,
      linking: document.querySelectorAll("[src], [href], link, iframe, object, embed, img").length,
    })`);
    assert.deepEqual(fetched, { resources: 0, linking: 0 });
  }

  it("the run's page: offline, no console error, both charts with a bar per backend, a row per case run", async () => {
    const url = await open(evalRunHtml(b), "report.html");
    await assertOffline(url);
    for (const chart of ["pass-rate", "scores"])
      for (const backend of b.backends) {
        const bars = await page.locator(`figure.${chart} svg rect.bar[data-backend="${backend}"]`).count();
        assert.ok(bars >= 1, `${chart}: ${backend}`);
      }
    const widths = await page
      .locator("figure.pass-rate rect.bar")
      .evaluateAll((rs) =>
        rs.map((r) => [r.getAttribute("data-backend"), Number(r.getAttribute("data-value"))]),
      );
    assert.deepEqual(widths, [
      ["openai_cloud", 0.875],
      ["aws_runtime", 0.625],
    ]);
    const rows = page.locator("table.rows tbody tr");
    assert.equal(await rows.count(), b.cases.length);
    // Failures first: the first 4 rows are the 4 failed case runs.
    const groups = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-group")));
    assert.deepEqual(groups.slice(0, 4), ["failed", "failed", "failed", "failed"]);
    assert.ok(groups.slice(4).every((g) => g === "passed"));
    // A failing check shows its reason, a row its session id.
    const first = rows.first();
    assert.match(await first.innerText(), /refund was never called: the tools called were lookup_order/);
    assert.match(await first.innerText(), /20261202-091202-09d87f/);
    assert.match(await page.locator("table.summary").innerText(), /aws_runtime\s+63%\s+5\/8/);
    await page.screenshot({ path: path.join(RESULTS, "report.png"), fullPage: true });
    await page.emulateMedia({ colorScheme: "dark" });
    await page.screenshot({ path: path.join(RESULTS, "report-dark.png"), fullPage: true });
    assert.deepEqual(errors, []);
  });

  it("filters (failed, backend, text) and sorting by a column", async () => {
    await open(evalRunHtml(b), "report.html");
    const visible = () => page.locator("table.rows tbody tr:not([hidden])").count();
    await page.click('button[data-filter="failed"]');
    assert.equal(await visible(), 4);
    await page.selectOption("select.backend", "aws_runtime");
    assert.equal(await visible(), 3);
    assert.equal(await page.locator(".count").innerText(), "3 of 16 shown");
    await page.click('button[data-filter="all"]');
    await page.fill("input.search", "503 service unavailable");
    assert.equal(await visible(), 1);
    await page.fill("input.search", "");
    await page.selectOption("select.backend", "");
    assert.equal(await visible(), 16);
    await page.click("table.rows th:text-is('latency')");
    const latencies = await page
      .locator("table.rows tbody tr td:nth-child(8)")
      .evaluateAll((tds) => tds.map((td) => Number(td.getAttribute("data-v"))));
    assert.deepEqual(
      latencies,
      [...b.cases.map((c) => c.latencyMs)].sort((x, y) => x - y),
    );
    assert.deepEqual(errors, []);
  });

  it("several runs on one page: each section filters its own rows", async () => {
    await open(evalRunHtml([fixture(A_ID), b]), "both.html");
    const sections = page.locator("section.report");
    assert.equal(await sections.count(), 2);
    await sections.nth(1).locator('button[data-filter="failed"]').click();
    const visible = (i: number) => sections.nth(i).locator("table.rows tbody tr:not([hidden])").count();
    assert.equal(await visible(0), 16);
    assert.equal(await visible(1), 4);
    assert.equal(await sections.nth(0).locator(".count").innerText(), "16 of 16 shown");
    assert.deepEqual(errors, []);
  });

  it("text from the run is shown as text: an injected <script> in a case name runs nothing", async () => {
    await open(evalRunHtml(hostileRun()), "hostile.html");
    assert.equal(await page.evaluate("typeof window.__pwned"), "undefined");
    assert.equal(await page.locator("table.rows tbody script, table.rows tbody img").count(), 0);
    const names = await page.locator("table.rows .case").allInnerTexts();
    assert.ok(names.includes(HOSTILE.replace("\u0007", "\\x07")), names.join("\n"));
    assert.match(await page.locator("table.rows").innerText(), /reason <script>window.__pwned = 1<\/script>/);
    assert.deepEqual(errors, []);
  });

  it("theme-aware: VS Code's theme variables win; dark defaults under prefers-color-scheme", async () => {
    await open(evalRunHtml(b), "report.html");
    const colours = () =>
      page.evaluate(
        `[getComputedStyle(document.body).color, getComputedStyle(document.body).backgroundColor]`,
      );
    const light = await colours();
    await page.emulateMedia({ colorScheme: "dark" });
    const dark = await colours();
    assert.notDeepEqual(dark, light);
    // What VS Code does in a webview: its theme's colours as variables on the root element.
    await page.evaluate(`
      document.documentElement.style.setProperty("--vscode-foreground", "rgb(1, 2, 3)");
      document.documentElement.style.setProperty("--vscode-editor-background", "rgb(250, 240, 230)");
    `);
    assert.deepEqual(await colours(), ["rgb(1, 2, 3)", "rgb(250, 240, 230)"]);
  });

  it("in a VS Code webview, a click on a session id asks the editor to open it", async () => {
    // What a webview provides: acquireVsCodeApi(), whose postMessage reaches the extension.
    await page.addInitScript(`
      window.messages = [];
      window.acquireVsCodeApi = () => ({ postMessage: (m) => window.messages.push(m) });
    `);
    await open(evalRunHtml(b), "report.html");
    await page.locator('[data-session="20261202-091202-09d87f"]').click();
    assert.deepEqual(await page.evaluate("window.messages"), [
      { command: "openSession", session: "20261202-091202-09d87f" },
    ]);
  });

  it("the comparison's page: offline, regressions first, a bar per backend and run", async () => {
    const cmp = compareEvalRuns(fixture(A_ID), b);
    const url = await open(evalComparisonHtml(cmp), "compare.html");
    await assertOffline(url);
    const groups = await page
      .locator("table.rows tbody tr")
      .evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-group")));
    assert.deepEqual(
      groups,
      cmp.cases.map((c) => c.change),
    );
    assert.deepEqual(groups.slice(0, 3), ["regression", "regression", "improvement"]);
    for (const backend of b.backends)
      assert.equal(await page.locator(`figure.pass-rate rect.bar[data-backend="${backend}"]`).count(), 2);
    await page.click('button[data-filter="regression"]');
    assert.equal(await page.locator("table.rows tbody tr:not([hidden])").count(), 2);
    await page.click('button[data-filter="all"]');
    await page.screenshot({ path: path.join(RESULTS, "compare.png"), fullPage: true });
    assert.deepEqual(errors, []);
  });

  it("JUnit: well-formed XML, a suite per backend, a testcase per case run, failures with their reasons", async () => {
    const run = hostileRun();
    const parsed = (await page.evaluate(`(() => {
      const doc = new DOMParser().parseFromString(${JSON.stringify(evalJunitXml(run))}, "application/xml");
      const all = (sel, root = doc) => Array.from(root.querySelectorAll(sel));
      const failed = all("testcase").find((t) => t.getAttribute("name").startsWith("<script>") && t.querySelector("failure"));
      return {
        error: doc.querySelector("parsererror")?.textContent ?? null,
        root: ["tests", "failures", "errors"].map((a) => doc.documentElement.getAttribute(a)),
        suites: all("testsuite").map((s) => ({
          name: s.getAttribute("name"),
          counts: ["tests", "failures", "errors"].map((a) => s.getAttribute(a)),
          cases: all("testcase", s).length,
          failures: all("testcase > failure", s).length,
          errors: all("testcase > error", s).length,
        })),
        names: all("testcase").map((t) => t.getAttribute("name")),
        first: {
          file: failed.getAttribute("file"),
          line: failed.getAttribute("line"),
          message: failed.querySelector("failure").getAttribute("message"),
          body: failed.querySelector("failure").textContent,
        },
      };
    })()`)) as {
      error: string | null;
      root: string[];
      suites: unknown[];
      names: string[];
      first: { file: string; line: string; message: string; body: string };
    };
    assert.equal(parsed.error, null);
    assert.deepEqual(parsed.root, ["16", "3", "1"]);
    assert.deepEqual(parsed.suites, [
      { name: "support_quality on openai_cloud", counts: ["8", "1", "0"], cases: 8, failures: 1, errors: 0 },
      { name: "support_quality on aws_runtime", counts: ["8", "2", "1"], cases: 8, failures: 2, errors: 1 },
    ]);
    assert.ok(parsed.names.includes("late order [trial 2]"));
    assert.ok(
      parsed.names.includes(`${HOSTILE.replace("\u0007", "\uFFFD")} [trial 1]`),
      parsed.names.join("\n"),
    );
    assert.equal(parsed.first.file, "examples/support/evals.agent");
    assert.equal(parsed.first.line, "12");
    assert.match(
      parsed.first.message!,
      /^examples\/support\/evals\.agent:16: expect tool refund called with .*: reason <script>/,
    );
    assert.equal(parsed.first.body!.split("\n").length, 3);
    assert.match(
      parsed.first.body!,
      /\nexamples\/support\/evals\.agent:19: judge "Confirms the amount and the order\." at_least 0\.7 scored 0\.39 \(at least 0\.7\): The reply promises/,
    );
  });
});
describe("statecraft eval --html --junit --baseline (end to end on examples/support)", function () {
  this.timeout(120_000);

  it("writes both reports, then a changed judge score is a regression against the first run: listed, exit 1", async () => {
    const dir = workspace();
    fs.cpSync(path.join(ROOT, "examples"), path.join(dir, "examples"), { recursive: true });
    const first = await runCli(
      ["eval", "examples/support", "--case", "small refund", "--html", "out/r.html", "--junit", "out/j.xml"],
      dir,
    );
    assert.equal(first.code, 0, first.out + first.err);
    assert.match(first.err, /HTML report: out\/r\.html\nJUnit report: out\/j\.xml\n/);
    const [recorded] = JSON.parse((await runCli(["eval", "list", "--json"], dir)).out) as { run: string }[];
    assert.match(
      fs.readFileSync(path.join(dir, "out/r.html"), "utf8"),
      new RegExp(`data-run="${recorded.run}"`),
    );
    assert.match(fs.readFileSync(path.join(dir, "out/j.xml"), "utf8"), /<testcase [^>]*name="small refund"/);
    const again = await runCli(
      ["eval", "examples/support", "--case", "small refund", "--baseline", recorded.run],
      dir,
    );
    assert.equal(again.code, 0, again.out + again.err);
    assert.match(again.out, new RegExp(`no regressions against the baseline ${recorded.run}\n`));
    // The case now fails, but the eval still meets its pass_rate (lowered to 0): exit 1 is the baseline's.
    const agent = path.join(dir, "examples/support/evals.agent");
    fs.writeFileSync(
      agent,
      fs
        .readFileSync(agent, "utf8")
        .replace('judge scores 0.9 "Confirms', 'judge scores 0.2 "Confirms')
        .replace("pass_rate: 1\n", "pass_rate: 0\n"),
    );
    const worse = await runCli(
      ["eval", "examples/support", "--case", "small refund", "--baseline", recorded.run],
      dir,
    );
    assert.match(worse.out, /eval support_quality: passed/);
    assert.equal(worse.code, 1, worse.out + worse.err);
    assert.match(
      worse.out,
      new RegExp(
        `1 regression against the baseline ${recorded.run}:\n  "small refund" on local_dev: 1/1 -> 0/1 passed`,
      ),
    );
    assertOneLine(
      await runCli(["eval", "examples/support", "--baseline", "nope"], dir),
      /^statecraft eval: no eval run 'nope'/,
    );
  });
});
