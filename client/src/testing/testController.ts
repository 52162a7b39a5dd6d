// The `test` blocks of the workspace's `.agent` files in VS Code's Testing view. Discovery asks
// the CLI (`statecraft test --list --reporter json`, which reads the files without requiring an
// error-free spec); a run spawns `statecraft test FILE --reporter json --test NAME...` per file
// and turns its JSON lines into results, each failure a TestMessage at the failing step's line.
// Run Test / Run All Tests (the code lenses) go through the same run. The same listing names the
// evals and their cases: each eval is an item under its file with its cases under it, run by the
// "Run Eval" profile (`statecraft eval FILE --eval NAME [--case NAME] --json TMP`), a failing case
// reported at its failing criterion's line.

import * as path from "node:path";
import * as vscode from "vscode";
import type { TestReportLine } from "../../../server/protocol/cli";
import { caseOutcomes, runSummary, type EvalTarget } from "../evals/results";
import { runEvalCli } from "../evals/runEval";
import { workspaceDirOf, type Cli } from "../run/cli";
import { saveIfDirty } from "../run/runAgent";

/** A line of `statecraft test --reporter json` (server/protocol/cli.ts). */
type ReportLine = TestReportLine;

export interface TestOutcome {
  id: string;
  name: string;
  state: "passed" | "failed" | "errored" | "skipped";
  /** Failures with 1-based lines, as reported. */
  failures: { message: string; line: number }[];
  sessionFile?: string;
}

const testId = (file: vscode.Uri, name: string) => `${file.toString()}#${name}`;
const evalId = (file: vscode.Uri, name: string) => `${file.toString()}#eval:${name}`;
const caseId = (file: vscode.Uri, evalName: string, name: string) => `${evalId(file, evalName)}#case:${name}`;
const DISCOVER_DELAY_MS = 300;
/** Evals and their cases carry this tag: only the Run Eval profile runs them (real models cost money). */
const EVAL_TAG = new vscode.TestTag("statecraft.eval");
const isEvalItem = (item: vscode.TestItem) => item.tags.some((t) => t.id === EVAL_TAG.id);

/** An eval item's or a case item's eval: its file and name (and the case's name). */
interface EvalItemData {
  file: vscode.Uri;
  eval: string;
  case?: string;
}

export class AgentTests implements vscode.Disposable {
  private readonly controller = vscode.tests.createTestController("statecraft", "Statecraft");
  private readonly disposables: vscode.Disposable[] = [this.controller];
  private discovering: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly runEnded = new vscode.EventEmitter<TestOutcome[]>();
  /** Fires with every run's outcomes when it ends. */
  readonly onDidEndRun = this.runEnded.event;
  private readonly evalRunEnded = new vscode.EventEmitter<TestOutcome[]>();
  /** Fires with the case outcomes of every Run Eval of the Testing view when it ends. */
  readonly onDidEndEvalRun = this.evalRunEnded.event;
  private readonly evalItems = new WeakMap<vscode.TestItem, EvalItemData>();

  constructor(
    private readonly cli: Cli,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.controller.resolveHandler = async (item) => {
      if (!item) await this.discover();
    };
    this.controller.refreshHandler = () => this.discover();
    this.controller.createRunProfile(
      "Run Eval",
      vscode.TestRunProfileKind.Run,
      (request, token) => this.runEvals(request, token).then(() => undefined),
      true,
      EVAL_TAG,
    );
    this.controller.createRunProfile(
      "Run",
      vscode.TestRunProfileKind.Run,
      (request, token) => this.run(request, token).then(() => undefined),
      true,
    );
    const watcher = vscode.workspace.createFileSystemWatcher("**/*.agent");
    const later = () => this.discoverSoon();
    this.disposables.push(
      watcher,
      watcher.onDidCreate(later),
      watcher.onDidChange(later),
      watcher.onDidDelete(later),
      this.runEnded,
      this.evalRunEnded,
    );
  }

