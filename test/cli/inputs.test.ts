// What a new user hits first (issue 16): bytes that are not UTF-8, files that
// cannot be read or written, malformed session logs, a closed stdout, serve's
// start-up, internal errors, exit codes, help and messages. Most run the built
// binary (dist/cli.js; `npm run build` first) as a real process, the rest
// in-process through main().

import { strict as assert } from "node:assert";
import { spawn, spawnSync, type SpawnSyncOptions } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { COMMAND_HELP } from "../../server/cli/help";
import { reportInternalError } from "../../server/cli/main";
import { ROOT, runCli as run } from "./helpers";

const BIN = path.join(ROOT, "dist/cli.js");
const EXAMPLE = path.join(ROOT, "examples/support");

const temps: string[] = [];
after(() => {
  for (const dir of temps) fs.rmSync(dir, { recursive: true, force: true });
});

/** A temp folder with these files (text or bytes), readable by every user (see `asUser`). */
function tempDir(files: Record<string, string | Buffer> = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "statecraft-inputs-"));
  fs.chmodSync(dir, 0o777);
  temps.push(dir);
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), content);
  }
  return dir;
}

/**
 * Root reads and writes any file whatever its mode: a test of permissions runs the binary as
 * `nobody` then, so that a mode-000 file is really unreadable and a 444 one really read-only.
 */
const asUser: SpawnSyncOptions = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};

function bin(args: string[], cwd: string, options: SpawnSyncOptions = {}) {
  assert.ok(fs.existsSync(BIN), "dist/cli.js is built (npm run build) before these tests");
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: "utf8", ...options });
  return { code: r.status, out: String(r.stdout), err: String(r.stderr) };
}

/** The shell pipeline `statecraft ARGS | READER`, and the CLI's own exit status. */
function piped(args: string[], reader: string, cwd: string) {
  const quoted = [process.execPath, BIN, ...args].map((a) => `'${a}'`).join(" ");
  const r = spawnSync(
    "bash",
    ["-c", `${quoted} | ${reader} > /dev/null; echo "status \${PIPESTATUS[0]}" >&2`],
    {
      cwd,
      encoding: "utf8",
    },
  );
  return String(r.stderr);
}

const noStack = (text: string) => assert.doesNotMatch(text, /\n\s+at .+:\d+:\d+\)?\n/, text);

const AGENT = `agent a {\n  instructions: "hi"\n}\n`;
const MESSY = `agent a{\n    instructions:"hi"\n}\n`;
/** `"café ÿ"` in Latin-1: 0xE9 and 0xFF are not UTF-8. */
const LATIN1 = Buffer.concat([
  Buffer.from(`agent a {\n  instructions: "caf`),
  Buffer.from([0xe9, 0x20, 0xff]),
  Buffer.from(`"\n}\n`),
]);

describe("bytes that are not UTF-8", () => {
  it("check reports invalid-encoding at the first bad byte, exit 1", async () => {
    const dir = tempDir({ "latin.agent": LATIN1 });
    const r = await run(["check", "latin.agent"], dir);
    assert.equal(r.code, 1);
    assert.equal(
      r.out,
      "latin.agent:2:21: error invalid-encoding: the file is not valid UTF-8: byte 0xE9 at byte offset 30 is not part of a UTF-8 character; save the file as UTF-8\n",
    );
  });

  it("fmt refuses to write it (exit 2, one line) and leaves every byte as it was", async () => {
    const dir = tempDir({ "latin.agent": LATIN1, "messy.agent": MESSY });
    const r = await run(["fmt", "."], dir);
    assert.equal(r.code, 2);
    assert.deepEqual(fs.readFileSync(path.join(dir, "latin.agent")), LATIN1);
    assert.equal(
      r.err,
      "latin.agent:2:21: not formatted: the file is not valid UTF-8: byte 0xE9 at byte offset 30 is not part of a UTF-8 character; save the file as UTF-8\n1 file not formatted\n",
    );
    // The other file is formatted all the same.
    assert.equal(r.out, "formatted messy.agent\n");
    assert.equal(fs.readFileSync(path.join(dir, "messy.agent"), "utf8"), AGENT);
  });

  it("run and test stop on it with the diagnostic, as on any error in the spec", async () => {
    const dir = tempDir({ "latin.agent": LATIN1 });
    const r = await run(["run", "latin.agent", "--input", "hi"], dir);
    assert.equal(r.code, 1);
    assert.match(r.err, /^latin\.agent:2:21: error invalid-encoding: /);
  });
});

