// The runtime commands of the `statecraft` CLI (run, test, replay, fork,
// sessions), run in-process through main() on temp copies of the example
// project, so that sessions and memory land in the copy. One case spawns the
// built binary to feed a conversation through stdin.

import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { NO_SCRIPT_MESSAGE } from "../../server/backends/local";
import { runCli } from "./helpers";
import type {
  ContextSnapshotEvent,
  Message,
  SessionEvent,
  SessionStartEvent,
  TurnEndEvent,
} from "../../server/protocol/events";
import type { TestReportLine } from "../../server/protocol/cli";

const ROOT = path.resolve(__dirname, "../..");
const EXAMPLE = path.join(ROOT, "examples/support");
const FIXTURES = path.join(ROOT, "test/fixtures/cli");
const BIN = path.join(ROOT, "dist/cli.js");

const TURN1 = "Hi, I'm Ada. Where is my order A1003?";
const TURN2 = "Please refund 40 USD on order A1001, it arrived damaged.";
const REPLY1 = "Thanks, Ada. Order A1003 (a gooseneck kettle) has shipped and should arrive within 3 days.";
const REPLY2 = "Done: refund RF-A1001-4000 of 40 USD is on its way to your card.";
/** `npm start`'s conversation: demo.script.json played back by the local backend. */
const DEMO = [
  "run",
  "main.agent",
  "--agent",
  "support",
  "--script",
  "demo.script.json",
  "--user-id",
  "ada",
  "--user-name",
  "Ada",
  "--input",
  TURN1,
  "--input",
  TURN2,
];
const SESSION_LINE =
  /^session (\d{8}-\d{6}-[0-9a-f]{6}): \.statecraft\/sessions\/\1\.jsonl \((\d+) turns?\)$/;

const run = runCli;

const lines = (text: string) => text.trimEnd().split("\n");

const temps: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "statecraft-runtime-"));
  temps.push(dir);
  return dir;
}
after(() => {
  for (const dir of temps) fs.rmSync(dir, { recursive: true, force: true });
});

/** A temp copy of the example project (plus the CLI fixtures named), with no sessions yet. */
function project(...fixtures: string[]): string {
  const dir = tempDir();
  fs.cpSync(EXAMPLE, dir, { recursive: true });
  fs.rmSync(path.join(dir, ".statecraft"), { recursive: true, force: true });
  for (const f of fixtures) fs.copyFileSync(path.join(FIXTURES, f), path.join(dir, f));
  return dir;
}

function edit(dir: string, file: string, from: string, to: string): void {
  const p = path.join(dir, file);
  const text = fs.readFileSync(p, "utf8");
  assert.ok(text.includes(from), `${file} should contain ${JSON.stringify(from)}`);
  fs.writeFileSync(p, text.replace(from, to));
}

/** The session logs of a workspace, oldest first. */
function sessionFiles(dir: string): string[] {
  const sessions = path.join(dir, ".statecraft", "sessions");
  if (!fs.existsSync(sessions)) return [];
  return fs
    .readdirSync(sessions)
    .filter((f) => f.endsWith(".jsonl"))
    .sort()
    .map((f) => path.join(sessions, f));
}

function readEvents(file: string): SessionEvent[] {
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as SessionEvent);
}

const startOf = (events: SessionEvent[]) => events[0] as SessionStartEvent;
const turnEnds = (events: SessionEvent[]) => events.filter((e): e is TurnEndEvent => e.type === "turn.end");
const snapshots = (events: SessionEvent[]) =>
  events.filter((e): e is ContextSnapshotEvent => e.type === "context.snapshot");
const logOf = (dir: string, id: string) => path.join(dir, ".statecraft", "sessions", `${id}.jsonl`);

/** Records the demo conversation in `dir` and returns its session id. */
async function recordDemo(dir: string, ...extra: string[]): Promise<string> {
  const r = await run([...DEMO, ...extra], dir);
  assert.equal(r.code, 0, r.err);
  const m = SESSION_LINE.exec(lines(r.err).pop()!);
  assert.ok(m, r.err);
  return m[1];
}

// One recorded demo session, copied (with its project) by the cases that only read it.
let recordedDir: string;
let recordedId: string;
function recordedCopy(): string {
  const dir = tempDir();
  fs.cpSync(recordedDir, dir, { recursive: true });
  return dir;
}

before(async function () {
  this.timeout(60_000);
  recordedDir = project();
  recordedId = await recordDemo(recordedDir, "--approve", "all");
});

