// Runs the same in-editor suite (dist/editor-tests/index.js) under @vscode/test-electron: desktop
// VS Code, downloaded by test-electron into .vscode-test/, on a fresh copy of the fixture workspace.
// For machines that can download VS Code (a developer's laptop, a CI with internet); the offline
// machines here use run.mjs (code-server in headless Chromium) instead. Screenshots are skipped:
// the suite's screenshot() only answers to run.mjs. `npm run test:editor:electron`.
//
// STATECRAFT_VSCODE_VERSION picks the VS Code version (default: the engines minimum, 1.100.0);
// STATECRAFT_EDITOR_TEST_GREP runs only the matching tests, as with run.mjs.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { runTests } from "@vscode/test-electron";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const SUITE = path.join(ROOT, "dist/editor-tests/index.js");
const FIXTURE = path.join(ROOT, "test/editor/fixtures/workspace");

for (const [file, hint] of [
  [path.join(ROOT, "dist/extension.js"), "run `npm run build` first"],
  [SUITE, "run `node scripts/editor-test/build.mjs` first"],
]) {
  if (!fs.existsSync(file)) {
    console.error(`editor-test (electron): ${path.relative(ROOT, file)} is missing: ${hint}`);
    process.exit(2);
  }
}

const sandbox = fs.mkdtempSync(path.join(os.tmpdir(), "statecraft-electron-"));
const workspace = path.join(sandbox, "workspace");
fs.cpSync(FIXTURE, workspace, { recursive: true });
const userData = path.join(sandbox, "user-data");
fs.mkdirSync(path.join(userData, "User"), { recursive: true });
fs.writeFileSync(
  path.join(userData, "User/settings.json"),
  JSON.stringify({ "security.workspace.trust.enabled": false, "workbench.startupEditor": "none" }, null, 2),
);

let code = 0;
try {
  await runTests({
    version: process.env.STATECRAFT_VSCODE_VERSION || "1.100.0",
    extensionDevelopmentPath: ROOT,
    extensionTestsPath: SUITE,
    launchArgs: [
      workspace,
      `--user-data-dir=${userData}`,
      `--extensions-dir=${path.join(sandbox, "extensions")}`,
      "--disable-workspace-trust",
      "--skip-welcome",
      "--skip-release-notes",
    ],
  });
} catch (err) {
  console.error(`editor-test (electron): ${err instanceof Error ? err.message : String(err)}`);
  code = 1;
} finally {
  fs.rmSync(sandbox, { recursive: true, force: true });
}
process.exit(code);
