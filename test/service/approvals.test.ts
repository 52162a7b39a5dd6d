// An approval nobody answers: with approve "ask" the service waits a bounded time, then refuses the
// call. The log says the service refused it and why, not the session's user, and a late answer is
// turned away without changing what happened.

import { strict as assert } from "node:assert";
import {
  doneOf,
  eventsOf,
  freshPgliteDir,
  frames,
  removeTempDirs,
  testDefinition,
  withService,
  Client,
} from "./helpers";

// A root hook, run once every file is done: the PGlite template the other service suites copy stays.
after(removeTempDirs);

describe("runtime service: an approval that is never answered", function () {
  this.timeout(120_000);

  it("is refused after the wait, recorded as refused by the service, and a late answer gets 409", async () => {
    await withService(
      {
        dataDir: await freshPgliteDir(),
        tokens: { "alice-token": "alice" },
        approvalTimeoutMs: 300,
        pollMs: 20,
      },
      async (svc) => {
        const alice = new Client(svc.url, "alice-token");
        const res = await alice.invoke("s-unanswered", {
          input: "refund please",
          definition: testDefinition(),
          user: { id: "ada" },
          script: [{ call: "refund", input: { amount: 10 } }, { reply: "I could not refund it." }],
        });
        assert.equal(res.status, 200);
        const seen = [];
        for await (const f of frames(res)) seen.push(f);
        const events = eventsOf(seen);
        const approval = events.find((e) => e.type === "approval");
        assert.ok(approval?.type === "approval");
        assert.deepEqual([approval.approved, approval.by], [false, "service (no answer within 300 ms)"]);
        assert.equal(events.filter((e) => e.type === "tool.result").length, 0, "the refund did not run");
        assert.deepEqual(doneOf(seen), { turn: 1, status: "ok" });
        const late = await alice.json("POST", `/sessions/s-unanswered/approvals/${approval.callId}`, {
          approved: true,
        });
        assert.equal(late.status, 409);
        assert.match(late.body.error.message, /already refused by service \(no answer within 300 ms\)/);
      },
    );
  });
});
