// The validator against language.md: for every diagnostic code of section 4, inputs that must
// produce it (on exactly the marked range, with the contract's severity and a helpful message)
// and closely related inputs that must not; code-action data; multi-file programs; and a
// robustness sweep that deletes lines from every case and checks the validator never throws.
// Ranges are marked in the sources with ⟦ and ⟧ (see helpers/memfs.ts).

import { strict as assert } from "node:assert";
import * as path from "node:path";
import fc from "fast-check";
import {
  SEVERITY,
  type Diagnostic,
  type DiagnosticCode,
  type FixData,
  type Severity,
} from "../../server/language/diagnostics";
import { Program } from "../../server/language/program";
import { nodeFileSystem, findAgentFiles } from "../../server/language/nodeFileSystem";
import { checkFiles } from "../../server/language/validate";
import { checkSources, covered, markedSources, wsPath } from "./helpers/memfs";

/** Section 4 of language.md, copied by hand: the table the implementation must agree with. */
const CONTRACT_SEVERITY: Record<DiagnosticCode, Severity> = {
  "invalid-encoding": "error",
  syntax: "error",
  "unterminated-string": "error",
  "import-not-found": "error",
  "file-not-found": "warning",
  "duplicate-declaration": "error",
  "unknown-reference": "error",
  "wrong-kind": "error",
  "missing-property": "error",
  "unknown-property": "warning",
  "duplicate-property": "error",
  "type-mismatch": "error",
  "out-of-range": "error",
  "invalid-enum": "error",
  "secret-literal": "error",
  "backend-mismatch": "error",
  "undefined-template-variable": "error",
  "unknown-tool-input": "error",
  "missing-scope": "error",
  "unused-declaration": "hint",
  "context-budget": "warning",
  "unknown-model": "warning",
  "scripted-step-live": "error",
  // connections.md
  "sql-template": "error",
  "acts-for-mismatch": "error",
  "judge-missing": "error",
  "dataset-line": "error",
};

/** One file (named main.agent) or several, by path relative to /ws. */
type Sources = string | Record<string, string>;

interface Negative {
  code: DiagnosticCode;
  name: string;
  /** Every diagnostic of `code` is expected exactly on the ⟦marked⟧ ranges. */
  src: Sources;
  /** Every diagnostic of `code` matches this. */
  message: RegExp;
  /** Other codes this input rightly produces as well; anything else is taken for a cascade. */
  also?: DiagnosticCode[];
}

interface Positive {
  code: DiagnosticCode;
  name: string;
  /** Must produce no `code` diagnostic, and no error or warning at all unless listed in `also`. */
  src: Sources;
  also?: DiagnosticCode[];
}

// ---- shared fixtures -------------------------------------------------------------------------

const LOOKUP = `
tool lookup_order {
  description: "Look up an order by id"
  input { order_id: string "The order id" }
}
`;

const REFUND = `
tool refund {
  description: "Refund an order"
  input {
    order_id: string
    amount: number
    priority: enum("low", "high")
    tags?: string[]
  }
}
`;

const CUSTOMER = `
memory customer {
  scope: user
  fields {
    preferred_name?: string
    open_tickets: integer
  }
}
`;

/** An agent with a tool and a memory, and a test header for it: tests append steps. */
const SUPPORT = `${LOOKUP}${CUSTOMER}
agent support {
  instructions: "Help {{user.name}}"
  tools: [lookup_order]
  memory: customer
}
`;

const OPENAI = `
backend live {
  kind: stateless
  provider: openai
  model: "gpt-4.1-mini"
  api_key: env("OPENAI_API_KEY")
}
`;

/** An agent whose refund rule is given by `rule`. */
const denyRule = (rule: string) => `${REFUND}
agent a {
  instructions: "hi"
  tools: [refund]
  policy {
    ${rule}
  }
}
`;

/** The examples of language.md section 3, put together: a valid program. */
const LANGUAGE_MD_EXAMPLE: Record<string, string> = {
  "main.agent": `
import "types.agent"

backend aws_runtime {
  kind: stateful
  provider: bedrock
  model: "anthropic.claude-3-5-sonnet-20241022-v2:0"
  region: "us-east-1"
  endpoint: "http://127.0.0.1:8080"
  api_key: env("STATECRAFT_TOKEN")
}

tool lookup_order {
  description: "Look up an order by id"
  input { order_id: string "The order id" }
  output: Order
  run: http("GET", "https://orders.example/api/{{input.order_id}}")
  requires: ["orders:read"]        // identity scopes needed to call it
  timeout_ms: 5000
}

tool refund {
  description: "Refund an order"
  input {
    order_id: string
    amount: number
  }
  run: http("POST", "https://orders.example/api/refunds")
  requires: ["refunds:write"]
}

context refund_policy {
  description: "Company refund policy"
  from: file("docs/refunds.md")      // file | http | command | mcp
  refresh: per_session               // per_session | per_turn
  max_tokens: 1500                   // truncated past this, with a marker
}

memory customer {
  scope: user              // session | user | agent: who shares it
  window: 20               // turns of history kept verbatim
  summarize_after: 6000    // tokens of history before older turns are summarized
  fields {
    preferred_name?: string
    open_tickets: integer
  }
}

agent support {
  description: "Tier-1 customer support"
  backend: aws_runtime
  model: "anthropic.claude-3-5-sonnet-20241022-v2:0"
  temperature: 0.2
  instructions: """
    You are the support agent for {{vars.company}}.
    The customer's name is {{memory.preferred_name}}.
  """
  vars { company: "Acme" }
  context: [refund_policy]
  memory: customer
  tools: [lookup_order, refund]
  handoffs: [billing]              // other agents it may transfer to
  identity {
    role: "support-tier-1"
    acts_for: user                 // user | service
    scopes: ["orders:read", "refunds:write"]
  }
  policy {
    require_approval: [refund]
    deny refund when input.amount > 500
    max_turns: 10
    max_tool_calls: 20
    max_tokens: 50_000             // per session, input + output
  }
}

agent billing {
  backend: aws_runtime
  instructions: "Billing questions."
}

test "refund over the limit is refused" {
  agent: support
  backend: local                   // default: local; name another to run live
  user: { id: "u1", name: "Ada" }

  model calls lookup_order { order_id: "A1" }
  tool lookup_order returns { id: "A1", total: 900, status: "shipped" }
  model calls refund { order_id: "A1", amount: 900 }
  model replies "I can't refund more than 500 without approval."
  send "Refund order A1 please"

  expect tool lookup_order called with { order_id: "A1" }
  expect tool refund denied
  expect reply contains "approval"
  expect memory.open_tickets == 0
}
`,
  "types.agent": `
type Order {
  id: string              "The order id"     // optional description string
  total: number
  status: enum("open", "shipped", "refunded")
  items?: LineItem[]      // ? = optional, [] = list
}

type LineItem { sku: string, quantity: integer }
`,
  "docs/refunds.md": "Refunds over 500 USD need a supervisor.\n",
};

// ---- negative cases: each must produce its code on exactly the marked ranges ------------------

