// The in-editor test suite's entry point, in the shape VS Code expects of an
// `extensionTestsPath` module: `run()` resolves when every test passed and
// rejects otherwise. It knows nothing of the launcher, so the same bundle runs
// under scripts/editor-test/run.mjs (code-server in headless Chromium) and
// under @vscode/test-electron. The suite ships as one bundle
// (scripts/editor-test/build.mjs), so test files are imported here rather
// than found on disk by mocha.

import * as fs from "node:fs";
import * as path from "node:path";
import Mocha from "mocha";
import * as vscode from "vscode";

export async function run(): Promise<void> {
  const mocha = new Mocha({
    ui: "bdd",
    reporter: "spec",
    // The log reaches the launcher through VS Code's console forwarding, which keeps no colours.
    color: false,
    timeout: 30_000,
    grep: process.env.STATECRAFT_EDITOR_TEST_GREP,
  });
  // What mocha does before requiring each spec file: it puts describe/it on the global object.
  mocha.suite.emit(Mocha.Suite.constants.EVENT_FILE_PRE_REQUIRE, globalThis, "test/editor/suite", mocha);
  await import("./extension.test");
  await import("./language.test");
  await import("./run.test");
  await import("./testing.test");
  await import("./explorer.test");
  await import("./evals.test");
  await import("./debug.test");
  const resumeFile = process.env.STATECRAFT_EDITOR_TEST_RESUME_FILE;
  if (resumeFile)
    mocha.suite.afterAll("hold the workbench for the launcher's screenshot", () => hold(resumeFile));
  const failures = await new Promise<number>((resolve) => mocha.run(resolve));
  if (failures > 0) throw new Error(`${failures} in-editor test${failures === 1 ? "" : "s"} failed`);
}

/** Printed once the workbench is ready for a picture; the launcher waits for this exact line. */
const HOLD_MESSAGE = "in-editor suite: finished; holding the workbench for a screenshot";
const HOLD_DEADLINE_MS = 20_000;

/**
 * The one exchange with a launcher that asks for it: VS Code shuts the extension host down as soon
 * as run() settles, and the language server's diagnostics and the extension's views vanish with
 * it. So the suite says it is done, with the Problems view open, and waits until the launcher
 * creates `resumeFile` (after taking its picture); past a deadline it goes on without.
 */
async function hold(resumeFile: string): Promise<void> {
  await vscode.commands.executeCommand("workbench.actions.view.problems");
  await new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(deadline);
      watcher.close();
      resolve();
    };
    const watcher = fs.watch(path.dirname(resumeFile), () => {
      if (fs.existsSync(resumeFile)) done();
    });
    const deadline = setTimeout(() => {
      console.warn(
        `in-editor suite: no ${resumeFile} after ${HOLD_DEADLINE_MS / 1000}s; finishing without it`,
      );
      done();
    }, HOLD_DEADLINE_MS);
    console.log(HOLD_MESSAGE);
    if (fs.existsSync(resumeFile)) done();
  });
}