describe("a batch of files, some unreadable or read-only", () => {
  it("fmt: one line per file it could not read or write, the others formatted, exit 2, no stack", () => {
    const dir = tempDir({ "a.agent": MESSY, "b.agent": MESSY, "c.agent": MESSY });
    fs.chmodSync(path.join(dir, "a.agent"), 0o000);
    fs.chmodSync(path.join(dir, "b.agent"), 0o444);
    fs.chmodSync(path.join(dir, "c.agent"), 0o666);
    const r = bin(["fmt", "."], dir, asUser);
    assert.equal(r.code, 2, r.err);
    assert.equal(
      r.err,
      "a.agent: not formatted: cannot read the file: permission denied (EACCES)\n" +
        "b.agent: not formatted: cannot write the file: permission denied (EACCES)\n" +
        "2 files not formatted\n",
    );
    assert.equal(r.out, "formatted c.agent\n");
    assert.equal(fs.readFileSync(path.join(dir, "c.agent"), "utf8"), AGENT);
    assert.equal(fs.readFileSync(path.join(dir, "b.agent"), "utf8"), MESSY);
  });

  it("check: one line for the unreadable file, the others checked, exit 2", () => {
    const dir = tempDir({
      "a.agent": AGENT,
      "b.agent": `agent b {\n  instructions: "hi"\n  temperature: 3\n}\n`,
    });
    fs.chmodSync(path.join(dir, "a.agent"), 0o000);
    const r = bin(["check", "."], dir, asUser);
    assert.equal(r.code, 2, r.err);
    assert.match(r.out, /^b\.agent:3:16: error out-of-range/);
    assert.equal(
      r.err,
      "statecraft check: a.agent: cannot read the file: permission denied (EACCES)\n" +
        "1 file checked: 1 error, 0 warnings; 1 file could not be read\n",
    );
  });

  it("test --junit to a place it cannot write: one line, exit 2, the results still printed", async () => {
    const dir = tempDir({
      "t.agent": `${AGENT}test "t" {\n  agent: a\n  model replies "ok"\n  send "hi"\n}\n`,
    });
    fs.writeFileSync(path.join(dir, "reports"), "a file, not a folder");
    const r = await run(["test", "t.agent", "--junit", "reports/junit.xml"], dir);
    assert.equal(r.code, 2, r.err);
    assert.match(r.out, /^✓ t /);
    assert.match(r.err, /^statecraft test: cannot write the JUnit report reports\/junit\.xml: /m);
    noStack(r.err);
  });
});

describe("a workspace where the session log cannot be written", () => {
  it("run: one line naming the log, exit 2, no stack", async () => {
    const dir = tempDir();
    fs.cpSync(EXAMPLE, dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "not-a-folder"), "");
    const r = await run(
      [
        "run",
        "main.agent",
        "--agent",
        "support",
        "--script",
        "demo.script.json",
        "--workspace",
        "not-a-folder",
        "--input",
        "hi",
      ],
      dir,
    );
    assert.equal(r.code, 2, r.err);
    assert.match(
      r.err,
      /^statecraft run: cannot write the session log \S+not-a-folder\/\.statecraft\/sessions\/\S+\.jsonl \(ENOTDIR\): run from a folder you can write to, or pass --workspace DIR\n$/,
    );
  });
});

