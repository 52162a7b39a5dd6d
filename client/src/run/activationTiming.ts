// How long activate() took, in the log and, for the benchmark (test/bench/extension.bench.ts),
// appended as a JSON line to the file named by STATECRAFT_ACTIVATION_TIMING_FILE when set.

import * as fs from "node:fs";
import type * as vscode from "vscode";

const TIMING_FILE_VARIABLE = "STATECRAFT_ACTIVATION_TIMING_FILE";

export function reportActivation(log: vscode.LogOutputChannel, activateMs: number): void {
  log.info(`activate() took ${activateMs.toFixed(1)} ms`);
  const file = process.env[TIMING_FILE_VARIABLE];
  if (!file) return;
  try {
    fs.appendFileSync(file, JSON.stringify({ activateMs, at: new Date().toISOString() }) + "\n");
  } catch (err) {
    log.warn(`could not write the activation timing to ${file}: ${(err as Error).message}`);
  }
}