const NEGATIVE: Negative[] = [
  // invalid-encoding (a lone \uDCxx stands for a byte that is not UTF-8: see memoryFileSystem)
  {
    code: "invalid-encoding",
    name: "a Latin-1 byte in a string, at the first bad byte only",
    src: `agent a {\n  instructions: "caf⟦\uDCE9⟧ \uDCFF"\n}\n`,
    message: /^the file is not valid UTF-8: byte 0xE9 at byte offset 30 is not part of a UTF-8 character/,
  },
  // syntax
  {
    code: "syntax",
    name: "a property with no value",
    src: `agent a {\n  instructions: "hi"\n  temperature⟦:⟧\n}\n`,
    message: /^Expected a value for 'temperature'.*found '\}'/,
  },
  {
    code: "syntax",
    name: "an unknown declaration kind, with a suggestion",
    src: `⟦agnet⟧ a {\n  instructions: "hi"\n}\nagent b { instructions: "hi" }\n`,
    message: /^Unknown declaration kind 'agnet'.*did you mean 'agent'\?/,
  },
  {
    code: "syntax",
    name: "an unclosed brace, once (not once per following line)",
    src: `agent a ⟦{⟧\n  instructions: "hi"\n  temperature: 1\n\nagent b { instructions: "hi" }\n`,
    message: /^This '\{' is not closed/,
  },
  {
    code: "syntax",
    name: "a stray character after a value",
    src: `agent a {\n  instructions: "hi"\n  temperature: 0.5 ⟦@⟧\n}\n`,
    message: /found '@'/,
  },
  {
    code: "syntax",
    name: "an unknown escape in a string",
    src: `agent a {\n  instructions: "hi ⟦\\q⟧"\n}\n`,
    message: /^Unknown escape '\\q'/,
  },
  {
    code: "syntax",
    name: "a template that is not a dotted name",
    src: `agent a {\n  instructions: "hi ⟦{{ 1 }}⟧"\n}\n`,
    message: /^Invalid template/,
  },
  {
    code: "syntax",
    name: "a deny rule without 'when'",
    src: denyRule("⟦deny refund⟧ input.amount > 1"),
    message: /^Expected 'when' and a condition after 'deny refund'/,
  },
  {
    code: "syntax",
    name: "an import without a path string",
    src: `⟦import⟧ tools\nagent a { instructions: "hi" }\n`,
    message: /^Expected a path string after 'import'/,
  },
  {
    code: "syntax",
    name: "a property without its colon (and no missing-property for it)",
    src: `agent a {\n  ⟦instructions "hi"⟧\n}\n`,
    message: /^Expected a property .* after 'instructions'; found a string/,
  },
  {
    code: "syntax",
    name: "a send step without its message (and no 'no send step' for it)",
    src: `agent a { instructions: "hi" }\ntest "t" {\n  agent: a\n  ⟦send⟧\n}\n`,
    message: /^Expected the user message after 'send'/,
  },

  // unterminated-string
  {
    code: "unterminated-string",
    name: "a string without its closing quote",
    src: `agent a {\n  instructions: ⟦"hi⟧\n  temperature: 1\n}\n`,
    message: /^String is not closed/,
  },
  {
    code: "unterminated-string",
    name: "two broken strings, one error each",
    src: `agent a {\n  instructions: ⟦"hi⟧\n  description: ⟦"support⟧\n}\n`,
    message: /^String is not closed/,
  },
  {
    code: "unterminated-string",
    name: "a text block without its closing quotes (on the opening quotes)",
    src: `agent a {\n  instructions: ⟦"""⟧\n    hi\n}\n`,
    message: /^Text block is not closed: expected '"""'/,
    // The block swallows the rest of the file, closing brace included.
    also: ["syntax"],
  },

  // import-not-found
  {
    code: "import-not-found",
    name: "an import of a file that does not exist (on the import's string)",
    src: `import ⟦"nope.agent"⟧\nagent a { instructions: "hi" }\n`,
    message: /^Cannot read 'nope\.agent' \(resolved to \/ws\/nope\.agent\)/,
  },
  {
    code: "import-not-found",
    name: "an import resolved relative to the importing file, not the root",
    src: {
      "main.agent": `import "lib/tools.agent"\nagent a { instructions: "hi" }\n`,
      "lib/tools.agent": `import ⟦"types.agent"⟧\n`,
      "types.agent": `type T { id: string }\n`,
    },
    message: /resolved to \/ws\/lib\/types\.agent/,
  },

  // file-not-found
  {
    code: "file-not-found",
    name: "a file(...) that does not exist",
    src: {
      "main.agent": `context c { from: file(⟦"docs/missing.md"⟧) }\nagent a { instructions: "hi", context: [c] }\n`,
      "docs/refunds.md": "text",
    },
    message: /^No file 'docs\/missing\.md' \(resolved to \/ws\/docs\/missing\.md\)/,
  },
  {
    code: "file-not-found",
    name: "a file(...) resolved relative to the file that names it",
    src: {
      "main.agent": `import "kb/knowledge.agent"\nagent a { instructions: "hi", context: [c] }\n`,
      "kb/knowledge.agent": `context c { from: file(⟦"docs/refunds.md"⟧) }\n`,
      "docs/refunds.md": "text",
    },
    message: /resolved to \/ws\/kb\/docs\/refunds\.md/,
  },

  // duplicate-declaration
  {
    code: "duplicate-declaration",
    name: "a second tool of the same name in one file (on the second name)",
    src: `tool t { description: "a" }\ntool ⟦t⟧ { description: "b" }\nagent a { instructions: "hi", tools: [t] }\n`,
    message: /^Duplicate tool 't': already declared at main\.agent:1\./,
  },
  {
    code: "duplicate-declaration",
    name: "the same declaration in two imported files (on the second)",
    src: {
      "main.agent": `import "a.agent"\nimport "b.agent"\nagent x { instructions: "hi", tools: [t] }\n`,
      "a.agent": `tool t { description: "a" }\n`,
      "b.agent": `// the second one\ntool ⟦t⟧ { description: "b" }\n`,
    },
    message: /already declared at a\.agent:1/,
  },
  {
    code: "duplicate-declaration",
    name: "two tests with the same name (on the second string)",
    src: `agent a { instructions: "hi" }\ntest "t" { agent: a, send "x" }\ntest ⟦"t"⟧ { agent: a, send "y" }\n`,
    message: /^Duplicate test 't'/,
  },

  // unknown-reference
  {
    code: "unknown-reference",
    name: "a misspelled tool, with a suggestion",
    src: `${LOOKUP}agent a {\n  instructions: "hi"\n  tools: [⟦lookup_ordr⟧]\n}\n`,
    message: /^Unknown tool 'lookup_ordr': did you mean 'lookup_order'\?$/,
  },
  {
    code: "unknown-reference",
    name: "a name far from every tool lists the declared tools",
    src: `${LOOKUP}agent a {\n  instructions: "hi"\n  tools: [lookup_order, ⟦zebra⟧]\n}\n`,
    message: /^Unknown tool 'zebra': declared tools are lookup_order\.$/,
  },
  {
    code: "unknown-reference",
    name: "a memory when none is declared",
    src: `agent a {\n  instructions: "hi"\n  memory: ⟦customer⟧\n}\n`,
    message: /no memory is declared in this file or its imports/,
  },
  {
    code: "unknown-reference",
    name: "a declaration in a file that is not imported",
    src: {
      "main.agent": `agent a {\n  instructions: "hi"\n  tools: [⟦t⟧]\n}\n`,
      "other.agent": `tool t { description: "d" }\n`,
    },
    message: /^Unknown tool 't'/,
  },
  {
    code: "unknown-reference",
    name: "a misspelled built-in call",
    src: `tool t {\n  description: "d"\n  run: ⟦htp⟧("GET", "https://x")\n}\nagent a { instructions: "hi", tools: [t] }\n`,
    message: /^Unknown function 'htp'.*did you mean 'http'\?/,
  },
  {
    code: "unknown-reference",
    name: "a misspelled field type and a misspelled declared type",
    src: `type Order { id: ⟦strng⟧ }\ntype Line { order: ⟦Ordr⟧ }\ntool t { description: "d", output: Line }\nagent a { instructions: "hi", tools: [t] }\n`,
    message: /^Unknown type '(strng|Ordr)'.*did you mean '(string|Order)'\?/,
  },
  {
    code: "unknown-reference",
    name: "a misspelled tool in a deny rule",
    src: denyRule("deny ⟦refun⟧ when input.amount > 5"),
    message: /^Unknown tool 'refun': did you mean 'refund'\?/,
  },
  {
    code: "unknown-reference",
    name: "a condition that does not read input.FIELD",
    src: denyRule("deny refund when ⟦amount⟧ > 5"),
    message: /write input\.FIELD, e\.g\. input\.order_id; found 'amount'/,
  },
  {
    code: "unknown-reference",
    name: "a misspelled handoff agent",
    src: `agent billing { instructions: "hi" }\nagent a {\n  instructions: "hi"\n  handoffs: [⟦biling⟧]\n}\n`,
    message: /^Unknown agent 'biling': did you mean 'billing'\?/,
  },
  {
    code: "unknown-reference",
    name: "a misspelled mcp server",
    src: `mcp orders { url: "http://127.0.0.1:3001/mcp" }\ntool t {\n  description: "d"\n  run: mcp(⟦ordrs⟧, "t")\n}\nagent a { instructions: "hi", tools: [t] }\n`,
    message: /^Unknown mcp 'ordrs': did you mean 'orders'\?/,
  },
  {
    code: "unknown-reference",
    name: "a misspelled agent and tool in a test",
    src: `${SUPPORT}test "t" {\n  agent: ⟦suport⟧\n  tool ⟦lookup_ordr⟧ returns { id: "A1" }\n  send "hi"\n}\n`,
    message:
      /^Unknown (agent 'suport': did you mean 'support'|tool 'lookup_ordr': did you mean 'lookup_order')\?/,
  },
  {
    code: "unknown-reference",
    name: "a misspelled memory field in an expectation",
    src: `${SUPPORT}test "t" {\n  agent: support\n  send "hi"\n  expect memory.⟦open_tiket⟧ == 0\n}\n`,
    message: /has no field 'open_tiket': did you mean 'open_tickets'\?/,
  },
  {
    code: "unknown-reference",
    name: "remember in a test of an agent without memory fields",
    src: `agent a { instructions: "hi" }\ntest "t" {\n  agent: a\n  model calls ⟦remember⟧ { field: "x", value: 1 }\n  send "hi"\n}\n`,
    message: /^Agent 'a' has no memory fields, so it has no 'remember' tool/,
  },

  // wrong-kind
  {
    code: "wrong-kind",
    name: "a memory in tools",
    src: `${CUSTOMER}agent a {\n  instructions: "hi"\n  tools: [⟦customer⟧]\n}\n`,
    message: /^'customer' is a memory, but a tool is expected here\.$/,
  },
  {
    code: "wrong-kind",
    name: "a tool as memory",
    src: `${LOOKUP}agent a {\n  instructions: "hi"\n  tools: [lookup_order]\n  memory: ⟦lookup_order⟧\n}\n`,
    message: /^'lookup_order' is a tool, but a memory is expected here\.$/,
  },
  {
    code: "wrong-kind",
    name: "a tool as a field type",
    src: `${LOOKUP}type T { order: ⟦lookup_order⟧ }\ntool t { description: "d", output: T }\nagent a { instructions: "hi", tools: [t, lookup_order] }\n`,
    message: /^'lookup_order' is a tool, but a type is expected here\.$/,
  },
  {
    code: "wrong-kind",
    name: "a tool as a handoff",
    src: `${LOOKUP}agent a {\n  instructions: "hi"\n  tools: [lookup_order]\n  handoffs: [⟦lookup_order⟧]\n}\n`,
    message: /^'lookup_order' is a tool, but an agent is expected here\.$/,
  },

  // missing-property
  {
    code: "missing-property",
    name: "an agent without instructions (on its name)",
    src: `agent ⟦a⟧ {\n  description: "no instructions"\n}\n`,
    message: /^agent 'a' needs 'instructions'/,
  },
  {
    code: "missing-property",
    name: "a backend without kind",
    src: `backend ⟦b⟧ { provider: local }\nagent a { instructions: "hi" }\n`,
    message: /^backend 'b' needs 'kind'/,
  },
  {
    code: "missing-property",
    name: "a backend without provider",
    src: `backend ⟦b⟧ { kind: stateless }\nagent a { instructions: "hi" }\n`,
    message: /^backend 'b' needs 'provider'/,
  },
  {
    code: "missing-property",
    name: "a tool without description",
    src: `tool ⟦t⟧ { input { id: string } }\nagent a { instructions: "hi", tools: [t] }\n`,
    message: /^tool 't' needs 'description'/,
  },
  {
    code: "missing-property",
    name: "a context without from",
    src: `context ⟦c⟧ { max_tokens: 100 }\nagent a { instructions: "hi", context: [c] }\n`,
    message: /^context 'c' needs 'from'/,
  },
  {
    code: "missing-property",
    name: "an azure backend without endpoint",
    src: `backend ⟦az⟧ {\n  kind: stateless\n  provider: azure\n  api_key: env("AZURE_OPENAI_API_KEY")\n}\nagent a { instructions: "hi" }\n`,
    message: /^An azure backend needs 'endpoint'/,
  },
  {
    code: "missing-property",
    name: "a compatible backend without endpoint",
    src: `backend ⟦ollama⟧ {\n  kind: stateless\n  provider: compatible\n  model: "llama3.1"\n}\nagent a { instructions: "hi" }\n`,
    message: /^A compatible backend needs 'endpoint'/,
  },
  {
    code: "missing-property",
    name: "an agent without backend when two backends are declared",
    src: `backend b1 { kind: stateless, provider: local }\nbackend b2 { kind: stateless, provider: local }\nagent ⟦a⟧ { instructions: "hi" }\n`,
    message: /^agent 'a' needs 'backend': these files declare 2 backends \(b1, b2\)/,
  },
  {
    code: "missing-property",
    name: "a test without a send step",
    src: `${SUPPORT}test ⟦"no send"⟧ {\n  agent: support\n  model replies "hi"\n  expect reply contains "hi"\n}\n`,
    message: /^test "no send" has no 'send' step/,
  },
  {
    code: "missing-property",
    name: "a test without agent",
    src: `test ⟦"no agent"⟧ {\n  send "hi"\n}\n`,
    message: /^test "no agent" needs 'agent'/,
  },
  {
    code: "missing-property",
    name: "an mcp server with neither command nor url",
    src: `mcp ⟦orders⟧ {}\ntool t { description: "d", run: mcp(orders, "t") }\nagent a { instructions: "hi", tools: [t] }\n`,
    message: /needs exactly one of 'command' .* or 'url'/,
  },
  {
    code: "missing-property",
    name: "a type without fields",
    src: `type ⟦Empty⟧ {}\ntool t { description: "d", output: Empty }\nagent a { instructions: "hi", tools: [t] }\n`,
    message: /^type 'Empty' has no fields/,
  },

  // unknown-property
  {
    code: "unknown-property",
    name: "a misspelled agent property, with a suggestion",
    src: `agent a {\n  instructions: "hi"\n  ⟦temprature⟧: 1\n}\n`,
    message: /^agent 'a' has no property 'temprature': did you mean 'temperature'\?$/,
  },
  {
    code: "unknown-property",
    name: "a misspelled property of a nested block",
    src: `agent a {\n  instructions: "hi"\n  identity {\n    ⟦rol⟧: "support"\n  }\n}\n`,
    message: /^agent 'a' identity has no property 'rol': did you mean 'role'\?$/,
  },
  {
    code: "unknown-property",
    name: "a name far from every property lists them",
    src: `agent a {\n  instructions: "hi"\n  ⟦zzzzqqq⟧: 1\n}\n`,
    message: /; it has description, backend, model, temperature, instructions,/,
  },
  {
    code: "unknown-property",
    name: "a misspelled backend property",
    src: `backend b {\n  kind: stateful\n  provider: bedrock\n  ⟦regin⟧: "us-east-1"\n}\nagent a { instructions: "hi" }\n`,
    message: /did you mean 'region'\?/,
  },
  {
    code: "unknown-property",
    name: "a misspelled key of a test's user",
    src: `agent a { instructions: "hi" }\ntest "t" {\n  agent: a\n  user: { id: "u1", ⟦nmae⟧: "Ada" }\n  send "hi"\n}\n`,
    message: /^'user' has no key 'nmae': did you mean 'name'\?$/,
  },

  // duplicate-property
  {
    code: "duplicate-property",
    name: "a property set twice (on the second)",
    src: `agent a {\n  instructions: "hi"\n  ⟦instructions⟧: "again"\n}\n`,
    message: /^'instructions' is already set in this block \(line 2\); remove one\.$/,
  },
  {
    code: "duplicate-property",
    name: "a limit set twice in a policy",
    src: `agent a {\n  instructions: "hi"\n  policy { max_turns: 1, ⟦max_turns⟧: 2 }\n}\n`,
    message: /^'max_turns' is already set/,
  },
  {
    code: "duplicate-property",
    name: "a field declared twice in a type",
    src: `type T {\n  id: string\n  ⟦id⟧: number\n}\ntool t { description: "d", output: T }\nagent a { instructions: "hi", tools: [t] }\n`,
    message: /^Field 'id' is already declared \(line 2\)/,
  },
  {
    code: "duplicate-property",
    name: "an input field declared twice",
    src: `tool t {\n  description: "d"\n  input {\n    id: string\n    ⟦id⟧: string\n  }\n}\nagent a { instructions: "hi", tools: [t] }\n`,
    message: /^Field 'id' is already declared/,
  },
  {
    code: "duplicate-property",
    name: "an mcp server with both command and url (on the later one)",
    src: `mcp s {\n  command: command("node", ["s.js"])\n  ⟦url⟧: "http://127.0.0.1:3001/mcp"\n}\ntool t { description: "d", run: mcp(s, "t") }\nagent a { instructions: "hi", tools: [t] }\n`,
    message: /has both 'command' and 'url'/,
  },

  // type-mismatch, one property after another
  ...(
    [
      [
        "temperature as a string",
        `temperature: ⟦"hot"⟧`,
        /^'temperature' expects a number; found a string\.$/,
      ],
      [
        "max_turns as a fraction",
        `policy { max_turns: ⟦2.5⟧ }`,
        /^'max_turns' must be a whole number; found 2\.5\.$/,
      ],
      [
        "description as a number",
        `description: ⟦1⟧`,
        /^'description' expects a string; found a whole number\.$/,
      ],
      [
        "backend as a string",
        `backend: ⟦"local_dev"⟧`,
        /^'backend' expects the name of a backend; found a string\.$/,
      ],
      ["tools without brackets", `tools: ⟦lookup_order⟧`, /write it in brackets: \[lookup_order\]\.$/],
      [
        "scopes without brackets",
        `identity { scopes: ⟦"orders:read"⟧ }`,
        /write it in brackets: \["orders:read"\]/,
      ],
      [
        "a scope that is not a string",
        `identity { scopes: ["a", ⟦1⟧] }`,
        /^'scopes' expects a string; found a whole number\.$/,
      ],
      [
        "identity as a value",
        `identity: ⟦"support"⟧`,
        /^'identity' is a block: write identity \{ \.\.\. \}\.$/,
      ],
      ["vars as a value", `vars: ⟦1⟧`, /^'vars' is a block/],
      [
        "temperature as a block",
        `⟦temperature⟧ { value: 1 }`,
        /^'temperature' takes a value \(a number\), not a block/,
      ],
      [
        "handoffs of strings",
        `handoffs: [⟦"billing"⟧]`,
        /^'handoffs' expects the name of an? agent; found a string\.$/,
      ],
      [
        "a dotted backend name",
        `backend: ⟦local_dev.kind⟧`,
        /^Expected the name of a backend; found 'local_dev\.kind'\.$/,
      ],
    ] as const
  ).map(([name, prop, message]): Negative => ({
    code: "type-mismatch",
    name: `agent: ${name}`,
    src: `backend local_dev { kind: stateless, provider: local }\n${LOOKUP}agent billing { instructions: "hi", backend: local_dev, tools: [lookup_order] }\nagent a {\n  instructions: "hi"\n  ${prop}\n}\n`,
    message,
  })),
  ...(
    [
      ["api_key as a number", `api_key: ⟦123⟧`, /^'api_key' expects env\("NAME"\); found a whole number\.$/],
      ["context_window as a string", `context_window: ⟦"big"⟧`, /^'context_window' expects a whole number/],
      [
        "api_key from a file",
        `api_key: ⟦file("key.txt")⟧`,
        /^'api_key' expects env\("NAME"\); found file\(\.\.\.\)\.$/,
      ],
      [
        "an env name with a space",
        `api_key: env(⟦"OPENAI KEY"⟧)`,
        /^'OPENAI KEY' is not an environment variable name/,
      ],
      ["env without a name", `api_key: ⟦env()⟧`, /^env\(name: string\) takes 1 argument; found 0\.$/],
    ] as const
  ).map(([name, prop, message]): Negative => ({
    code: "type-mismatch",
    name: `backend: ${name}`,
    src: `backend b {\n  kind: stateless\n  provider: openai\n  ${prop}\n}\nagent a { instructions: "hi" }\n`,
    message,
  })),
  ...(
    [
      ["output as a number", `output: ⟦1⟧`, /^'output' expects a type/],
      [
        "run as a file",
        `run: ⟦file⟧("x.json")`,
        /^'run' expects http\(\.\.\.\) or sql\(\.\.\.\) or command\(\.\.\.\) or mcp\(\.\.\.\); found file\(\.\.\.\)\.$/,
      ],
      [
        "timeout_ms as a string",
        `timeout_ms: ⟦"5s"⟧`,
        /^'timeout_ms' expects a whole number; found a string\.$/,
      ],
      [
        "an http URL that is not http",
        `run: http("GET", ⟦"ftp://orders"⟧)`,
        /^'ftp:\/\/orders' is not an http:\/\/ or https:\/\/ URL\.$/,
      ],
      [
        "command arguments as a string",
        `run: command("node", ⟦"tool.js"⟧)`,
        /expects its arguments as a list of strings/,
      ],
      ["an enum field type without values", `input { level: ⟦enum()⟧ }`, /^enum needs its values/],
      [
        "values on a type that is not enum",
        `input { level: ⟦string⟧("a") }`,
        /^Only enum\(\.\.\.\) takes values; 'string' does not\.$/,
      ],
    ] as const
  ).map(([name, prop, message]): Negative => ({
    code: "type-mismatch",
    name: `tool: ${name}`,
    src: `tool t {\n  description: "d"\n  ${prop}\n}\nagent a { instructions: "hi", tools: [t] }\n`,
    message,
  })),
  {
    code: "type-mismatch",
    name: "policy: 'matches' with an invalid regular expression",
    src: denyRule(`deny refund when input.order_id matches ⟦"[a-"⟧`),
    // Once "Invalid regular expression", not twice.
    message:
      /^Invalid regular expression: (?!.*Invalid regular expression)\/\[a-\/: Unterminated character class\.$/,
  },
  {
    code: "type-mismatch",
    name: "test: a user id that is not a string",
    src: `agent a { instructions: "hi" }\ntest "t" {\n  agent: a\n  user: { id: ⟦1⟧ }\n  send "hi"\n}\n`,
    message: /^'user\.id' expects a string; found a whole number\.$/,
  },
  {
    code: "type-mismatch",
    name: "test: 'expect reply matches' with an invalid regular expression",
    src: `agent a { instructions: "hi" }\ntest "t" {\n  agent: a\n  send "hi"\n  expect reply matches ⟦"("⟧\n}\n`,
    message: /^Invalid regular expression: (?!.*Invalid regular expression)\/\(\/: Unterminated group\.$/,
  },
  {
    code: "type-mismatch",
    name: "test: 'expect turns' compared with a string",
    src: `agent a { instructions: "hi" }\ntest "t" {\n  agent: a\n  send "hi"\n  expect turns <= ⟦"two"⟧\n}\n`,
    message: /^'expect turns' compares with a number; found a string\.$/,
  },

  // out-of-range
  ...(
    [
      ["temperature 2.5", `temperature: ⟦2.5⟧`, /^'temperature' must be between 0 and 2; found 2\.5\.$/],
      ["temperature -1", `temperature: ⟦-1⟧`, /^'temperature' must be between 0 and 2; found -1\.$/],
      ["max_turns -1", `policy { max_turns: ⟦-1⟧ }`, /^'max_turns' must be at least 1; found -1\.$/],
      ["max_turns 0", `policy { max_turns: ⟦0⟧ }`, /^'max_turns' must be at least 1; found 0\.$/],
      [
        "max_tool_calls -1",
        `policy { max_tool_calls: ⟦-1⟧ }`,
        /^'max_tool_calls' must be 0 or more; found -1\.$/,
      ],
      ["max_tokens 0", `policy { max_tokens: ⟦0⟧ }`, /^'max_tokens' must be at least 1; found 0\.$/],
    ] as const
  ).map(([name, prop, message]): Negative => ({
    code: "out-of-range",
    name: `agent: ${name}`,
    src: `agent a {\n  instructions: "hi"\n  ${prop}\n}\n`,
    message,
  })),
  {
    code: "out-of-range",
    name: "memory: window 0",
    src: `memory m { window: ⟦0⟧ }\nagent a { instructions: "hi", memory: m }\n`,
    message: /^'window' must be at least 1; found 0\.$/,
  },
  {
    code: "out-of-range",
    name: "backend: context_window 0",
    src: `backend b { kind: stateless, provider: local, context_window: ⟦0⟧ }\nagent a { instructions: "hi" }\n`,
    message: /^'context_window' must be at least 1; found 0\.$/,
  },
  {
    code: "out-of-range",
    name: "tool: timeout_ms -5",
    src: `tool t { description: "d", timeout_ms: ⟦-5⟧ }\nagent a { instructions: "hi", tools: [t] }\n`,
    message: /^'timeout_ms' must be at least 1; found -5\.$/,
  },

  // invalid-enum
  ...(
    [
      ["backend kind", `backend b { kind: ⟦statefull⟧, provider: bedrock }`, "kind", "stateful"],
      ["backend provider", `backend b { kind: stateless, provider: ⟦openia⟧ }`, "provider", "openai"],
      ["backend api", `backend b { kind: stateless, provider: openai, api: ⟦chats⟧ }`, "api", "chat"],
      ["memory scope", `memory m { scope: ⟦users⟧ }`, "scope", "user"],
      [
        "context refresh",
        `context c { from: http("GET", "https://x"), refresh: ⟦per_turns⟧ }`,
        "refresh",
        "per_turn",
      ],
      [
        "identity acts_for",
        `agent b { instructions: "hi", identity { acts_for: ⟦usr⟧ } }`,
        "acts_for",
        "user",
      ],
      ["a quoted word", `memory m { scope: ⟦"sesion"⟧ }`, "scope", "session"],
    ] as const
  ).map(([name, decl, prop, near]): Negative => ({
    code: "invalid-enum",
    name: `${name}, with a suggestion`,
    src: `${decl}\nagent a { instructions: "hi"${decl.startsWith("memory") ? ", memory: m" : decl.startsWith("context") ? ", context: [c]" : ""} }\n`,
    message: new RegExp(`is not a valid ${prop}: expected one of .*\\(did you mean '${near}'\\?\\)\\.$`),
  })),
  {
    code: "invalid-enum",
    name: "a provider far from every provider lists them, without a guess",
    src: `backend b { kind: stateless, provider: ⟦anthropic⟧ }\nagent a { instructions: "hi" }\n`,
    message:
      /^'anthropic' is not a valid provider: expected one of openai, azure, compatible, bedrock, local\.$/,
  },
  {
    code: "invalid-enum",
    name: "an HTTP method",
    src: `tool t { description: "d", run: http(⟦"GTE"⟧, "https://x") }\nagent a { instructions: "hi", tools: [t] }\n`,
    message: /^'GTE' is not an HTTP method: .*\(did you mean 'GET'\?\)\.$/,
  },

  // secret-literal
  {
    code: "secret-literal",
    name: "an OpenAI key written into the file",
    src: `backend b {\n  kind: stateless\n  provider: openai\n  api_key: ⟦"sk-123"⟧\n}\nagent a { instructions: "hi" }\n`,
    message: /read 'api_key' from the environment with env\("OPENAI_API_KEY"\)\.$/,
  },
  {
    code: "secret-literal",
    name: "an Azure key written into the file",
    src: `backend b {\n  kind: stateless\n  provider: azure\n  endpoint: "https://acme.openai.azure.com"\n  api_key: ⟦"0123abcd"⟧\n}\nagent a { instructions: "hi" }\n`,
    message: /env\("AZURE_OPENAI_API_KEY"\)/,
  },
  {
    code: "secret-literal",
    name: "a key written as a text block",
    src: `backend b {\n  kind: stateful\n  provider: bedrock\n  api_key: ⟦"""\n    token\n  """⟧\n}\nagent a { instructions: "hi" }\n`,
    message: /env\("STATECRAFT_TOKEN"\)/,
  },

  // backend-mismatch: the kind/provider rules, on the provider value
  ...(
    [
      ["stateful", "openai"],
      ["stateful", "azure"],
      ["stateful", "compatible"],
      ["stateless", "bedrock"],
    ] as const
  ).map(([kind, provider]): Negative => ({
    code: "backend-mismatch",
    name: `kind ${kind} with provider ${provider}`,
    src: `backend b {\n  kind: ${kind}\n  provider: ⟦${provider}⟧\n  endpoint: "http://127.0.0.1:8080"\n}\nagent a { instructions: "hi" }\n`,
    message:
      kind === "stateful"
        ? new RegExp(
            `^A stateful backend runs .* with provider bedrock or local; '${provider}' is a stateless API`,
          )
        : /^Bedrock runs behind the stateful runtime: use kind: stateful/,
  })),

  // undefined-template-variable
  {
    code: "undefined-template-variable",
    name: "a memory field the memory does not have",
    src: `${CUSTOMER}agent a {\n  memory: customer\n  instructions: "Hi {{memory.⟦nickname⟧}}"\n}\n`,
    message: /^'memory' has no field 'nickname'; its fields are preferred_name, open_tickets\.$/,
  },
  {
    code: "undefined-template-variable",
    name: "a misspelled memory field, with a suggestion",
    src: `${CUSTOMER}agent a {\n  memory: customer\n  instructions: "Hi {{ memory.⟦prefered_name⟧ }}"\n}\n`,
    message: /did you mean 'preferred_name'\?$/,
  },
  {
    code: "undefined-template-variable",
    name: "a memory field when the memory has no fields",
    src: `memory m { scope: user }\nagent a {\n  memory: m\n  instructions: "Hi {{memory.⟦name⟧}}"\n}\n`,
    message: /^'memory' has no field 'name': it has no fields\.$/,
  },
  {
    code: "undefined-template-variable",
    name: "an unknown root",
    src: `agent a {\n  instructions: "Hi {{⟦customer⟧.name}}"\n}\n`,
    message:
      /^Unknown template variable 'customer': here templates may use vars\.\*, memory\.\*, user\.\*, session\.\*\.$/,
  },
  {
    code: "undefined-template-variable",
    name: "a misspelled root, with a suggestion",
    src: `agent a {\n  instructions: "Hi {{⟦usr⟧.name}}"\n}\n`,
    message: /\(did you mean 'user'\?\)\.$/,
  },
  {
    code: "undefined-template-variable",
    name: "a root without a field",
    src: `agent a {\n  instructions: "Hi {{ ⟦user⟧ }}"\n}\n`,
    message: /^'\{\{user\}\}' needs a field, as in \{\{user\.id\}\}\.$/,
  },
  {
    code: "undefined-template-variable",
    name: "user and session fields that do not exist",
    src: `agent a {\n  instructions: "Hi {{user.⟦email⟧}}, turn {{session.⟦turns⟧}}"\n}\n`,
    message:
      /^'(user' has no field 'email'; its fields are id, name|session' has no field 'turns': did you mean 'turn'\?)/,
  },
  {
    code: "undefined-template-variable",
    name: "a misspelled var, in a text block with CRLF line ends and an emoji before it",
    src: `agent a {\r\n  instructions: """\r\n    Hi 😀 from {{vars.⟦compny⟧}}\r\n  """\r\n  vars { company: "Acme" }\r\n}\r\n`,
    message: /^'vars' has no field 'compny': did you mean 'company'\?$/,
  },
  {
    code: "undefined-template-variable",
    name: "a tool URL naming an input field the tool does not have",
    src: `tool lookup_order {\n  description: "d"\n  input { order_id: string }\n  run: http("GET", "https://orders.example/{{input.⟦orderid⟧}}")\n}\nagent a { instructions: "hi", tools: [lookup_order] }\n`,
    message: /^'input' has no field 'orderid': did you mean 'order_id'\?$/,
  },

  // unknown-tool-input
  {
    code: "unknown-tool-input",
    name: "policy: a misspelled input field, with a suggestion",
    src: denyRule("deny refund when input.⟦amout⟧ > 5"),
    message: /^Tool 'refund' has no input field 'amout': did you mean 'amount'\?$/,
  },
  {
    code: "unknown-tool-input",
    name: "policy: a number field compared with a string",
    src: denyRule(`deny refund when input.amount > ⟦"500"⟧`),
    message: /^input\.amount is a number; compared with a string\.$/,
  },
  {
    code: "unknown-tool-input",
    name: "policy: a number field equal to a string",
    src: denyRule(`deny refund when input.amount == ⟦"500"⟧`),
    message: /^input\.amount is number; compared with a string \(expected a number\)\.$/,
  },
  {
    code: "unknown-tool-input",
    name: "policy: a string field compared with a number, on the right or the left",
    src: denyRule(`deny refund when input.order_id == ⟦5⟧ or ⟦5⟧ == input.order_id`),
    message: /^input\.order_id is string; compared with a whole number/,
  },
  {
    code: "unknown-tool-input",
    name: "policy: an enum field compared with a word it does not have",
    src: denyRule(`deny refund when input.priority == ⟦"urgent"⟧`),
    message: /expected one of "low", "high"\)\.$/,
  },
  {
    code: "unknown-tool-input",
    name: "policy: 'contains' on a number field",
    src: denyRule(`deny refund when input.amount contains ⟦"5"⟧`),
    message: /^'contains' needs a string or list field; input\.amount is number\.$/,
  },
  {
    code: "unknown-tool-input",
    name: "policy: 'input' without a field",
    src: denyRule(`deny refund when ⟦input⟧ > 5`),
    message: /^Name a field of the input, e\.g\. input\.order_id\.$/,
  },
  {
    code: "unknown-tool-input",
    name: "test: expect called with an unknown field",
    src: `${SUPPORT}test "t" {\n  agent: support\n  send "hi"\n  expect tool lookup_order called with { ⟦unknown⟧: 1 }\n}\n`,
    message: /^Tool 'lookup_order' has no input field 'unknown'; its fields are order_id\.$/,
  },
  {
    code: "unknown-tool-input",
    name: "test: a scripted call with a misspelled field and a value of the wrong type",
    src: `${SUPPORT}test "t" {\n  agent: support\n  model calls lookup_order { ⟦ordr_id⟧: "A1" }\n  model calls lookup_order { order_id: ⟦1⟧ }\n  send "hi"\n}\n`,
    message:
      /^(Tool 'lookup_order' has no input field 'ordr_id': did you mean 'order_id'\?|Input 'order_id' of tool 'lookup_order' is string; found a whole number \(expected a string\)\.)$/,
  },
  {
    code: "unknown-tool-input",
    name: "test: an input field for a tool that takes none",
    src: `tool ping { description: "d" }\nagent a { instructions: "hi", tools: [ping] }\ntest "t" {\n  agent: a\n  model calls ping { ⟦host⟧: "x" }\n  send "hi"\n}\n`,
    message: /^Tool 'ping' has no input field 'host'; it takes no input\.$/,
  },
  {
    code: "unknown-tool-input",
    name: "test: remember a field the memory does not have",
    src: `${SUPPORT}test "t" {\n  agent: support\n  model calls remember { field: ⟦"nope"⟧, value: 1 }\n  model calls remember { field: ⟦"open_tikets"⟧, value: 1 }\n  send "hi"\n}\n`,
    message:
      /^The agent's memory has no field '(nope'; its fields are preferred_name, open_tickets\.|open_tikets': did you mean 'open_tickets'\?)$/,
  },
  {
    code: "unknown-tool-input",
    name: "test: remember with a key other than field and value",
    src: `${SUPPORT}test "t" {\n  agent: support\n  model calls remember { ⟦name⟧: "open_tickets", value: 1 }\n  send "hi"\n}\n`,
    message: /^The built-in 'remember' tool takes \{ field, value \}; found 'name'\.$/,
  },

  // missing-scope
  {
    code: "missing-scope",
    name: "a tool whose scope the identity lacks (on the tool's reference)",
    src: `tool t { description: "d", requires: ["orders:read", "refunds:write"] }\nagent a {\n  instructions: "hi"\n  tools: [⟦t⟧]\n  identity { scopes: ["orders:read"] }\n}\n`,
    message: /^Tool 't' requires "refunds:write", which is not among the identity scopes of agent 'a'/,
  },
  {
    code: "missing-scope",
    name: "a tool with scopes used by an agent without identity",
    src: `tool t { description: "d", requires: ["a:r", "b:w"] }\nagent a {\n  instructions: "hi"\n  tools: [⟦t⟧]\n}\n`,
    message: /requires "a:r", "b:w", which are not among/,
  },

  // unused-declaration
  {
    code: "unused-declaration",
    name: "a tool, type, context, memory and backend nothing uses",
    src: `tool ⟦t⟧ { description: "d" }\ntype ⟦T⟧ { id: string }\ncontext ⟦c⟧ { from: http("GET", "https://x") }\nmemory ⟦m⟧ {}\nbackend ⟦b⟧ { kind: stateless, provider: local }\n`,
    message:
      /^(tool 't'|type 'T'|context 'c'|memory 'm'|backend 'b') is not used by any agent, tool or test\.$/,
  },
  {
    code: "unused-declaration",
    name: "the second backend when every agent names the first",
    src: `backend b1 { kind: stateless, provider: local }\nbackend ⟦b2⟧ { kind: stateless, provider: local }\nagent a { instructions: "hi", backend: b1 }\n`,
    message: /^backend 'b2' is not used/,
  },
  {
    code: "unused-declaration",
    name: "a declaration in an imported file that nothing uses",
    src: {
      "main.agent": `import "lib.agent"\nagent a { instructions: "hi", tools: [used] }\n`,
      "lib.agent": `tool used { description: "d" }\ntool ⟦spare⟧ { description: "d" }\n`,
    },
    message: /^tool 'spare' is not used/,
  },

  // context-budget
  {
    code: "context-budget",
    name: "a 100,000-token context on the local backend's 128,000-token window (on the agent's name)",
    src: `backend b { kind: stateless, provider: local }\ncontext c { from: http("GET", "https://kb"), max_tokens: 100000 }\nagent ⟦a⟧ { instructions: "hi", context: [c] }\n`,
    message:
      /^The fixed context of agent 'a' is 100,001 tokens \(instructions 1, context 100,000, tool schemas 0\): more than half of the 128,000-token window/,
  },
  {
    code: "context-budget",
    name: "a small declared context_window",
    src: `backend b {\n  kind: stateless\n  provider: compatible\n  endpoint: "http://localhost:11434/v1"\n  context_window: 100\n}\ncontext c { from: http("GET", "https://kb"), max_tokens: 60 }\nagent ⟦a⟧ { instructions: "hi", context: [c] }\n`,
    message: /more than half of the 100-token window/,
  },

  // unknown-model
  {
    code: "unknown-model",
    name: "a misspelled OpenAI model, with a suggestion",
    src: `backend b {\n  kind: stateless\n  provider: openai\n  model: ⟦"gpt-4o-mnii"⟧\n  api_key: env("OPENAI_API_KEY")\n}\nagent a { instructions: "hi" }\n`,
    message: /^'gpt-4o-mnii' is not in the built-in openai catalog \(did you mean 'gpt-4o-mini'\?\)/,
  },
  {
    code: "unknown-model",
    name: "a misspelled model override on an agent",
    src: `${OPENAI}agent a {\n  instructions: "hi"\n  model: ⟦"gpt-4.1-mnii"⟧\n}\n`,
    message: /did you mean 'gpt-4\.1-mini'\?/,
  },
  {
    code: "unknown-model",
    name: "a model far from the catalog, without a guess",
    src: `backend b { kind: stateless, provider: openai, model: ⟦"brand-new-model"⟧ }\nagent a { instructions: "hi" }\n`,
    message: /^'brand-new-model' is not in the built-in openai catalog; if it is right, set context_window/,
  },
  {
    code: "unknown-model",
    name: "a misspelled Bedrock model behind an inference profile",
    src: `backend b { kind: stateful, provider: bedrock, model: ⟦"us.anthropic.claude-3-5-sonet-20241022-v2:0"⟧ }\nagent a { instructions: "hi" }\n`,
    message: /did you mean 'us\.anthropic\.claude-3-5-sonnet-20241022-v2:0'\?/,
  },

  // scripted-step-live
  {
    code: "scripted-step-live",
    name: "model steps in a test that runs on OpenAI (each on its 'model')",
    src: `${OPENAI}${SUPPORT}test "t" {\n  agent: support\n  backend: live\n  ⟦model⟧ calls lookup_order { order_id: "A1" }\n  ⟦model⟧ replies "ok"\n  ⟦model⟧ hands_off support\n  send "hi"\n}\n`,
    message: /^Scripted 'model' steps only work on the local backend; this test runs on 'live'\./,
  },
  {
    code: "scripted-step-live",
    name: "a model step in a test that runs on the Bedrock runtime",
    src: `backend aws { kind: stateful, provider: bedrock, endpoint: "http://127.0.0.1:8080" }\nagent a { instructions: "hi" }\ntest "t" {\n  agent: a\n  backend: aws\n  ⟦model⟧ replies "ok"\n  send "hi"\n}\n`,
    message: /this test runs on 'aws'/,
  },

  // ---- evals (evals.md section 5) ----
  {
    code: "judge-missing",
    name: "judge criteria in a case and no judge backend: once, on the first criterion",
    src: `${SUPPORT}eval e {\n  agent: support\n  case "c" {\n    send "hi"\n    ⟦judge⟧ "Polite."\n    judge helpfulness at_least 0.7\n  }\n}\n`,
    message: /^eval 'e' has judge criteria but no judge backend to score them: add 'judge: BACKEND'/,
  },
  {
    code: "judge-missing",
    name: "an eval-level judge and no judge backend",
    src: `${SUPPORT}eval e {\n  agent: support\n  ⟦judge⟧ "Polite."\n  case "c" { send "hi" }\n}\n`,
    message: /no judge backend/,
  },
  {
    code: "judge-missing",
    name: "judges only in the dataset: on 'dataset'",
    src: {
      "main.agent": `${SUPPORT}eval e {\n  agent: support\n  ⟦dataset⟧: file("cases.jsonl")\n}\n`,
      "cases.jsonl": `{"input": "hi", "judge": [{"criterion": "Kind."}]}\n`,
    },
    message: /no judge backend/,
  },
  {
    code: "dataset-line",
    name: "lines that are not valid cases, each at its line on the dataset, naming the field",
    src: {
      "main.agent": `${SUPPORT}eval e {\n  agent: support\n  dataset: file("cases.jsonl")\n}\n`,
      "cases.jsonl": `{"input": "ok"}\n{"input": "a", ⟦"inputs"⟧: "b"}\n\n⟦{not json⟧\n{"input": "a", "expect": {⟦"reply_matches"⟧: "("}}\n`,
    },
    message:
      /^Line [245] is not a valid case: (unknown field 'inputs'|not a JSON object|'expect\.reply_matches': Invalid regular expression)/,
  },
  {
    code: "dataset-line",
    name: "a dataset that cannot be read: at the path in file(...)",
    src: `${SUPPORT}eval e {\n  agent: support\n  dataset: file(⟦"missing.jsonl"⟧)\n}\n`,
    message: /^Cannot read the dataset 'missing\.jsonl' \(resolved to \/ws\/missing\.jsonl\): check the path/,
  },
  {
    code: "dataset-line",
    name: "a dataset case named like another case, and a dataset line naming an unknown tool",
    src: {
      "main.agent": `${SUPPORT}eval e {\n  agent: support\n  dataset: file("cases.jsonl")\n  case "c" { send "x" }\n}\n`,
      "cases.jsonl": `⟦{"name": "c", "input": "x"}⟧\n{"name": "d", "input": "x"}\n⟦{"name": "d", "input": "y"}⟧\n⟦{"input": "x", "expect": {"tools": ["lookup_ordr"]}}⟧\n`,
    },
    message:
      /^Line [134]: (the case name "[cd]" is already used (by the case at main\.agent:\d+|on line 2)|'expect\.tools' names an unknown tool 'lookup_ordr': did you mean 'lookup_order'\?)/,
  },
  {
    code: "scripted-step-live",
    name: "arrange steps in a case of an eval with a live backend (approve is allowed)",
    src: `${OPENAI}${SUPPORT}eval e {\n  agent: support\n  backends: [local, live]\n  case "c" {\n    ⟦model⟧ calls lookup_order { order_id: "A1" }\n    ⟦tool⟧ lookup_order returns { id: "A1" }\n    ⟦tool⟧ lookup_order fails "down"\n    ⟦model⟧ replies "ok"\n    approve lookup_order\n    reject lookup_order\n    send "hi"\n  }\n}\n`,
    message: /^Scripted '(model|tool)' steps only work on local backends; this eval runs on 'live'\./,
  },
  {
    code: "scripted-step-live",
    name: "an arrange step when the eval runs on the agent's live backend (no backends listed)",
    src: `${OPENAI}${SUPPORT.replace("memory: customer", "memory: customer\n  backend: live")}eval e {\n  agent: support\n  case "c" {\n    ⟦model⟧ replies "ok"\n    send "hi"\n  }\n}\n`,
    message: /this eval runs on 'live'/,
  },
  {
    code: "scripted-step-live",
    name: "a dataset script on a live backend, a scripted judge with a live judge, a scripted user with a live simulator",
    src: {
      "main.agent": `${OPENAI}${SUPPORT}eval e {\n  agent: support\n  backends: [live]\n  judge: live\n  dataset: file("cases.jsonl")\n  case "c" {\n    simulate { backend: live, persona: "p", goal: "g" }\n    ⟦judge⟧ scores 0.5 "ok"\n    ⟦user⟧ says "hi"\n    judge "Polite."\n  }\n}\n`,
      "cases.jsonl": `⟦{"input": "x", "script": [{"reply": "ok"}]}⟧\n`,
    },
    message:
      /^(Line 1: 'script' scripts the model, which only works on local backends|'judge scores' scripts a local judge; this eval's judge is 'live'|'user says' scripts a local simulated user; this case's user is simulated by 'live')/,
  },
  {
    code: "unknown-reference",
    name: "an eval's agent, backends, judge, simulate backend, trajectory tools, tools of steps, built-in judge",
    src: `${SUPPORT}eval e {\n  agent: ⟦supprt⟧\n  backends: [⟦nowhere⟧]\n  judge: ⟦judge_model⟧\n  case "c" {\n    simulate { backend: ⟦sim⟧, persona: "p", goal: "g" }\n    expect trajectory [⟦lookup_ordr⟧, lookup_order]\n    expect tool ⟦refnd⟧ called\n    judge ⟦helpfulnes⟧ at_least 0.8\n  }\n}\n`,
    message:
      /^Unknown (agent 'supprt': did you mean 'support'|backend '(nowhere|judge_model|sim)'|tool '(lookup_ordr|refnd)'|built-in judge 'helpfulnes': did you mean 'helpfulness')/,
  },
  {
    code: "out-of-range",
    name: "pass_rate, trials, concurrency, at_least, max_turns and a scripted judge score out of range",
    src: `${SUPPORT}eval e {\n  agent: support\n  judge: local\n  trials: ⟦0⟧\n  pass_rate: ⟦1.5⟧\n  concurrency: ⟦0⟧\n  judge "Polite." at_least ⟦-0.1⟧\n  case "c" {\n    simulate { backend: local, persona: "p", goal: "g", max_turns: ⟦0⟧ }\n    judge scores ⟦1.2⟧ "too good"\n    score command("node", ["s.js"]) at_least ⟦2⟧\n  }\n}\n`,
    message:
      /^('(trials|concurrency|max_turns)' must be at least 1|'pass_rate' must be between 0 and 1|'at_least' is a score from 0 to 1|A judge's score is from 0 to 1); found/,
  },
  {
    code: "missing-property",
    name: "an eval without an agent, a simulation without persona and goal, a case without send, correctness without expected",
    src: `${SUPPORT}eval ⟦e⟧ {\n  judge: local\n  case "sim" {\n    ⟦⟦simulate⟧⟧ { backend: local }\n  }\n  case ⟦"empty"⟧ {\n    expect reply contains "x"\n  }\n  case "c" {\n    send "x"\n    judge ⟦correctness⟧\n    judge ⟦goal_success⟧\n  }\n}\n`,
    message:
      /^(eval 'e' needs 'agent'|case "sim" simulate needs '(persona|goal)'|case "empty" has no 'send' step and no 'simulate' block|'correctness' scores the reply against the case's reference answer: add expected|'goal_success' scores whether the user's goal was met)/,
  },
];

// secret-literal in any position: every credential shape, in every place a string can stand.
const CREDENTIALS: [string, string][] = [
  ["an OpenAI key", "sk-proj-Q7w9ZkP2mX4vR8tL1nB6cD3e"],
  ["an AWS access key id", "AKIAIOSFODNN7EXAMPLE"],
  ["a Slack bot token", "xoxb-1234567890-abcdefghij"],
  ["a Slack user token", "xoxp-1234567890-abcdefghij"],
  ["a GitHub token", "ghp_0123456789abcdefghijABCDEFGHIJ012345"],
  ["a private key", "-----BEGIN RSA PRIVATE KEY-----\\nMIIEow"],
  ["a JWT", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZGEifQ.c2lnbmF0dXJlLXZhbHVl"],
  ["a bearer token", "Bearer 0a1b2c3d4e5f6a7b8c9d"],
];
/** Where a string may stand, with the credential at `$`: [position, source, env name of the fix or none]. */
const POSITIONS: [string, (secret: string) => string, string | undefined][] = [
  ["vars", (x) => `agent a {\n  instructions: "hi"\n  vars { api_key: ⟦"${x}"⟧ }\n}\n`, "API_KEY"],
  [
    "mcp env",
    (x) =>
      `mcp m {\n  command: command("node", ["s.js"])\n  env { GITHUB_TOKEN: ⟦"${x}"⟧ }\n}\ntool t { description: "d", run: mcp(m, "x") }\nagent a { instructions: "hi", tools: [t] }\n`,
    "GITHUB_TOKEN",
  ],
  [
    "a command tool's env",
    (x) =>
      `tool t {\n  description: "d"\n  run: command("node", ["t.js"])\n  env { TOKEN: ⟦"${x}"⟧ }\n}\nagent a { instructions: "hi", tools: [t] }\n`,
    "TOKEN",
  ],
  [
    "a connection's headers",
    (x) =>
      `connection c {\n  url: "https://api.example.com"\n  headers { "X-Api-Key": ⟦"${x}"⟧ }\n}\ntool t { description: "d", run: http("GET", c, "/x") }\nagent a { instructions: "hi", tools: [t] }\n`,
    "X_API_KEY",
  ],
  [
    "the path of an http tool on a connection",
    (x) =>
      `connection c { url: "https://api.example.com" }\ntool t { description: "d", run: http("GET", c, ⟦"/x?q=${x}"⟧) }\nagent a { instructions: "hi", tools: [t] }\n`,
    undefined,
  ],
  [
    "a sql parameter",
    (x) =>
      `connection w { url: env("W_URL") }\ntool t { description: "d", run: sql(w, "select $1", [⟦"${x}"⟧]) }\nagent a { instructions: "hi", tools: [t] }\n`,
    undefined,
  ],
  [
    "a command tool's arguments",
    (x) =>
      `tool t { description: "d", run: command("node", ["t.js", ⟦"${x}"⟧]) }\nagent a { instructions: "hi", tools: [t] }\n`,
    undefined,
  ],
  ["instructions", (x) => `agent a {\n  instructions: ⟦"Use the key ${x} for lookups"⟧\n}\n`, undefined],
  [
    "a test's scripted step",
    (x) => `agent a { instructions: "hi" }\ntest "t" {\n  agent: a\n  send ⟦"my key is ${x}"⟧\n}\n`,
    undefined,
  ],
];
const URL_CREDENTIALS: [string, string][] = [
  ["a key in a URL query", "https://maps.example.com/geocode?address={{input.a}}&key=AbCdEf0123456789xyz"],
  ["an access token in a URL query", "https://api.example.com/v1/items?access_token=0123456789abcdef"],
  ["a password in a URL", "https://ada:s3cretpass@api.example.com/v1"],
];
NEGATIVE.push(
  ...CREDENTIALS.flatMap(([what, secret]) =>
    POSITIONS.map(([where, src, envName]) => ({
      code: "secret-literal" as const,
      name: `${what} in ${where}`,
      src: src(secret),
      message: envName
        ? new RegExp(
            `never write a secret into the file\\. Read it from the environment with env\\("${envName}"\\)\\.$`,
          )
        : /never write a secret into the file.*env\("NAME"\)/,
    })),
  ),
  ...URL_CREDENTIALS.map(([what, url]) => ({
    code: "secret-literal" as const,
    name: `${what} (http tool)`,
    src: `tool t {\n  description: "d"\n  input { a: string }\n  run: http("GET", ⟦"${url}"⟧)\n}\nagent a { instructions: "hi", tools: [t] }\n`,
    message: /This string holds a (key in a URL query|password in a URL): never write a secret/,
  })),
  {
    code: "secret-literal",
    name: "a key in an mcp server's URL",
    src: `mcp m { url: ⟦"https://mcp.example.com/mcp?api_key=0123456789abcdef"⟧ }\ntool t { description: "d", run: mcp(m, "x") }\nagent a { instructions: "hi", tools: [t] }\n`,
    message: /a key in a URL query/,
  },
  {
    code: "backend-mismatch",
    name: "a reasoning effort on Bedrock (which takes a token budget)",
    src: `backend b {\n  kind: stateful\n  provider: bedrock\n  reasoning { ⟦effort⟧: high }\n}\nagent a { instructions: "hi", backend: b }\n`,
    message:
      /A bedrock backend takes reasoning \{ budget_tokens: a token budget such as 2048 \}, not effort\./,
  },
  {
    code: "backend-mismatch",
    name: "a thinking budget on OpenAI (which takes an effort)",
    src: `backend b {\n  kind: stateless\n  provider: openai\n  reasoning { ⟦budget_tokens⟧: 2048 }\n}\nagent a { instructions: "hi", backend: b }\n`,
    message: /A openai backend takes reasoning \{ effort: low, medium or high \}, not budget_tokens\./,
  },
  {
    code: "backend-mismatch",
    name: "reasoning on the local backend",
    src: `backend b {\n  kind: stateless\n  provider: local\n  ⟦reasoning⟧ { effort: low }\n}\nagent a { instructions: "hi", backend: b }\n`,
    message: /The local backend does not reason/,
  },
  {
    code: "invalid-enum",
    name: "a reasoning effort that is not low, medium or high",
    src: `backend b {\n  kind: stateless\n  provider: azure\n  endpoint: "https://x"\n  reasoning { effort: ⟦hgh⟧ }\n}\nagent a { instructions: "hi", backend: b }\n`,
    message: /'hgh' is not a valid effort: expected one of low, medium, high \(did you mean 'high'\?\)/,
  },
  {
    code: "out-of-range",
    name: "a thinking budget under Bedrock's minimum",
    src: `backend b {\n  kind: stateful\n  provider: bedrock\n  reasoning { budget_tokens: ⟦512⟧ }\n}\nagent a { instructions: "hi", backend: b }\n`,
    message: /'budget_tokens' must be at least 1024; found 512\./,
  },
  {
    code: "unknown-property",
    name: "env on a tool that starts no program",
    src: `tool t {\n  description: "d"\n  run: http("GET", "https://x")\n  ⟦env⟧ { MODE: "test" }\n}\nagent a { instructions: "hi", tools: [t] }\n`,
    message: /'env' is for command tools/,
  },
);

// connections (connections.md): their diagnostics, each on the smallest range.
const WAREHOUSE = `connection wh { url: "postgres://pglite/./data/wh" }\n`;
const MAIL = `connection mail { url: "https://graph.example.com/v1", auth: user_token("mail") }\n`;
const INBOX = `${MAIL}tool inbox { description: "d", run: http("GET", mail, "/me/messages") }\n`;
NEGATIVE.push(
  {
    code: "sql-template",
    name: "a {{ }} template inside a sql statement",
    src: `${WAREHOUSE}tool t {\n  description: "d"\n  input { email: string }\n  run: sql(wh, "select * from c where email = '{{⟦input.email⟧}}'", [])\n}\nagent a { instructions: "hi", tools: [t] }\n`,
    message:
      /^A \{\{ \}\} template inside a SQL statement would put 'input\.email' into the SQL text.*\(\$1\) instead\.$/,
  },
  {
    code: "sql-template",
    name: "templates in a context's sql statement, after a bound parameter",
    src: `${WAREHOUSE}context c { from: sql(wh, "select * from a where o = $1 and u = {{ ⟦user.id⟧ }} and s = {{⟦session.id⟧}}", [user.name]) }\nagent a { instructions: "hi", context: [c] }\n`,
    message: /bind it as a parameter \(\$[23]\) instead/,
  },
  {
    code: "acts-for-mismatch",
    name: "a tool on a user_token connection used by an agent acting for service",
    src: `${INBOX}agent a {\n  instructions: "hi"\n  tools: [⟦inbox⟧]\n  identity { acts_for: service }\n}\n`,
    message:
      /^Tool 'inbox' goes through connection 'mail', which sends the end user's own token \(user_token\), but agent 'a' acts for service/,
  },
  {
    code: "acts-for-mismatch",
    name: "a context on a user_token connection used by an agent acting for service",
    src: `${MAIL}context m { from: http("GET", mail, "/me") }\nagent a {\n  instructions: "hi"\n  context: [⟦m⟧]\n  identity { acts_for: service }\n}\n`,
    message: /^Context 'm' goes through connection 'mail'/,
  },
  {
    code: "unknown-reference",
    name: "an unknown connection in http(...) and in sql(...)",
    src: `${WAREHOUSE}connection crm { url: "https://crm.example.com" }\ntool t { description: "d", run: http("GET", ⟦cmr⟧, "/x") }\ntool u { description: "d", run: sql(⟦whh⟧, "select 1") }\nagent a { instructions: "hi", tools: [t, u] }\n`,
    message: /^Unknown connection '(cmr|whh)': did you mean '(crm|wh)'\?$/,
  },
  {
    code: "type-mismatch",
    name: "sql(...) on an https connection, http(...) on a postgres one",
    src: `${WAREHOUSE}connection crm { url: "https://crm.example.com" }\ntool t { description: "d", run: http("GET", ⟦wh⟧, "/x") }\ntool u { description: "d", run: sql(⟦crm⟧, "select 1") }\nagent a { instructions: "hi", tools: [t, u] }\n`,
    message:
      /^('wh' is a SQL connection \(postgres:\/\/\): query it with sql\(wh|sql\(\.\.\.\) needs a postgres:\/\/ or postgresql:\/\/ connection; 'crm' is at https:\/\/crm\.example\.com)/,
  },
  {
    code: "type-mismatch",
    name: "a connection url that is neither http(s) nor postgres",
    src: `connection c { url: ⟦"ftp://files.example.com"⟧ }\ntool t { description: "d", run: http("GET", c, "/x") }\nagent a { instructions: "hi", tools: [t] }\n`,
    message: /^'ftp:\/\/files\.example\.com' is not a connection url/,
  },
  {
    code: "type-mismatch",
    name: "a statement using more placeholders than it binds, and a parameter bound to nothing",
    src: `${WAREHOUSE}tool t { description: "d", input { x: string }, run: sql(wh, "select $1, $2", ⟦[input.x]⟧) }\ntool u { description: "d", input { x: string }, run: sql(wh, "select $1", [input.x, ⟦input.x⟧]) }\nagent a { instructions: "hi", tools: [t, u] }\n`,
    message:
      /^The statement uses (\$2 but only 1 parameter is listed|\$1\.\.\$1: this parameter is bound to nothing)/,
  },
  {
    code: "missing-property",
    name: "a connection without its url, oauth2 without its client secret",
    src: `connection ⟦c⟧ { auth: bearer(env("T")) }\nconnection d { url: "https://d.example.com", auth: ⟦oauth2⟧ { token_url: "https://t.example.com/token", client_id: env("ID") } }\ntool t { description: "d", run: http("GET", c, "/x") }\ntool u { description: "d", run: http("GET", d, "/x") }\nagent a { instructions: "hi", tools: [t, u] }\n`,
    message: /^(connection 'c' needs 'url'|oauth2 needs 'client_secret')/,
  },
  {
    code: "secret-literal",
    name: "a literal where a connection's auth expects env(...)",
    src: `connection c { url: "https://c.example.com", auth: bearer(⟦"abc"⟧) }\nconnection d { url: "https://d.example.com", auth: basic(env("U"), ⟦"hunter2"⟧) }\nconnection e { url: "https://e.example.com", auth: oauth2 { token_url: "https://t.example.com", client_id: env("ID"), client_secret: ⟦"xyz"⟧ } }\ntool t { description: "d", run: http("GET", c, "/x") }\ntool u { description: "d", run: http("GET", d, "/x") }\ntool v { description: "d", run: http("GET", e, "/x") }\nagent a { instructions: "hi", tools: [t, u, v] }\n`,
    message:
      /^Never write a secret into the file: read '(token|password|client_secret)' from the environment with env\("(C_TOKEN|D_PASSWORD|E_CLIENT_SECRET)"\)\.$/,
  },
  {
    code: "undefined-template-variable",
    name: "a sql parameter under an unknown root or field",
    src: `${WAREHOUSE}tool t { description: "d", input { x: string }, run: sql(wh, "select $1, $2", [⟦inptu⟧.x, input.⟦y⟧]) }\nagent a { instructions: "hi", tools: [t] }\n`,
    message: /(did you mean 'input'\?|'input' has no field 'y': did you mean 'x'\?)/,
  },
  {
    code: "unknown-property",
    name: "write and max_rows on a tool that is not sql",
    src: `tool t {\n  description: "d"\n  run: http("GET", "https://x")\n  ⟦write⟧: true\n  ⟦max_rows⟧: 5\n}\nagent a { instructions: "hi", tools: [t] }\n`,
    message: /^'(write|max_rows)' is for sql\(\.\.\.\) tools/,
  },
);

// ---- positive cases: closely related inputs that must not produce the code ---------------------

const POSITIVE: Positive[] = [
  {
    code: "invalid-encoding",
    name: "a replacement character the file itself holds, and a byte order mark",
    src: `\uFEFFagent a {\n  instructions: "caf\uFFFD é"\n}\n`,
  },
  { code: "syntax", name: "the examples of language.md section 3", src: LANGUAGE_MD_EXAMPLE },
  {
    code: "syntax",
    name: "comments, commas, text blocks, escapes and number forms",
    src: `// a comment\n/* a block\n   comment */\nagent a { instructions: """\n    Line one \\{{ not.a.template }}\n    Line "two" \\u{1F600}\n  """, temperature: 0.5, policy { max_tokens: 1_000, max_turns: 1e1 } }\n`,
  },
  {
    code: "syntax",
    name: "keywords used as property names and identifiers",
    src: `tool send { description: "d", input { when: string, model: string } }\nagent agent { instructions: "hi", tools: [send] }\n`,
  },
  {
    code: "unterminated-string",
    name: "an escaped quote",
    src: `agent a { instructions: "say \\"hi\\"" }\n`,
  },
  {
    code: "unterminated-string",
    name: "a text block over several lines",
    src: `agent a {\n  instructions: """\n    one "quoted" line\n    two\n  """\n}\n`,
  },
  {
    code: "import-not-found",
    name: "imports relative to the importing file",
    src: {
      "main.agent": `import "lib/tools.agent"\nagent a { instructions: "hi", tools: [t] }\n`,
      "lib/tools.agent": `import "../types.agent"\ntool t { description: "d", output: T }\n`,
      "types.agent": `type T { id: string }\n`,
    },
  },
  {
    code: "file-not-found",
    name: "a file relative to the file that names it",
    src: {
      "main.agent": `import "kb/knowledge.agent"\nagent a { instructions: "hi", context: [c] }\n`,
      "kb/knowledge.agent": `context c { from: file("../docs/refunds.md") }\n`,
      "docs/refunds.md": "text",
    },
  },
  {
    code: "duplicate-declaration",
    name: "one name for declarations of different kinds",
    src: `tool customer { description: "d" }\nmemory customer {}\nagent a { instructions: "hi", tools: [customer], memory: customer }\n`,
  },
  {
    code: "duplicate-declaration",
    name: "one name in two files that no file imports together",
    src: {
      "a.agent": `tool t { description: "a" }\nagent x { instructions: "hi", tools: [t] }\n`,
      "b.agent": `tool t { description: "b" }\nagent y { instructions: "hi", tools: [t] }\n`,
    },
  },
  {
    code: "unknown-reference",
    name: "declarations visible through transitive imports",
    src: {
      "main.agent": `import "a.agent"\nagent x { instructions: "hi", tools: [t], memory: m }\n`,
      "a.agent": `import "sub/b.agent"\nmemory m {}\n`,
      "sub/b.agent": `import "../c.agent"\ntool t { description: "b", output: O }\n`,
      "c.agent": `type O { id: string }\n`,
    },
  },
  {
    code: "unknown-reference",
    name: "an import cycle",
    src: {
      "main.agent": `import "tools.agent"\nagent x { instructions: "hi", tools: [t] }\n`,
      "tools.agent": `import "main.agent"\ntool t { description: "a" }\ntest "x" { agent: x, send "hi" }\n`,
    },
  },
  {
    code: "unknown-reference",
    name: "a test on the implicit local backend, with remember and memory expectations",
    src: `${SUPPORT}test "t" {\n  agent: support\n  backend: local\n  model calls remember { field: "open_tickets", value: 1 }\n  send "hi"\n  expect tool remember called with { field: "open_tickets" }\n  expect memory.open_tickets == 1\n}\n`,
  },
  {
    code: "wrong-kind",
    name: "a tool and a memory of the same name, each where its kind is expected",
    src: `tool customer { description: "d" }\n${CUSTOMER}agent a { instructions: "hi", tools: [customer], memory: customer }\n`,
  },
  {
    code: "missing-property",
    name: "the only backend used implicitly",
    src: `backend b { kind: stateless, provider: local }\nagent a { instructions: "hi" }\n`,
  },
  {
    code: "missing-property",
    name: "two backends and an agent that names one",
    src: `backend b1 { kind: stateless, provider: local }\nbackend b2 { kind: stateless, provider: local }\nagent a { instructions: "hi", backend: b1 }\nagent b { instructions: "hi", backend: b2 }\n`,
  },
  {
    code: "missing-property",
    name: "azure and compatible backends with an endpoint",
    src: `backend az { kind: stateless, provider: azure, endpoint: "https://acme.openai.azure.com" }\nbackend ollama { kind: stateless, provider: compatible, endpoint: "http://localhost:11434/v1" }\nagent a { instructions: "hi", backend: az }\nagent b { instructions: "hi", backend: ollama }\n`,
  },
  {
    code: "missing-property",
    name: "mcp servers with one transport each",
    src: `mcp s1 { command: command("node", ["s.js"]) }\nmcp s2 { url: "http://127.0.0.1:3001/mcp" }\ntool t1 { description: "d", run: mcp(s1, "t") }\ntool t2 { description: "d", run: mcp(s2, "t") }\nagent a { instructions: "hi", tools: [t1, t2] }\n`,
  },
  {
    code: "unknown-property",
    name: "open blocks (vars, mcp env) take any name",
    src: `mcp s {\n  command: command("node", ["s.js"])\n  env { ORDERS_TOKEN: env("ORDERS_TOKEN"), region: "eu" }\n}\ntool t { description: "d", run: mcp(s, "t") }\nagent a {\n  instructions: "{{vars.anything}}"\n  vars { anything: 1, more: "x" }\n  tools: [t]\n}\n`,
  },
  {
    code: "duplicate-property",
    name: "one property name in different blocks",
    src: `context c { description: "d", from: http("GET", "https://x"), max_tokens: 10 }\ntype T { id: string }\ntype U { id: string, t: T }\ntool t { description: "d", output: U }\nagent a { description: "d", instructions: "hi", context: [c], tools: [t], policy { max_tokens: 10 } }\n`,
  },
  {
    code: "type-mismatch",
    name: "values of the right types",
    src: `backend local_dev { kind: "stateless", provider: local, context_window: 128_000 }\n${LOOKUP}agent a {\n  description: """\n    text block\n  """\n  backend: local_dev\n  temperature: 1\n  instructions: "hi"\n  tools: [lookup_order]\n  handoffs: [a]\n  identity { scopes: [] }\n  policy { max_turns: 10, max_tool_calls: 0, max_tokens: 1e6 }\n}\n`,
  },
  {
    code: "type-mismatch",
    name: "valid regular expressions and comparisons",
    src: denyRule(
      `deny refund when input.order_id matches "^A[0-9]+$" and not (input.amount <= 5 or input.priority == "low")\n    deny refund when input.tags contains "vip" or input.order_id contains "X"`,
    ),
  },
  {
    code: "out-of-range",
    name: "the boundaries of every range",
    src: `memory m { window: 1, summarize_after: 1 }\nagent a { instructions: "hi", memory: m, temperature: 0, policy { max_turns: 1, max_tool_calls: 0, max_tokens: 1 } }\nagent b { instructions: "hi", temperature: 2 }\n`,
  },
  {
    code: "invalid-enum",
    name: "every allowed word",
    src: `backend b1 { kind: stateless, provider: openai, api: responses }\nbackend b2 { kind: stateful, provider: local, api: chat }\nmemory m1 { scope: session }\nmemory m2 { scope: user }\nmemory m3 { scope: agent }\ncontext c1 { from: http("POST", "https://x"), refresh: per_session }\ncontext c2 { from: http("delete", "https://x"), refresh: per_turn }\nagent a { instructions: "hi", backend: b1, memory: m1, context: [c1, c2], identity { acts_for: user } }\nagent b { instructions: "hi", backend: b2, memory: m2, identity { acts_for: service } }\nagent c { instructions: "hi", backend: b2, memory: m3 }\n`,
  },
  {
    code: "secret-literal",
    name: "strings that only look a little like credentials, and credentials read from the environment",
    src: `tool t {\n  description: "Bearer tokens, sk-... keys and ?key= parameters are explained in docs/keys.md"\n  input { q: string }\n  run: http("GET", "https://api.example.com/search?q={{input.q}}&key={{vars.key}}&page=1")\n}\ntool c {\n  description: "d"\n  run: command("node", ["c.js", "--token-from-env"])\n  env { TOKEN: env("CRM_TOKEN") }\n}\nagent a {\n  instructions: "Say 'Bearer' and 'sk-' only in prose; eyJ alone is nothing."\n  vars { key: env("SEARCH_KEY"), model: "gpt-4.1-mini", region: "AKIA" }\n  tools: [t, c]\n}\n`,
    also: ["undefined-template-variable"],
  },
  {
    code: "secret-literal",
    name: "keys read from the environment",
    src: `backend b { kind: stateless, provider: openai, api_key: env("OPENAI_API_KEY") }\nagent a { instructions: "hi" }\n`,
  },
  {
    code: "backend-mismatch",
    name: "each provider's own reasoning setting",
    src: `backend o { kind: stateless, provider: openai, reasoning { effort: low } }\nbackend z { kind: stateless, provider: azure, endpoint: "https://x", reasoning { effort: medium } }\nbackend c { kind: stateless, provider: compatible, endpoint: "http://x", reasoning { effort: high } }\nbackend r { kind: stateful, provider: bedrock, reasoning { budget_tokens: 2048 } }\n${["o", "z", "c", "r"].map((b) => `agent a_${b} { instructions: "hi", backend: ${b} }`).join("\n")}\n`,
  },
  {
    code: "backend-mismatch",
    name: "every allowed kind and provider",
    src: `backend s1 { kind: stateful, provider: bedrock }\nbackend s2 { kind: stateful, provider: local }\nbackend l1 { kind: stateless, provider: openai }\nbackend l2 { kind: stateless, provider: azure, endpoint: "https://x" }\nbackend l3 { kind: stateless, provider: compatible, endpoint: "http://x" }\nbackend l4 { kind: stateless, provider: local }\n${["s1", "s2", "l1", "l2", "l3", "l4"].map((b) => `agent a_${b} { instructions: "hi", backend: ${b} }`).join("\n")}\n`,
  },
  {
    code: "undefined-template-variable",
    name: "every template root, and an escaped template",
    src: `${CUSTOMER}agent a {\n  memory: customer\n  vars { company: "Acme" }\n  instructions: """\n    {{vars.company}} {{ memory.preferred_name }} {{memory.open_tickets}}\n    {{user.id}} {{user.name}} {{session.id}} {{session.turn}} \\{{nope.x}}\n  """\n}\ntool t {\n  description: "d"\n  input { id: string }\n  run: command("node", ["t.js", "{{input.id}}", "{{user.id}}", "{{session.id}}"])\n}\ncontext c { from: http("GET", "https://kb/{{user.id}}") }\nagent b { instructions: "hi", tools: [t], context: [c] }\n`,
  },
  {
    code: "unknown-tool-input",
    name: "conditions and test inputs that match the tool",
    src: `${denyRule(`deny refund when input.amount > 500 and input.order_id != "A1"`)}test "t" {\n  agent: a\n  model calls refund { order_id: "A1", amount: 900, priority: "high", tags: ["x"] }\n  send "hi"\n  expect tool refund called with { amount: 900 }\n  expect tool refund called\n  expect tool refund denied\n}\n`,
  },
  {
    code: "missing-scope",
    name: "scopes that cover every tool, and a tool that requires none",
    src: `tool t { description: "d", requires: ["orders:read"] }\ntool u { description: "d" }\nagent a {\n  instructions: "hi"\n  tools: [t, u]\n  identity { scopes: ["orders:read", "extra"] }\n}\n`,
  },
  {
    code: "unused-declaration",
    name: "declarations used by agents, tools, other types and tests",
    src: `backend b { kind: stateless, provider: local }\ntype Item { sku: string }\ntype Order { items: Item[] }\ntool t { description: "d", output: Order }\ntool mocked { description: "d" }\ncontext c { from: http("GET", "https://x") }\nmemory m {}\nagent a { instructions: "hi", tools: [t], context: [c], memory: m }\ntest "x" { agent: a, tool mocked returns 1, send "hi" }\n`,
  },
  {
    code: "unused-declaration",
    name: "a type used only by a tool's input field",
    src: `type Address { city: string }\ntool t {\n  description: "d"\n  input { to: Address }\n}\nagent a { instructions: "hi", tools: [t] }\n`,
  },
  {
    code: "context-budget",
    name: "a small context on the local backend",
    src: `backend b { kind: stateless, provider: local }\ncontext c { from: http("GET", "https://kb"), max_tokens: 1000 }\nagent a { instructions: "hi", context: [c] }\n`,
  },
  {
    code: "context-budget",
    name: "a large context on a model with a large window",
    src: `${OPENAI}context c { from: http("GET", "https://kb"), max_tokens: 100000 }\nagent a { instructions: "hi", context: [c] }\n`,
  },
  {
    code: "unknown-model",
    name: "catalog ids, dated snapshots, Bedrock profiles, and any model on compatible",
    src: `backend o { kind: stateless, provider: openai, model: "gpt-4o-2024-08-06" }\nbackend br { kind: stateful, provider: bedrock, model: "us.anthropic.claude-3-5-sonnet-20241022-v2:0" }\nbackend c { kind: stateless, provider: compatible, endpoint: "http://localhost:11434/v1", model: "llama3.1:8b-whatever" }\nbackend n { kind: stateless, provider: openai, model: "gpt-9-preview", context_window: 200000 }\nagent a { instructions: "hi", backend: o, model: "gpt-4.1" }\nagent b { instructions: "hi", backend: br }\nagent d { instructions: "hi", backend: c, model: "qwen2.5-coder" }\nagent e { instructions: "hi", backend: n }\n`,
  },
  {
    code: "scripted-step-live",
    name: "model steps on the implicit, a named local-provider, and the 'local' backend",
    src: `backend offline { kind: stateless, provider: local }\n${OPENAI}${SUPPORT.replace("memory: customer", "memory: customer\n  backend: offline")}test "t1" {\n  agent: support\n  backend: offline\n  model replies "ok"\n  send "hi"\n}\ntest "t2" {\n  agent: support\n  backend: local\n  model replies "ok"\n  send "hi"\n}\ntest "live without scripted steps" {\n  agent: support\n  backend: live\n  send "hi"\n  expect reply contains "order"\n}\n`,
  },

  // ---- evals (evals.md section 5) ----
  {
    code: "judge-missing",
    name: "judge criteria everywhere with a local judge, and an eval without judge criteria",
    src: {
      "main.agent": `${SUPPORT}eval e {\n  agent: support\n  judge: local\n  dataset: file("cases.jsonl")\n  judge "Polite."\n  case "c" {\n    judge scores 0.9 "fine"\n    send "hi"\n    judge helpfulness\n  }\n}\neval plain {\n  agent: support\n  case "c" { send "hi" }\n}\n`,
      "cases.jsonl": `{"input": "hi", "judge": [{"criterion": "Kind.", "at_least": 0.6}]}\n`,
    },
  },
  {
    code: "dataset-line",
    name: "a dataset of valid cases, every field used, blank lines between them",
    src: {
      "main.agent": `${SUPPORT}eval e {\n  agent: support\n  judge: local\n  dataset: file("cases/support.jsonl")\n}\n`,
      "cases/support.jsonl": `${JSON.stringify({ name: "late order", input: ["Where is A1003?", "When?"], user: { id: "u7", name: "Ann" }, expected: "Tuesday.", goal: "Knows when.", expect: { tools: ["lookup_order"], trajectory: "in_order", reply_contains: ["A1003"], reply_matches: "arriv(e|al)" }, judge: [{ criterion: "Gives a date.", at_least: 0.6 }], script: [{ call: "lookup_order", input: { order_id: "A1003" } }, { reply: "It ships Tuesday." }, { handoff: "support" }] })}\n\n{"input": "hi"}\n`,
    },
  },
  {
    code: "scripted-step-live",
    name: "arrange steps and a script when every backend is local; approve and reject on a live one",
    src: {
      "main.agent": `backend offline { kind: stateless, provider: local }\n${OPENAI}${SUPPORT.replace("memory: customer", "memory: customer\n  backend: offline")}eval e {\n  agent: support\n  backends: [local, offline]\n  judge: local\n  dataset: file("cases.jsonl")\n  case "c" {\n    model calls lookup_order { order_id: "A1" }\n    tool lookup_order returns { id: "A1" }\n    model replies "ok"\n    judge scores 1 "yes"\n    send "hi"\n    judge "Polite."\n  }\n  case "sim" {\n    simulate { backend: local, persona: "p", goal: "g" }\n    user says "hi"\n  }\n}\neval live_eval {\n  agent: support\n  backends: [live]\n  case "c" {\n    approve lookup_order\n    reject lookup_order\n    send "hi"\n  }\n}\n`,
      "cases.jsonl": `{"input": "x", "script": [{"reply": "ok"}]}\n`,
    },
  },
  {
    code: "unknown-reference",
    name: "an eval whose names all resolve, local included, and the memory tool in a trajectory",
    src: `${OPENAI}${SUPPORT}eval e {\n  agent: support\n  backends: [local, live]\n  judge: live\n  judge faithfulness\n  case "c" {\n    simulate { backend: local, persona: "p", goal: "g" }\n    expect trajectory [lookup_order, remember] any_order\n    expect tool lookup_order called\n    judge tool_selection at_least 0.8\n    judge goal_success\n  }\n}\n`,
  },
  {
    code: "out-of-range",
    name: "the bounds themselves: pass_rate 0 and 1, at_least 0 and 1, trials, concurrency and max_turns 1",
    src: `${SUPPORT}eval e {\n  agent: support\n  judge: local\n  trials: 1\n  pass_rate: 0\n  concurrency: 1\n  judge "Polite." at_least 0\n  case "c" {\n    simulate { backend: local, persona: "p", goal: "g", max_turns: 1 }\n    judge scores 0 "no"\n    judge "Short." at_least 1\n  }\n}\neval f {\n  agent: support\n  pass_rate: 1\n  case "c" { send "x" }\n}\n`,
  },
  {
    code: "missing-property",
    name: "a simulated case without send, correctness with expected, goal_success with a goal",
    src: `${SUPPORT}eval e {\n  agent: support\n  judge: local\n  case "sim" {\n    simulate { backend: local, persona: "p", goal: "g" }\n    judge goal_success\n  }\n  case "c" {\n    user { id: "ada" name: "Ada" }\n    send "x"\n    expected "y"\n    goal "z"\n    judge correctness\n    judge goal_success\n  }\n}\n`,
  },
];

POSITIVE.push(
  {
    code: "sql-template",
    name: "values bound through $n parameters, and {{ }} in an http path",
    src: `${WAREHOUSE}connection crm { url: "https://crm.example.com" }\ntool t { description: "d", input { email: string }, run: sql(wh, "select * from c where email = $1 and owner = $2 and n < $3", [input.email, user.id, 10]) }\ntool u { description: "d", input { email: string }, run: http("GET", crm, "/c?e={{input.email}}") }\ncontext c { from: sql(wh, "select name from a where o = $1", [user.id]) }\nagent a { instructions: "hi", tools: [t, u], context: [c] }\n`,
  },
  {
    code: "acts-for-mismatch",
    name: "user_token for an agent acting for the user (or saying nothing), oauth2 for one acting for service",
    src: `${INBOX}connection crm { url: "https://crm.example.com", auth: oauth2 { token_url: "https://t.example.com/token", client_id: env("ID"), client_secret: env("SECRET"), scopes: ["crm.read"] } }\ntool find { description: "d", run: http("GET", crm, "/x") }\nagent a { instructions: "hi", tools: [inbox], identity { acts_for: user } }\nagent b { instructions: "hi", tools: [inbox] }\nagent c { instructions: "hi", tools: [find], identity { acts_for: service } }\n`,
  },
  {
    code: "secret-literal",
    name: "every auth kind with env(...), headers and urls without credentials",
    src: `connection a { url: "https://a.example.com", auth: bearer(env("A_TOKEN")), headers { "X-Tenant": "acme", "X-Key": env("KEY") } }\nconnection b { url: "https://b.example.com", auth: header("X-Api-Key", env("B_KEY")) }\nconnection c { url: "https://c.example.com", auth: basic(env("C_USER"), env("C_PASSWORD")) }\nconnection d { url: env("D_URL"), timeout_ms: 5000 }\ntool ta { description: "d", run: http("GET", a, "/x") }\ntool tb { description: "d", run: http("GET", b, "/x") }\ntool tc { description: "d", run: http("GET", c, "/x") }\ntool td { description: "d", run: sql(d, "select 1") }\nagent x { instructions: "hi", tools: [ta, tb, tc, td] }\n`,
  },
  {
    code: "type-mismatch",
    name: "sql on postgresql:// and on an env url, http on https",
    src: `connection p { url: "postgresql://db.internal/app" }\nconnection e { url: env("DB_URL") }\nconnection h { url: "https://h.example.com" }\ntool a { description: "d", run: sql(p, "select 1") }\ntool b { description: "d", run: sql(e, "select 1") }\ntool c { description: "d", run: http("GET", h, "/x") }\nagent x { instructions: "hi", tools: [a, b, c] }\n`,
  },
);

// ---- running the cases ---------------------------------------------------------------------------

function asFiles(src: Sources): Record<string, string> {
  return typeof src === "string" ? { "main.agent": src } : src;
}

function check(src: Sources) {
  const { files, spans } = markedSources(asFiles(src));
  return { files, spans, diagnostics: checkSources(files) };
}

/** A readable line for a diagnostic or an expected range: `path:start-end "covered text"`. */
function where(files: Record<string, string>, p: string, start: number, end: number): string {
  const name = path.relative("/ws", p);
  return `${name}:${start}-${end} ${JSON.stringify((files[name] ?? "").slice(start, end))}`;
}

function show(files: Record<string, string>, d: Diagnostic): string {
  return `${d.severity} ${d.code} at ${where(files, d.path, d.span.start, d.span.end)}: ${d.message}`;
}

function assertNegative(c: Negative): void {
  const { files, spans, diagnostics } = check(c.src);
  const got = diagnostics.filter((d) => d.code === c.code);
  const expected = [...spans].flatMap(([p, ss]) => ss.map((s) => where(files, p, s.start, s.end)));
  assert.ok(expected.length > 0, "the case marks at least one range");
  assert.deepEqual(
    got.map((d) => where(files, d.path, d.span.start, d.span.end)).sort(),
    expected.sort(),
    `ranges of ${c.code}; all diagnostics:\n${diagnostics.map((d) => show(files, d)).join("\n")}`,
  );
  for (const d of got) {
    assert.equal(d.severity, CONTRACT_SEVERITY[c.code], show(files, d));
    assert.match(d.message, c.message, show(files, d));
  }
  const allowed = new Set<DiagnosticCode>([c.code, "unused-declaration", ...(c.also ?? [])]);
  assert.deepEqual(
    diagnostics.filter((d) => !allowed.has(d.code)).map((d) => show(files, d)),
    [],
    "no other diagnostics (a cascade?)",
  );
}

function assertPositive(c: Positive): void {
  const { files, spans, diagnostics } = check(c.src);
  assert.equal(spans.size, 0, "a positive case marks no ranges");
  assert.deepEqual(
    diagnostics
      .filter(
        (d) =>
          d.code === c.code || (d.severity !== "hint" && d.severity !== "info" && !c.also?.includes(d.code)),
      )
      .map((d) => show(files, d)),
    [],
  );
}

const CODES = Object.keys(SEVERITY) as DiagnosticCode[];

describe("validate", () => {
  describe("the diagnostic codes", () => {
    it("have the severities of language.md section 4", () => {
      assert.deepEqual(SEVERITY, CONTRACT_SEVERITY);
    });

    it("each have a negative case (a new code without a test fails here)", () => {
      const seen = new Set(NEGATIVE.map((c) => c.code));
      assert.deepEqual(
        CODES.filter((c) => !seen.has(c)),
        [],
      );
    });

    it("each have a positive case", () => {
      const seen = new Set(POSITIVE.map((c) => c.code));
      assert.deepEqual(
        CODES.filter((c) => !seen.has(c)),
        [],
      );
    });
  });

  for (const code of CODES) {
    describe(code, () => {
      for (const c of NEGATIVE.filter((n) => n.code === code))
        it(`reports ${c.name}`, () => assertNegative(c));
      for (const c of POSITIVE.filter((p) => p.code === code))
        it(`accepts ${c.name}`, () => assertPositive(c));
    });
  }
});

// ---- details beyond code and range ------------------------------------------------------------------

/** The one diagnostic with `code`, failing if there is not exactly one. */
function only(diagnostics: Diagnostic[], code: DiagnosticCode): Diagnostic {
  const found = diagnostics.filter((d) => d.code === code);
  assert.equal(found.length, 1, `one ${code} in ${JSON.stringify(diagnostics, null, 1)}`);
  return found[0];
}

/** Fills snippet placeholders the way an editor would accept their defaults. */
function fillSnippet(snippet: string): string {
  return snippet
    .replace(/\$\{\d+\|([^,|]*)[^|]*\|\}/g, "$1")
    .replace(/\$\{\d+:([^}]*)\}/g, "$1")
    .replace(/\$\d+/g, "x");
}

/** Applies a fix to the text of the file the diagnostic is in. */
function applyFix(text: string, d: Diagnostic, fix: FixData): string {
  switch (fix.kind) {
    case "replace":
      return text.slice(0, d.span.start) + fix.text + text.slice(d.span.end);
    case "insertProperty":
      return `${text.slice(0, fix.blockEnd)}\n${fix.indent}${fillSnippet(fix.snippet)}\n${text.slice(fix.blockEnd)}`;
    case "createDeclaration":
      return `${text.slice(0, fix.after)}\n${fix.declKind} ${fix.name} {}\n${text.slice(fix.after)}`;
    case "edits":
      return [...fix.edits]
        .sort((a, b) => b.start - a.start)
        .reduce((t, e) => t.slice(0, e.start) + e.text + t.slice(e.end), text);
  }
}

describe("validate: code actions", () => {
  const cases: { name: string; src: string; code: DiagnosticCode; fix: Partial<FixData> }[] = [
    {
      name: "sql-template: bind the template as the next parameter, appended to the list",
      code: "sql-template",
      src: `connection wh { url: "postgres://pglite/./wh" }\ntool t {\n  description: "d"\n  input { email: string, n: integer }\n  run: sql(wh, "select * from c where n > $1 and email = {{ input.email }}", [input.n])\n}\nagent a { instructions: "hi", tools: [t] }\n`,
      fix: { kind: "edits", title: "Bind 'input.email' as parameter $2" },
    },
    {
      name: "sql-template: bind the template as a parameter, adding the list",
      code: "sql-template",
      src: `connection wh { url: "postgres://pglite/./wh" }\ncontext c { from: sql(wh, "select name from a where owner = '{{user.id}}'") }\nagent a { instructions: "hi", context: [c] }\n`,
      fix: { kind: "edits", title: "Bind 'user.id' as parameter $1" },
    },
    {
      name: "acts-for-mismatch: make the agent act for the user",
      code: "acts-for-mismatch",
      src: `connection mail { url: "https://graph.example.com", auth: user_token("mail") }\ntool inbox { description: "d", run: http("GET", mail, "/me") }\nagent a { instructions: "hi", tools: [inbox], identity { acts_for: service } }\n`,
      fix: { kind: "edits", title: "Act for the user (acts_for: user)" },
    },
    {
      name: "unknown-reference: replace with the suggestion",
      code: "unknown-reference",
      src: `${LOOKUP}agent a {\n  instructions: "hi"\n  tools: [lookup_ordr]\n}\n`,
      fix: { kind: "replace", text: "lookup_order", title: "Change to 'lookup_order'" },
    },
    {
      name: "unknown-property: replace with the suggestion",
      code: "unknown-property",
      src: `agent a {\n  instructions: "hi"\n  temprature: 1\n}\n`,
      fix: { kind: "replace", text: "temperature" },
    },
    {
      name: "missing-property: insert the required property",
      code: "missing-property",
      src: `agent a {\n  description: "d"\n}\n`,
      fix: { kind: "insertProperty", property: "instructions" },
    },
    {
      name: "missing-property: insert an endpoint",
      code: "missing-property",
      src: `backend b { kind: stateless, provider: azure }\nagent a { instructions: "hi" }\n`,
      fix: { kind: "insertProperty", property: "endpoint" },
    },
    {
      name: "missing-property: insert a backend, offering the declared ones",
      code: "missing-property",
      src: `backend b1 { kind: stateless, provider: local }\nbackend b2 { kind: stateless, provider: local }\nagent a { instructions: "hi", backend: b1 }\nagent c { instructions: "hi" }\n`,
      fix: { kind: "insertProperty", property: "backend", snippet: "backend: ${1|b1,b2|}" },
    },
    {
      name: "missing-property: insert a send step",
      code: "missing-property",
      src: `agent a { instructions: "hi" }\ntest "t" {\n  agent: a\n}\n`,
      fix: { kind: "insertProperty", property: "send" },
    },
    {
      name: "secret-literal: replace with env(...)",
      code: "secret-literal",
      src: `backend b {\n  kind: stateless\n  provider: openai\n  api_key: "sk-123"\n}\nagent a { instructions: "hi" }\n`,
      fix: { kind: "replace", text: 'env("OPENAI_API_KEY")', title: 'Use env("OPENAI_API_KEY")' },
    },
    {
      name: "secret-literal in vars: move it into env(...) named after the var",
      code: "secret-literal",
      src: `agent a {\n  instructions: "hi"\n  vars { crm_key: "sk-proj-Q7w9ZkP2mX4vR8tL1nB6cD3e" }\n}\n`,
      fix: { kind: "replace", text: 'env("CRM_KEY")', title: 'Use env("CRM_KEY")' },
    },
    {
      name: "invalid-enum: replace with the suggestion",
      code: "invalid-enum",
      src: `memory m { scope: users }\nagent a { instructions: "hi", memory: m }\n`,
      fix: { kind: "replace", text: "user" },
    },
    {
      name: "undefined-template-variable: replace with the suggestion",
      code: "undefined-template-variable",
      src: `agent a {\n  instructions: "{{vars.compny}}"\n  vars { company: "Acme" }\n}\n`,
      fix: { kind: "replace", text: "company" },
    },
    {
      name: "unknown-tool-input: replace with the suggestion",
      code: "unknown-tool-input",
      src: denyRule("deny refund when input.amout > 5"),
      fix: { kind: "replace", text: "amount" },
    },
    {
      name: "unknown-model: replace with the suggestion, quoted",
      code: "unknown-model",
      src: `backend b { kind: stateless, provider: openai, model: "gpt-4o-mnii" }\nagent a { instructions: "hi" }\n`,
      fix: { kind: "replace", text: '"gpt-4o-mini"' },
    },
    {
      name: "type-mismatch: wrap a single name in brackets",
      code: "type-mismatch",
      src: `${LOOKUP}agent a { instructions: "hi", tools: lookup_order }\n`,
      fix: { kind: "replace", text: "[lookup_order]" },
    },
  ];
  for (const c of cases) {
    it(`${c.name}, and the fixed text checks clean`, () => {
      const d = only(checkSources({ "main.agent": c.src }), c.code);
      assert.equal(d.fixes?.length, 1, JSON.stringify(d));
      const fix = d.fixes![0];
      for (const [k, v] of Object.entries(c.fix)) assert.equal((fix as Record<string, unknown>)[k], v, k);
      if (fix.kind === "insertProperty")
        assert.equal(c.src[fix.blockEnd], "}", "blockEnd is the closing brace");
      const fixed = applyFix(c.src, d, fix);
      const after = checkSources({ "main.agent": fixed }).filter((x) => x.severity !== "hint");
      assert.deepEqual(after, [], `after the fix:\n${fixed}`);
    });
  }

  it("sql-template: the fixed statement keeps its quotes out and binds the value in order", () => {
    const src = `connection wh { url: "postgres://pglite/./wh" }\ntool t { description: "d", input { email: string }, run: sql(wh, "select 1 from c where e = '{{input.email}}' and o = $1", [user.id]) }\nagent a { instructions: "hi", tools: [t] }\n`;
    const d = only(checkSources({ "main.agent": src }), "sql-template");
    const fixed = applyFix(src, d, d.fixes![0]);
    assert.ok(
      fixed.includes(`sql(wh, "select 1 from c where e = $2 and o = $1", [user.id, input.email])`),
      fixed,
    );
    const like = src.replace("e = '{{input.email}}'", "e like '%{{input.email}}%'");
    const l = only(checkSources({ "main.agent": like }), "sql-template");
    assert.ok(
      applyFix(like, l, l.fixes![0]).includes(`"select 1 from c where e like '%' || $2 || '%' and o = $1"`),
    );
  });

  it("offers no replacement when nothing is close", () => {
    const d = only(
      checkSources({ "main.agent": `${LOOKUP}agent a { instructions: "hi", tools: [zebra] }\n` }),
      "unknown-reference",
    );
    assert.equal(d.fixes, undefined);
  });
});

describe("validate: related information and tags", () => {
  it("points a duplicate declaration at the first one, in the other file", () => {
    const { files, diagnostics } = check({
      "main.agent": `import "a.agent"\nimport "b.agent"\nagent x { instructions: "hi", tools: [t] }\n`,
      "a.agent": `\ntool t { description: "a" }\n`,
      "b.agent": `tool t { description: "b" }\n`,
    });
    const d = only(diagnostics, "duplicate-declaration");
    assert.equal(d.path, wsPath("b.agent"));
    assert.match(d.message, /already declared at a\.agent:2/);
    assert.equal(d.related?.length, 1);
    assert.equal(d.related![0].path, wsPath("a.agent"));
    assert.equal(files["a.agent"].slice(d.related![0].span.start, d.related![0].span.end), "t");
    assert.deepEqual(
      Object.keys(d.related![0].span).sort(),
      ["end", "start"],
      "a plain span, not an AST node",
    );
  });

  it("does not call a duplicate declaration unused as well", () => {
    const diagnostics = checkSources({
      "main.agent": `tool t { description: "a" }\ntool t { description: "b" }\nagent a { instructions: "hi", tools: [t] }\n`,
    });
    assert.deepEqual(
      diagnostics.map((d) => d.code),
      ["duplicate-declaration"],
    );
  });

  it("points a wrong-kind reference and a duplicate property at the declaration and first setting", () => {
    const src = `${CUSTOMER}agent a {\n  instructions: "hi"\n  instructions: "again"\n  tools: [customer]\n}\n`;
    const diagnostics = checkSources({ "main.agent": src });
    const wrong = only(diagnostics, "wrong-kind");
    assert.equal(src.slice(wrong.related![0].span.start, wrong.related![0].span.end), "customer");
    assert.equal(wrong.related![0].span.start, src.indexOf("customer"));
    const dup = only(diagnostics, "duplicate-property");
    assert.equal(dup.related![0].span.start, src.indexOf("instructions"));
  });

  it("tags unused declarations as unnecessary hints, and nothing else", () => {
    const diagnostics = checkSources({
      "main.agent": `tool t { description: "d" }\ntype T { id: string }\nagent a { instructions: "hi", temperature: 9 }\n`,
    });
    const unused = diagnostics.filter((d) => d.code === "unused-declaration");
    assert.equal(unused.length, 2);
    for (const d of unused) {
      assert.equal(d.severity, "hint");
      assert.equal(d.unnecessary, true);
    }
    for (const d of diagnostics.filter((x) => x.code !== "unused-declaration"))
      assert.notEqual(d.unnecessary, true);
  });
});

describe("validate: programs", () => {
  it("keeps checking the declarations after a broken one", () => {
    const { diagnostics } = check(
      `agnet a {\n  instructions: "hi"\n}\nagent b {\n  instructions: "hi"\n  temperature: 9\n}\n`,
    );
    assert.deepEqual(diagnostics.map((d) => d.code).sort(), ["out-of-range", "syntax"]);
  });

  it("reports a file's problems once, however many roots import it", () => {
    const files = {
      "main.agent": `import "lib.agent"\nagent a { instructions: "hi", tools: [t] }\n`,
      "other.agent": `import "lib.agent"\nagent b { instructions: "hi", tools: [t] }\n`,
      "lib.agent": `tool t { description: "d", timeout_ms: 0 }\n`,
    };
    assert.deepEqual(
      checkSources(files).map((d) => `${path.basename(d.path)} ${d.code}`),
      ["lib.agent out-of-range"],
    );
  });

  it("reports only the files reachable from the roots", () => {
    const files = {
      "main.agent": `agent a { instructions: "hi" }\n`,
      "broken.agent": `agent b { temperature: 9 }\n`,
    };
    assert.deepEqual(checkSources(files, ["main.agent"]), []);
  });

  it("checks the example project clean, but for two unused backends", () => {
    const dir = path.resolve(__dirname, "../../examples/support");
    const roots = findAgentFiles(dir);
    const program = new Program(nodeFileSystem());
    for (const f of roots) program.load(f);
    const diagnostics = checkFiles(program, roots);
    assert.deepEqual(
      diagnostics.map(
        (d) =>
          `${path.basename(d.path)} ${d.code} ${covered({ [d.path]: program.get(d.path)!.file.text }, d)}`,
      ),
      ["main.agent unused-declaration openai_cloud", "main.agent unused-declaration aws_runtime"],
    );
  });
});

// ---- robustness -------------------------------------------------------------------------------------

/** Every case's sources without markers. */
const ALL_SOURCES: Record<string, string>[] = [...NEGATIVE, ...POSITIVE].map(
  (c) => markedSources(asFiles(c.src)).files,
);

function assertWellFormed(files: Record<string, string>, diagnostics: Diagnostic[]): void {
  for (const d of diagnostics) {
    const name = path.relative("/ws", d.path);
    assert.ok(name in files, `a diagnostic in a file of the program: ${d.path}`);
    assert.ok(
      0 <= d.span.start && d.span.start <= d.span.end && d.span.end <= files[name].length,
      show(files, d),
    );
    assert.equal(d.severity, SEVERITY[d.code], show(files, d));
    assert.ok(d.message.length > 0, show(files, d));
    for (const r of d.related ?? []) assert.ok(r.span.start <= r.span.end, JSON.stringify(r));
  }
}

describe("validate: robustness", function () {
  // Thousands of whole-program checks: slower than mocha's default 2 s on a cold machine.
  this.timeout(60_000);

  it("never throws when any one line of any case is deleted", () => {
    let runs = 0;
    for (const files of ALL_SOURCES) {
      for (const [name, text] of Object.entries(files)) {
        if (!name.endsWith(".agent")) continue;
        const lines = text.split("\n");
        for (let i = 0; i < lines.length; i++) {
          const mutated = { ...files, [name]: [...lines.slice(0, i), ...lines.slice(i + 1)].join("\n") };
          let diagnostics: Diagnostic[] = [];
          assert.doesNotThrow(() => (diagnostics = checkSources(mutated)), `${name} without line ${i + 1}`);
          assertWellFormed(mutated, diagnostics);
          runs++;
        }
      }
    }
    assert.ok(runs > 500, `${runs} mutations`);
  });

  it("never throws when a random slice of a random case is deleted or duplicated", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: ALL_SOURCES.length - 1 }),
        fc.nat(),
        fc.nat(),
        fc.boolean(),
        (which, a, b, duplicate) => {
          const files = ALL_SOURCES[which];
          const name = Object.keys(files).find((n) => n.endsWith(".agent"))!;
          const text = files[name];
          const [from, to] = [a % (text.length + 1), b % (text.length + 1)].sort((x, y) => x - y);
          const cut = duplicate
            ? text.slice(0, to) + text.slice(from, to) + text.slice(to)
            : text.slice(0, from) + text.slice(to);
          const mutated = { ...files, [name]: cut };
          assertWellFormed(mutated, checkSources(mutated));
        },
      ),
      { numRuns: 500 },
    );
  });
});
