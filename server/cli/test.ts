// `statecraft test`: runs the `test` blocks of `.agent` files offline (or on
// the backend a test names), one line per test, then `N passed, N failed`.

import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { createBackend } from "../backends";
import { compileEval, findEvals } from "../language/compileEvals";
import { compileTest, findTests } from "../language/compileTests";
import { checkFiles } from "../language/validate";
import { RunError } from "../runtime/prepare";
import type { TestReportLine, TestResult } from "../protocol/cli";
import { runTest } from "../runtime/testRunner";
import { collectAgentFiles, displayPath, fileError, loadBatch, plural, projectFolder } from "./files";
import { UsageError, type CliIO, type Flags } from "./io";
import { reportRunError } from "./run";
import { xml, xmlText } from "./xml";

export function junitXml(results: TestResult[], cwd: string): string {
  const failures = results.filter((r) => !r.passed).length;
  const time = (ms: number) => (ms / 1000).toFixed(3);
  const cases = results.map((r) => {
    const attrs = `classname="${xml(displayPath(r.file, cwd))}" name="${xml(r.name)}" time="${time(r.durationMs)}"`;
    if (r.passed) return `    <testcase ${attrs}/>`;
    const body = r.failures.map((f) => `${displayPath(r.file, cwd)}:${f.line}: ${f.message}`).join("\n");
    return `    <testcase ${attrs}>\n      <failure message="${xml(r.failures[0]?.message ?? "failed")}">${xmlText(body)}</failure>\n    </testcase>`;
  });
  const total = results.reduce((a, r) => a + r.durationMs, 0);
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites tests="${results.length}" failures="${failures}" time="${time(total)}">\n  <testsuite name="statecraft" tests="${results.length}" failures="${failures}" time="${time(total)}">\n${cases.join("\n")}\n  </testsuite>\n</testsuites>\n`;
}

/** The flags of `statecraft test` (the docs test parses the documented commands against them). */
export const TEST_FLAGS = {
  filter: { type: "string" },
  junit: { type: "string" },
  workspace: { type: "string" },
  // Exact test names (repeatable): the editor runs the tests it was asked for and no others.
  test: { type: "string", multiple: true },
  // `json`: one JSON object per line (start, result, summary) for the editor's Testing view.
  reporter: { type: "string" },
  // List the tests without running them (and without requiring an error-free spec).
  list: { type: "boolean" },
  // An untrusted workspace: command tools and MCP servers are refused.
  untrusted: { type: "boolean" },
  // Also the tests of the files the named ones import (by default only the named files' own tests).
  "with-imports": { type: "boolean" },
} satisfies Flags;

export async function testCommand(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: TEST_FLAGS,
  });
  if (values.reporter !== undefined && values.reporter !== "json" && values.reporter !== "text")
    throw new UsageError(`--reporter must be text or json, not '${values.reporter}'`);
  const json = values.reporter === "json";
  const emit = (line: TestReportLine) => io.stdout(JSON.stringify(line) + "\n");
  const workspace = values.workspace
    ? path.resolve(io.cwd, values.workspace)
    : projectFolder(path.resolve(io.cwd, positionals[0] ?? "."));
  const files = collectAgentFiles(positionals, io.cwd);
  const { program, unreadable } = loadBatch(files, io.cwd);
  // Tests cannot run from a file that cannot be read: each one is a line, and nothing runs.
  if (unreadable.length) {
    for (const u of unreadable) io.stderr(`statecraft test: ${u.message}\n`);
    return 2;
  }
  const selected = (name: string) =>
    (!values.filter || name.includes(values.filter)) && (!values.test || values.test.includes(name));
  if (values.list) {
    for (const { file, decl } of findTests(program, files, values["with-imports"] === true)) {
      const t = compileTest(program, file, decl);
      if (!selected(t.name)) continue;
      if (json) emit({ type: "test", name: t.name, file: t.file, line: t.line, agent: t.agent });
      else io.stdout(`${displayPath(t.file, io.cwd)}:${t.line}: ${t.name}\n`);
    }
    // The Testing view lists evals and their cases too (run by `statecraft eval`, never by `test`).
    if (json && !values.filter && !values.test)
      for (const { file, decl } of findEvals(program, files, values["with-imports"] === true)) {
        const ev = compileEval(program, file, decl);
        if (!ev.name) continue;
        emit({ type: "eval", name: ev.name, file: ev.file, line: ev.line, agent: ev.agent });
        for (const c of ev.cases)
          emit({ type: "case", eval: ev.name, name: c.name, file: c.file, line: c.line });
      }
    return 0;
  }
  const errors = checkFiles(program, files).filter((d) => d.severity === "error");
  if (errors.length)
    return reportRunError(
      new RunError(
        `not run: ${errors.length} error${errors.length === 1 ? "" : "s"} in the spec`,
        errors,
        program,
      ),
      io,
      "test",
    );
  const all = findTests(program, files, values["with-imports"] === true).map(({ file, decl }) =>
    compileTest(program, file, decl),
  );
  const tests = all.filter((t) => selected(t.name));
  const results: TestResult[] = [];
  for (const t of tests) {
    if (json) emit({ type: "start", name: t.name, file: t.file, line: t.line });
    const r = await runTest({ program, root: t.file }, t, {
      workspace,
      env: io.env,
      createBackend,
      trusted: !values.untrusted,
      listener: io.observe,
    });
    results.push(r);
    if (json) {
      emit({ type: "result", ...r });
      continue;
    }
    io.stdout(`${r.passed ? "✓" : "✗"} ${r.name} (${Math.round(r.durationMs)} ms)\n`);
    for (const f of r.failures) io.stdout(`    ${displayPath(r.file, io.cwd)}:${f.line}: ${f.message}\n`);
  }
  let reportFailed = false;
  if (values.junit) {
    const report = path.resolve(io.cwd, values.junit);
    try {
      fs.mkdirSync(path.dirname(report), { recursive: true });
      fs.writeFileSync(report, junitXml(results, io.cwd));
    } catch (err) {
      io.stderr(
        `statecraft test: ${fileError(`cannot write the JUnit report ${displayPath(report, io.cwd)}`, err)}\n`,
      );
      reportFailed = true;
    }
  }
  const failed = results.filter((r) => !r.passed).length;
  if (tests.length === 0) io.stderr(noTestMessage(all, values, files, io.cwd));
  else io.stderr(`sessions: ${displayPath(path.join(workspace, ".statecraft", "sessions"), io.cwd)}\n`);
  if (json) emit({ type: "summary", passed: results.length - failed, failed });
  else io.stdout(`${results.length - failed} passed, ${failed} failed\n`);
  return reportFailed ? 2 : failed > 0 || tests.length === 0 ? 1 : 0;
}

/** Why nothing ran: no test matches what was asked (and which tests there are), or the files have none. */
function noTestMessage(
  all: { name: string }[],
  asked: { filter?: string; test?: string[] },
  files: string[],
  cwd: string,
): string {
  if (!all.length)
    return `no test blocks in ${files.length === 1 ? displayPath(files[0], cwd) : plural(files.length, "file")}\n`;
  const what = [
    ...(asked.test ?? []).map((t) => JSON.stringify(t)),
    ...(asked.filter !== undefined ? [`the filter ${JSON.stringify(asked.filter)}`] : []),
  ];
  const names = all.map((t) => JSON.stringify(t.name));
  const shown = names.length > 20 ? [...names.slice(0, 20), `and ${names.length - 20} more`] : names;
  return `no test matches ${what.join(" and ")}; the ${plural(all.length, "test is", "tests are")}: ${shown.join(", ")}\n`;
}