describe("statecraft run", () => {
  it("plays the scripted two-turn conversation: replies on stdout, tools and the session on stderr", async () => {
    const dir = project();
    const r = await run([...DEMO, "--approve", "all"], dir);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, `${REPLY1}\n${REPLY2}\n`);
    const err = lines(r.err);
    const last = SESSION_LINE.exec(err.pop()!);
    assert.ok(last, r.err);
    assert.equal(last[2], "2");
    assert.deepEqual(err, [
      `> ${TURN1}`,
      `  -> remember {"field":"preferred_name","value":"Ada"}`,
      `  -> lookup_order {"order_id":"A1003"}`,
      `  -> remember {"field":"last_order","value":"A1003"}`,
      `> ${TURN2}`,
      `  -> refund {"order_id":"A1001","amount":40,"reason":"arrived damaged"}`,
      `  <- refund approved by ada`,
    ]);

    const files = sessionFiles(dir);
    assert.deepEqual(files, [logOf(dir, last[1])]);
    const events = readEvents(files[0]);
    assert.equal(events[0].type, "session.start");
    assert.equal(events[events.length - 1].type, "session.end");
    assert.deepEqual(
      events.map((e) => e.seq),
      events.map((_, i) => i + 1),
    );
    const start = startOf(events);
    assert.equal(start.sessionId, last[1]);
    assert.equal(start.agent, "support");
    assert.equal(start.source, "main.agent");
    assert.deepEqual(start.user, { id: "ada", name: "Ada" });
    assert.deepEqual(
      turnEnds(events).map((e) => [e.turn, e.status, e.reply]),
      [
        [1, "ok", REPLY1],
        [2, "ok", REPLY2],
      ],
    );
    const end = events[events.length - 1];
    assert.ok(end.type === "session.end" && end.status === "ok" && end.turns === 2);
    // The refund tool ran for real (no mock) once approved.
    const refund = events.find((e) => e.type === "tool.result" && e.tool === "refund");
    assert.ok(refund?.type === "tool.result" && refund.ok && refund.origin === "run", JSON.stringify(refund));
    assert.equal((refund.output as { refund_id: string }).refund_id, "RF-A1001-4000");
    // User-scoped memory outlives the session in the workspace.
    const memory = JSON.parse(
      fs.readFileSync(path.join(dir, ".statecraft", "memory", "customer", "user%3aada.json"), "utf8"),
    ) as unknown;
    assert.deepEqual(memory, { open_tickets: 0, preferred_name: "Ada", last_order: "A1003" });
  });

  it("--approve none refuses the refund: stderr says so and the tool does not run", async () => {
    const dir = project();
    const r = await run([...DEMO, "--approve", "none"], dir);
    assert.equal(r.code, 0, r.err);
    const err = lines(r.err);
    assert.equal(err[err.indexOf(`> ${TURN2}`) + 2], "  <- refund not approved by ada");
    const events = readEvents(sessionFiles(dir)[0]);
    const approval = events.find((e) => e.type === "approval");
    assert.ok(approval?.type === "approval" && !approval.approved && approval.tool === "refund");
    assert.equal(
      events.some((e) => e.type === "tool.result" && e.tool === "refund"),
      false,
    );
    const turn2 = turnEnds(events)[1].messages;
    assert.ok(
      turn2.some(
        (m) => m.role === "tool" && m.name === "refund" && m.isError && m.content.startsWith("Denied: "),
      ),
      JSON.stringify(turn2),
    );
  });

  it("on the local backend without --script: exit 2, one line naming --script and the other backends", async () => {
    const dir = project();
    const r = await run(["run", "main.agent", "--agent", "support", "--input", TURN1], dir);
    assert.equal(r.code, 2);
    assert.equal(r.out, "");
    assert.equal(
      r.err,
      "statecraft run: agent 'support' runs on the local backend, which only plays back scripted replies: " +
        "pass --script FILE, or run it on a real model with --backend openai_cloud | aws_runtime\n",
    );
    assert.deepEqual(sessionFiles(dir), []);
  });

  it("a --script file that is missing or has a bad step: exit 2, one line naming the file, no session", async () => {
    const dir = project();
    const missing = await run(["run", "main.agent", "--agent", "support", "--script", "nope.json"], dir);
    assert.equal(missing.code, 2);
    assert.equal(missing.out, "");
    assert.match(
      missing.err,
      new RegExp(`^statecraft run: cannot read the script ${path.join(dir, "nope.json")}: ENOENT[^\\n]*\\n$`),
    );
    fs.writeFileSync(path.join(dir, "bad.script.json"), JSON.stringify([{ reply: "hi" }, { say: "x" }]));
    const bad = await run(["run", "main.agent", "--agent", "support", "--script", "bad.script.json"], dir);
    assert.equal(bad.code, 2);
    assert.equal(
      bad.err,
      `statecraft run: ${path.join(dir, "bad.script.json")}: step 2 must be {"reply": "..."}, {"call": "tool", "input": {...}} or {"handoff": "agent"}\n`,
    );
    assert.deepEqual(sessionFiles(dir), []);
  });

  it("a spec with an error: exit 1, the diagnostics as path:line:col: severity code: message, no session", async () => {
    const dir = project();
    edit(dir, "agents.agent", "temperature: 0.2", "temperature: 3");
    const r = await run([...DEMO, "--approve", "all"], dir);
    assert.equal(r.code, 1);
    assert.equal(r.out, "");
    assert.deepEqual(lines(r.err), [
      "agents.agent:11:16: error out-of-range: 'temperature' must be between 0 and 2; found 3.",
      `statecraft run: ${path.join(dir, "main.agent")} has 1 error`,
    ]);
    assert.equal(fs.existsSync(path.join(dir, ".statecraft")), false);
  });

  it("an unknown --agent: exit 2 (an input error, as with compile) with the agents there are", async () => {
    const dir = project();
    const r = await run(["run", "main.agent", "--agent", "nobody", "--script", "demo.script.json"], dir);
    assert.equal(r.code, 2);
    assert.equal(
      r.err,
      `statecraft run: No agent 'nobody' in ${path.join(dir, "main.agent")} or its imports; agents: support, billing.\n`,
    );
    assert.deepEqual(sessionFiles(dir), []);
  });

  it("a script that runs out mid-turn: exit 1 with the local backend's explanation, the turn recorded as failed", async () => {
    const dir = project("short.script.json");
    const r = await run(
      [
        "run",
        "main.agent",
        "--agent",
        "support",
        "--script",
        "short.script.json",
        "--input",
        TURN1,
        "--input",
        TURN2,
      ],
      dir,
    );
    assert.equal(r.code, 1);
    const err = lines(r.err);
    const last = SESSION_LINE.exec(err.pop()!);
    assert.ok(last, r.err);
    assert.equal(last[2], "1");
    assert.deepEqual(err, [
      `> ${TURN1}`,
      `  -> lookup_order {"order_id":"A1003"}`,
      `statecraft run: turn 1 failed: ${NO_SCRIPT_MESSAGE}`,
    ]);
    const events = readEvents(sessionFiles(dir)[0]);
    assert.deepEqual(
      turnEnds(events).map((e) => [e.turn, e.status, e.reason]),
      [[1, "failed", NO_SCRIPT_MESSAGE]],
    );
    const end = events[events.length - 1];
    assert.ok(end.type === "session.end" && end.status === "failed", JSON.stringify(end));
  });

  it("reads the turns from stdin when there is no --input (the built binary)", () => {
    assert.ok(fs.existsSync(BIN), `${BIN} is missing: npm test builds it before mocha runs (npm run build)`);
    const dir = project();
    const r = spawnSync(
      process.execPath,
      [BIN, ...DEMO.filter((a) => a !== TURN1 && a !== TURN2 && a !== "--input"), "--approve", "all"],
      { cwd: dir, input: `${TURN1}\n\n${TURN2}\n`, encoding: "utf8", timeout: 60_000 },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `${REPLY1}\n${REPLY2}\n`);
    const err = lines(r.stderr);
    assert.deepEqual(
      err.filter((l) => l.startsWith("> ")),
      [`> ${TURN1}`, `> ${TURN2}`],
    );
    assert.match(err[err.length - 1], SESSION_LINE);
    const events = readEvents(sessionFiles(dir)[0]);
    assert.deepEqual(
      events.filter((e) => e.type === "turn.start").map((e) => (e.type === "turn.start" ? e.input : "")),
      [TURN1, TURN2],
    );
  });
});

