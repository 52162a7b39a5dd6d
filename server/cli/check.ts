// `statecraft check`: parse, resolve and validate `.agent` files and print
// diagnostics as `path:line:col: severity code: message` (1-based).

import { parseArgs } from "node:util";
import type { Diagnostic } from "../language/diagnostics";
import { LineIndex } from "../language/lineIndex";
import type { Program } from "../language/program";
import { checkFiles } from "../language/validate";
import { collectAgentFiles, displayPath, loadProgram } from "./files";
import { UsageError, type CliIO, type Flags } from "./io";

export interface LocatedDiagnostic {
  path: string;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  severity: Diagnostic["severity"];
  code: Diagnostic["code"];
  message: string;
}

export function locate(program: Program, d: Diagnostic, cwd: string): LocatedDiagnostic {
  const idx = LineIndex.of(program.get(d.path)?.file.text ?? "");
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

export function formatDiagnostic(d: LocatedDiagnostic): string {
  return `${d.path}:${d.line}:${d.column}: ${d.severity} ${d.code}: ${d.message}`;
}

/** The flags of `statecraft check` (the docs test parses the documented commands against them). */
export const CHECK_FLAGS = {
  format: { type: "string", default: "text" },
  hints: { type: "boolean", default: false },
} satisfies Flags;

export function checkCommand(argv: string[], io: CliIO): number {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: CHECK_FLAGS,
  });
  if (values.format !== "text" && values.format !== "json")
    throw new UsageError(`--format must be text or json, not '${values.format}'`);
  const files = collectAgentFiles(positionals, io.cwd);
  const program = loadProgram(files);
  const all = checkFiles(program, files).filter((d) => values.hints || d.severity !== "hint");
  const located = all.map((d) => locate(program, d, io.cwd));
  if (values.format === "json") io.stdout(JSON.stringify(located, null, 2) + "\n");
  else for (const d of located) io.stdout(formatDiagnostic(d) + "\n");
  const count = (s: string) => located.filter((d) => d.severity === s).length;
  const errors = count("error");
  const warnings = count("warning");
  const checked = new Set(files.flatMap((f) => program.closure(f))).size;
  if (values.format === "text")
    io.stderr(
      `${checked} file${checked === 1 ? "" : "s"} checked: ${errors} error${errors === 1 ? "" : "s"}, ${warnings} warning${warnings === 1 ? "" : "s"}\n`,
    );
  return errors > 0 ? 1 : 0;
}