describe("malformed session logs", () => {
  /** A workspace with one good recorded session and three bad logs. */
  async function workspace() {
    const dir = tempDir();
    fs.cpSync(EXAMPLE, dir, { recursive: true });
    fs.rmSync(path.join(dir, ".statecraft"), { recursive: true, force: true });
    const good = await run(
      [
        "run",
        "main.agent",
        "--agent",
        "support",
        "--script",
        "demo.script.json",
        "--approve",
        "all",
        "--input",
        "Where is my order A1003?",
      ],
      dir,
    );
    assert.equal(good.code, 0, good.err);
    const sessions = path.join(dir, ".statecraft", "sessions");
    const [goodFile] = fs.readdirSync(sessions);
    const lines = fs.readFileSync(path.join(sessions, goodFile), "utf8").trimEnd().split("\n");
    const start = JSON.parse(lines[0]) as Record<string, unknown>;
    delete start.definition;
    fs.writeFileSync(
      path.join(sessions, "bad-null.jsonl"),
      [lines[0], "null", ...lines.slice(1)].join("\n") + "\n",
    );
    fs.writeFileSync(path.join(sessions, "bad-array.jsonl"), "[1,2]\n");
    fs.writeFileSync(
      path.join(sessions, "bad-start.jsonl"),
      [JSON.stringify(start), ...lines.slice(1)].join("\n") + "\n",
    );
    return { dir, good: path.basename(goodFile, ".jsonl") };
  }

  it("sessions list: one warning per bad line naming the file and line, every other session listed", async () => {
    const { dir, good } = await workspace();
    const r = await run(["sessions", "list"], dir);
    assert.equal(r.code, 0, r.err);
    assert.equal(
      r.err,
      [
        "warning: bad-array.jsonl:1: not an event (a JSON array, not an object); the line was skipped",
        "warning: bad-null.jsonl:2: not an event (a JSON null, not an object); the line was skipped",
        'warning: bad-start.jsonl:1: a session.start event without "definition" (an object); the line was skipped',
        "",
      ].join("\n"),
    );
    const ids = r.out
      .trimEnd()
      .split("\n")
      .map((l) => l.split(" ")[0]);
    // A log without a usable session.start has nothing to list.
    assert.deepEqual(ids.sort(), ["bad-null", good].sort());
  });

  it("a log that is binary garbage: three warnings and a count, not one per line; replay names five lines and a count", async () => {
    const dir = tempDir();
    const sessions = path.join(dir, ".statecraft", "sessions");
    fs.mkdirSync(sessions, { recursive: true });
    // 40 lines that are not JSON, as a binary file's bytes split at their newlines would be.
    const garbage = Array.from({ length: 40 }, (_, i) => `\u0001\u00ff garbage ${i}`).join("\n") + "\n";
    fs.writeFileSync(path.join(sessions, "junk.jsonl"), garbage);
    const r = await run(["sessions", "list"], dir);
    assert.equal(r.code, 0, r.err);
    const warnings = r.err.split("\n").filter((l) => l.startsWith("warning:"));
    assert.deepEqual(warnings.slice(3), ["warning: junk.jsonl: 37 more unusable lines were skipped"]);
    assert.equal(warnings.length, 4, r.err);
    const replay = await run(["replay", "junk"], dir);
    assert.equal(replay.code, 2);
    assert.match(
      replay.err,
      /statecraft replay: \S*junk\.jsonl: lines 1, 2, 3, 4, 5 and 35 more are not events: the session cannot be rebuilt from this log\n$/,
    );
  });

  it("sessions show of a bad log: the warning, then what the log still says", async () => {
    const { dir } = await workspace();
    const r = await run(["sessions", "show", "bad-null"], dir);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /^warning: bad-null\.jsonl:2: not an event/);
    assert.match(r.out, /^session \S+: agent support/);
    const none = await run(["sessions", "show", "bad-array"], dir);
    assert.equal(none.code, 2);
    assert.match(none.err, /statecraft sessions: bad-array is not a Statecraft session log\n$/);
  });

  it("replay and fork of a bad log: the warning and one clear error, exit 2, nothing recorded", async () => {
    const { dir } = await workspace();
    const count = () => fs.readdirSync(path.join(dir, ".statecraft", "sessions")).length;
    const before = count();
    for (const [log, line] of [
      ["bad-null", "bad-null.jsonl: line 2 is not an event: the session cannot be rebuilt from this log"],
      ["bad-start", "bad-start.jsonl: line 1 is not an event: the session cannot be rebuilt from this log"],
      ["bad-array", "bad-array.jsonl: line 1 is not an event: the session cannot be rebuilt from this log"],
    ]) {
      for (const args of [
        ["replay", log],
        ["fork", log, "--turn", "1", "--input", "hi", "--script", "demo.script.json"],
      ]) {
        const r = await run(args, dir);
        assert.equal(r.code, 2, `${args.join(" ")}: ${r.err}`);
        const err = r.err.trimEnd().split("\n");
        assert.match(err[0], new RegExp(`^warning: ${log}\\.jsonl:`));
        assert.equal(err.at(-1), `statecraft ${args[0]}: .statecraft/sessions/${line}`);
      }
    }
    assert.equal(count(), before);
  });
});