describe("where sessions go: the project's folder, not the current one", () => {
  it("test and run from a parent folder write into the agent files' project, and say where", async () => {
    const parent = tempDir();
    const travel = path.join(parent, "travel");
    fs.cpSync(EXAMPLE, travel, { recursive: true });
    fs.rmSync(path.join(travel, ".statecraft"), { recursive: true, force: true });
    const t = await run(["test", "travel"], parent);
    assert.equal(t.code, 0, t.out + t.err);
    assert.equal(t.err, "sessions: travel/.statecraft/sessions\n");
    assert.equal(sessionFiles(travel).length, 6);
    const r = await run(
      [
        ...DEMO.map((a) => (a.endsWith(".json") || a.endsWith(".agent") ? `travel/${a}` : a)),
        "--approve",
        "all",
      ],
      parent,
    );
    assert.equal(r.code, 0, r.err);
    assert.match(
      lines(r.err).pop()!,
      /^session (\S+): travel\/\.statecraft\/sessions\/\1\.jsonl \(2 turns\)$/,
    );
    assert.equal(sessionFiles(travel).length, 7);
    assert.equal(fs.existsSync(path.join(parent, ".statecraft")), false, "nothing in the current folder");
  });

  it("the nearest folder up with a package.json (or .git, or .statecraft) is the project", async () => {
    const root = tempDir();
    fs.writeFileSync(path.join(root, "package.json"), "{}\n");
    const agents = path.join(root, "agents", "support");
    fs.cpSync(EXAMPLE, agents, { recursive: true });
    fs.rmSync(path.join(agents, ".statecraft"), { recursive: true, force: true });
    const t = await run(["test", "tests.agent", "--filter", "billing explains"], agents);
    assert.equal(t.code, 0, t.out + t.err);
    assert.equal(t.err, `sessions: ${path.join(root, ".statecraft", "sessions")}\n`);
    assert.equal(sessionFiles(root).length, 1);
  });
});

