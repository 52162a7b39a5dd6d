// Hover over the protocol: one case per kind of thing under the cursor, on a
// small workspace whose files import each other. Cursors are named markers
// (`<|name|>`) in the sources; each case keeps its own and drops the others.

import { strict as assert } from "node:assert";
import type { Hover, MarkupContent, Range } from "vscode-languageserver-protocol/node";
import { markers, TestClient } from "./harness";

// Exact counts come from gpt-tokenizer itself, not from the server's wrapper around it.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const o200k = require("gpt-tokenizer/encoding/o200k_base") as { countTokens(text: string): number };

const REFUNDS = "Refunds are issued within 30 days of purchase, to the original payment method only.\n";

const SOURCES: Record<string, string> = {
  "types.agent": `type Order {
  id: string "The order id"
  total: number
}
`,
  "tools.agent": `import "types.agent"

tool lookup_order {
  description: "Look up an order by id"
  input { order_id: string "The order id" }
  output: Order
  run: http("GET", "https://orders.example/api/{{input.ord<|input|>er_id}}")
}
`,
  "main.agent": `// The <|comment|>support example.
import "tools.agent"

backend d<|devName|>ev {
  kind: state<|enum|>less
  provider: local
  model: "gpt-4.1-mini"
}

backend cloud {
  kind: stateless
  provider: openai
  model: "gpt-4o"
  api_key: e<|call|>nv("OPENAI_API_KEY")
}

mem<|keyword|>ory cust<|memoryName|>omer {
  scope: user
  window: 20
  fields {
    preferred_name?: string "How the customer likes to be addressed"
    open_tickets: integer
  }
}

context refund_<|contextName|>policy {
  description: "Company refund policy"
  from: file("docs/refunds.md")
  max_tokens: 5
}

agent support {
  description: "Tier-1 customer support"
  backend: cl<|backendRef|>oud
  model: "gpt-4.1-mini"
  tempe<|property|>rature: 0.2
  instructions: """
    You are the support agent for {{vars.company}}.
    The customer's <|instructions|>name is {{memory.pre<|template|>ferred_name}}.
  """
  vars { company: "Acme" }
  context: [refund_policy]
  memory: customer
  tools: [look<|toolRef|>up_order]
  handoffs: [bil<|agentRef|>ling]
}

agent billing {
  backend: dev
  instructions: "Handle <|estimate|>billing questions."
}
`,
};

const INSTRUCTIONS =
  "You are the support agent for {{vars.company}}.\nThe customer's name is {{memory.preferred_name}}.";

interface Case {
  name: string;
  file: string;
  marker: string;
  /** Substrings (or patterns) the markdown must contain. */
  expect: (string | RegExp)[];
  /** The text the hover's range must cover. */
  covers?: string;
}

