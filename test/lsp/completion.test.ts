// Completion over the protocol: one case per cursor context (the cursor is
// marked <|> in the source) against the built server, in a workspace whose
// tools.agent declares two tools, two memories, a backend, a type and an mcp
// server; then the protocol details: text edits, snippets only for clients
// that support them, item kinds, trigger characters and multi-file programs.

import { strict as assert } from "node:assert";
import {
  CompletionItemKind,
  InitializeRequest,
  InsertTextFormat,
  type CompletionItem,
  type InitializeResult,
  type MarkupContent,
} from "vscode-languageserver-protocol/node";
import { DECLARATION_KINDS } from "../../server/language/ast";
import { markers, PUSH_CAPABILITIES, TestClient } from "./harness";
import { TOOLS } from "../unit/helpers/completionWorkspace";

const AGENT = `agent support {
  instructions: "Help"
  memory: customer
  tools: [lookup, refund]
}
`;

const MAIN = `import "tools.agent"\n`;

const SNIPPET_CAPABILITIES = {
  ...PUSH_CAPABILITIES,
  textDocument: {
    ...PUSH_CAPABILITIES.textDocument,
    completion: { completionItem: { snippetSupport: true, documentationFormat: ["markdown" as const] } },
  },
};

let opened = 0;

/** Opens `source` (with one <|> marker) as a new file and asks for completion at the marker. */
async function completeAt(
  client: TestClient,
  source: string,
  trigger?: string,
  name = `case${++opened}.agent`,
): Promise<CompletionItem[]> {
  const { text, positions } = markers(source);
  await client.open(name, text);
  const result = await client.request<CompletionItem[] | null>("textDocument/completion", {
    textDocument: { uri: client.uri(name) },
    position: positions[0],
    context: trigger ? { triggerKind: 2, triggerCharacter: trigger } : { triggerKind: 1 },
  });
  return result ?? [];
}

const labels = (items: CompletionItem[]) => items.map((i) => i.label).sort();

interface Case {
  name: string;
  source: string;
  /** The exact set of labels offered. */
  exact?: string[];
  /** Labels that must be among those offered. */
  has?: string[];
  /** Labels that must not be offered. */
  not?: string[];
  trigger?: string;
}

const STEPS = ["send", "model", "tool", "approve", "reject", "expect"];