describe("statecraft test", () => {
  const FAILING = fs.readFileSync(path.join(FIXTURES, "failing.agent"), "utf8").split("\n");
  const lineOf = (text: string) => FAILING.findIndex((l) => l.includes(text)) + 1;

  it("passes the example's tests: one line each, then 6 passed, 0 failed; each test is a session", async () => {
    const dir = project();
    const r = await run(["test"], dir);
    assert.equal(r.code, 0, r.out + r.err);
    const out = lines(r.out);
    assert.equal(out.pop(), "6 passed, 0 failed");
    assert.equal(out.length, 6, r.out);
    for (const l of out) assert.match(l, /^✓ .+ \(\d+ ms\)$/);
    assert.equal(r.err, "sessions: .statecraft/sessions\n");
    const tests = sessionFiles(dir).map((f) => startOf(readEvents(f)).test);
    assert.deepEqual(tests.sort(), [
      "a refund over 500 is denied and escalated",
      "a rejected refund does not run",
      "a small refund is issued once approved",
      "an unknown order, then the right one",
      "billing explains an invoice",
      "invoice questions are handed to billing",
    ]);
  });

  it("a failing expectation: exit 1, file:line: of the expectation, expected vs actual", async () => {
    const dir = project("failing.agent");
    const r = await run(["test", "failing.agent"], dir);
    assert.equal(r.code, 1);
    const out = lines(r.out);
    const i = out.findIndex((l) => l.startsWith("✗ a wrong expectation fails ("));
    assert.ok(i >= 0, r.out);
    assert.equal(
      out[i + 1],
      `    failing.agent:${lineOf('expect reply contains "delivered"')}: expected the reply to contain "delivered"; the reply was "Order A1003 has shipped."`,
    );
    // The file imports main.agent, which imports the example's tests: only the named file's run.
    assert.equal(out[out.length - 1], "0 passed, 2 failed");
    assert.equal(out.filter((l) => /^[✓✗] /.test(l)).length, 2, r.out);
  });

  it("--with-imports also runs the tests of the files the named ones import", async () => {
    const dir = project("failing.agent");
    const r = await run(["test", "failing.agent", "--with-imports"], dir);
    assert.equal(r.code, 1);
    assert.equal(lines(r.out).pop(), "6 passed, 2 failed");
    const listed = await run(["test", "failing.agent", "--list"], dir);
    assert.equal(lines(listed.out).length, 2, listed.out);
    const all = await run(["test", "failing.agent", "--list", "--with-imports"], dir);
    assert.equal(lines(all.out).length, 8, all.out);
  });

  it("test --list --reporter json also names each eval and its cases (the Testing view's Run Eval items)", async () => {
    const dir = tempDir();
    const source = [
      "agent helper {",
      '  instructions: "Help."',
      "}",
      'test "greets" {',
      "  agent: helper",
      '  model replies "Hi"',
      '  send "Hello"',
      "}",
      "eval quality {",
      "  agent: helper",
      '  dataset: file("cases.jsonl")',
      '  case "says hi" {',
      '    model replies "Hi"',
      '    send "Hello"',
      '    expect reply contains "Hi"',
      "  }",
      "}",
    ].join("\n");
    fs.writeFileSync(path.join(dir, "main.agent"), source + "\n");
    fs.writeFileSync(
      path.join(dir, "cases.jsonl"),
      ["", JSON.stringify({ name: "from the dataset", input: "Hello", script: [{ reply: "Hi" }] })].join(
        "\n",
      ) + "\n",
    );
    const r = await run(["test", "main.agent", "--list", "--reporter", "json"], dir);
    assert.equal(r.code, 0, r.err);
    const file = fs.realpathSync(path.join(dir, "main.agent"));
    const listed = lines(r.out).map((l) => JSON.parse(l) as TestReportLine);
    const norm = (l: TestReportLine) => ("file" in l ? { ...l, file: fs.realpathSync(l.file) } : l);
    assert.deepEqual(listed.map(norm), [
      { type: "test", name: "greets", file, line: 4, agent: "helper" },
      { type: "eval", name: "quality", file, line: 9, agent: "helper" },
      { type: "case", eval: "quality", name: "says hi", file, line: 12 },
      {
        type: "case",
        eval: "quality",
        name: "from the dataset",
        file: path.join(path.dirname(file), "cases.jsonl"),
        line: 2,
      },
    ]);
    // Evals are not tests: a selection of tests lists no eval.
    const some = await run(["test", "main.agent", "--list", "--reporter", "json", "--test", "greets"], dir);
    assert.deepEqual(
      lines(some.out).map((l) => (JSON.parse(l) as TestReportLine).type),
      ["test"],
    );
  });

  it("expect memory. after a handoff reads the memory the test's agent wrote, not the new agent's", async () => {
    const dir = project("handoffMemory.agent");
    const r = await run(["test", "handoffMemory.agent"], dir);
    assert.equal(r.code, 0, r.out + r.err);
    assert.equal(lines(r.out).pop(), "1 passed, 0 failed");
  });

  it("a test whose scripted model steps are not all used fails with that message, at its send", async () => {
    const dir = project("failing.agent");
    const r = await run(["test", "failing.agent", "--filter", "leftover"], dir);
    assert.equal(r.code, 1);
    const out = lines(r.out);
    assert.equal(out.length, 3, r.out);
    assert.match(out[0], /^✗ leftover scripted steps fail \(\d+ ms\)$/);
    assert.equal(
      out[1],
      `    failing.agent:${lineOf('send "Hi"')}: 1 scripted model step was not used by this turn`,
    );
    assert.equal(out[2], "0 passed, 1 failed");
  });

  it("a test without a backend runs on the built-in local backend, even when its agent's is a cloud one", async () => {
    const dir = project("cloud.agent");
    const r = await run(["test", "cloud.agent"], dir);
    assert.equal(r.code, 0, r.out + r.err);
    assert.equal(lines(r.out).pop(), "1 passed, 0 failed");
    const [file] = sessionFiles(dir);
    assert.deepEqual(startOf(readEvents(file)).backend, {
      name: "local",
      kind: "stateless",
      provider: "local",
    });
  });

  it("--filter runs only the tests whose name contains the text", async () => {
    const dir = project();
    const r = await run(["test", "--filter", "refund"], dir);
    assert.equal(r.code, 0, r.out + r.err);
    const out = lines(r.out);
    assert.equal(out.pop(), "3 passed, 0 failed");
    assert.deepEqual(
      out.map((l) => l.replace(/ \(\d+ ms\)$/, "")),
      [
        "✓ a refund over 500 is denied and escalated",
        "✓ a small refund is issued once approved",
        "✓ a rejected refund does not run",
      ],
    );
    assert.equal(sessionFiles(dir).length, 3);
    const none = await run(["test", "--filter", "no such test"], dir);
    assert.equal(none.code, 1);
    assert.equal(none.out, "0 passed, 0 failed\n");
    assert.match(
      none.err,
      /^no test matches the filter "no such test"; the \d+ tests are: .*"a refund over 500 is denied and escalated", "a small refund is issued once approved", "a rejected refund does not run"/,
    );
  });

  it("--junit FILE writes JUnit XML with the counts and a <failure> for each failing test", async () => {
    const dir = project("failing.agent");
    const r = await run(["test", "failing.agent", "--with-imports", "--junit", "reports/junit.xml"], dir);
    assert.equal(r.code, 1);
    const xml = fs.readFileSync(path.join(dir, "reports", "junit.xml"), "utf8");
    assert.match(xml, /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<testsuites /);
    assert.match(xml, /<testsuite name="statecraft" tests="8" failures="2" time="[\d.]+">/);
    assert.equal(xml.match(/<testsuite /g)?.length, 1);
    assert.equal(xml.match(/<\/testsuite>/g)?.length, 1);
    const cases = [
      ...xml.matchAll(
        /<testcase classname="([^"]*)" name="([^"]*)" time="[\d.]+"(\/>|>([\s\S]*?)<\/testcase>)/g,
      ),
    ];
    assert.equal(cases.length, 8, xml);
    assert.equal(xml.match(/<testcase /g)?.length, 8);
    const failed = cases.filter((c) => c[3] !== "/>");
    assert.deepEqual(
      failed.map((c) => [c[1], c[2]]),
      [
        ["failing.agent", "a wrong expectation fails"],
        ["failing.agent", "leftover scripted steps fail"],
      ],
    );
    assert.match(
      failed[0][4],
      /^\s*<failure message="expected the reply to contain &#34;delivered&#34;; the reply was &#34;Order A1003 has shipped\.&#34;">failing\.agent:\d+: expected the reply to contain &#34;delivered&#34;;[^<]*<\/failure>\s*$/,
    );
    assert.ok(cases.filter((c) => c[1] === "tests.agent").every((c) => c[3] === "/>"));
  });

  it("a spec error: exit 1 with the diagnostics, no test runs", async () => {
    const dir = project();
    edit(dir, "agents.agent", "temperature: 0.2", "temperature: 3");
    const r = await run(["test"], dir);
    assert.equal(r.code, 1);
    assert.equal(r.out, "");
    assert.deepEqual(lines(r.err), [
      "agents.agent:11:16: error out-of-range: 'temperature' must be between 0 and 2; found 3.",
      "statecraft test: not run: 1 error in the spec",
    ]);
    assert.equal(fs.existsSync(path.join(dir, ".statecraft")), false);
  });
});

