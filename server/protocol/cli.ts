// The `statecraft` command's machine-readable outputs (stdout), for the editor
// and for scripts. Written by server/cli; read by the extension (which spawns
// the CLI: client/src/run, client/src/testing) and by CI scripts.

// ---- statecraft check --format json ------------------------------------------------------

/**
 * One diagnostic, 1-based; `check --format json` prints an array of them. Written by
 * cli/check.ts (locate); read by scripts and CI.
 */
export interface CheckDiagnostic {
  /** Relative to the working directory when inside it. */
  path: string;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  severity: "error" | "warning" | "info" | "hint";
  /** A stable code (docs/language.md), e.g. `unknown-reference`. */
  code: string;
  message: string;
}

// ---- statecraft test --reporter json -----------------------------------------------------

export interface TestFailure {
  message: string;
  /** 1-based line of the step that failed, in `file`. */
  line: number;
  step?: string;
}

/** One test's outcome. Written by the test runner (runtime/testRunner.ts); read by cli/test.ts (text, JUnit, JSON). */
export interface TestResult {
  name: string;
  file: string;
  line: number;
  passed: boolean;
  failures: TestFailure[];
  sessionFile?: string;
  durationMs: number;
}

/**
 * One line of `test --reporter json` (JSON Lines): `test` per test with `--list` (and, for the
 * Testing view's Run Eval profile, `eval` per eval with a `case` per case of it: inline cases at their
 * line in the .agent file, dataset cases at their line in the dataset), else `start` and `result`
 * per test and a final `summary`. Written by cli/test.ts; read by the Testing view
 * (client/src/testing/testController.ts).
 */
export type TestReportLine =
  | { type: "test"; name: string; file: string; line: number; agent: string }
  | { type: "eval"; name: string; file: string; line: number; agent: string }
  | { type: "case"; eval: string; name: string; file: string; line: number }
  | { type: "start"; name: string; file: string; line: number }
  | ({ type: "result" } & TestResult)
  | { type: "summary"; passed: number; failed: number };

// ---- statecraft run FILE --list-backends -------------------------------------------------

/** A declared backend; key values never appear, only the variable's name. */
export interface BackendInfo {
  name: string;
  kind: "stateless" | "stateful";
  provider: string;
  model?: string;
  endpoint?: string;
  apiKeyEnv?: string;
}

/**
 * The file's agents (each with its own backend) and every backend declared in it and its imports.
 * Written by cli/run.ts (listBackends); read by the backend picker (client/src/run/backends.ts).
 */
export interface BackendList {
  agents: { name: string; backend: string }[];
  backends: BackendInfo[];
}
