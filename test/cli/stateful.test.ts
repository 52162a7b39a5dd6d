// `statecraft run` on a stateful backend, end to end with real processes:
// `node dist/cli.js serve` in one child, `node dist/cli.js run` in another,
// a recording proxy between them (what the service receives is what these
// tests assert on). Also: the mirrored log read by `statecraft sessions` and
// `replay --mode exact`, kill -9 of the service mid-turn, and the embedded
// runtime a stateful backend without an endpoint starts in-process.

import { strict as assert } from "node:assert";
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { SessionEvent, SessionStartEvent } from "../../server/protocol/events";
import { readLog } from "../../server/runtime/sessionLog";
import {
  recordingProxy,
  removeTemps,
  REPLY1,
  REPLY2,
  statefulProject,
  tempDir,
  TURN1,
  TURN2,
  type Proxy,
} from "../backends/statefulHelpers";
import { startFakeBedrock } from "../fakes/bedrockServer";
import { freshPgliteDir } from "../service/helpers";
import { runCli } from "./helpers";
import { waitFor } from "../helpers/waitFor";

const ROOT = path.resolve(__dirname, "../..");
const CLI = path.join(ROOT, "dist/cli.js");
const TOKEN = "tok-cli-ada";
// After a chat's last `you> ` prompt, the line follows it.
const SESSION_LINE =
  /(?:^|you> )session ([A-Za-z0-9._-]{33,}): (\.statecraft\/sessions\/\1\.jsonl) \((\d+) turns?\)$/m;

interface Child {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exit: Promise<number | null>;
}