const CASES: Case[] = [
  {
    name: "a declaration keyword: what the kind is",
    file: "main.agent",
    marker: "keyword",
    expect: ["**memory**", "What the agent remembers: scope, history window, typed fields."],
    covers: "memory",
  },
  {
    name: "a property name: its documentation and expected type",
    file: "main.agent",
    marker: "property",
    expect: ["**temperature**", "Sampling temperature, 0 to 2.", "Expects a number."],
    covers: "temperature",
  },
  {
    name: "a reference to a tool declared in an imported file: signature, description, file",
    file: "main.agent",
    marker: "toolRef",
    expect: [
      "```agent\ntool lookup_order(order_id: string) -> Order\n```",
      "Look up an order by id",
      "*Declared in `tools.agent`*",
    ],
    covers: "lookup_order",
  },
  {
    name: "a memory's own name: its signature with scope, window and fields",
    file: "main.agent",
    marker: "memoryName",
    expect: [
      "```agent\nmemory customer (scope user, window 20) { preferred_name?: string; open_tickets: integer }\n```",
    ],
    covers: "customer",
  },
  {
    name: "a reference to an agent",
    file: "main.agent",
    marker: "agentRef",
    expect: ["```agent\nagent billing\n```", "Runs on the local model on backend `dev`."],
    covers: "billing",
  },
  {
    name: "a backend's own name: kind, provider and model",
    file: "main.agent",
    marker: "devName",
    expect: ["```agent\nbackend dev: stateless local gpt-4.1-mini\n```", "Context window: 128,000 tokens"],
    covers: "dev",
  },
  {
    name: "a reference to a backend",
    file: "main.agent",
    marker: "backendRef",
    expect: ["```agent\nbackend cloud: stateless openai gpt-4o\n```", "Context window: 128,000 tokens"],
    covers: "cloud",
  },
  {
    name: "an enum word: what it means",
    file: "main.agent",
    marker: "enum",
    expect: ["**stateless** *(backend kind)*", "resends the whole context on every call"],
    covers: "stateless",
  },
  {
    name: "a built-in call: its signature and parameters",
    file: "main.agent",
    marker: "call",
    expect: ["```agent\nenv(name: string)\n```", "Never written to a session log.", "- `name: string`"],
    covers: "env",
  },
  {
    name: "an agent's instructions: the exact count with the agent's model (agent model overrides the backend's)",
    file: "main.agent",
    marker: "instructions",
    expect: [
      `**Instructions:** ${o200k.countTokens(INSTRUCTIONS)} tokens (o200k_base)`,
      "`gpt-4.1-mini` on backend `cloud`",
    ],
  },
  {
    name: "instructions on a local backend: an estimate",
    file: "main.agent",
    marker: "estimate",
    expect: [/^\*\*Instructions:\*\* ~\d+ tokens \(estimate\)/, "the local model on backend `dev`"],
    covers: '"Handle billing questions."',
  },
  {
    name: "a context's name: the file's tokens, and that max_tokens truncates it",
    file: "main.agent",
    marker: "contextName",
    expect: [
      '```agent\ncontext refund_policy: file("docs/refunds.md")\n```',
      "Company refund policy",
      `**Tokens:** ${o200k.countTokens(REFUNDS)} tokens (o200k_base) in \`docs/refunds.md\`, for agent \`support\``,
      "`max_tokens` truncates it to 5 tokens.",
    ],
    covers: "refund_policy",
  },
  {
    name: "a memory template: the field it reads and its type",
    file: "main.agent",
    marker: "template",
    expect: [
      "```agent\npreferred_name?: string\n```",
      "Field of memory `customer` (scope user)",
      "How the customer likes to be addressed",
    ],
    covers: "{{memory.preferred_name}}",
  },
  {
    name: "an input template in a tool's run: the input field",
    file: "tools.agent",
    marker: "input",
    expect: ["`{{ input.order_id }}`", "```agent\norder_id: string\n```", "Input of tool `lookup_order`."],
    covers: "{{input.order_id}}",
  },
];

/** The source with only the named marker left (as `<|>`), and the other markers removed. */
function cursor(source: string, name: string) {
  return markers(source.replace(/<\|(\w+)\|>/g, (_, n: string) => (n === name ? "<|>" : "")));
}

const clean = (source: string) => source.replace(/<\|\w+\|>/g, "");

function textIn(text: string, range: Range): string {
  const lines = text.split("\n");
  if (range.start.line !== range.end.line) return "";
  return lines[range.start.line].slice(range.start.character, range.end.character);
}

describe("lsp: hover", () => {
  let client: TestClient;
  before(async () => {
    const files = Object.fromEntries(Object.entries(SOURCES).map(([n, s]) => [n, clean(s)]));
    client = await TestClient.start({ files: { ...files, "docs/refunds.md": REFUNDS } });
    for (const [name, text] of Object.entries(files)) await client.open(name, text);
  });
  after(async () => client?.stop());

  const hoverAt = (file: string, marker: string) => {
    const { positions } = cursor(SOURCES[file], marker);
    assert.equal(positions.length, 1, `marker ${marker} not found in ${file}`);
    return client.request<Hover | null>("textDocument/hover", {
      textDocument: { uri: client.uri(file) },
      position: positions[0],
    });
  };

  for (const c of CASES) {
    it(c.name, async () => {
      const h = await hoverAt(c.file, c.marker);
      assert.ok(h, "expected a hover");
      const contents = h.contents as MarkupContent;
      assert.equal(contents.kind, "markdown");
      for (const e of c.expect) {
        if (typeof e === "string")
          assert.ok(contents.value.includes(e), `missing ${JSON.stringify(e)} in:\n${contents.value}`);
        else assert.match(contents.value, e);
      }
      if (c.covers !== undefined) {
        assert.ok(h.range, "expected a range");
        assert.equal(textIn(clean(SOURCES[c.file]), h.range), c.covers);
      }
    });
  }

  it("answers null in a comment", async () => {
    assert.equal(await hoverAt("main.agent", "comment"), null);
  });
});
