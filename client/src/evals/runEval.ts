// Running an eval from the editor: `statecraft eval FILE --eval NAME [--case NAME] --json TMP`, its
// lines as progress, the run's JSON read back from TMP. Run Eval (the code lens, the Evals view) and
// the Testing view's Run Eval profile both go through here.

import { randomBytes } from "node:crypto";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import type * as vscode from "vscode";
import type { EvalRun } from "../../../server/protocol/evals";
import type { Cli } from "../run/cli";
import { saveIfDirty } from "../run/runAgent";
import { evalArgs, type EvalTarget } from "./results";
import { parseRun } from "./runs";

export interface EvalRunResult {
  /** The CLI's exit code: 0 the eval met its pass_rate, 1 it did not, 2 a usage or input error. */
  code: number | null;
  /** The run, when the CLI wrote one (also with exit 1, and after a cancel: what finished). */
  run?: EvalRun;
  /** Why there is no run: the CLI's error output, or what went wrong reading its JSON. */
  error?: string;
}

/** Runs one eval (or one case of it) in `cwd` to its end. */
export async function runEvalCli(
  cli: Cli,
  target: EvalTarget,
  options: { cwd: string; token?: vscode.CancellationToken; onLine?: (line: string) => void },
  uri?: vscode.Uri,
): Promise<EvalRunResult> {
  if (uri) await saveIfDirty(uri);
  const json = path.join(os.tmpdir(), `statecraft-eval-${randomBytes(6).toString("hex")}.json`);
  try {
    const result = await cli.run(evalArgs(target, json), {
      cwd: options.cwd,
      token: options.token,
      onStdoutLine: (line) => {
        if (line.trim()) options.onLine?.(line.trim());
      },
    });
    let text: string | undefined;
    try {
      text = await fs.readFile(json, "utf8");
    } catch {
      text = undefined;
    }
    const why = result.stderr.trim() || `statecraft eval exited with ${result.code ?? result.signal}`;
    if (text === undefined) return { code: result.code, error: why };
    const parsed = parseRun(path.basename(json), text);
    return "run" in parsed
      ? { code: result.code, run: parsed.run }
      : { code: result.code, error: parsed.warning };
  } finally {
    await fs.rm(json, { force: true });
  }
}
