// `statecraft eval` (evals.md section 3): output ending with `N passed, N failed`, the summary table,
// the run's JSON, exit codes 0 / 1 / 2, and Ctrl-C in a child process (exit 130, what finished written).

import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { EvalRun } from "../../server/protocol/evals";
import { waitFor } from "../helpers/waitFor";
import { main } from "../../server/cli/main";
import { ROOT, runCli } from "./helpers";

const AGENT = `backend judge_model {
  kind: stateless
  provider: local
}

agent support {
  backend: judge_model
  instructions: "Help with orders."
}

eval quality {
  agent: support
  judge: judge_model
  pass_rate: 0.5

  case "polite reply" {
    model replies "Hello Ada, your order ships Tuesday."
    send "Where is my order?"
    expect reply contains "Tuesday"
    judge scores 0.9 "Polite and precise."
    judge "Polite." at_least 0.5
  }

  case "rude reply" {
    model replies "Go away."
    send "Where is my order?"
    expect reply contains "Tuesday"
    judge scores 0.1 "Rude."
    judge "Polite." at_least 0.5
  }
}

eval strict {
  agent: support
  case "rude reply" {
    model replies "Go away."
    send "Where is my order?"
    expect reply contains "Tuesday"
  }
}
`;

function workspace(files: Record<string, string>): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "statecraft-eval-cli-")));
  fs.writeFileSync(path.join(dir, "package.json"), "{}\n");
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

