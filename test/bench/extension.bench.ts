// The extension as shipped: the size of the .vsix `npm run package` builds (production bundles,
// the allow-list .vscodeignore), and its activation time in a real VS Code. Activation is timed
// by the extension itself (client/src/run/activationTiming.ts: activate() start to end, language
// server started) and written to a file this bench names; the editor harness
// (scripts/editor-test/run.mjs, code-server in headless Chromium) opens the fixture workspace
// each time, which activates the extension (workspaceContains:**/*.agent). Runs the production
// build, as users get it, then restores the development build. Figures only, never a pass/fail.

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fmt, printTable, stats, type Row } from "./harness";

/** The repository, whether this runs bundled (dist/bench.js) or from source (test/bench). */
const ROOT =
  [path.resolve(__dirname, ".."), path.resolve(__dirname, "../.."), process.cwd()].find((d) =>
    fs.existsSync(path.join(d, "esbuild.mjs")),
  ) ?? process.cwd();
const ACTIVATIONS = 3;
const CACHE =
  process.env.STATECRAFT_EDITOR_TEST_CACHE ||
  path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "statecraft-editor-test");

/** Runs a command in the repository; its output goes to the bench log only when it fails. */
function sh(what: string, command: string, args: string[], env: NodeJS.ProcessEnv = {}): boolean {
  const r = spawnSync(command, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status === 0) return true;
  console.log(
    `  ${what} failed (exit ${r.status ?? r.signal}):\n${(r.stdout + r.stderr).trim().slice(-2_000)}`,
  );
  return false;
}

export function runExtensionBench(): void {
  const rows: Row[] = [];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "statecraft-ext-bench-"));
  try {
    const vsix = path.join(dir, "statecraft.vsix");
    // npm run package, with the package written to the scratch folder.
    if (
      sh("production build", process.execPath, ["esbuild.mjs", "--production"]) &&
      sh("vsce package", "npx", [
        "vsce",
        "package",
        "--no-dependencies",
        "--no-rewrite-relative-links",
        "--allow-missing-repository",
        "-o",
        vsix,
      ])
    ) {
      const bytes = fs.statSync(vsix).size;
      rows.push({ name: ".vsix size", value: `${(bytes / 1024 / 1024).toFixed(2)} MB (${bytes} bytes)` });
    } else rows.push({ name: ".vsix size", value: "n/a (packaging failed, see above)" });

    if (!fs.existsSync(path.join(CACHE, ".setup-complete"))) {
      rows.push({ name: "activation", value: "n/a (run npm run setup:editor first)" });
    } else if (sh("editor suite bundle", process.execPath, ["scripts/editor-test/build.mjs"])) {
      const timings = path.join(dir, "activation.jsonl");
      for (let i = 0; i < ACTIVATIONS; i++)
        sh(`editor run ${i + 1}`, process.execPath, ["scripts/editor-test/run.mjs"], {
          STATECRAFT_ACTIVATION_TIMING_FILE: timings,
          STATECRAFT_EDITOR_TEST_GREP: "^extension activates$",
        });
      const samples = fs.existsSync(timings)
        ? fs
            .readFileSync(timings, "utf8")
            .split("\n")
            .filter((l) => l.trim())
            .map((l) => (JSON.parse(l) as { activateMs: number }).activateMs)
        : [];
      if (samples.length) {
        const s = stats(samples);
        rows.push({
          name: `activate() in VS Code 1.100 (production build, ${s.samples} starts)`,
          value: `median ${fmt(s.median)} ms, min ${fmt(s.min)} ms`,
        });
      } else rows.push({ name: "activation", value: "n/a (the extension reported no activation)" });
    }
  } finally {
    // Back to the development build the other suites and the editor tests expect.
    sh("development build", process.execPath, ["esbuild.mjs"]);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  printTable("extension (package and activation)", rows);
}
