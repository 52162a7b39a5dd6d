// An eval run as JUnit XML (`statecraft eval --junit FILE`), for CI systems that show test
// reports: one testsuite per backend, a testcase per case run (`case [trial N]`), a <failure> with
// each failing criterion and its reason, an <error> for a case run that could not complete.

import * as path from "node:path";
import type { EvalCaseRun, EvalRun } from "../protocol/evals";
import { xml, xmlText } from "./xml";

const seconds = (ms: number) => (ms / 1000).toFixed(3);

/** The testcase name: the case, and its trial when the eval runs several. */
export function caseRunName(r: EvalCaseRun, trials: number): string {
  return trials > 1 ? `${r.case} [trial ${r.trial}]` : r.case;
}

/** `evals.agent:19: judge "..." scored 0.41 (at least 0.7): reason`, one line per failing check. */
function failureLines(r: EvalCaseRun, folder: string): string[] {
  return r.checks
    .filter((k) => !k.passed)
    .map((k) => {
      const at = k.file ? `${path.posix.join(folder, k.file)}${k.line ? `:${k.line}` : ""}: ` : "";
      const figures =
        (typeof k.score === "number" ? ` scored ${k.score.toFixed(2)}` : "") +
        (typeof k.threshold === "number" ? ` (at least ${k.threshold})` : "");
      return `${at}${k.criterion}${figures}: ${k.reason}`;
    });
}

/**
 * `file` and `line` of a testcase are the case's own, relative to the working folder (the run's
 * `file` is; a case's file is relative to the eval's folder).
 */
export function evalJunitXml(runs: EvalRun | EvalRun[]): string {
  const list = Array.isArray(runs) ? runs : [runs];
  const cases = list.flatMap((r) => r.cases);
  const errors = cases.filter((r) => r.error !== undefined).length;
  const failures = cases.filter((r) => !r.passed && r.error === undefined).length;
  const time = cases.reduce((a, r) => a + r.latencyMs, 0);
  const name =
    list.length === 1
      ? `eval ${list[0].eval} (${list[0].run})`
      : `evals ${list.map((r) => r.eval).join(", ")}`;
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<testsuites name="${xml(name)}" tests="${cases.length}" failures="${failures}" errors="${errors}" time="${seconds(time)}">\n` +
    list
      .flatMap(suites)
      .map((s) => `${s}\n`)
      .join("") +
    `</testsuites>\n`
  );
}

/** The testsuites of one run: one per backend. */
function suites(run: EvalRun): string[] {
  const folder = path.posix.dirname(run.file.split(path.sep).join("/"));
  const trials = Math.max(run.trials, ...run.cases.map((r) => r.trial));
  // A case run of a backend the run's list misses still gets its suite: no case run is dropped.
  const backends = [...new Set([...run.backends, ...run.cases.map((r) => r.backend)])];
  return backends.map((backend) => {
    const runs = run.cases.filter((r) => r.backend === backend);
    const errors = runs.filter((r) => r.error !== undefined).length;
    const failures = runs.filter((r) => !r.passed && r.error === undefined).length;
    const time = runs.reduce((a, r) => a + r.latencyMs, 0);
    const cases = runs.map((r) => {
      const file = r.file ? path.posix.join(folder, r.file) : run.file;
      const attrs =
        `classname="${xml(`${run.eval}.${backend}`)}" name="${xml(caseRunName(r, trials))}"` +
        ` file="${xml(file)}"${r.line ? ` line="${r.line}"` : ""} time="${seconds(r.latencyMs)}"`;
      const out = `      <system-out>${xmlText(`session ${r.session}; tokens ${r.usage.inputTokens} in, ${r.usage.outputTokens} out; judge tokens ${r.judgeUsage.inputTokens + r.judgeUsage.outputTokens}; ${r.bytesSent} bytes sent`)}</system-out>`;
      if (r.passed) return `    <testcase ${attrs}>\n${out}\n    </testcase>`;
      const lines = failureLines(r, folder);
      const body =
        r.error !== undefined
          ? `      <error message="${xml(r.error)}">${xmlText([r.error, ...lines].join("\n"))}</error>`
          : `      <failure message="${xml(lines[0] ?? "failed")}">${xmlText(lines.join("\n"))}</failure>`;
      return `    <testcase ${attrs}>\n${body}\n${out}\n    </testcase>`;
    });
    return (
      `  <testsuite name="${xml(`${run.eval} on ${backend}`)}" tests="${runs.length}" failures="${failures}" errors="${errors}" skipped="0" time="${seconds(time)}" timestamp="${xml(run.startedAt.replace(/Z$/, ""))}">\n` +
      `    <properties>\n` +
      `      <property name="run" value="${xml(run.run)}"/>\n` +
      `      <property name="backend" value="${xml(backend)}"/>\n` +
      `      <property name="definitionHash" value="${xml(run.definitionHash)}"/>\n` +
      `      <property name="passRate" value="${run.summary[backend]?.passRate ?? 0}"/>\n` +
      `    </properties>\n` +
      cases.map((c) => `${c}\n`).join("") +
      `  </testsuite>`
    );
  });
}