describe("statecraft eval", function () {
  this.timeout(60_000);
  let dir: string;
  before(() => (dir = workspace({ "main.agent": AGENT })));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("runs an eval: a line per case run, the summary table, the run's JSON, then N passed, N failed (exit 0)", async () => {
    const r = await runCli(
      ["eval", "main.agent", "--eval", "quality", "--trials", "2", "--json", "out.json"],
      dir,
    );
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /^✓ quality › polite reply \[judge_model #1\]/m);
    assert.match(r.out, /^✗ quality › rude reply \[judge_model #2\]/m);
    assert.match(
      r.out,
      /main\.agent:\d+: expect reply contains "Tuesday": expected the reply to contain "Tuesday"/,
    );
    assert.match(r.out, /judge "Polite\.": Rude\./);
    assert.match(r.out, /eval quality: passed/);
    assert.match(r.out, /^judge_model\s+4\s+2\s+50%\s+0\.50\s/m);
    assert.ok(r.out.endsWith("2 passed, 2 failed\n"), r.out);
    const run = JSON.parse(fs.readFileSync(path.join(dir, "out.json"), "utf8")) as EvalRun;
    assert.equal(run.status, "passed");
    assert.equal(run.cases.length, 4);
    const stored = path.join(dir, ".statecraft", "evals", `${run.run}.json`);
    assert.deepEqual(JSON.parse(fs.readFileSync(stored, "utf8")), run);
  });

  it("on a terminal: a progress bar (runs, passes, elapsed, tokens) on stderr, and only failing case runs as lines", async () => {
    let out = "";
    let err = "";
    const code = await main(["eval", "main.agent", "--eval", "quality"], {
      cwd: dir,
      env: {},
      tty: true,
      stdout: (t) => (out += t),
      stderr: (t) => (err += t),
    });
    assert.equal(code, 0, out + err);
    assert.match(err, /\[#{24}\] 2\/2 runs, 1 passed, \d+\.\ds, \d+ tokens/);
    assert.doesNotMatch(out, /✓/);
    assert.match(out, /^✗ quality › rude reply/m);
    assert.ok(out.endsWith("1 passed, 1 failed\n"), out);
  });

  it("exits 1 when an eval misses its pass_rate", async () => {
    const r = await runCli(["eval", "main.agent"], dir);
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.out, /eval strict: failed/);
    assert.ok(r.out.endsWith("1 passed, 2 failed\n"), r.out);
  });

  it("--case and --concurrency select and schedule; the summary is the same", async () => {
    const r = await runCli(
      ["eval", "main.agent", "--eval", "quality", "--case", "polite", "--concurrency", "1"],
      dir,
    );
    assert.equal(r.code, 0, r.out + r.err);
    assert.ok(r.out.endsWith("1 passed, 0 failed\n"), r.out);
  });

  it("exits 2 on usage errors: a bad flag or value, an unknown eval or backend, no eval, no case", async () => {
    const cases: [string[], RegExp][] = [
      [["eval", "main.agent", "--nope"], /Unknown option '--nope'/],
      [["eval", "main.agent", "--trials", "0"], /--trials must be a whole number of at least 1, not '0'/],
      [["eval", "main.agent", "--eval", "missing"], /no eval 'missing'; the evals are: quality, strict/],
      [
        ["eval", "main.agent", "--backend", "gpt9"],
        /no backend 'gpt9'; declared backends: judge_model \(or local\)/,
      ],
      [["eval", "main.agent", "--case", "zzz"], /no case matches 'zzz'/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(args, dir);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.out}${r.err}`);
      assert.match(r.err, message);
    }
    const empty = workspace({ "a.agent": `agent a {\n  instructions: "x"\n}\n` });
    const r = await runCli(["eval", "a.agent"], empty);
    assert.equal(r.code, 2);
    assert.match(r.err, /statecraft eval: no eval in a\.agent/);
    fs.rmSync(empty, { recursive: true, force: true });
    const none = workspace({});
    const bare = await runCli(["eval"], none);
    assert.equal(bare.code, 2);
    assert.equal(
      bare.err,
      "statecraft eval: no .agent file here: name the files or folders to run (statecraft eval FILE|DIR)\n",
    );
    fs.rmSync(none, { recursive: true, force: true });
  });

  it("a reader that goes away (| head -1) stops the run like Ctrl-C: what finished is written (exit 141)", async function () {
    const bin = path.join(ROOT, "dist", "cli.js");
    assert.ok(fs.existsSync(bin), "dist/cli.js is built (npm run build) before this test");
    const slow = workspace({
      "main.agent": `${AGENT.split("eval quality")[0]}
eval slow {
  agent: support
  trials: 200
  concurrency: 2
  case "one" {
    model replies "Hi."
    send "Hello"
    score command("node", ["scorer.js"]) at_least 0.5
  }
}
`,
      "scorer.js": `process.stdin.resume(); process.stdin.on("end", () => process.stdout.write('{"score": 1, "reason": "ok"}'));\n`,
    });
    const child = spawn(process.execPath, [bin, "eval", "main.agent"], {
      cwd: slow,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString();
      // Like `head -1`: read the first line, then close the pipe.
      if (out.includes("\n")) child.stdout.destroy();
    });
    const code = await exited;
    assert.equal(code, 141, out + err);
    const dir = path.join(slow, ".statecraft", "evals");
    assert.ok(fs.existsSync(dir), `no eval run written; stderr: ${err}`);
    const [file] = fs.readdirSync(dir);
    const run = JSON.parse(fs.readFileSync(path.join(dir, file), "utf8")) as EvalRun;
    assert.equal(run.status, "interrupted");
    assert.ok(run.cases.length >= 1 && run.cases.length < 200, `${run.cases.length} case runs written`);
    fs.rmSync(slow, { recursive: true, force: true });
  });

  it("Ctrl-C stops the run: the case runs in flight are cancelled, what finished is written (exit 130)", async function () {
    const bin = path.join(ROOT, "dist", "cli.js");
    assert.ok(fs.existsSync(bin), "dist/cli.js is built (npm run build) before this test");
    // A slow scorer (a node process per case run) keeps the run going long enough to be interrupted.
    const slow = workspace({
      "main.agent": `${AGENT.split("eval quality")[0]}
eval slow {
  agent: support
  trials: 200
  concurrency: 2
  case "one" {
    model replies "Hi."
    send "Hello"
    score command("node", ["scorer.js"]) at_least 0.5
  }
}
`,
      "scorer.js": `process.stdin.resume(); process.stdin.on("end", () => process.stdout.write('{"score": 1, "reason": "ok"}'));\n`,
    });
    const child = spawn(process.execPath, [bin, "eval", "main.agent"], {
      cwd: slow,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    await waitFor(
      () => `three finished case runs; output so far: ${out}${err}`,
      () => (out.match(/^✓ slow › one/gm)?.length ?? 0) >= 3,
      { timeoutMs: 30_000 },
    );
    child.kill("SIGINT");
    const code = await exited;
    assert.equal(code, 130, out + err);
    assert.match(err, /interrupted: the case runs that finished are written/);
    const done = out.match(/^✓ slow › one/gm)!.length;
    assert.ok(done < 200, `${done} case runs finished`);
    assert.ok(out.endsWith(`${done} passed, 0 failed\n`), out);
    const [file] = fs.readdirSync(path.join(slow, ".statecraft", "evals"));
    const run = JSON.parse(fs.readFileSync(path.join(slow, ".statecraft", "evals", file), "utf8")) as EvalRun;
    assert.equal(run.status, "interrupted");
    assert.equal(run.cases.length, done);
    fs.rmSync(slow, { recursive: true, force: true });
  });
});