describe("statecraft replay --mode exact", () => {
  const header = (id: string) => `exact replay of ${id} diverged (definition changed since the recording):`;

  it("a recorded session replays: exit 0, every request matches, nothing new recorded", async () => {
    const dir = recordedCopy();
    const r = await run(["replay", logOf(dir, recordedId), "--mode", "exact"], dir);
    assert.equal(r.code, 0, r.out + r.err);
    assert.equal(
      r.out,
      `exact replay of ${recordedId}: 6 model requests in 2 turns match the recording (definition unchanged)\n`,
    );
    assert.equal(r.err, "");
    assert.equal(sessionFiles(dir).length, 1);
  });

  it("after the instructions change: exit 1 at turn 1, model call 1, messages[0].content, with both texts", async () => {
    const dir = recordedCopy();
    edit(
      dir,
      "agents.agent",
      "You are the tier-1 support agent",
      "You are the friendly tier-1 support agent",
    );
    const r = await run(["replay", recordedId, "--mode", "exact"], dir);
    assert.equal(r.code, 1, r.out + r.err);
    assert.deepEqual(lines(r.out), [
      header(recordedId),
      `  turn 1, model call 1: messages[0].content differs at character 12: ` +
        `recorded "You are the tier-1 support agent for Acme.\\nYou are talking to …", ` +
        `now "You are the friendly tier-1 support agent for Acme.\\nYou are ta…"`,
    ]);
  });

  it("after a tool's input field changes type: the divergence names the tools path", async () => {
    const dir = recordedCopy();
    edit(dir, "tools.agent", `amount: number "Amount to refund`, `amount: integer "Amount to refund`);
    const r = await run(["replay", recordedId, "--mode", "exact"], dir);
    assert.equal(r.code, 1, r.out + r.err);
    assert.deepEqual(lines(r.out), [
      header(recordedId),
      `  turn 1, model call 1: tools[1].parameters.properties.amount.type differs at character 0: recorded "number", now "integer"`,
    ]);
  });

  it("after a deny rule now denies a recorded call: it diverges at the next model call", async () => {
    const dir = recordedCopy();
    edit(dir, "agents.agent", "deny refund when input.amount > 500", "deny refund when input.amount > 30");
    const r = await run(["replay", recordedId, "--mode", "exact"], dir);
    assert.equal(r.code, 1, r.out + r.err);
    const out = lines(r.out);
    assert.equal(out[0], header(recordedId));
    // Turn 2's first call asked for the refund; the second call now sees the denial instead of its result.
    assert.match(
      out[1],
      /^ {2}turn 2, model call 2: messages\[\d+\]\.content differs at character 0: recorded "\{\\"refund_id\\":\\"RF-A1001-4000\\".*", now "Denied: policy denies refund when input\.amount > 3.*"$/,
    );
    assert.equal(out.length, 2);
  });

  it("a log torn in its last line still replays its complete turns, with a warning", async () => {
    const dir = recordedCopy();
    const file = logOf(dir, recordedId);
    const text = fs.readFileSync(file, "utf8");
    const lastLine = text.slice(text.lastIndexOf("\n", text.length - 2) + 1);
    assert.match(lastLine, /"type":"session\.end"/);
    fs.truncateSync(file, text.length - Math.floor(lastLine.length / 2));
    const r = await run(["replay", recordedId, "--mode", "exact"], dir);
    assert.equal(r.code, 0, r.out + r.err);
    assert.equal(
      r.out,
      `exact replay of ${recordedId}: 6 model requests in 2 turns match the recording (definition unchanged)\n`,
    );
    assert.equal(
      r.err,
      `warning: ${recordedId}.jsonl: the last line is incomplete (the run was interrupted while writing it); it was skipped\n`,
    );
  });

  it("a log torn in the middle of a turn replays the turns before it", async () => {
    const dir = recordedCopy();
    const file = logOf(dir, recordedId);
    const text = fs.readFileSync(file, "utf8");
    // Cut halfway through turn 2's tool result, as a crash while writing it would.
    const at = text.indexOf(`"type":"tool.result","turn":2`);
    assert.ok(at > 0);
    fs.truncateSync(file, at);
    const r = await run(["replay", recordedId, "--mode", "exact"], dir);
    assert.equal(r.code, 0, r.out + r.err);
    assert.equal(
      r.out,
      `exact replay of ${recordedId}: 4 model requests in 1 turn match the recording (definition unchanged)\n`,
    );
    assert.deepEqual(lines(r.err), [
      `warning: ${recordedId}.jsonl: the last line is incomplete (the run was interrupted while writing it); it was skipped`,
      "warning: turn 2 is not finished in the recording (the run was interrupted); it was not replayed",
    ]);
  });

  it("takes a session id prefix instead of a path, and says which ids a prefix matches", async () => {
    const dir = recordedCopy();
    const r = await run(["replay", recordedId.slice(0, 15), "--mode", "exact"], dir);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, new RegExp(`^exact replay of ${recordedId}: .* match the recording`));
    const none = await run(["replay", "19990101", "--mode", "exact"], dir);
    assert.equal(none.code, 2);
    assert.match(none.err, /^statecraft replay: no session '19990101' \(not a file, nor an id under .*\)\n$/);
  });
});

