// Evals in the editor, on the fixture workspace's eval (evals.agent) and its two recorded runs
// (.statecraft/evals/: the newer one has a failing case, whose session is in .statecraft/sessions/
// tagged with its eval and its eval.score checks): the Evals view down to a failing criterion's
// reason, a trial's session shown in the Session Explorer, the Eval Report and Compare Eval Runs
// webviews (screenshots in test-results/editor/), Run Eval writing a new run that the view picks
// up, and the eval's cases in the Testing view, run by the Run Eval profile.

import { strict as assert } from "node:assert";
import * as vscode from "vscode";
import { screenshot } from "./screenshot";
import { EXTENSION_ID, fixture, open, positionAt } from "./workspace";

const RUN = "20261202-060000-fx0001";
const OLDER = "20261201-180000-fx0000";
const FAILING_SESSION = "20261202-060002-ev0002";
const PASSING = "looks the order up";
const FAILING = "refunds a damaged order";

interface Child {
  id: string;
  kind: string;
  label: string;
  description?: string;
  tooltip?: string;
  node: { kind: string; run?: string; session?: string };
}

interface Rendered {
  type: "rendered";
  title: string;
  rows: number;
  charts: number;
  theme: string;
}

interface TestOutcome {
  id: string;
  name: string;
  state: "passed" | "failed" | "errored" | "skipped";
  failures: { message: string; line: number }[];
}

const children = (id?: string) =>
  vscode.commands.executeCommand<Child[]>("statecraft.evals.internal.children", id);

async function child(parent: string | undefined, match: (c: Child) => boolean, what: string): Promise<Child> {
  const list = await children(parent);
  const found = list.find(match);
  assert.ok(
    found,
    `${what} not under ${parent ?? "the root"}; there: ${list.map((c) => c.label).join(" | ")}`,
  );
  return found;
}

const runNode = (run: string) =>
  child(undefined, (c) => c.node.run === run && c.kind === "run", `run ${run}`);

