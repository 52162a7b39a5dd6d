// Runs the in-editor test suite inside a real VS Code: code-server (VS Code
// served over HTTP) opened in headless Chromium, driven by playwright-core, the
// way @vscode/test-web drives a browser. VS Code loads the extension from this
// repository (extensionDevelopmentPath), requires the built suite
// (dist/editor-tests/index.js) in its Node extension host, calls its run() and
// reports the result through window.codeAutomationExit. Prerequisites:
// scripts/editor-test/setup.sh (tools), npm run build and build.mjs (bundles).
// Recipe and rationale: shared/design/editor-tests.md.
//
// Exit code: the suite's (0 passed, 1 failed); 2 when the harness itself fails
// or the overall deadline passes. Artefacts in test-results/editor/: a
// screenshot of the workbench as the suite left it (workbench.png), the
// pictures the suite asked for (<name>.png, see test/editor/suite/screenshot.ts),
// code-server's log and the browser's log (the workbench's console, with the
// suite's output).
//
// Environment: STATECRAFT_EDITOR_TEST_TIMEOUT_MS (default 300000),
// STATECRAFT_EDITOR_TEST_GREP (only the tests whose title matches),
// STATECRAFT_EDITOR_TEST_CACHE (the tools folder, as in setup.sh).
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { format } from "node:util";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const TESTS_ENTRY = path.join(ROOT, "dist/editor-tests/index.js");
const FIXTURE = path.join(ROOT, "test/editor/fixtures/workspace");
const RESULTS = path.join(ROOT, "test-results/editor");
const SCREENSHOT = path.join(RESULTS, "workbench.png");
const CHROMIUM = "/usr/bin/chromium";
const CACHE =
  process.env.STATECRAFT_EDITOR_TEST_CACHE ||
  path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "statecraft-editor-test");
const TIMEOUT_MS = Number(process.env.STATECRAFT_EDITOR_TEST_TIMEOUT_MS || 5 * 60_000);
const LISTEN_TIMEOUT_MS = 30_000;
const STEP_TIMEOUT_MS = 15_000;
// Flags that keep Chromium from stalling on a closed network (editor-tests.md).
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];
const SETTINGS = { "security.workspace.trust.enabled": false, "workbench.startupEditor": "none" };
// The suite's hand-shake (test/editor/suite/index.ts): it prints HOLD_MESSAGE once done and keeps
// the extension host, and so the language server's diagnostics and the extension's views, alive
// until the file named by RESUME_VARIABLE exists; VS Code shuts the host down as run() settles.
const HOLD_MESSAGE = "in-editor suite: finished; holding the workbench for a screenshot";
const RESUME_VARIABLE = "STATECRAFT_EDITOR_TEST_RESUME_FILE";
// The suite's screenshot requests (test/editor/suite/screenshot.ts): it prints SCREENSHOT_REQUEST
// followed by a name and waits for `<name>.reply` in the folder named by SCREENSHOT_VARIABLE.
const SCREENSHOT_REQUEST = "in-editor suite: screenshot ";
const SCREENSHOT_VARIABLE = "STATECRAFT_EDITOR_TEST_SCREENSHOT_DIR";
const SCREENSHOT_NAME = /^[a-z0-9][a-z0-9-]{0,63}$/;
// The request arrives as soon as the suite's command returns; the workbench paints what it caused
// (a tree fetched from the extension host, a webview loading) a moment later.
const SCREENSHOT_SETTLE_MS = 600;
// The marketplace is unreachable offline; VS Code reports that with a stack trace, harmlessly.
const isNoise = (text) => text.includes("open-vsx.org");

const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
const say = (message) => console.log(`editor-test: ${message}`);

/** A failure of the harness (as opposed to a failing test), with a message that says what to do. */
class HarnessError extends Error {}

/** Rejects with a HarnessError when `promise` takes longer than `ms`. */
function within(promise, ms, what) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new HarnessError(`${what} timed out after ${ms / 1000}s`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

// The one deadline for the whole run: every long wait below races it.
let deadlineTimer;
const deadline = new Promise((_, reject) => {
  deadlineTimer = setTimeout(
    () => reject(new HarnessError(`timed out after ${TIMEOUT_MS / 1000}s`)),
    TIMEOUT_MS,
  );
});
const untilDeadline = (promise) => Promise.race([promise, deadline]);

/** Everything to undo at the end, newest first; every step runs, each bounded in time. */
const cleanups = [];
async function cleanUp() {
  while (cleanups.length) {
    const { what, undo } = cleanups.pop();
    try {
      await within(Promise.resolve().then(undo), STEP_TIMEOUT_MS, what);
    } catch (error) {
      console.error(
        `editor-test: clean-up: ${what} failed: ${error instanceof Error ? error.message : error}`,
      );
    }
  }
}

function requireFile(file, hint) {
  if (!fs.existsSync(file))
    throw new HarnessError(`${path.relative(ROOT, file) || file} is missing: ${hint}`);
}

/** A fresh user-data dir, extensions dir and copy of the fixture workspace, removed at the end. */
function makeSandbox() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "statecraft-editor-"));
  cleanups.push({ what: `removing ${dir}`, undo: () => fs.rmSync(dir, { recursive: true, force: true }) });
  const userData = path.join(dir, "user-data");
  const extensions = path.join(dir, "extensions");
  const workspace = path.join(dir, "workspace");
  fs.mkdirSync(path.join(userData, "User"), { recursive: true });
  fs.mkdirSync(extensions);
  fs.writeFileSync(path.join(userData, "User/settings.json"), JSON.stringify(SETTINGS, null, 2));
  fs.cpSync(FIXTURE, workspace, { recursive: true });
  const screenshotReplies = path.join(dir, "screenshots");
  fs.mkdirSync(screenshotReplies);
  return { dir, userData, extensions, workspace, resumeFile: path.join(dir, "resume"), screenshotReplies };
}