describe("statecraft replay --mode live", () => {
  /** Makes the copy's tools note each real run in side-effects.log before doing their work. */
  function watchTools(dir: string): string {
    const log = path.join(dir, "side-effects.log");
    for (const tool of ["lookup_order", "refund"]) {
      const file = path.join(dir, "tools", `${tool}.js`);
      fs.renameSync(file, path.join(dir, "tools", `${tool}.orig.js`));
      fs.writeFileSync(
        file,
        `require("node:fs").appendFileSync(${JSON.stringify(log)}, "${tool}\\n");\nrequire("./${tool}.orig.js");\n`,
      );
    }
    return log;
  }
  const newSession = (dir: string) => {
    const file = sessionFiles(dir).find((f) => !f.endsWith(`${recordedId}.jsonl`))!;
    return { file, id: path.basename(file, ".jsonl"), events: readEvents(file) };
  };
  const toolResults = (events: SessionEvent[]) =>
    events.filter((e) => e.type === "tool.result").map((e) => e.type === "tool.result" && [e.tool, e.origin]);

  it("on the local backend: recorded model replies and tool results, a comparison table and a new session", async () => {
    const dir = recordedCopy();
    const sideEffects = watchTools(dir);
    const r = await run(["replay", recordedId, "--mode", "live", "--approve", "all"], dir);
    assert.equal(r.code, 0, r.out + r.err);
    assert.equal(sessionFiles(dir).length, 2);
    const now = newSession(dir);
    const out = lines(r.out);
    assert.deepEqual(out.slice(0, 4), [
      REPLY1,
      REPLY2,
      "",
      `live replay of ${recordedId} on local_dev (stateless) as ${now.id}, tools answered from the recording:`,
    ]);
    assert.equal(out[4], "turn  same  tokens (was -> now)  model ms (was -> now)  bytes sent (was -> now)");
    // The same context is sent again (the replay starts from the recorded memory), so tokens and bytes match.
    for (const [i, turn] of [1, 2].entries()) {
      const m = /^ {3}(\d) {2}(yes|no) +(\d+) -> (\d+) +\d+ -> \d+ +(\d+) -> (\d+)$/.exec(out[5 + i]);
      assert.ok(m, out[5 + i]);
      assert.equal(Number(m[1]), turn);
      assert.equal(m[2], "yes");
      assert.equal(m[3], m[4], out[5 + i]);
      assert.equal(m[5], m[6], out[5 + i]);
    }
    assert.equal(out[7], "no divergence: every turn replied the same and called the same tools");
    assert.equal(out.length, 8);
    assert.match(
      r.err,
      /^live replay: tools answer from the recording, nothing is run again \(--live-tools runs them\)$/m,
    );
    assert.equal(lines(r.err).pop(), `recorded: .statecraft/sessions/${recordedId}.jsonl`);
    const old = readEvents(logOf(dir, recordedId));
    assert.deepEqual(startOf(now.events).memory, startOf(old).memory);
    assert.deepEqual(
      turnEnds(now.events).map((e) => e.reply),
      [REPLY1, REPLY2],
    );
    // No tool ran again: every result is the recorded one, and the tools never started.
    assert.deepEqual(toolResults(now.events), [
      ["lookup_order", "replay"],
      ["refund", "replay"],
    ]);
    assert.deepEqual(
      now.events.filter((e) => e.type === "tool.result").map((e) => e.type === "tool.result" && e.output),
      old.filter((e) => e.type === "tool.result").map((e) => e.type === "tool.result" && e.output),
    );
    assert.equal(fs.existsSync(sideEffects), false, "a tool ran");
  });

  it("asks for approvals again: without --approve or a terminal the refund is refused, not reused", async () => {
    const dir = recordedCopy();
    const sideEffects = watchTools(dir);
    const r = await run(["replay", recordedId, "--mode", "live"], dir);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(
      r.err,
      /^approval needed for refund \{.*\}: refused \(no terminal; pass --approve all to allow\)$/m,
    );
    const now = newSession(dir);
    const approvals = now.events.filter((e) => e.type === "approval");
    assert.deepEqual(
      approvals.map((e) => e.type === "approval" && e.approved),
      [false],
    );
    assert.deepEqual(toolResults(now.events), [["lookup_order", "replay"]]);
    assert.match(r.out, /^first divergence at turn 2$/m);
    assert.equal(fs.existsSync(sideEffects), false, "a tool ran");
  });

  it("--live-tools runs the tools for real, and says so", async () => {
    const dir = recordedCopy();
    const sideEffects = watchTools(dir);
    const r = await run(["replay", recordedId, "--mode", "live", "--live-tools", "--approve", "all"], dir);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.err, /^live replay: the tools run for real \(--live-tools\)$/m);
    assert.match(r.out, /, tools run for real:$/m);
    assert.deepEqual(toolResults(newSession(dir).events), [
      ["lookup_order", "run"],
      ["refund", "run"],
    ]);
    assert.equal(fs.readFileSync(sideEffects, "utf8"), "lookup_order\nrefund\n");
    const exact = await run(["replay", recordedId, "--mode", "exact", "--live-tools"], dir);
    assert.equal(exact.code, 2);
    assert.equal(
      exact.err,
      "statecraft replay: --live-tools is for --mode live (an exact replay never runs a tool)\n",
    );
  });
});