describe("evals", () => {
  before(async () => {
    await vscode.extensions.getExtension(EXTENSION_ID)?.activate();
    await vscode.commands.executeCommand("workbench.action.closeAllEditors");
  });

  it("the Evals view shows the recorded runs: backends, cases, trials and a failing criterion's reason", async () => {
    await vscode.commands.executeCommand("statecraft.evals.focus");
    const runs = await children();
    assert.deepEqual(
      runs.map((r) => r.node.run),
      [RUN, OLDER],
      "newest first",
    );
    assert.equal(runs[0].label, "support_quality");
    assert.match(String(runs[0].description), /^failed · 50% passed \(1\/2\) · /);
    assert.match(String(runs[1].description), /^passed · 100% passed \(2\/2\) · /);

    const [backend] = await children(runs[0].id);
    assert.equal(backend.label, "local_dev");
    assert.equal(backend.description, "50% passed (1/2) · score 0.65 · p50 680 ms · 14.8 KB sent");
    const cases = await children(backend.id);
    assert.deepEqual(
      cases.map((c) => [c.label, c.description]),
      [
        [PASSING, "passed"],
        [FAILING, "failed: 2 of 2 criteria"],
      ],
    );
    const [trial] = await children(cases[1].id);
    assert.equal(trial.label, "Trial 1");
    assert.equal(trial.node.session, FAILING_SESSION);
    const reasons = await children(trial.id);
    assert.deepEqual(
      reasons.map((r) => [r.label, r.description]),
      [
        ["expect tool refund called", "refund was never called"],
        [
          'judge "Confirms the amount and the order."',
          "0.30 < 0.70: The reply asks which item arrived damaged and never confirms a refund.",
        ],
      ],
    );
    assert.equal(await vscode.commands.executeCommand("statecraft.evals.internal.reveal", RUN), true);
    assert.equal(
      await vscode.commands.executeCommand("statecraft.evals.internal.reveal", reasons[1].id),
      true,
    );
    await vscode.commands.executeCommand("workbench.action.closePanel");
    await vscode.commands.executeCommand("notifications.clearAll");
    await screenshot("evals-view");
  });

  it("a trial opens its session in the Session Explorer, tagged with its eval and showing its checks", async () => {
    const run = await runNode(RUN);
    const [backend] = await children(run.id);
    const failing = await child(backend.id, (c) => c.label === FAILING, FAILING);
    const [trial] = await children(failing.id);
    assert.equal(await vscode.commands.executeCommand("statecraft.evals.openTrial", trial.node), true);
    const state = await vscode.commands.executeCommand<{ visible: boolean }>(
      "statecraft.sessions.internal.state",
    );
    assert.equal(state.visible, true, "the Session Explorer is shown");

    type SessionChild = { id: string; kind: string; label: string; description?: string };
    const sessions = (id?: string) =>
      vscode.commands.executeCommand<SessionChild[]>("statecraft.sessions.internal.children", id);
    const [source] = await sessions();
    const group = (await sessions(source.id)).find((c) => c.kind === "evals");
    assert.ok(group, "an Eval runs group");
    assert.equal(group.label, "Eval runs");
    const session = (await sessions(group.id)).find((c) => c.id.endsWith(`/${FAILING_SESSION}`));
    assert.ok(session);
    assert.equal(session.label, `support_quality: "${FAILING}"`);
    assert.match(
      String(session.description),
      /^local_dev · trial 1 · ✗ 2 of 2 criteria failed · stateless · ok · /,
    );
    const under = await sessions(session.id);
    assert.deepEqual(
      under.filter((c) => c.kind === "check").map((c) => c.label),
      ["expect tool refund called", 'judge "Confirms the amount and the order."'],
    );
    assert.equal(under.filter((c) => c.kind === "turn").length, 2);
    await screenshot("eval-session");
  });

  it("the Eval Report webview shows the run's page in the editor's theme", async function () {
    this.timeout(60_000);
    const rendered = await vscode.commands.executeCommand<Rendered>("statecraft.evals.openReport", {
      run: RUN,
    });
    assert.ok(rendered, "the report drew");
    assert.doesNotMatch(rendered.title, /could not build/, rendered.title);
    assert.match(rendered.title, /support_quality/);
    assert.ok(rendered.rows >= 3, `rows: ${rendered.rows}`);
    assert.ok(rendered.charts >= 1, `charts: ${rendered.charts}`);
    assert.match(rendered.theme, /^(dark|light|high-contrast)$/);
    const tab = vscode.window.tabGroups.activeTabGroup.activeTab;
    assert.equal(tab?.label, "Eval Report · support_quality");
    await screenshot("eval-report");
  });

  it("Compare Eval Runs shows the older run as the baseline and the regression", async function () {
    this.timeout(60_000);
    const rendered = await vscode.commands.executeCommand<Rendered>("statecraft.evals.compare", {
      a: RUN,
      b: OLDER,
    });
    assert.ok(rendered, "the comparison drew");
    assert.doesNotMatch(rendered.title, /could not build/, rendered.title);
    assert.ok(rendered.rows >= 2, `rows: ${rendered.rows}`);
    assert.equal(
      vscode.window.tabGroups.activeTabGroup.activeTab?.label,
      "Compare Eval Runs · support_quality",
    );
    await screenshot("eval-compare");
  });

  it("Run Eval (the lens's command) runs one case and the view shows the new run", async function () {
    this.timeout(90_000);
    const result = await vscode.commands.executeCommand<{
      code: number;
      run?: { run: string; cases: unknown[] };
    }>("statecraft.runEval", {
      file: fixture("evals.agent").toString(),
      eval: "support_quality",
      case: PASSING,
    });
    assert.ok(result?.run, "the eval wrote its run");
    assert.equal(result.code, 0);
    assert.equal(result.run.cases.length, 1);
    const node = await runNode(result.run.run);
    assert.match(String(node.description), /^passed · 100% passed \(1\/1\) · /);
  });

  it("the Testing view lists the eval's cases and runs them with the Run Eval profile", async function () {
    this.timeout(90_000);
    const file = fixture("evals.agent").toString();
    const ids = await vscode.commands.executeCommand<string[]>("statecraft.internal.discoverTests");
    const evalId = `${file}#eval:support_quality`;
    for (const id of [evalId, `${evalId}#case:${PASSING}`, `${evalId}#case:${FAILING}`])
      assert.ok(ids.includes(id), `${id} not discovered: ${ids.join(", ")}`);

    const doc = await open("evals.agent");
    const expectLine = positionAt(doc, "expect tool refund called", "start").line + 1;
    const judgeLine = positionAt(doc, 'judge "Confirms', "start").line + 1;
    const ended = vscode.commands.executeCommand<TestOutcome[]>("statecraft.internal.nextEvalTestRun");
    // The cursor in the eval block: Run Test at Cursor runs the eval's item with its profile.
    const at = positionAt(doc, "eval support_quality", "start");
    vscode.window.activeTextEditor!.selection = new vscode.Selection(at, at);
    await vscode.commands.executeCommand("workbench.view.testing.focus");
    await vscode.commands.executeCommand("testing.runAtCursor");
    const outcomes = await ended;
    const byName = new Map(outcomes.map((o) => [o.name, o]));
    assert.equal(byName.get(PASSING)?.state, "passed", JSON.stringify(outcomes));
    const failed = byName.get(FAILING);
    assert.equal(failed?.state, "failed", JSON.stringify(outcomes));
    assert.deepEqual(
      failed.failures.map((f) => f.line),
      [expectLine, judgeLine],
    );
    assert.match(failed.failures[1].message, /Confirms the amount and the order\..*score 0\.30, needs 0\.70/);
    await screenshot("testing-evals");
  });
});