describe("a closed stdout (| head)", () => {
  it("check with thousands of diagnostics | head -1: quiet, the exit status a broken pipe gives", () => {
    const tools = Array.from({ length: 3000 }, (_, i) => `  tools: [nope${i}]\n`).join("");
    const dir = tempDir({ "many.agent": `agent a {\n  instructions: "hi"\n${tools}}\n` });
    const err = piped(["check", "many.agent"], "head -1", dir);
    assert.equal(err.replace(/^1 file checked: .*\n/, ""), "status 141\n");
  });

  it("sessions list | head -1 and test --reporter json | head -c 100: quiet", () => {
    const dir = tempDir();
    const sessions = path.join(dir, ".statecraft", "sessions");
    fs.mkdirSync(sessions, { recursive: true });
    const start = {
      seq: 1,
      ts: "2025-01-01T00:00:00.000Z",
      type: "session.start",
      agent: "a",
      backend: { name: "local", kind: "stateless", provider: "local" },
      definition: { agents: {}, backends: {} },
      hash: "h",
    };
    for (let i = 0; i < 2000; i++)
      fs.writeFileSync(
        path.join(sessions, `s${String(i).padStart(5, "0")}.jsonl`),
        JSON.stringify({ ...start, sessionId: `s${i}` }) + "\n",
      );
    assert.equal(piped(["sessions", "list"], "head -1", dir), "status 141\n");
    const tests = Array.from(
      { length: 300 },
      (_, i) => `test "t${i} ${"x".repeat(200)}" {\n  agent: a\n  model replies "ok"\n  send "hi"\n}\n`,
    ).join("");
    fs.writeFileSync(path.join(dir, "t.agent"), AGENT + tests);
    const err = piped(["test", "t.agent", "--list", "--reporter", "json"], "head -c 100", dir);
    assert.equal(err, "status 141\n");
  });
});