describe("statecraft fork", () => {
  const FORK_INPUT = "And what about order A1002?";

  it("--turn 1 starts a new session from the conversation and memory after turn 1", async () => {
    const dir = recordedCopy();
    fs.copyFileSync(path.join(FIXTURES, "fork.script.json"), path.join(dir, "fork.script.json"));
    const r = await run(
      ["fork", recordedId, "--turn", "1", "--script", "fork.script.json", "--input", FORK_INPUT],
      dir,
    );
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, "Order A1002 was delivered on May 10.\n");
    const err = lines(r.err);
    assert.equal(err[0], `forked from ${recordedId} after turn 1 (agent support, 1 turn of history)`);
    assert.equal(err[1], `> ${FORK_INPUT}`);
    const last = SESSION_LINE.exec(err[err.length - 1]);
    assert.ok(last, r.err);
    assert.equal(last[2], "1");

    const parent = readEvents(logOf(dir, recordedId));
    const events = readEvents(logOf(dir, last[1]));
    const start = startOf(events);
    assert.deepEqual(start.parent, { sessionId: recordedId, turn: 1 });
    const parentTurn1 = turnEnds(parent)[0];
    const parentMemory1 = parent.find((e) => e.type === "memory.snapshot" && e.turn === 1);
    assert.ok(parentMemory1?.type === "memory.snapshot");
    assert.deepEqual(start.memory, parentMemory1.values);
    assert.deepEqual(start.memory, { open_tickets: 0, preferred_name: "Ada", last_order: "A1003" });

    // The fork's first model call sees the system prompt, turn 1 of the parent, then the new input.
    const first = snapshots(events)[0];
    assert.equal(first.turn, 2);
    assert.equal(first.step, 0);
    const messages: Message[] = first.messages;
    assert.equal(messages[0].role, "system");
    assert.match(messages[0].content, /"preferred_name": "Ada"/);
    assert.deepEqual(messages.slice(1, -1), parentTurn1.messages);
    assert.deepEqual(messages[1], { role: "user", content: TURN1 });
    assert.deepEqual(messages[messages.length - 1], { role: "user", content: FORK_INPUT });
    assert.ok(!messages.some((m) => m.content === TURN2));
    assert.deepEqual(
      turnEnds(events).map((e) => [e.turn, e.status]),
      [[2, "ok"]],
    );
  });

  it("a fork replays exactly, and a fork of a fork keeps the whole conversation", async () => {
    const dir = recordedCopy();
    for (const f of ["fork.script.json", "fork2.script.json"])
      fs.copyFileSync(path.join(FIXTURES, f), path.join(dir, f));
    const fork = await run(
      ["fork", recordedId, "--turn", "1", "--script", "fork.script.json", "--input", FORK_INPUT],
      dir,
    );
    assert.equal(fork.code, 0, fork.err);
    const forkId = SESSION_LINE.exec(lines(fork.err).pop()!)![1];

    const replay = await run(["replay", forkId, "--mode", "exact"], dir);
    assert.equal(replay.code, 0, replay.out + replay.err);
    assert.equal(
      replay.out,
      `exact replay of ${forkId}: 2 model requests in 1 turn match the recording (definition unchanged)\n`,
    );

    const again = await run(
      ["fork", forkId, "--turn", "2", "--script", "fork2.script.json", "--input", "Thanks!"],
      dir,
    );
    assert.equal(again.code, 0, again.err);
    assert.equal(
      lines(again.err)[0],
      `forked from ${forkId} after turn 2 (agent support, 2 turns of history)`,
    );
    const id = SESSION_LINE.exec(lines(again.err).pop()!)![1];
    const messages = snapshots(readEvents(logOf(dir, id)))[0].messages;
    assert.deepEqual(
      messages.filter((m) => m.role === "user").map((m) => m.content),
      [TURN1, FORK_INPUT, "Thanks!"],
    );
    const tooEarly = await run(["fork", forkId, "--turn", "0"], dir);
    assert.equal(tooEarly.code, 2);
    assert.equal(
      tooEarly.err,
      "statecraft fork: --turn must be between 1 and 2, the turns this session recorded\n",
    );
  });

  it("--turn 9 on a 2-turn session: exit 2 with the valid range, nothing recorded", async () => {
    const dir = recordedCopy();
    const r = await run(["fork", recordedId, "--turn", "9", "--input", "x"], dir);
    assert.equal(r.code, 2);
    assert.equal(r.out, "");
    assert.equal(r.err, "statecraft fork: --turn must be between 0 and 2, the turns this session recorded\n");
    assert.equal(sessionFiles(dir).length, 1);
  });
});

