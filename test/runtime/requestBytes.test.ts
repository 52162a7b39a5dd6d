// The engine's byte count of a model request is computed from memoized
// message sizes; it must equal the size of the JSON actually serialized.

import { strict as assert } from "node:assert";
import type { Message, ToolSchema } from "../../server/protocol/events";
import { requestJsonBytes } from "../../server/runtime/engine";

describe("requestJsonBytes", () => {
  const messages: Message[] = [
    { role: "system", content: "héllo ✓ 😀" },
    { role: "user", content: 'a "quoted"\nline' },
    { role: "assistant", content: "", toolCalls: [{ id: "1", name: "t", input: { a: "ü", n: [1, 2] } }] },
    { role: "tool", toolCallId: "1", name: "t", content: "{}", isError: false },
  ];
  const tools: ToolSchema[] = [
    { name: "t", description: "d", parameters: { type: "object", properties: {} } },
  ];

  for (const model of [undefined, "gpt-4.1-mini"])
    it(`equals Buffer.byteLength(JSON.stringify(request)) with model ${String(model)}`, () => {
      assert.equal(
        requestJsonBytes(model, messages, tools),
        Buffer.byteLength(JSON.stringify({ model, messages, tools })),
      );
      // Asked again (memoized sizes), the same answer.
      assert.equal(
        requestJsonBytes(model, messages, tools),
        Buffer.byteLength(JSON.stringify({ model, messages, tools })),
      );
    });

  it("handles no messages and no tools", () => {
    assert.equal(
      requestJsonBytes(undefined, [], []),
      Buffer.byteLength(JSON.stringify({ messages: [], tools: [] })),
    );
  });
});