/**
 * Starts code-server on a port the system picks; resolves once it listens. It gets its own
 * process group, so that the end of the run stops it and everything it started (extension host,
 * language server, pty host) by that one id.
 */
async function startCodeServer(sandbox, log) {
  const env = { ...process.env };
  // Inherited from a VS Code terminal these would make code-server hand the folder to that
  // editor instead of serving it; PORT and CODE_SERVER_HOST would override --bind-addr.
  for (const key of Object.keys(env)) {
    if (key.startsWith("VSCODE_") || key === "ELECTRON_RUN_AS_NODE") delete env[key];
  }
  delete env.PORT;
  delete env.CODE_SERVER_HOST;
  // The extension host inherits code-server's environment, and the suite reads this there.
  env[RESUME_VARIABLE] = sandbox.resumeFile;
  env[SCREENSHOT_VARIABLE] = sandbox.screenshotReplies;
  const args = [
    path.join(CACHE, "node_modules/code-server/out/node/entry.js"),
    "--auth=none",
    "--bind-addr=127.0.0.1:0",
    "--disable-telemetry",
    "--disable-update-check",
    "--disable-workspace-trust",
    // Keeps code-server from writing ~/.config/code-server/config.yaml.
    `--config=${path.join(sandbox.dir, "config.yaml")}`,
    `--user-data-dir=${sandbox.userData}`,
    `--extensions-dir=${sandbox.extensions}`,
    sandbox.workspace,
  ];
  const child = spawn(process.execPath, args, { env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  cleanups.push({ what: "stopping code-server", undo: () => stopGroup(child.pid, exited) });

  const server = { exited, url: undefined };
  let pending = "";
  const onData = (chunk) => {
    log.write(chunk);
    pending += chunk.toString();
    const lines = pending.split("\n");
    pending = lines.pop();
    for (const line of lines) {
      const listening = /HTTP server listening on (http:\/\/\S+)/.exec(line);
      if (listening) server.url = new URL(listening[1]);
    }
    if (server.url) server.onListening?.();
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);

  await within(
    new Promise((resolve, reject) => {
      server.onListening = resolve;
      child.once("error", (error) =>
        reject(new HarnessError(`could not start code-server: ${error.message}`)),
      );
      void exited.then(({ code, signal }) =>
        reject(new HarnessError(`code-server exited before listening (code ${code}, signal ${signal})`)),
      );
    }),
    LISTEN_TIMEOUT_MS,
    "waiting for code-server to listen",
  );
  return server;
}

/** Signals a process group we started; false when nothing is left in it. */
function signalGroup(pgid, signal) {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (error) {
    if (error.code === "ESRCH") return false;
    throw error;
  }
}

/** Stops a process group we started: SIGTERM, then SIGKILL for whatever is left after 5 s. */
async function stopGroup(pgid, exited) {
  if (!signalGroup(pgid, "SIGTERM")) return;
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
  // The main process may be gone while children it started linger; the group id still reaches them.
  signalGroup(pgid, "SIGKILL");
}

/** Screenshots the workbench; a failure to do so is reported, not fatal. */
async function takeScreenshot(page, file = SCREENSHOT) {
  try {
    await page.screenshot({ path: file, timeout: STEP_TIMEOUT_MS });
    say(`screenshot: ${path.relative(ROOT, file)}`);
    return { path: file };
  } catch (error) {
    say(`no screenshot: ${error.message}`);
    return { error: error.message };
  }
}

/**
 * Answers one screenshot request of the suite: lets the workbench paint, captures the page into
 * test-results/editor/<name>.png and writes the reply the suite waits for (renamed into place, so
 * that the suite never reads half of it).
 */
async function answerScreenshot(page, name, replies) {
  let result;
  if (!SCREENSHOT_NAME.test(name)) {
    result = { error: `bad screenshot name '${name}'` };
  } else {
    await new Promise((resolve) => setTimeout(resolve, SCREENSHOT_SETTLE_MS));
    result = await takeScreenshot(page, path.join(RESULTS, `${name}.png`));
  }
  const reply = path.join(replies, `${SCREENSHOT_NAME.test(name) ? name : "invalid"}.reply`);
  fs.writeFileSync(`${reply}.tmp`, `${JSON.stringify(result)}\n`);
  fs.renameSync(`${reply}.tmp`, reply);
}

/** The playwright-core installed by setup.sh in the cache folder, not the repository's dependencies. */
function loadPlaywright() {
  return createRequire(path.join(CACHE, "package.json"))("playwright-core");
}

async function main() {
  requireFile(
    path.join(CACHE, ".setup-complete"),
    "run scripts/editor-test/setup.sh (npm run setup:editor) first",
  );
  requireFile(path.join(ROOT, "dist/extension.js"), "run npm run build first");
  requireFile(TESTS_ENTRY, "run node scripts/editor-test/build.mjs first");
  requireFile(CHROMIUM, "install the Debian package chromium (scripts/editor-test/setup.sh does)");
  fs.mkdirSync(RESULTS, { recursive: true });
  // Pictures of an earlier run would pass for this one's.
  for (const file of fs.readdirSync(RESULTS)) {
    if (file.endsWith(".png")) fs.rmSync(path.join(RESULTS, file), { force: true });
  }

  const sandbox = makeSandbox();
  const serverLog = fs.createWriteStream(path.join(RESULTS, "code-server.log"));
  const browserLog = fs.createWriteStream(path.join(RESULTS, "browser.log"));
  cleanups.push({
    what: "closing the logs",
    undo: () => Promise.all([serverLog, browserLog].map(closeStream)),
  });

  const server = await untilDeadline(startCodeServer(sandbox, serverLog));
  say(`code-server listening on ${server.url.origin} (${elapsed()})`);

  const { chromium } = loadPlaywright();
  const browser = await untilDeadline(
    chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      // Signals are handled below, so that code-server is stopped too; Playwright still kills
      // Chromium if this process exits any other way.
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
    }),
  );
  cleanups.push({ what: "closing Chromium", undo: () => browser.close() });
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  page.on("console", (m) => browserLog.write(`[${m.type()}] ${m.text()}\n`));
  page.on("pageerror", (e) => browserLog.write(`[pageerror] ${e.stack ?? e.message}\n`));

  // Exposed before the workbench loads: VS Code looks for these to report a test run.
  let screenshot;
  // The suite's requests, answered one after the other.
  let requested = Promise.resolve();
  let reportExit;
  const suiteExit = new Promise((resolve) => (reportExit = resolve));
  await page.exposeFunction("codeAutomationLog", (type, args) => {
    // The extension host's console output arrives as console.log's arguments, format string first.
    const text = Array.isArray(args) ? format(...args) : String(args);
    browserLog.write(`[automation ${type}] ${text}\n`);
    if (!isNoise(text)) console.log(text);
    if (text.startsWith(SCREENSHOT_REQUEST)) {
      const name = text.slice(SCREENSHOT_REQUEST.length);
      requested = requested.then(() =>
        answerScreenshot(page, name, sandbox.screenshotReplies).catch((error) =>
          say(`screenshot '${name}' not answered: ${error.message}`),
        ),
      );
    }
    if (text === HOLD_MESSAGE) {
      screenshot ??= takeScreenshot(page).finally(() => fs.writeFileSync(sandbox.resumeFile, ""));
    }
  });
  await page.exposeFunction("codeAutomationExit", (code) => reportExit(Number(code)));

  const remote = (file) => `vscode-remote://${server.url.host}${file}`;
  const payload = [
    ["extensionDevelopmentPath", remote(ROOT)],
    ["extensionTestsPath", remote(TESTS_ENTRY)],
  ];
  const target = new URL(server.url);
  target.searchParams.set("folder", sandbox.workspace);
  target.searchParams.set("payload", JSON.stringify(payload));
  say(`opening the workbench in headless Chromium ${browser.version()} (${elapsed()})`);
  // The suite's own end is what matters, not the page's load event.
  await untilDeadline(page.goto(target.href, { waitUntil: "commit" }));

  const outcome = await untilDeadline(
    Promise.race([
      suiteExit.then((code) => ({
        code,
        message: code === 0 ? "suite passed" : `suite failed (exit ${code})`,
      })),
      server.exited.then(({ code, signal }) => ({
        code: 2,
        message: `code-server exited during the run (code ${code}, signal ${signal}); see test-results/editor/code-server.log`,
      })),
      new Promise((resolve) =>
        browser.once("disconnected", () =>
          resolve({ code: 2, message: "Chromium went away during the run" }),
        ),
      ),
    ]),
  ).catch((error) => {
    if (error instanceof HarnessError)
      return { code: 2, message: `${error.message} before the suite finished` };
    throw error;
  });
  // Without the suite's hold message (it crashed or hung) the picture shows where it stopped.
  if (browser.isConnected()) await (screenshot ??= takeScreenshot(page));
  return outcome;
}

function closeStream(stream) {
  return new Promise((resolve) => stream.end(resolve));
}

let finishing = false;
async function finish(code, message) {
  if (finishing) return;
  finishing = true;
  clearTimeout(deadlineTimer);
  await cleanUp();
  say(`${message} (${elapsed()})`);
  process.exit(code);
}

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => void finish(2, `interrupted by ${signal}`));
}

main().then(
  ({ code, message }) => finish(code, message),
  (error) =>
    finish(2, `harness error: ${error instanceof HarnessError ? error.message : (error?.stack ?? error)}`),
);
