// Code lenses of a file: run and debug above each agent, run above each test, and "run all" above the
// first test, "Run Eval" above each eval and each of its cases. Plain data; the language server adds the
// document's URI to the command arguments (an eval's carry the file's absolute path instead).

import { declarationName, type SourceFile, type Span } from "./ast";

export type LensCommand =
  | "statecraft.runAgent"
  | "statecraft.debugAgent"
  | "statecraft.runTest"
  | "statecraft.runTests"
  | "statecraft.runEval";

/** The argument of `statecraft.runEval`: the file (absolute), the eval, and one of its cases or all. */
export interface RunEvalTarget {
  file: string;
  eval: string;
  case?: string;
}

export interface LensData {
  /** The declaration's keyword and name: the line the lens sits above. */
  span: Span;
  title: string;
  command: LensCommand;
  /** What the command runs, besides the file: `{ agent }`, `{ test }`, nothing (the whole file), or an eval's. */
  target: { agent: string } | { test: string } | Record<string, never> | RunEvalTarget;
}

export function codeLenses(file: SourceFile): LensData[] {
  const out: LensData[] = [];
  let firstTest = true;
  for (const decl of file.declarations) {
    const name = declarationName(decl);
    if (name === undefined || !decl.name) continue;
    const span = { start: decl.keyword.start, end: decl.name.end };
    if (decl.kind === "agent") {
      out.push({ span, title: "▶ Run", command: "statecraft.runAgent", target: { agent: name } });
      out.push({ span, title: "Debug", command: "statecraft.debugAgent", target: { agent: name } });
    } else if (decl.kind === "test") {
      out.push({ span, title: "▶ Run test", command: "statecraft.runTest", target: { test: name } });
      if (firstTest)
        out.push({ span, title: "Run all tests in file", command: "statecraft.runTests", target: {} });
      firstTest = false;
    } else if (decl.kind === "eval") {
      out.push({
        span,
        title: "▶ Run Eval",
        command: "statecraft.runEval",
        target: { file: file.path, eval: name },
      });
      for (const m of decl.body.members)
        if (m.type === "Case" && m.name)
          out.push({
            span: { start: m.keyword.start, end: m.name.end },
            title: "▶ Run Eval",
            command: "statecraft.runEval",
            target: { file: file.path, eval: name, case: m.name.value },
          });
    }
  }
  return out;
}
