// Inlay hints over the protocol: token counts after instructions and context
// sources, context windows after model ids, and only those within the range
// the client asks for. `<|name|>` marks where each hint must be.

import { strict as assert } from "node:assert";
import type { InlayHint, Position } from "vscode-languageserver-protocol/node";
import { markers, positionOf, TestClient } from "./harness";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const o200k = require("gpt-tokenizer/encoding/o200k_base") as { countTokens(text: string): number };

const POLICY = "Refunds are issued within 30 days of purchase, to the original payment method only.\n";

const SOURCE = `backend cloud {
  kind: stateless
  provider: openai
  model: "gpt-4.1-mini"<|cloudWindow|>
  api_key: env("OPENAI_API_KEY")
}

backend box {
  kind: stateless
  provider: compatible
  endpoint: "http://localhost:11434/v1"
  model: "qwen2.5"<|boxWindow|>
  context_window: 32_000
}

context policy {
  from: file("docs/policy.md")<|policy|>
}

context short_policy {
  from: file("docs/policy.md")<|short|>
  max_tokens: 3
}

context live {
  from: http("GET", "https://example.com/faq")<|live|>
  max_tokens: 200
}

agent support {
  backend: cloud
  instructions: """
    Help customers with refunds.
  """<|instructions|>
  context: [policy, short_policy, live]
}

agent helper {
  backend: box
  instructions: "Say hello."<|estimate|>
}
`;

/** The clean text and the position of every named marker. */
function named(source: string): { text: string; at: Record<string, Position> } {
  const at: Record<string, Position> = {};
  const names: string[] = [];
  const text = source.replace(/<\|(\w+)\|>/g, (_, n: string) => (names.push(n), "<|>"));
  const m = markers(text);
  names.forEach((n, i) => (at[n] = m.positions[i]));
  return { text: m.text, at };
}

const { text, at } = named(SOURCE);
const policyTokens = o200k.countTokens(POLICY);
const instructionTokens = o200k.countTokens("Help customers with refunds.");

describe("lsp: inlay hints", () => {
  let client: TestClient;
  before(async () => {
    client = await TestClient.start({ files: { "main.agent": text, "docs/policy.md": POLICY } });
    await client.open("main.agent", text);
  });
  after(async () => client?.stop());

  const hints = (start: Position, end: Position) =>
    client.request<InlayHint[] | null>("textDocument/inlayHint", {
      textDocument: { uri: client.uri("main.agent") },
      range: { start, end },
    });
  const summary = (hs: InlayHint[] | null) =>
    (hs ?? []).map((h) => ({ position: h.position, label: h.label, paddingLeft: h.paddingLeft }));

  it("shows token counts and context windows after the values they describe", async () => {
    const all = await hints({ line: 0, character: 0 }, positionOf(text, text.length));
    assert.deepEqual(summary(all), [
      { position: at.cloudWindow, label: "1,047,576-token window", paddingLeft: true },
      { position: at.boxWindow, label: "32,000-token window", paddingLeft: true },
      { position: at.policy, label: `${policyTokens} tokens`, paddingLeft: true },
      { position: at.short, label: "≤ 3 tokens", paddingLeft: true },
      { position: at.live, label: "≤ 200 tokens", paddingLeft: true },
      { position: at.instructions, label: `${instructionTokens} tokens`, paddingLeft: true },
      { position: at.estimate, label: summary(all).at(-1)?.label, paddingLeft: true },
    ]);
    // A model the catalog does not know (on a compatible server) is counted with the estimate.
    assert.match(String(summary(all).at(-1)?.label), /^~\d+ tokens$/);
  });

  it("explains a truncated source in the tooltip", async () => {
    const [hint] = (await hints(at.short, at.short)) ?? [];
    assert.equal(hint.label, "≤ 3 tokens");
    assert.equal(
      hint.tooltip,
      `docs/policy.md is ${policyTokens} tokens (o200k_base); max_tokens truncates it to 3.`,
    );
  });

  it("returns only the hints within the requested range", async () => {
    const some = await hints({ line: at.policy.line, character: 0 }, { line: at.live.line, character: 0 });
    assert.deepEqual(
      summary(some).map((h) => h.label),
      [`${policyTokens} tokens`, "≤ 3 tokens"],
    );
  });
});