describe("statecraft serve: start-up", () => {
  it("--data naming a regular file: one line naming it, exit 2", () => {
    const dir = tempDir({ "data.db": "not a folder" });
    const r = bin(["serve", "--port", "0", "--data", "data.db"], dir);
    assert.equal(r.code, 2, r.err);
    assert.equal(
      r.err,
      `statecraft serve: cannot use ${path.join(dir, "data.db")} for the embedded database: it is a file, not a folder; pass --data with another folder\n`,
    );
  });

  it("--data in a folder it cannot write: names the folder, not the port", () => {
    const dir = tempDir();
    fs.mkdirSync(path.join(dir, "locked"), { mode: 0o555 });
    fs.chmodSync(path.join(dir, "locked"), 0o555);
    const r = bin(["serve", "--port", "0", "--data", "locked/runtime"], dir, asUser);
    assert.equal(r.code, 2, r.err);
    assert.equal(
      r.err,
      `statecraft serve: cannot use ${path.join(dir, "locked/runtime")} for the embedded database: it cannot be created (EACCES); pass --data with another folder\n`,
    );
  });

  it("a port in use: exit 2 before any database is made", async () => {
    const dir = tempDir();
    const net = await import("node:net");
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    try {
      const port = (blocker.address() as { port: number }).port;
      const r = bin(["serve", "--port", String(port), "--data", "db"], dir);
      assert.equal(r.code, 2, r.err);
      assert.equal(
        r.err,
        `statecraft serve: cannot listen on 127.0.0.1:${port}: the port is in use; pick another --port or --host\n`,
      );
      assert.equal(fs.existsSync(path.join(dir, "db")), false, "no database was created");
    } finally {
      blocker.close();
    }
  });

  it("--max-body-bytes: a bad value is exit 2; a body over the limit is a 413 that names the flag", async function () {
    this.timeout(120_000);
    const dir = tempDir();
    for (const bad of ["0", "1k", "1.5"]) {
      const r = bin(["serve", "--max-body-bytes", bad], dir);
      assert.equal(r.code, 2, bad);
      assert.match(r.err, /^statecraft serve: --max-body-bytes must be a whole number of bytes, 1 or more/);
    }
    const child = spawn(
      process.execPath,
      [BIN, "serve", "--port", "0", "--max-body-bytes", "100", "--data", "db"],
      {
        cwd: dir,
        env: { ...process.env, STATECRAFT_TOKEN: "t" },
      },
    );
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = "";
        child.stdout.on("data", (d: Buffer) => {
          out += d.toString();
          const m = /listening on (\S+)/.exec(out);
          if (m) resolve(m[1]);
        });
        child.on("exit", (code) => reject(new Error(`serve exited ${code}`)));
      });
      const res = await fetch(`${url}/invocations`, {
        method: "POST",
        headers: {
          authorization: "Bearer t",
          "content-type": "application/json",
          "x-amzn-bedrock-agentcore-runtime-session-id": "s".repeat(40),
        },
        body: JSON.stringify({ pad: "x".repeat(500) }),
      });
      assert.equal(res.status, 413);
      const body = (await res.json()) as { error: { message: string } };
      assert.match(body.error.message, /larger than 100 bytes.*statecraft serve --max-body-bytes N/);
    } finally {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
  });
});

describe("internal errors (exit 3)", () => {
  it("are one line naming a log file that holds the stack", () => {
    let err = "";
    const code = reportInternalError(new TypeError("boom\x1b[2J"), (t) => (err += t), ["check", "x"]);
    assert.equal(code, 3);
    const m =
      /^statecraft: internal error \(a bug in statecraft, not in your input\): boom\\x1B\[2J; details in (\S+)\n$/.exec(
        err,
      );
    assert.ok(m, err);
    const log = fs.readFileSync(m[1], "utf8");
    fs.rmSync(m[1]);
    assert.match(log, /command: statecraft check x/);
    assert.match(log, /TypeError: boom/);
    assert.match(log, /\n\s+at /, "the stack is in the log");
  });

  it("are documented: the help and the README name exit code 3", () => {
    assert.match(bin(["help"], ROOT).out, /3 internal error/);
    assert.match(fs.readFileSync(path.join(ROOT, "README.md"), "utf8"), /3 an internal error/);
  });
});

describe("exit codes: usage and input errors are 2 for every command", () => {
  const cases: [string, string[]][] = [
    ["run: a missing file", ["run", "missing.agent", "--input", "hi"]],
    ["run: --agent missing with several agents", ["run", "main.agent", "--input", "hi"]],
    [
      "run: an unknown backend",
      ["run", "main.agent", "--agent", "support", "--backend", "nope", "--input", "x"],
    ],
    ["run: an unknown option", ["run", "main.agent", "--nope"]],
    ["compile: a missing file", ["compile", "missing.agent"]],
    ["check: a missing path", ["check", "missing.agent"]],
    ["fmt: a missing path", ["fmt", "missing.agent"]],
    ["test: a missing path", ["test", "missing.agent"]],
    ["replay: no such session", ["replay", "nope"]],
    ["fork: no --turn", ["fork", "nope"]],
    ["sessions: an unknown subcommand", ["sessions", "nope"]],
    ["sessions: an unknown --format", ["sessions", "list", "--format", "yaml"]],
    ["test: an unknown --reporter", ["test", "main.agent", "--reporter", "yaml"]],
    ["replay: --live-tools on an exact replay", ["replay", "nope", "--live-tools"]],
    ["serve: a bad port", ["serve", "--port", "http"]],
    ["serve: a bad --warm-up", ["serve", "--warm-up", "1e3"]],
    ["lsp: no transport", ["lsp"]],
    ["dap: an unknown argument", ["dap", "--tcp"]],
  ];
  for (const [what, args] of cases)
    it(what, async () => {
      const dir = tempDir();
      fs.cpSync(EXAMPLE, dir, { recursive: true });
      const r = await run(args, dir);
      assert.equal(r.code, 2, `${r.out}${r.err}`);
      assert.equal(r.err.trimEnd().split("\n").length, 1, r.err);
    });
  it("a flag given a negative number: one line, in words, without escaped line breaks", async () => {
    const r = await run(["serve", "--warm-up", "-1"]);
    assert.equal(r.code, 2, r.err);
    assert.equal(r.err.trimEnd().split("\n").length, 1, r.err);
    assert.ok(!r.err.includes("\\n"), r.err);
    assert.match(
      r.err,
      /^statecraft serve: Option '--warm-up' argument is ambiguous\. Did you forget .* use '--warm-up=-XYZ'\.\n$/,
    );
  });
});

describe("--help", () => {
  for (const name of Object.keys(COMMAND_HELP))
    it(`${name} --help: its usage, its options, an example; exit 0`, async () => {
      const r = bin([name, "--help"], ROOT);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out, COMMAND_HELP[name]);
      assert.match(r.out, new RegExp(`^usage: statecraft ${name}\\b`));
      assert.match(r.out, /\nexample:\n {2}statecraft /);
      // Every option listed is one the command takes: the parser refuses an unknown one by name.
      if (name === "lsp" || name === "dap") return; // no parser: --stdio is their only argument
      for (const flag of new Set(r.out.match(/--[a-z][a-z-]+/g) ?? [])) {
        const probe = await run([name, flag, "--no-such-option"]);
        assert.equal(probe.code, 2, `${name} ${flag}`);
        assert.doesNotMatch(probe.err, new RegExp(`Unknown option '${flag}'`), `${name} ${flag}`);
      }
    });

  it("help COMMAND is the same text", () => {
    assert.equal(bin(["help", "run"], ROOT).out, COMMAND_HELP.run);
  });
});