const CASES: Case[] = [
  {
    name: "declaration keywords at the top level",
    source: `${MAIN}<|>`,
    exact: [...DECLARATION_KINDS, "import"].sort(),
  },
  { name: "nothing while a declaration's name is typed", source: `${MAIN}agent <|>`, exact: [] },
  {
    name: "agent properties not yet set, and its blocks",
    source: `${MAIN}agent a {\n  instructions: "x"\n  <|>\n  memory: customer\n}\n`,
    has: ["backend", "temperature", "tools", "vars", "identity", "policy"],
    not: ["instructions", "memory", "kind"],
  },
  {
    name: "properties of a nested block",
    source: `${MAIN}agent a {\n  identity {\n    role: "r"\n    <|>\n  }\n}\n`,
    exact: ["acts_for", "scopes"],
  },
  {
    name: "policy properties and deny",
    source: `${MAIN}agent a {\n  policy {\n    <|>\n  }\n}\n`,
    exact: ["deny", "max_tokens", "max_tool_calls", "max_turns", "require_approval"],
  },
  {
    name: "enum words of an enum property",
    source: `backend b {\n  kind: <|>\n}\n`,
    exact: ["stateful", "stateless"],
  },
  {
    name: "enum words after an earlier member on the same line",
    source: `backend b { kind: stateless provider: <|> }\n`,
    exact: ["azure", "bedrock", "compatible", "local", "openai"],
  },
  {
    name: "only tools in tools: [",
    source: `${MAIN}agent a {\n  tools: [<|>\n}\n`,
    exact: ["lookup", "refund"],
  },
  {
    name: "tools not already listed",
    source: `${MAIN}agent a {\n  tools: [lookup, <|>]\n}\n`,
    exact: ["refund"],
  },
  {
    name: "only memories after memory:",
    source: `${MAIN}agent a {\n  memory: <|>\n}\n`,
    exact: ["customer", "scratch"],
  },
  { name: "backends after backend:", source: `${MAIN}agent a {\n  backend: <|>\n}\n`, exact: ["dev"] },
  {
    name: "backends and local in a test",
    source: `${MAIN}test "t" {\n  backend: <|>\n}\n`,
    exact: ["dev", "local"],
  },
  {
    name: "agents after a test's agent:",
    source: `${MAIN}${AGENT}test "t" {\n  agent: <|>\n}\n`,
    exact: ["support"],
  },
  {
    name: "built-in calls after run:",
    source: `tool t {\n  run: <|>\n}\n`,
    exact: ["command", "http", "mcp", "sql"],
  },
  {
    name: "built-in calls after from:",
    source: `context c {\n  from: <|>\n}\n`,
    exact: ["command", "file", "http", "mcp", "sql"],
  },
  { name: "env( after api_key:", source: `backend b {\n  api_key: <|>\n}\n`, exact: ["env"] },
  {
    name: "mcp servers as mcp's first argument",
    source: `${MAIN}tool t {\n  run: mcp(<|>\n}\n`,
    exact: ["orders"],
  },
  {
    name: "field types in a type",
    source: `${MAIN}type T {\n  id: <|>\n}\n`,
    exact: ["Order", "T", "boolean", "enum", "integer", "json", "number", "string"],
  },
  {
    name: "field types of an optional input field",
    source: `tool t {\n  input { x?: <|> }\n}\n`,
    exact: ["boolean", "enum", "integer", "json", "number", "string"],
  },
  {
    name: "template roots in instructions",
    source: `agent a {\n  instructions: """\n    Hi {{ <|>\n  """\n}\n`,
    exact: ["memory", "session", "user", "vars"],
  },
  {
    name: "memory fields after memory.",
    source: `${MAIN}agent a {\n  memory: customer\n  instructions: "Hi {{memory.<|>}}"\n}\n`,
    exact: ["open_tickets", "preferred_name"],
  },
  {
    name: "vars after vars.",
    source: `agent a {\n  vars { company: "Acme", city: "Paris" }\n  instructions: "{{vars.<|>"\n}\n`,
    exact: ["city", "company"],
  },
  { name: "user fields", source: `agent a {\n  instructions: "{{ user.<|> }}"\n}\n`, exact: ["id", "name"] },
  {
    name: "session fields",
    source: `agent a {\n  instructions: "{{session.<|>"\n}\n`,
    exact: ["id", "turn"],
  },
  {
    name: "template roots in a tool's run string",
    source: `tool t {\n  input { id: string }\n  run: http("GET", "https://x/{{<|>")\n}\n`,
    exact: ["input", "session", "user"],
  },
  {
    name: "input fields in a tool's run string",
    source: `tool t {\n  input { id: string, q?: string }\n  run: command("node", ["x.js", "{{ input.<|>"])\n}\n`,
    exact: ["id", "q"],
  },
  { name: "no templates in a description", source: `tool t {\n  description: "{{<|>"\n}\n`, exact: [] },
  {
    name: "tools after deny",
    source: `${MAIN}agent a {\n  policy {\n    deny <|>\n  }\n}\n`,
    exact: ["lookup", "refund"],
  },
  {
    name: "input fields of the denied tool in a condition",
    source: `${MAIN}agent a {\n  policy {\n    deny refund when input.<|>\n  }\n}\n`,
    exact: ["amount", "order_id"],
  },
  {
    name: "input fields inside parentheses of a condition",
    source: `${MAIN}agent a {\n  policy {\n    deny refund when not (input.amount > 5 and input.<|>\n  }\n}\n`,
    exact: ["amount", "order_id"],
  },
  {
    name: "test properties and step keywords",
    source: `${MAIN}${AGENT}test "t" {\n  agent: support\n  <|>\n}\n`,
    exact: ["backend", "user", ...STEPS].sort(),
  },
  {
    name: "model verbs",
    source: `${MAIN}test "t" {\n  model <|>\n}\n`,
    exact: ["calls", "hands_off", "replies"],
  },
  {
    name: "expect subjects",
    source: `${MAIN}test "t" {\n  expect <|>\n}\n`,
    exact: ["handoff", "memory", "reply", "tokens", "tool", "turns"],
  },
  {
    name: "tools and remember after model calls",
    source: `${MAIN}${AGENT}test "t" {\n  agent: support\n  model calls <|>\n}\n`,
    exact: ["lookup", "refund", "remember"],
  },
  {
    name: "no remember when the agent has no memory fields",
    source: `${MAIN}agent b {\n  instructions: "x"\n  memory: scratch\n}\ntest "t" {\n  agent: b\n  tool <|>\n}\n`,
    exact: ["lookup", "refund"],
  },
  {
    name: "tools after approve",
    source: `${MAIN}${AGENT}test "t" {\n  agent: support\n  approve <|>\n}\n`,
    exact: ["lookup", "refund", "remember"],
  },
  {
    name: "tools after expect tool",
    source: `${MAIN}${AGENT}test "t" {\n  agent: support\n  expect tool <|>\n}\n`,
    exact: ["lookup", "refund", "remember"],
  },
  {
    name: "returns or fails after tool X",
    source: `${MAIN}test "t" {\n  tool lookup <|>\n}\n`,
    exact: ["fails", "returns"],
  },
  {
    name: "outcomes after expect tool X",
    source: `${MAIN}test "t" {\n  expect tool refund <|>\n}\n`,
    exact: ["called", "denied", "not called"],
  },
  {
    name: "with after called",
    source: `${MAIN}test "t" {\n  expect tool refund called <|>\n}\n`,
    exact: ["with"],
  },
  {
    name: "agents after hands_off",
    source: `${MAIN}${AGENT}test "t" {\n  model hands_off <|>\n}\n`,
    exact: ["support"],
  },
  {
    name: "agents after expect handoff",
    source: `${MAIN}${AGENT}test "t" {\n  expect handoff <|>\n}\n`,
    exact: ["support"],
  },
  {
    name: "memory fields after expect memory.",
    source: `${MAIN}${AGENT}test "t" {\n  agent: support\n  expect memory.<|>\n}\n`,
    exact: ["open_tickets", "preferred_name"],
  },
  {
    name: "input fields in model calls TOOL {",
    source: `${MAIN}test "t" {\n  model calls refund { <|>\n}\n`,
    exact: ["amount", "order_id"],
  },
  {
    name: "input fields not yet written in called with {",
    source: `${MAIN}test "t" {\n  expect tool refund called with { amount: 5, <|> }\n}\n`,
    exact: ["order_id"],
  },
  {
    name: "field and value in model calls remember {",
    source: `${MAIN}test "t" {\n  model calls remember {<|>\n}\n`,
    exact: ["field", "value"],
  },
  { name: "user keys in a test", source: `test "t" {\n  user: { id: "u1", <|> }\n}\n`, exact: ["name"] },
  {
    name: "an incomplete last line of an unclosed agent: no property names after temperature:",
    source: `${MAIN}agent a {\n  instructions: "x"\n  temperature: <|>`,
    exact: [],
  },
  {
    name: "an incomplete last line of an unclosed agent: memories after memory:",
    source: `${MAIN}agent a {\n  instructions: "x"\n  memory: <|>`,
    exact: ["customer", "scratch"],
  },
  {
    name: "an incomplete last line of an unclosed agent: a property being typed",
    source: `${MAIN}agent a {\n  instructions: "x"\n  tem<|>`,
    has: ["temperature", "tools"],
    not: ["instructions"],
  },
  {
    name: "a declaration after the unclosed one ends it",
    source: `agent a {\n  instructions: "x"\n\nbackend b {\n  kind: <|>\n}\n`,
    exact: ["stateful", "stateless"],
  },
  { name: "nothing in a comment", source: `agent a {\n  // tools: [<|>\n}\n`, exact: [] },
  { name: "no member names after a space", source: `agent a {\n  <|>\n}\n`, trigger: " ", exact: [] },
  { name: "model verbs after a space", source: `test "t" {\n  model <|>\n}\n`, trigger: " ", has: ["calls"] },
];

