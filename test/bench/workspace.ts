// Generates a realistic multi-file `.agent` workspace of a given size for
// benchmarks and scale tests: types, tools, memories, contexts, agents and
// tests that reference each other across imports, all valid.

export interface GeneratedWorkspace {
  /** File name (relative) to text. */
  files: Map<string, string>;
  lines: number;
  bytes: number;
}

function unit(prefix: string, n: number): string {
  const p = `${prefix}_${n}`;
  return `type ${p}_order {
  id: string "The order id"
  total: number
  status: enum("open", "shipped", "refunded")
  note?: string
}

tool ${p}_lookup {
  description: "Look up an order by id"
  input {
    order_id: string "The order id"
    verbose?: boolean
  }
  output: ${p}_order
  run: http("GET", "https://orders.example/api/{{input.order_id}}")
  requires: ["orders:read"]
  timeout_ms: 5000
}

tool ${p}_refund {
  description: "Refund part of an order"
  input {
    order_id: string
    amount: number
  }
  run: command("node", ["tools/refund.js"])
  requires: ["refunds:write"]
}

memory ${p}_mem {
  scope: user
  window: 20
  fields {
    preferred_name?: string
    open_tickets: integer
  }
}

agent ${p}_agent {
  description: "Support agent ${n}"
  backend: dev
  temperature: 0.2
  instructions: """
    You are support agent ${n} for {{vars.company}}.
    The customer's name is {{memory.preferred_name}}.
  """
  vars { company: "Acme" }
  memory: ${p}_mem
  tools: [${p}_lookup, ${p}_refund]
  identity {
    role: "support"
    scopes: ["orders:read", "refunds:write"]
  }
  policy {
    require_approval: [${p}_refund]
    deny ${p}_refund when input.amount > 500 and not (input.order_id == "VIP")
    max_turns: 10
  }
}

test "${p} refuses large refunds" {
  agent: ${p}_agent
  user: { id: "u1", name: "Ada" }
  model calls ${p}_refund { order_id: "A1", amount: 900 }
  model replies "I cannot refund that."
  send "Refund A1"
  expect tool ${p}_refund denied
  expect reply contains "cannot"
}
`;
}

const UNIT_LINES = unit("x", 0).split("\n").length - 1;

/** `fileCount` files totalling about `totalLines` lines; file 0 is `bigLines` long. */
export function generateWorkspace(fileCount = 50, totalLines = 10_000, bigLines = 2_000): GeneratedWorkspace {
  const files = new Map<string, string>();
  const header = (i: number) =>
    i === 0 ? `import "common.agent"\n\n` : `import "common.agent"\nimport "f${i - 1}.agent"\n\n`;
  const common = `backend dev {\n  kind: stateless\n  provider: local\n}\n`;
  files.set("common.agent", common);
  let lines = common.split("\n").length - 1;
  const rest = Math.max(0, totalLines - bigLines - lines);
  const perFile = Math.max(UNIT_LINES, Math.floor(rest / Math.max(1, fileCount - 1)));
  for (let i = 0; i < fileCount - 1; i++) {
    const target = i === 0 ? bigLines : perFile;
    let text = header(i);
    let n = 0;
    while (text.split("\n").length - 1 + UNIT_LINES <= target || n === 0) text += unit(`f${i}`, n++) + "\n";
    // Fill up to the target with small types, four lines each.
    for (let k = 0; text.split("\n").length - 1 + 4 <= target; k++)
      text += `type f${i}_extra_${k} {\n  id: string\n}\n\n`;
    files.set(`f${i}.agent`, text);
    lines += text.split("\n").length - 1;
  }
  let bytes = 0;
  for (const t of files.values()) bytes += Buffer.byteLength(t);
  return { files, lines, bytes };
}
