// Stateful evals (evals.md section 3): an eval whose backend is `kind: stateful` runs its case runs as
// sessions in the runtime service. Two instances on one PostgreSQL, behind one endpoint (a
// round-robin proxy, as a load balancer would be), both run case runs of one eval; every case run's
// session carries its eval tag, and its checks are committed by the service as eval.score events
// before session.end, then mirrored into the local log.

import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { createBackend } from "../../server/backends";
import { statefulCases } from "../../server/cli/evalRemote";
import type { EvalIR } from "../../server/language/evalIR";
import type { SessionEvent, SessionStartEvent } from "../../server/protocol/events";
import { runEval } from "../../server/runtime/evalRunner";
import { loadChecked } from "../../server/runtime/prepare";
import { startService, type RunningService } from "../../server/service";
import { lines, removeTempDirs, tempDir, writeFile } from "../runtime/helpers";
import { startPostgres, type PostgresServer } from "./postgres";

/** Forwards each request to the next upstream in turn; counts the turn requests each one got. */
function roundRobin(upstreams: string[]): Promise<{ url: string; turns: number[]; close(): Promise<void> }> {
  const turns = upstreams.map(() => 0);
  let next = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const i = next++ % upstreams.length;
      if (req.url === "/invocations" && !/"action"\s*:/.test(body.toString())) turns[i]++;
      const target = new URL(req.url ?? "/", upstreams[i]);
      const out = http.request(target, { method: req.method, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      out.on("error", () => res.destroy());
      out.end(body);
    });
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        turns,
        close: () => new Promise((r) => server.close(() => r())),
      }),
    ),
  );
}

describe("stateful evals: two runtime service instances on one PostgreSQL", function () {
  this.timeout(120_000);
  let pg: PostgresServer;
  let a: RunningService;
  let b: RunningService;
  let proxy: Awaited<ReturnType<typeof roundRobin>>;
  before(async () => {
    pg = await startPostgres({ fsync: false });
    const databaseUrl = await pg.createDatabase();
    const tokens = { "t-evals": "evals" };
    [a, b] = await Promise.all([
      startService({ port: 0, databaseUrl, tokens, pollMs: 20 }),
      startService({ port: 0, databaseUrl, tokens, pollMs: 20 }),
    ]);
    proxy = await roundRobin([a.url, b.url]);
  });
  after(async () => {
    await proxy?.close();
    await a?.close();
    await b?.close();
    await pg?.stop();
    removeTempDirs();
  });

  it("runs the case runs of one eval on both instances, each a tagged session with its eval.score events", async () => {
    const dir = tempDir("statecraft-eval-fleet-");
    const file = writeFile(
      dir,
      "main.agent",
      lines(
        `backend fleet {`,
        `  kind: stateful`,
        `  provider: local`,
        `  endpoint: "${proxy.url}"`,
        `  api_key: env("FLEET_TOKEN")`,
        `}`,
        `agent support {`,
        `  backend: fleet`,
        `  instructions: "Help with orders."`,
        `}`,
      ),
    );
    const step = <T extends object>(s: T, line: number) => ({ ...s, line, source: `step ${line}` });
    const ev: EvalIR = {
      name: "fleet_quality",
      file,
      line: 1,
      agent: "support",
      backends: ["fleet"],
      judge: "local",
      trials: 6,
      passRate: 1,
      concurrency: 3,
      judges: [],
      cases: [
        {
          name: "two turns",
          file,
          line: 2,
          origin: "inline",
          steps: [
            step({ kind: "model.replies", text: "Hello!" }, 3),
            step({ kind: "send", text: "Hi" }, 4),
            step({ kind: "model.replies", text: "A1003 ships Tuesday." }, 5),
            step({ kind: "send", text: "Where is A1003?" }, 6),
            step({ kind: "expect.reply", op: "contains", text: "Tuesday" }, 7),
            step({ kind: "expect.turns", op: "==", value: 2 }, 8),
            step({ kind: "judge.scores", score: 0.9, reason: "Gives the day." }, 9),
          ] as EvalIR["cases"][number]["steps"],
          criteria: [{ kind: "judge", criterion: "Gives a day.", atLeast: 0.5, file, line: 10 }],
        },
      ],
    };
    const cases = statefulCases({ workspace: dir, env: { FLEET_TOKEN: "t-evals" } });
    let run;
    try {
      run = await runEval(loadChecked(file), ev, {
        workspace: dir,
        env: { FLEET_TOKEN: "t-evals" },
        createBackend,
        openStateful: cases.open,
      });
    } finally {
      await cases.close();
    }
    assert.equal(run.status, "passed", JSON.stringify(run.cases.map((c) => [c.error, c.checks])));
    assert.equal(run.cases.length, 6);
    assert.ok(proxy.turns[0] > 0 && proxy.turns[1] > 0, `turns per instance: ${proxy.turns.join(", ")}`);
    assert.equal(proxy.turns[0] + proxy.turns[1], 12);
    for (const c of run.cases) {
      const log = fs
        .readFileSync(path.join(dir, ".statecraft", "sessions", `${c.session}.jsonl`), "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as SessionEvent);
      const start = log[0] as SessionStartEvent;
      assert.deepEqual(start.eval, {
        run: run.run,
        eval: "fleet_quality",
        case: "two turns",
        trial: c.trial,
        backend: "fleet",
      });
      assert.equal(start.runtime?.endpoint, proxy.url);
      assert.deepEqual(
        log.slice(-4).map((e) => e.type),
        ["eval.score", "eval.score", "eval.score", "session.end"],
        "the service committed the checks before session.end",
      );
      assert.deepEqual(
        log.map((e) => e.seq),
        log.map((_, i) => i + 1),
        "one numbering: the service's",
      );
    }
  });
});