describe("lsp: completion", () => {
  let client: TestClient;
  before(async () => {
    client = await TestClient.start({ files: { "tools.agent": TOOLS } });
  });
  after(async () => client?.stop());

  for (const c of CASES)
    it(c.name, async () => {
      const got = labels(await completeAt(client, c.source, c.trigger));
      if (c.exact) assert.deepEqual(got, c.exact);
      for (const l of c.has ?? []) assert.ok(got.includes(l), `${l} missing from ${got.join(", ")}`);
      for (const l of c.not ?? []) assert.ok(!got.includes(l), `${l} offered: ${got.join(", ")}`);
    });

  it("replaces the word being typed with a text edit", async () => {
    const items = await completeAt(client, `backend b {\n  kind: stat<|>eful\n}\n`);
    const edit = items.find((i) => i.label === "stateless")?.textEdit;
    assert.deepEqual(edit, {
      range: { start: { line: 1, character: 8 }, end: { line: 1, character: 16 } },
      newText: "stateless",
    });
  });

  it("maps item kinds", async () => {
    const kinds = async (source: string) => new Set((await completeAt(client, source)).map((i) => i.kind));
    assert.deepEqual(await kinds(`backend b {\n  kind: <|>\n}\n`), new Set([CompletionItemKind.EnumMember]));
    assert.deepEqual(
      await kinds(`${MAIN}agent a {\n  memory: <|>\n}\n`),
      new Set([CompletionItemKind.Reference]),
    );
    assert.deepEqual(await kinds(`tool t {\n  run: <|>\n}\n`), new Set([CompletionItemKind.Function]));
    assert.deepEqual(
      await kinds(`${MAIN}agent a {\n  memory: customer\n  instructions: "{{memory.<|>"\n}\n`),
      new Set([CompletionItemKind.Field]),
    );
    assert.ok((await kinds(`tool t {\n  <|>\n}\n`)).has(CompletionItemKind.Property));
  });

  it("sends snippets as plain text to a client without snippet support", async () => {
    const items = await completeAt(client, `tool t {\n  run: <|>\n}\n`);
    const http = items.find((i) => i.label === "http")!;
    assert.equal(http.insertTextFormat, InsertTextFormat.PlainText);
    assert.equal(http.textEdit?.newText, 'http("GET", "https://")');
    assert.equal(typeof http.documentation, "string");
  });

  it("asks for the next completion after a property whose value has choices", async () => {
    const items = await completeAt(client, `backend b {\n  <|>\n}\n`);
    assert.equal(items.find((i) => i.label === "api")?.command?.command, "editor.action.triggerSuggest");
    assert.equal(items.find((i) => i.label === "model")?.command, undefined);
  });

  it("offers a tool declared in a file imported through another file", async () => {
    client.write("more.agent", `import "deep/extra.agent"\n`);
    client.write("deep/extra.agent", `tool far_away {\n  description: "Far away"\n}\n`);
    // Files written after start are read when an open file imports them.
    const items = await completeAt(client, `import "more.agent"\nagent a {\n  tools: [<|>]\n}\n`);
    assert.deepEqual(labels(items), ["far_away"]);
    assert.equal(items[0].detail, "tool (extra.agent)");
  });
});