  private discoverSoon(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.discover(), DISCOVER_DELAY_MS);
  }

  /** Lists every workspace folder's tests into the controller (one discovery at a time). */
  discover(): Promise<void> {
    const previous = this.discovering ?? Promise.resolve();
    const next = previous.then(() => this.discoverNow());
    this.discovering = next;
    return next;
  }

  private async discoverNow(): Promise<void> {
    type EvalEntry = { name: string; line: number; cases: { name: string; file: string; line: number }[] };
    const byFile = new Map<
      string,
      { uri: vscode.Uri; tests: { name: string; line: number }[]; evals: Map<string, EvalEntry> }
    >();
    for (const folder of vscode.workspace.workspaceFolders ?? []) {
      if (folder.uri.scheme !== "file") continue;
      const r = await this.cli.run(["test", "--list", "--reporter", "json", folder.uri.fsPath], {
        cwd: folder.uri.fsPath,
      });
      if (r.code !== 0) {
        // No .agent files yet is a normal state; anything else deserves a line in the log.
        if (!/No \.agent files|no test/i.test(r.stderr))
          this.log.warn(`test discovery in ${folder.name}: ${r.stderr.trim() || `exit ${r.code}`}`);
        continue;
      }
      let lastEval: EvalEntry | undefined;
      for (const line of parseLines(r.stdout)) {
        if (line.type !== "test" && line.type !== "eval" && line.type !== "case") continue;
        if (line.type === "case") {
          // A case follows its eval's line (a dataset case's file is the dataset).
          if (lastEval?.name === line.eval)
            lastEval.cases.push({ name: line.name, file: line.file, line: line.line });
          continue;
        }
        const uri = vscode.Uri.file(line.file);
        const entry = byFile.get(uri.toString()) ?? { uri, tests: [], evals: new Map<string, EvalEntry>() };
        byFile.set(uri.toString(), entry);
        if (line.type === "test") entry.tests.push({ name: line.name, line: line.line });
        else {
          lastEval = { name: line.name, line: line.line, cases: [] };
          entry.evals.set(line.name, lastEval);
        }
      }
    }
    const files: vscode.TestItem[] = [];
    const at = (line: number) => new vscode.Range(line - 1, 0, line - 1, 0);
    for (const { uri, tests, evals } of byFile.values()) {
      const fileItem =
        this.controller.items.get(uri.toString()) ??
        this.controller.createTestItem(uri.toString(), vscode.workspace.asRelativePath(uri), uri);
      const testItems = tests.map((t) => {
        const id = testId(uri, t.name);
        const item = fileItem.children.get(id) ?? this.controller.createTestItem(id, t.name, uri);
        item.range = at(t.line);
        return item;
      });
      const evalItems = [...evals.values()].map((e) => {
        const id = evalId(uri, e.name);
        const item = fileItem.children.get(id) ?? this.controller.createTestItem(id, `eval ${e.name}`, uri);
        item.range = at(e.line);
        item.tags = [EVAL_TAG];
        this.evalItems.set(item, { file: uri, eval: e.name });
        item.children.replace(
          e.cases.map((c) => {
            const cid = caseId(uri, e.name, c.name);
            const caseUri = vscode.Uri.file(c.file);
            const existing = item.children.get(cid);
            const caseItem =
              existing && existing.uri?.toString() === caseUri.toString()
                ? existing
                : this.controller.createTestItem(cid, c.name, caseUri);
            caseItem.range = at(c.line);
            caseItem.tags = [EVAL_TAG];
            this.evalItems.set(caseItem, { file: uri, eval: e.name, case: c.name });
            return caseItem;
          }),
        );
        return item;
      });
      fileItem.children.replace([...testItems, ...evalItems]);
      files.push(fileItem);
    }
    this.controller.items.replace(files);
  }

  /**
   * The discovered tests, as `file#name` ids, then the evals (`file#eval:NAME`) and their cases
   * (`file#eval:NAME#case:CASE`), for tests of the extension and Run Test.
   */
  get testIds(): string[] {
    const ids: string[] = [];
    this.controller.items.forEach((f) =>
      f.children.forEach((t) => {
        ids.push(t.id);
        t.children.forEach((c) => ids.push(c.id));
      }),
    );
    return ids;
  }

  /** Runs the tests of one file, or one test of it, as Run Test / Run All Tests do. */
  async runFile(
    file: vscode.Uri,
    name: string | undefined,
    token: vscode.CancellationToken,
  ): Promise<TestOutcome[]> {
    await saveIfDirty(file);
    await this.discover();
    const fileItem = this.controller.items.get(file.toString());
    const item = name ? fileItem?.children.get(testId(file, name)) : fileItem;
    if (!item)
      throw new Error(
        name
          ? `no test "${name}" in ${vscode.workspace.asRelativePath(file)} (is the file saved?)`
          : `no tests in ${vscode.workspace.asRelativePath(file)}`,
      );
    return this.run(new vscode.TestRunRequest([item]), token);
  }

  /** The run profile's handler: one CLI process per file, results as its JSON lines arrive. */
  async run(request: vscode.TestRunRequest, token: vscode.CancellationToken): Promise<TestOutcome[]> {
    if (!this.controller.items.size) await this.discover();
    const excluded = new Set(request.exclude?.map((t) => t.id));
    const groups = new Map<string, { uri: vscode.Uri; items: vscode.TestItem[] }>();
    const add = (item: vscode.TestItem) => {
      // Evals run only under their own profile (runEvals).
      if (excluded.has(item.id) || isEvalItem(item)) return;
      if (item.children.size) return item.children.forEach(add);
      if (!item.uri || item.parent === undefined) return;
      const g = groups.get(item.parent.id) ?? { uri: item.uri, items: [] };
      g.items.push(item);
      groups.set(item.parent.id, g);
    };
    if (request.include) request.include.forEach(add);
    else this.controller.items.forEach(add);
    // An eval or a case asked for by itself (its ▷, Run Test at Cursor) runs here too: VS Code hands
    // it to whichever default profile can run it, and this untagged one can run anything. Reached
    // only through its file or the root (Run All), an eval does not run: evals call real models.
    const evals = request.include?.filter((i) => isEvalItem(i) && !excluded.has(i.id)) ?? [];
    if (evals.length) {
      const outcomes = await this.runEvals(new vscode.TestRunRequest(evals, request.exclude), token);
      if (!groups.size) return outcomes;
    }
    if (!groups.size) return [];

    for (const { uri } of groups.values()) await saveIfDirty(uri);
    const run = this.controller.createTestRun(request);
    const outcomes: TestOutcome[] = [];
    try {
      for (const { uri, items } of groups.values()) {
        if (token.isCancellationRequested) {
          for (const i of items) {
            run.skipped(i);
            outcomes.push({ id: i.id, name: i.label, state: "skipped", failures: [] });
          }
          continue;
        }
        for (const i of items) run.enqueued(i);
        outcomes.push(...(await this.runGroup(run, uri, items, token)));
      }
    } finally {
      run.end();
    }
    this.runEnded.fire(outcomes);
    return outcomes;
  }

  /**
   * The Run Eval profile's handler: per eval, one `statecraft eval` of the whole eval when all its
   * cases are asked for, else one per case asked for; each case passed when every run of it (on
   * every backend and trial) passed, failed with its failing criteria at their lines.
   */
  async runEvals(request: vscode.TestRunRequest, token: vscode.CancellationToken): Promise<TestOutcome[]> {
    if (!this.controller.items.size) await this.discover();
    const excluded = new Set(request.exclude?.map((t) => t.id));
    /** Per eval item: the case items asked for. */
    const wanted = new Map<vscode.TestItem, Set<vscode.TestItem>>();
    const add = (item: vscode.TestItem) => {
      if (excluded.has(item.id)) return;
      const data = this.evalItems.get(item);
      if (!data) return item.children.forEach(add);
      const evalItem = data.case === undefined ? item : item.parent;
      if (!evalItem) return;
      const cases = wanted.get(evalItem) ?? new Set<vscode.TestItem>();
      wanted.set(evalItem, cases);
      if (data.case === undefined) evalItem.children.forEach((c) => !excluded.has(c.id) && cases.add(c));
      else cases.add(item);
    };
    if (request.include) request.include.forEach(add);
    else this.controller.items.forEach(add);
    if (!wanted.size) return [];

    const run = this.controller.createTestRun(request);
    const outcomes: TestOutcome[] = [];
    try {
      for (const [evalItem, cases] of wanted) {
        const data = this.evalItems.get(evalItem)!;
        const items = [...cases];
        const whole = items.length === evalItem.children.size;
        const targets: { target: EvalTarget; items: vscode.TestItem[] }[] = whole
          ? [{ target: { file: data.file.fsPath, eval: data.eval }, items }]
          : items.map((i) => ({
              target: { file: data.file.fsPath, eval: data.eval, case: this.evalItems.get(i)!.case! },
              items: [i],
            }));
        for (const i of items) run.enqueued(i);
        for (const { target, items: those } of targets)
          outcomes.push(...(await this.runEvalTarget(run, target, those, token)));
      }
    } finally {
      run.end();
    }
    this.evalRunEnded.fire(outcomes);
    return outcomes;
  }

  private async runEvalTarget(
    run: vscode.TestRun,
    target: EvalTarget,
    items: vscode.TestItem[],
    token: vscode.CancellationToken,
  ): Promise<TestOutcome[]> {
    const byName = new Map(items.map((i) => [this.evalItems.get(i)?.case ?? i.label, i]));
    if (token.isCancellationRequested) {
      for (const i of items) run.skipped(i);
      return items.map((i) => ({ id: i.id, name: i.label, state: "skipped", failures: [] }));
    }
    for (const i of items) run.started(i);
    const uri = vscode.Uri.file(target.file);
    const result = await runEvalCli(
      this.cli,
      target,
      { cwd: workspaceDirOf(uri), token, onLine: (line) => run.appendOutput(`${line}\r\n`) },
      uri,
    );
    const outcomes = new Map<string, TestOutcome>();
    if (result.run) {
      run.appendOutput(`${runSummary(result.run)} (run ${result.run.run})\r\n`);
      for (const o of caseOutcomes(result.run, path.dirname(target.file))) {
        const item = byName.get(o.case);
        if (!item) continue;
        const failures = o.failures.map((f) => ({
          message: f.message,
          line: f.line ?? (item.range ? item.range.start.line + 1 : 1),
          file: f.file,
        }));
        outcomes.set(item.id, {
          id: item.id,
          name: o.case,
          state: o.passed ? "passed" : "failed",
          failures: failures.map(({ message, line }) => ({ message, line })),
        });
        if (o.passed) run.passed(item, o.durationMs);
        else
          run.failed(
            item,
            failures.map((f) => {
              const m = new vscode.TestMessage(f.message);
              const where = f.file ? vscode.Uri.file(f.file) : (item.uri ?? uri);
              m.location = new vscode.Location(where, new vscode.Position(f.line - 1, 0));
              return m;
            }),
            o.durationMs,
          );
      }
    }
    // Cases without a result: the spec has errors, the CLI failed, or the run was cancelled.
    const why = token.isCancellationRequested
      ? undefined
      : (result.error ?? "the eval run has no result for it");
    return settleTheRest(run, items, outcomes, why);
  }

  private async runGroup(
    run: vscode.TestRun,
    uri: vscode.Uri,
    items: vscode.TestItem[],
    token: vscode.CancellationToken,
  ): Promise<TestOutcome[]> {
    const byName = new Map(items.map((i) => [i.label, i]));
    const outcomes = new Map<string, TestOutcome>();
    const cwd = workspaceDirOf(uri);
    const args = ["test", uri.fsPath, "--reporter", "json", "--workspace", cwd];
    for (const i of items) args.push("--test", i.label);
    const result = await this.cli.run(args, {
      cwd,
      token,
      onStdoutLine: (text) => {
        const line = parseLine(text);
        if (!line || (line.type !== "start" && line.type !== "result")) return;
        // A test of an imported file runs in the closure too, under its own file's id.
        const item =
          vscode.Uri.file(line.file).toString() === uri.toString() ? byName.get(line.name) : undefined;
        if (!item) return;
        if (line.type === "start") {
          run.started(item);
          return;
        }
        const outcome: TestOutcome = {
          id: item.id,
          name: line.name,
          state: line.passed ? "passed" : "failed",
          failures: line.failures.map((f) => ({ message: f.message, line: f.line })),
          sessionFile: line.sessionFile,
        };
        outcomes.set(item.id, outcome);
        if (line.sessionFile)
          run.appendOutput(`${line.name}: session ${line.sessionFile}\r\n`, undefined, item);
        if (line.passed) run.passed(item, line.durationMs);
        else
          run.failed(
            item,
            line.failures.map((f) => {
              const m = new vscode.TestMessage(f.step ? `${f.message}\n  at: ${f.step}` : f.message);
              m.location = new vscode.Location(uri, new vscode.Position(f.line - 1, 0));
              return m;
            }),
            line.durationMs,
          );
      },
    });
    // Tests without a result: the spec has errors, the CLI failed, or the run was cancelled.
    const why = token.isCancellationRequested
      ? undefined
      : result.stderr.trim() || `statecraft test exited with ${result.code ?? result.signal}`;
    return settleTheRest(run, items, outcomes, why);
  }

  dispose(): void {
    clearTimeout(this.timer);
    for (const d of this.disposables) d.dispose();
  }
}