function start(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}, stdin = false): Child {
  assert.ok(fs.existsSync(CLI), `${CLI} is missing: build it first with npm run build`);
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd,
    env: { ...process.env, STATECRAFT_TOKEN: "", DATABASE_URL: "", ...env },
    stdio: [stdin ? "pipe" : "ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (err += c.toString()));
  const exit = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  return { child, out: () => out, err: () => err, exit };
}

/** Waits until `ok` holds; fails at once, with its output, when the process exits first. */
async function until(what: string, ok: () => boolean, child: Child): Promise<void> {
  await waitFor(
    () => `${what}; the process printed: ${child.out()}${child.err()}`,
    () => {
      if (child.child.exitCode !== null || child.child.signalCode !== null)
        assert.fail(`${what}: the process exited: ${child.out()}${child.err()}`);
      return ok();
    },
    { timeoutMs: 60_000 },
  );
}

async function serve(project: string, data: string, actor = "ada"): Promise<Child & { url: string }> {
  fs.writeFileSync(path.join(project, "auth.json"), JSON.stringify({ [TOKEN]: actor }));
  const s = start(["serve", "--port", "0", "--data", data, "--auth", "auth.json"], project);
  await until("statecraft serve listens", () => /listening on http:\/\/\S+/.test(s.out()), s);
  return { ...s, url: /listening on (http:\/\/\S+)/.exec(s.out())![1] };
}

async function stop(c: Child | undefined): Promise<void> {
  if (!c || c.child.exitCode !== null || c.child.signalCode !== null) return;
  c.child.kill("SIGTERM");
  await c.exit;
}

const RUN = [
  "run",
  "main.agent",
  "--agent",
  "support",
  "--backend",
  "rt",
  "--script",
  "demo.script.json",
  "--user-id",
  "ada",
  "--user-name",
  "Ada",
];

async function serviceEvents(url: string, id: string): Promise<SessionEvent[]> {
  const r = await fetch(`${url}/sessions/${id}/events?limit=1000`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  assert.equal(r.status, 200);
  return ((await r.json()) as { events: SessionEvent[] }).events;
}

function withoutRuntime(events: SessionEvent[]): SessionEvent[] {
  return events.map((e) => {
    if (e.type !== "session.start") return e;
    const { runtime: _runtime, ...rest } = e;
    return rest as SessionStartEvent;
  });
}

after(removeTemps);

describe("statecraft run on a stateful backend (dist/cli.js serve + dist/cli.js run)", function () {
  this.timeout(180_000);
  let service: (Child & { url: string }) | undefined;
  let proxy: Proxy | undefined;
  let project: string;

  before(async () => {
    const data = await freshPgliteDir();
    project = statefulProject();
    service = await serve(project, data);
    proxy = await recordingProxy(service.url);
    // The backend points at the proxy in front of the service.
    const main = path.join(project, "main.agent");
    fs.writeFileSync(
      main,
      fs
        .readFileSync(main, "utf8")
        .replace(
          "backend rt {\n  kind: stateful\n",
          `backend rt {\n  kind: stateful\n  endpoint: "${proxy.url}"\n`,
        ),
    );
  });
  after(async () => {
    await proxy?.close();
    await stop(service);
  });

  it("runs two turns in the service; the second request carries no history; the log mirrors the service's", async () => {
    const run = start([...RUN, "--input", TURN1, "--input", TURN2, "--approve", "all"], project, {
      RT_TOKEN: TOKEN,
    });
    const code = await run.exit;
    assert.equal(code, 0, run.err());
    assert.equal(run.out(), `${REPLY1}\n${REPLY2}\n`, "replies on stdout, nothing else");
    const err = run.err();
    assert.match(err, /^> Hi, I'm Ada/m);
    assert.match(err, /^ {2}-> lookup_order \{"order_id":"A1003"\}$/m);
    assert.match(err, /^ {2}-> refund \{"order_id":"A1001","amount":40,"reason":"arrived damaged"\}$/m);
    assert.match(err, /^ {2}<- refund approved by ada$/m);
    const m = SESSION_LINE.exec(err);
    assert.ok(m, err);
    const [, id, rel, turns] = m;
    assert.equal(turns, "2");
    assert.ok(!err.includes(TOKEN) && !run.out().includes(TOKEN), "the token is never printed");

    // On the wire: the first turn carries the definition, the second only its input.
    const turnsSent = proxy!.turns();
    const mine = proxy!.requests.filter(
      (r) => r.path === "/invocations" && r.headers["x-amzn-bedrock-agentcore-runtime-session-id"] === id,
    );
    const bodies = mine.map((r) => JSON.parse(r.body) as Record<string, unknown>).filter((b) => !b.action);
    assert.equal(bodies.length, 2);
    assert.ok(turnsSent.length >= 2);
    assert.ok(bodies[0].definition && bodies[0].user && bodies[0].source === "main.agent");
    assert.deepEqual(Object.keys(bodies[1]).sort(), ["approve", "input", "script"]);
    assert.equal(bodies[1].input, TURN2);
    const second = mine.filter((r) => !JSON.parse(r.body).action)[1].body;
    assert.ok(!second.includes(TURN1) && !second.includes(REPLY1), "no history in turn 2's request");
    assert.ok(mine.every((r) => r.headers.authorization === `Bearer ${TOKEN}`));

    // The mirrored log is the service's log, event for event.
    const file = path.join(project, rel);
    const mirrored = readLog(file).events;
    assert.deepEqual(withoutRuntime(mirrored), await serviceEvents(service!.url, id));
    assert.deepEqual((mirrored[0] as SessionStartEvent).runtime, { endpoint: proxy!.url });
    assert.ok(!fs.readFileSync(file, "utf8").includes(TOKEN));

    // And the CLI reads it like any local session.
    const list = await runCli(["sessions", "--format", "json"], project);
    assert.equal(list.code, 0, list.err);
    const row = (
      JSON.parse(list.out) as { id: string; status: string; turns: number; backend: { kind: string } }[]
    ).find((r) => r.id === id);
    assert.deepEqual(row && [row.status, row.turns, row.backend.kind], ["ok", 2, "stateful"]);
    const show = await runCli(["sessions", "show", id], project);
    assert.equal(show.code, 0, show.err);
    assert.match(show.out, /agent support on rt \(stateful, local\), ok/);
    assert.match(show.out, new RegExp(`reply: ${REPLY2.replace(/[.()]/g, "\\$&")}`));
    const replay = await runCli(["replay", id, "--mode", "exact"], project);
    assert.equal(replay.code, 0, replay.out + replay.err);
    assert.match(
      replay.out,
      /exact replay of \S+: 6 model requests in 2 turns match the recording \(definition unchanged\)/,
    );
    // The service runs the tools itself, so a live replay there must opt into running them again.
    const refused = await runCli(["replay", id, "--mode", "live"], project);
    assert.equal(refused.code, 2);
    assert.match(
      refused.err,
      /^statecraft replay: a runtime service runs the tools itself .* pass --live-tools/,
    );
    // A live replay on the stateful backend is a new session in the service, compared turn by turn.
    const live = start(["replay", id, "--mode", "live", "--live-tools", "--approve", "all"], project, {
      RT_TOKEN: TOKEN,
    });
    assert.equal(await live.exit, 0, live.err());
    assert.match(live.out(), /^live replay of \S+ on rt \(stateful\) as (\S{33,}), tools run for real:$/m);
    assert.match(live.out(), /^no divergence: every turn replied the same and called the same tools$/m);
    const again = /as (\S+), tools run for real:$/m.exec(live.out())![1];
    assert.deepEqual(
      withoutRuntime(readLog(path.join(project, ".statecraft", "sessions", `${again}.jsonl`)).events),
      await serviceEvents(service!.url, again),
    );
  });

  it("asks y/N for an approval in a chat and posts the answer", async () => {
    const run = start([...RUN, "--chat"], project, { RT_TOKEN: TOKEN }, true);
    run.child.stdin!.write(`${TURN1}\n`);
    await until("turn 1 replied", () => run.out().includes(REPLY1), run);
    run.child.stdin!.write(`${TURN2}\n`);
    await until("the approval is asked", () => /Approve refund .*\? \[y\/N\] $/.test(run.err()), run);
    run.child.stdin!.write("y\n");
    await until("turn 2 replied", () => run.out().includes(REPLY2), run);
    run.child.stdin!.end();
    assert.equal(await run.exit, 0, run.err());
    const id = SESSION_LINE.exec(run.err())![1];
    const posted = proxy!.requests.filter((r) => r.path.startsWith(`/sessions/${id}/approvals/`));
    assert.equal(posted.length, 1);
    assert.deepEqual(JSON.parse(posted[0].body), { approved: true });
  });

  it("says what to fix when the token is wrong or the service is not running", async () => {
    const wrong = await runCli([...RUN, "--input", "hi"], project);
    assert.equal(wrong.code, 1);
    assert.match(
      wrong.err,
      /^statecraft run: the runtime service at http:\S+ refused the request \(401 unauthorized: .*\): env var RT_TOKEN \(backend 'rt' api_key\) is not set/m,
    );
    assert.ok(!SESSION_LINE.test(wrong.err), "no session was created");
    const elsewhere = tempDir();
    fs.cpSync(project, elsewhere, { recursive: true, filter: (s) => !s.includes(".statecraft") });
    const main = path.join(elsewhere, "main.agent");
    fs.writeFileSync(main, fs.readFileSync(main, "utf8").replace(proxy!.url, "http://127.0.0.1:9"));
    const down = await runCli([...RUN, "--input", "hi"], elsewhere);
    assert.equal(down.code, 1);
    assert.match(
      down.err,
      /^statecraft run: cannot reach the Statecraft runtime service at http:\/\/127\.0\.0\.1:9 for backend 'rt' \(ECONNREFUSED\): start it with `statecraft serve`/m,
    );
  });
});

describe("statecraft run on a stateful backend: the service killed mid-turn", function () {
  this.timeout(180_000);

  it("keeps what streamed, records the turn interrupted, and the restarted service agrees", async () => {
    const data = await freshPgliteDir();
    const project = statefulProject();
    let service: (Child & { url: string }) | undefined = await serve(project, data);
    const main = path.join(project, "main.agent");
    const port = new URL(service.url).port;
    fs.writeFileSync(
      main,
      fs
        .readFileSync(main, "utf8")
        .replace(
          "backend rt {\n  kind: stateful\n",
          `backend rt {\n  kind: stateful\n  endpoint: "${service.url}"\n`,
        ),
    );
    const run = start([...RUN, "--chat"], project, { RT_TOKEN: TOKEN }, true);
    try {
      run.child.stdin!.write(`${TURN1}\n`);
      await until("turn 1 replied", () => run.out().includes(REPLY1), run);
      run.child.stdin!.write(`${TURN2}\n`);
      await until("the approval is asked", () => /Approve refund .*\? \[y\/N\] $/.test(run.err()), run);
      service.child.kill("SIGKILL");
      await service.exit;
      run.child.stdin!.write("y\n");
      run.child.stdin!.end();
      assert.equal(await run.exit, 1);
      const err = run.err();
      assert.match(
        err,
        /(?:^|\[y\/N\] )statecraft run: turn 2 interrupted: the stream from the runtime service at http:\S+ was cut during turn 2 of session \S+ \(.*\) after \d+ events \(answering its approval failed too: cannot reach the Statecraft runtime service .*\); the events received are kept in \S+\.jsonl and the turn is recorded there as interrupted$/m,
      );
      assert.match(err, /^warning: the session was not ended on the runtime service: cannot reach/m);
      const m = SESSION_LINE.exec(err);
      assert.ok(m, err);
      const log = readLog(path.join(project, m[2])).events;
      const last = log[log.length - 1];
      assert.ok(last.type === "turn.end" && last.turn === 2 && last.status === "interrupted");
      assert.ok(log.some((e) => e.type === "policy.decision" && e.decision === "approval"));

      // The service, restarted on the same data, marks the turn interrupted at the same place.
      service = await serve(project, data);
      assert.notEqual(new URL(service.url).port, port);
      const served = await serviceEvents(service.url, m[1]);
      const up = withoutRuntime(log.slice(0, -1));
      assert.deepEqual(served.slice(0, up.length), up, "every event the client kept is the service's");
      // Recovery at start closed the turn: interrupted, with the seq the client gave its own record.
      const end = served.find((e) => e.type === "turn.end" && e.turn === 2);
      assert.ok(end?.type === "turn.end" && end.status === "interrupted");
      assert.equal(end.seq, last.seq);
    } finally {
      run.child.kill();
      await stop(service);
    }
  });
});

describe("statecraft run on a stateful backend without an endpoint: the embedded runtime", function () {
  this.timeout(180_000);

  it("starts the runtime in-process with its data in .statecraft/runtime and runs the session there", async () => {
    const project = statefulProject();
    // A ready database (migrated once per test run) where the embedded runtime keeps its data.
    fs.cpSync(await freshPgliteDir(), path.join(project, ".statecraft", "runtime"), { recursive: true });
    const r = await runCli(
      [...RUN, "--input", TURN1, "--input", TURN2, "--approve", "all", "--workspace", "."],
      project,
    );
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, `${REPLY1}\n${REPLY2}\n`);
    const m = SESSION_LINE.exec(r.err);
    assert.ok(m, r.err);
    const log = readLog(path.join(project, m[2])).events;
    assert.deepEqual((log[0] as SessionStartEvent).runtime, { endpoint: "embedded:.statecraft/runtime" });
    assert.deepEqual(
      log.filter((e) => e.type === "turn.end").map((e) => e.type === "turn.end" && e.reply),
      [REPLY1, REPLY2],
    );
    assert.equal(log[log.length - 1].type, "session.end");
    // The state is in the workspace's database, where `statecraft serve --data .statecraft/runtime` finds it.
    // Embedded sessions belong to actor `default`, as with `statecraft serve` and STATECRAFT_TOKEN.
    const served = await serve(project, path.join(project, ".statecraft", "runtime"), "default");
    try {
      assert.deepEqual(await serviceEvents(served.url, m[1]), withoutRuntime(log));
    } finally {
      await stop(served);
    }
  });
});

describe("the example's aws_runtime backend against statecraft serve (Bedrock through the fake runtime)", function () {
  this.timeout(180_000);

  it("statecraft run examples/support/main.agent --backend aws_runtime runs both turns in the service", async () => {
    const bedrock = await startFakeBedrock();
    const project = tempDir();
    fs.cpSync(path.join(ROOT, "examples/support"), project, {
      recursive: true,
      filter: (s) => !s.includes(`${path.sep}.statecraft`),
    });
    // The demo conversation, as the model would drive it: tool uses, then the reply, per turn.
    const steps = JSON.parse(fs.readFileSync(path.join(project, "demo.script.json"), "utf8")) as {
      call?: string;
      input?: unknown;
      reply?: string;
    }[];
    bedrock.script(
      ...steps.map((s) => (s.reply ? { text: s.reply } : { toolUses: [{ name: s.call!, input: s.input }] })),
    );
    const token = "tok-example-serve";
    // `statecraft serve` in the example's folder (its tools run there), with the token both sides read.
    const served = start(["serve", "--port", "0", "--data", await freshPgliteDir()], project, {
      ...bedrock.env,
      STATECRAFT_TOKEN: token,
    });
    try {
      await until("statecraft serve listens", () => /listening on http:\/\/\S+/.test(served.out()), served);
      const url = /listening on (http:\/\/\S+)/.exec(served.out())![1];
      // The example's endpoint is http://127.0.0.1:8080, serve's default port; this test takes a free one.
      const main = path.join(project, "main.agent");
      const text = fs.readFileSync(main, "utf8");
      assert.ok(text.includes('endpoint: "http://127.0.0.1:8080"'));
      fs.writeFileSync(main, text.replace('endpoint: "http://127.0.0.1:8080"', `endpoint: "${url}"`));
      const run = start(
        [
          "run",
          "main.agent",
          "--agent",
          "support",
          "--backend",
          "aws_runtime",
          "--user-id",
          "ada",
          "--user-name",
          "Ada",
          "--input",
          TURN1,
          "--input",
          TURN2,
          "--approve",
          "all",
        ],
        project,
        { STATECRAFT_TOKEN: token },
      );
      assert.equal(await run.exit, 0, run.err());
      assert.equal(run.out(), `${REPLY1}\n${REPLY2}\n`);
      assert.ok(SESSION_LINE.test(run.err()), run.err());
      // The model calls went from the service to Bedrock, and they carry the history the client did not send.
      assert.equal(bedrock.requests.length, steps.length);
      assert.ok(bedrock.requests.every((r) => r.auth === "sigv4" && r.modelId.includes("claude-3-5-sonnet")));
      const last = bedrock.requests[bedrock.requests.length - 1].raw;
      assert.ok(last.includes(TURN1) && last.includes(REPLY1));
    } finally {
      await stop(served);
      await bedrock.close();
    }
  });
});