describe("lsp: completion with snippet support", () => {
  let client: TestClient;
  afterEach(async () => client?.stop());

  it("declares the trigger characters", async () => {
    // Initialised by hand: TestClient.start does not keep the server's answer.
    client = new TestClient();
    const init: InitializeResult = await client.connection.sendRequest(InitializeRequest.type, {
      processId: process.pid,
      rootUri: client.uri(""),
      capabilities: SNIPPET_CAPABILITIES,
    });
    assert.deepEqual(init.capabilities.completionProvider?.triggerCharacters, [".", ":", "{", '"', " ", "["]);
  });

  it("sends snippets and markdown documentation to a client that supports them", async () => {
    client = await TestClient.start({ files: { "tools.agent": TOOLS }, capabilities: SNIPPET_CAPABILITIES });
    const items = await completeAt(client, `${MAIN}<|>`);
    const agent = items.find((i) => i.label === "agent")!;
    assert.equal(agent.insertTextFormat, InsertTextFormat.Snippet);
    assert.equal(agent.textEdit?.newText, 'agent ${1:name} {\n\tinstructions: """\n\t  $2\n\t"""\n\t$0\n}');
    assert.equal((agent.documentation as MarkupContent).kind, "markdown");
  });

  it("offers the relative paths of the other .agent files and folders inside import", async () => {
    client = await TestClient.start({
      files: { "tools.agent": TOOLS, "lib/a.agent": "", "lib/b.agent": "" },
      capabilities: SNIPPET_CAPABILITIES,
    });
    const top = await completeAt(client, `import "<|>"\n`, '"', "main.agent");
    assert.deepEqual(labels(top), ["lib/", "tools.agent"]);
    assert.equal(top.find((i) => i.label === "lib/")?.kind, CompletionItemKind.Folder);
    const inLib = await completeAt(client, `import "lib/<|>"\n`, undefined, "other.agent");
    assert.deepEqual(labels(inLib), ["a.agent", "b.agent"]);
    assert.deepEqual(inLib[0].textEdit, {
      range: { start: { line: 0, character: 12 }, end: { line: 0, character: 12 } },
      newText: "a.agent",
    });
  });
});