function parseLine(text: string): ReportLine | undefined {
  if (!text.startsWith("{")) return undefined;
  try {
    return JSON.parse(text) as ReportLine;
  } catch {
    // Not one of the reporter's lines (the CLI writes nothing else to stdout in json mode).
    return undefined;
  }
}

function parseLines(text: string): ReportLine[] {
  return text
    .split("\n")
    .map(parseLine)
    .filter((l): l is ReportLine => l !== undefined);
}

/**
 * The items a run gave no result for (the spec has errors, the CLI failed, or the run was cancelled):
 * skipped when cancelled (`why` undefined), else errored with why; then every outcome of the run.
 */
function settleTheRest(
  run: vscode.TestRun,
  items: vscode.TestItem[],
  outcomes: Map<string, TestOutcome>,
  why: string | undefined,
): TestOutcome[] {
  for (const item of items) {
    if (outcomes.has(item.id)) continue;
    if (why === undefined) {
      run.skipped(item);
      outcomes.set(item.id, { id: item.id, name: item.label, state: "skipped", failures: [] });
    } else {
      run.errored(item, new vscode.TestMessage(why));
      outcomes.set(item.id, {
        id: item.id,
        name: item.label,
        state: "errored",
        failures: [{ message: why, line: item.range ? item.range.start.line + 1 : 1 }],
      });
    }
  }
  return [...outcomes.values()];
}
