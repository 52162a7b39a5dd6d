// Export as Test (client/src/sessions/exportTest.ts): literals of the
// language, and a recorded session exported as a `test` block that
// `statecraft test` then runs and passes, offline.

import { strict as assert } from "node:assert";
import {
  exportTest,
  stringLiteral,
  uniqueTestName,
  valueLiteral,
} from "../../client/src/sessions/exportTest";
import { modelFromEvents } from "../../client/src/sessions/model";
import { runCli } from "../cli/helpers";
import { removeTempDirs, tempDir, writeFile } from "../runtime/helpers";
import { LOOKUP, record, REFUND, SUPPORT } from "./helpers";

describe("Export as Test", () => {
  after(removeTempDirs);

  const STRINGS: [string, string][] = [
    ["plain", '"plain"'],
    ['say "hi"\\now', '"say \\"hi\\"\\\\now"'],
    ["line\nnext\ttab", '"line\\nnext\\ttab"'],
    ["bell\u0007", '"bell\\u{7}"'],
    ["{{ user.name }}", '"\\{{ user.name }}"'],
  ];
  for (const [text, literal] of STRINGS)
    it(`writes ${JSON.stringify(text)} as the literal ${literal}`, () =>
      assert.equal(stringLiteral(text), literal));

  it("writes JSON values as values of the language, keys bare where they are identifiers", () => {
    assert.equal(
      valueLiteral({ order_id: "A1", "two words": [1, true, null], n: Number.NaN }),
      '{ order_id: "A1", "two words": [1, true, null], n: null }',
    );
    assert.equal(valueLiteral({}), "{}");
  });

  it("names the test after the session, numbered when the file already has that name", () => {
    assert.equal(uniqueTestName("session x", ""), "session x");
    assert.equal(
      uniqueTestName("session x", 'test "session x" {}\ntest "session x (2)" {}'),
      "session x (3)",
    );
  });

  it("a recorded session exports as a test that passes offline, with its tool results mocked", async () => {
    const events = await record([LOOKUP, REFUND], {
      results: { lookup_order: { status: "shipped" }, refund: { refund_id: "R1" } },
    });
    const model = modelFromEvents("s1", events);
    const exported = exportTest(model, SUPPORT);
    assert.equal(exported.turns, 2);
    assert.match(exported.text, /^ {2}tool lookup_order returns \{ status: "shipped" \}$/m);
    assert.match(exported.text, /^ {2}approve refund$/m);
    assert.match(exported.text, /^ {2}expect tool refund called with \{ order_id: "A1001", amount: 40 \}$/m);
    const dir = tempDir("statecraft-client-");
    const file = writeFile(dir, "main.agent", `${SUPPORT}\n${exported.text}`);
    const run = await runCli(["test", file], dir);
    assert.equal(run.code, 0, run.out + run.err);
    assert.ok(run.out.includes(exported.name), run.out);
  });

  it("stops before a turn that did not end ok, and says so", async () => {
    const events = await record([LOOKUP, { input: "And then?", script: [] }]);
    const exported = exportTest(modelFromEvents("s2", events), SUPPORT);
    assert.equal(exported.turns, 1);
    assert.equal(
      exported.notes.at(-1),
      `turn 2 ended failed (${notesReason(events)}); the test stops before it`,
    );
    assert.throws(() => exportTest(modelFromEvents("s3", events.slice(1))), /has no session.start event/);
  });
});

function notesReason(events: Awaited<ReturnType<typeof record>>): string {
  const end = events.filter((e) => e.type === "turn.end").at(-1);
  return end?.type === "turn.end" ? (end.reason ?? "") : "";
}
