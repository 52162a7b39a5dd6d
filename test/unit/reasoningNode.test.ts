// The Session Explorer shows a model call's reasoning as one collapsed child
// of the call, with the summary in its tooltip: never as the reply.

import { strict as assert } from "node:assert";
import { describeEvent, eventChildren } from "../../client/src/sessions/nodes";
import type { ModelResponseEvent, SessionEvent } from "../../server/protocol/events";

const call: ModelResponseEvent = {
  type: "model.response",
  seq: 5,
  ts: "2026-12-02T00:00:00.000Z",
  turn: 1,
  step: 0,
  text: "Order A1003 has shipped.",
  toolCalls: [],
  usage: { inputTokens: 100, outputTokens: 40 },
  latencyMs: 900,
  stopReason: "end_turn",
  reasoning: { summary: "The user asks about A1003; the lookup said shipped.", tokens: 128 },
};

describe("Session Explorer: reasoning under a model call", () => {
  it("is one child of the call, with the summary and tokens, and the call still shows the reply", () => {
    const children = eventChildren("event:ws/s1/5", call);
    assert.deepEqual(children, [
      {
        kind: "info",
        id: "event:ws/s1/5/reasoning",
        text: "Reasoning · 128 tokens: The user asks about A1003; the lookup said shipped.",
        detail: "The user asks about A1003; the lookup said shipped.",
        icon: "lightbulb",
      },
    ]);
    const turn = { turn: 1, events: [call] } as unknown as Parameters<typeof describeEvent>[0];
    const d = describeEvent(turn, call);
    assert.match(d.description ?? "", /replied “Order A1003 has shipped\.”/);
    assert.doesNotMatch(`${d.label} ${d.description}`, /A1003; the lookup/);
  });

  it("a call without reasoning, and other events, have no children", () => {
    const { reasoning: _, ...plain } = call;
    assert.deepEqual(eventChildren("e", plain as SessionEvent), []);
    assert.deepEqual(eventChildren("e", { ...call, type: "turn.start" } as unknown as SessionEvent), []);
  });
});
