// Durability of the real CLI service: `node dist/cli.js serve` is killed with
// SIGKILL in the middle of a turn (while a command tool runs), restarted on
// the same data folder, and must have lost no event it streamed, mark the
// unfinished turn interrupted, and go on with the session. Also: SIGTERM
// stops it cleanly, and it refuses a public address without a token.

import { strict as assert } from "node:assert";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { SessionEvent } from "../../server/protocol/events";
import {
  Client,
  doneOf,
  eventsOf,
  frames,
  freshPgliteDir,
  removeTempDirs,
  testDefinition,
  WAIT_TOOL,
  type Frame,
} from "./helpers";
import { waitFor } from "../helpers/waitFor";

const CLI = path.resolve(__dirname, "../../dist/cli.js");

interface Served {
  child: ChildProcess;
  url: string;
  output: () => string;
  exit: Promise<number | null>;
}

async function serve(dataDir: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<Served> {
  assert.ok(fs.existsSync(CLI), `${CLI} is missing: build it first with npm run build`);
  const child = spawn(process.execPath, [CLI, "serve", "--port", "0", "--data", dataDir, ...extra], {
    env: { ...process.env, STATECRAFT_TOKEN: "", DATABASE_URL: "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (out += c.toString()));
  const exit = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const url = await waitFor(
    () => `statecraft serve to listen; it printed: ${out}`,
    () => {
      if (child.exitCode !== null) throw new Error(`statecraft serve exited: ${out}`);
      return /listening on (http:\/\/\S+)/.exec(out)?.[1];
    },
    { timeoutMs: 60_000 },
  );
  return { child, url, output: () => out, exit };
}

after(removeTempDirs);

describe("runtime service process: crash and restart (dist/cli.js serve)", function () {
  this.timeout(120_000);
  const def = testDefinition(WAIT_TOOL);

  it("loses no committed event on kill -9 mid-turn, marks the turn interrupted and continues the session", async () => {
    const data = await freshPgliteDir();
    const first = await serve(data);
    const id = "crash-1";
    let streamed: Frame[] = [];
    try {
      const c = new Client(first.url);
      const one = await c.turn(id, {
        input: "first question",
        definition: def,
        user: { id: "ada" },
        approve: "all",
        script: [{ reply: "first answer" }],
      });
      assert.deepEqual(doneOf(one), { turn: 1, status: "ok" });
      streamed = [...one];
      const res = await c.invoke(id, {
        input: "second question",
        approve: "all",
        script: [{ call: "wait", input: {} }, { reply: "never said" }],
      });
      assert.equal(res.status, 200);
      for await (const f of frames(res)) {
        streamed.push(f);
        // The tool is running now (allowed, not finished): kill the service.
        if (f.event === "policy.decision") {
          first.child.kill("SIGKILL");
          break;
        }
      }
      assert.equal(await first.exit, null, "killed by a signal");
    } finally {
      if (first.child.exitCode === null && first.child.signalCode === null) first.child.kill("SIGKILL");
    }
    const seen = eventsOf(streamed);
    assert.equal(seen[seen.length - 1].type, "policy.decision");

    const second = await serve(data);
    try {
      const c = new Client(second.url);
      const log = (await c.json("GET", `/sessions/${id}/events`)).body.events as SessionEvent[];
      assert.deepEqual(log.slice(0, seen.length), seen, "every streamed event is in the store, unchanged");
      const closing = log.slice(seen.length);
      assert.deepEqual(
        closing.map((e) => e.type),
        ["turn.end"],
        "only the interrupted mark was added",
      );
      const end = closing[0];
      assert.ok(end.type === "turn.end");
      assert.equal(end.turn, 2);
      assert.equal(end.status, "interrupted");
      assert.match(end.reason ?? "", /stopped while this turn ran/);
      const summary = (await c.json("GET", `/sessions/${id}`)).body;
      assert.equal(summary.status, "idle");
      assert.equal(summary.turns, 2);

      const three = await c.turn(id, {
        input: "third question",
        approve: "all",
        script: [{ reply: "third answer" }],
      });
      assert.deepEqual(doneOf(three), { turn: 3, status: "ok" });
      const ctx = eventsOf(three).find((e) => e.type === "context.snapshot");
      assert.ok(ctx && ctx.type === "context.snapshot");
      assert.deepEqual(
        ctx.messages.filter((m) => m.role === "user").map((m) => m.content),
        ["first question", "third question"],
        "the session continues from the turn before the interrupted one",
      );
      second.child.kill("SIGTERM");
      assert.equal(await second.exit, 0, second.output());
      assert.match(second.output(), /SIGTERM, stopping/);
    } finally {
      if (second.child.exitCode === null) second.child.kill("SIGKILL");
    }
  });

  it("loses no streamed event on kill -9 while many sessions' events are committed in batches", async () => {
    const data = await freshPgliteDir();
    const first = await serve(data);
    const sessions = 12;
    const streamed = new Map<string, Frame[]>();
    let dones = 0;
    let killed = false;
    try {
      const c = new Client(first.url);
      // Sessions run turns back to back, so their commits share batches; the kill lands among them.
      await Promise.all(
        Array.from({ length: sessions }, async (_, s) => {
          const id = `batch-${s}`;
          const seen: Frame[] = [];
          streamed.set(id, seen);
          for (let t = 1; !killed; t++) {
            let res: Response;
            try {
              res = await c.invoke(id, {
                input: `question ${t}`,
                ...(t === 1 ? { definition: def, user: { id: `u${s}` } } : {}),
                approve: "all",
                script: [{ reply: `answer ${t}` }],
              });
              for await (const f of frames(res)) {
                seen.push(f);
                if (f.event === "done" && ++dones === sessions * 3 && !killed) {
                  killed = true;
                  first.child.kill("SIGKILL");
                }
              }
            } catch {
              return; // the connection died with the service
            }
          }
        }),
      );
      assert.equal(await first.exit, null, "killed by a signal");
    } finally {
      if (first.child.exitCode === null && first.child.signalCode === null) first.child.kill("SIGKILL");
    }
    const second = await serve(data);
    try {
      const c = new Client(second.url);
      let total = 0;
      for (const [id, frames] of streamed) {
        const seen = eventsOf(frames);
        total += seen.length;
        const log = (await c.json("GET", `/sessions/${id}/events`)).body.events as SessionEvent[];
        assert.deepEqual(
          log.slice(0, seen.length),
          seen,
          `every event streamed for ${id} is in the store, unchanged`,
        );
        // Committed events the kill kept from reaching the client may follow: streamed is a prefix of stored.
        assert.deepEqual(
          log.map((e) => e.seq),
          log.map((_, i) => i + 1),
          `${id}: the log has no gap`,
        );
      }
      assert.ok(total >= sessions * 3 * 4, `the sessions streamed events before the kill (${total})`);
      second.child.kill("SIGTERM");
      assert.equal(await second.exit, 0, second.output());
    } finally {
      if (second.child.exitCode === null) second.child.kill("SIGKILL");
    }
  });

  it("refuses a second service on the same embedded database while the first runs", async () => {
    const data = await freshPgliteDir();
    const first = await serve(data);
    try {
      const second = spawnSync(process.execPath, [CLI, "serve", "--port", "0", "--data", data], {
        env: { ...process.env, STATECRAFT_TOKEN: "", DATABASE_URL: "" },
        encoding: "utf8",
      });
      assert.equal(second.status, 2, second.stderr);
      assert.match(
        second.stderr,
        new RegExp(`in use by another statecraft serve \\(pid ${first.child.pid}\\)`),
      );
      assert.equal((await fetch(first.url + "/ping")).status, 200, "the first one is unharmed");
    } finally {
      first.child.kill("SIGTERM");
      await first.exit;
    }
    // Stopped cleanly: the folder is free again.
    const again = await serve(data);
    again.child.kill("SIGTERM");
    assert.equal(await again.exit, 0);
  });

  it("refuses to listen on a public address without a token, and on a bad auth file", () => {
    const run = (args: string[]) =>
      spawnSync(process.execPath, [CLI, "serve", "--port", "0", ...args], {
        env: { ...process.env, STATECRAFT_TOKEN: "", DATABASE_URL: "" },
        encoding: "utf8",
      });
    const open = run(["--host", "0.0.0.0", "--data", path.join(path.dirname(CLI), "never-created")]);
    assert.equal(open.status, 2);
    assert.match(open.stderr, /refusing to listen on 0\.0\.0\.0 without a token/);
    const bad = run(["--auth", "/nonexistent/auth.json"]);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /cannot read the auth file/);
  });
});