describe("statecraft sessions", () => {
  // The recorded demo, a fork of it after turn 1, and one test: three sessions.
  let dir: string;
  let forkId: string;
  let testId: string;
  before(async function () {
    this.timeout(60_000);
    dir = recordedCopy();
    fs.copyFileSync(path.join(FIXTURES, "fork.script.json"), path.join(dir, "fork.script.json"));
    const fork = await run(
      ["fork", recordedId, "--turn", "1", "--script", "fork.script.json", "--input", "A1002?"],
      dir,
    );
    assert.equal(fork.code, 0, fork.err);
    forkId = SESSION_LINE.exec(lines(fork.err).pop()!)![1];
    const test = await run(["test", "--filter", "billing explains"], dir);
    assert.equal(test.code, 0, test.out);
    testId = path.basename(
      sessionFiles(dir).find((f) => startOf(readEvents(f)).test)!,
      ".jsonl",
    );
  });

  it("list leaves test sessions out unless --all, and says how many it left out", async () => {
    const r = await run(["sessions", "list", "--workspace", dir], ROOT);
    assert.equal(r.code, 0, r.err);
    const out = lines(r.out);
    assert.equal(out.length, 2, r.out);
    assert.ok(!out.some((l) => l.startsWith(`${testId}  `)), r.out);
    assert.equal(r.err, "1 test session not shown (--all shows them)\n");
    const json = await run(["sessions", "list", "--format", "json"], dir);
    assert.deepEqual(
      (JSON.parse(json.out) as { id: string }[]).map((x) => x.id).sort(),
      [recordedId, forkId].sort(),
    );
  });

  it("list --all shows one line per session: agent, kind, status, turns, and fork or test markers", async () => {
    const r = await run(["sessions", "list", "--all", "--workspace", dir], ROOT);
    assert.equal(r.code, 0, r.err);
    const out = lines(r.out);
    assert.equal(out.length, 3, r.out);
    const line = (id: string) => out.find((l) => l.startsWith(`${id}  `));
    assert.match(line(recordedId) ?? "", /^\S+ {2}support +stateless ok +2 turns\s*$/);
    assert.match(
      line(forkId) ?? "",
      new RegExp(`^\\S+ {2}support +stateless ok +1 turn +fork of ${recordedId}@1$`),
    );
    assert.match(
      line(testId) ?? "",
      /^\S+ {2}billing +stateless ok +1 turn +test "billing explains an invoice"$/,
    );
  });

  it("show ID of a fork names its parent and the turn it was forked after", async () => {
    const r = await run(["sessions", "show", forkId], dir);
    assert.equal(r.code, 0, r.err);
    assert.equal(lines(r.out)[2], `forked from session ${recordedId} after turn 1`);
  });

  it("list --all --format json parses, with the parent and the test", async () => {
    const r = await run(["sessions", "list", "--all", "--format", "json"], dir);
    assert.equal(r.code, 0, r.err);
    const rows = JSON.parse(r.out) as {
      id: string;
      file: string;
      agent: string;
      status: string;
      turns: number;
      test?: string;
      parent?: { sessionId: string; turn: number };
    }[];
    const byId = new Map(rows.map((x) => [x.id, x]));
    assert.deepEqual([...byId.keys()].sort(), [recordedId, forkId, testId].sort());
    const recorded = byId.get(recordedId)!;
    assert.deepEqual(
      [recorded.file, recorded.agent, recorded.status, recorded.turns, recorded.parent, recorded.test],
      [`.statecraft/sessions/${recordedId}.jsonl`, "support", "ok", 2, undefined, undefined],
    );
    assert.deepEqual(byId.get(forkId)!.parent, { sessionId: recordedId, turn: 1 });
    assert.equal(byId.get(testId)!.test, "billing explains an invoice");
  });

  it("show ID prints each turn's input, tools, memory writes and reply", async () => {
    const r = await run(["sessions", "show", recordedId], dir);
    assert.equal(r.code, 0, r.err);
    const out = lines(r.out);
    assert.equal(out[0], `session ${recordedId}: agent support on local_dev (stateless, local), ok`);
    assert.match(out[1], /^definition sha256:[0-9a-f]{64}, user ada, from main\.agent$/);
    const figures = /^ {2}\d+ tokens, \d+ bytes sent, model \d+ ms$/;
    assert.ok(out.filter((l) => figures.test(l)).length === 2, r.out);
    assert.deepEqual(
      out.slice(2).filter((l) => !figures.test(l)),
      [
        "",
        "turn 1",
        `  user:  ${TURN1}`,
        `  memory: preferred_name = "Ada"`,
        `  tool:  lookup_order -> {"id":"A1003","total":129.99,"status":"shipped","placed_at":"2025-05-02","items":[{"sku":"KETTLE-GOOSE","name":"Goosenec`,
        `  memory: last_order = "A1003"`,
        `  reply: ${REPLY1}`,
        "",
        "turn 2",
        `  user:  ${TURN2}`,
        "  policy: refund approval: refund requires approval",
        "  approval: refund approved by ada",
        `  tool:  refund -> {"refund_id":"RF-A1001-4000","order_id":"A1001","amount":40,"status":"issued"}`,
        `  reply: ${REPLY2}`,
      ],
    );
  });
});
