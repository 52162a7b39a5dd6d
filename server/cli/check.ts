// `statecraft check`: parse, resolve and validate `.agent` files and print
// diagnostics as `path:line:col: severity code: message` (1-based).

import { parseArgs } from "node:util";
import type { Diagnostic } from "../language/diagnostics";
import { LineIndex } from "../language/lineIndex";
import type { Program } from "../language/program";
import { checkFiles } from "../language/validate";
import type { CheckDiagnostic } from "../protocol/cli";
import { connectDiagnostics } from "./checkConnect";
import { collectAgentFiles, displayPath, loadBatch, plural } from "./files";
import { printable, UsageError, type CliIO, type Flags } from "./io";

export function locate(program: Program, d: Diagnostic, cwd: string): CheckDiagnostic {
  // A dataset line's diagnostic is on the dataset, which is data, not a file of the program.
  const idx = LineIndex.of(program.text(d.path) ?? "");
  const s = idx.position(d.span.start);
  const e = idx.position(d.span.end);
  return {
    path: displayPath(d.path, cwd),
    line: s.line + 1,
    column: s.character + 1,
    endLine: e.line + 1,
    endColumn: e.character + 1,
    severity: d.severity,
    code: d.code,
    message: d.message,
  };
}

export function formatDiagnostic(d: CheckDiagnostic): string {
  return `${d.path}:${d.line}:${d.column}: ${d.severity} ${d.code}: ${printable(d.message, true)}`;
}

/** The flags of `statecraft check` (the docs test parses the documented commands against them). */
export const CHECK_FLAGS = {
  format: { type: "string", default: "text" },
  hints: { type: "boolean", default: false },
  connect: { type: "boolean", default: false },
} satisfies Flags;

export function checkCommand(argv: string[], io: CliIO): number | Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: CHECK_FLAGS,
  });
  if (values.format !== "text" && values.format !== "json")
    throw new UsageError(`--format must be text or json, not '${values.format}'`);
  const files = collectAgentFiles(positionals, io.cwd);
  // A file that cannot be read is one line; the others are still checked, and the exit code is 2.
  const { program, unreadable } = loadBatch(files, io.cwd);
  for (const u of unreadable) io.stderr(`statecraft check: ${u.message}\n`);
  const readable = files.filter((f) => !unreadable.some((u) => u.file === f));
  const all = checkFiles(program, readable).filter((d) => values.hints || d.severity !== "hint");
  const located = all.map((d) => locate(program, d, io.cwd));
  const report = () => {
    if (values.format === "json") io.stdout(JSON.stringify(located, null, 2) + "\n");
    else for (const d of located) io.stdout(formatDiagnostic(d) + "\n");
    const count = (s: string) => located.filter((d) => d.severity === s).length;
    const errors = count("error");
    const warnings = count("warning");
    const checked = new Set(readable.flatMap((f) => program.closure(f))).size;
    if (values.format === "text")
      io.stderr(
        `${plural(checked, "file")} checked: ${plural(errors, "error")}, ${plural(warnings, "warning")}${unreadable.length ? `; ${plural(unreadable.length, "file")} could not be read` : ""}\n`,
      );
    return unreadable.length ? 2 : errors > 0 ? 1 : 0;
  };
  // --connect prepares the SQL statements of files that check cleanly: a broken file's are not trusted.
  if (!values.connect || located.some((d) => d.severity === "error")) return report();
  return connectDiagnostics(program, readable, io.env, io.cwd).then((found) => {
    located.push(...found);
    return report();
  });
}