describe("messages", () => {
  it("test --test zzz: no test matches it, and the tests there are", async () => {
    const dir = tempDir({
      "t.agent": `${AGENT}test "greets" {\n  agent: a\n  model replies "ok"\n  send "hi"\n}\ntest "waves" {\n  agent: a\n  model replies "ok"\n  send "hi"\n}\n`,
    });
    const r = await run(["test", "t.agent", "--test", "zzz"], dir);
    assert.equal(r.code, 1);
    assert.equal(r.err, 'no test matches "zzz"; the 2 tests are: "greets", "waves"\n');
    const none = await run(["test", "a.agent"], tempDir({ "a.agent": AGENT }));
    assert.equal(none.err, "no test blocks in a.agent\n");
  });

  it("counts agree with their nouns: 1 file needs formatting, 2 files need formatting", async () => {
    const one = await run(["fmt", "--check", "."], tempDir({ "m.agent": MESSY }));
    assert.equal(one.err, "1 file needs formatting: run statecraft fmt\n");
    const two = await run(["fmt", "--check", "."], tempDir({ "m.agent": MESSY, "n.agent": MESSY }));
    assert.equal(two.err, "2 files need formatting: run statecraft fmt\n");
  });

  it("binary garbage in a file or an argument reaches the terminal escaped, never as raw control bytes", () => {
    const dir = tempDir({ "g.agent": Buffer.from(`${AGENT}\x1b[31mRED\x07\x9b\n`) });
    const r = bin(["check", "g.agent"], dir);
    assert.equal(r.code, 1);
    assert.match(r.out, /found '\\x1B'/);
    const unknown = bin(["\x1b]0;title\x07"], dir);
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /unknown command '\\x1B\]0;title\\x07'/);
    const missing = bin(["check", "a\x1b[2Jb.agent"], dir);
    assert.equal(missing.code, 2);
    for (const text of [r.out, r.err, unknown.err, missing.err])
      assert.doesNotMatch(text, /(?![\n\t])\p{Cc}/u, JSON.stringify(text));
  });
});
