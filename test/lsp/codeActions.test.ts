// Code actions over the protocol: each quick fix is requested for the diagnostic under a `<|>` marker, its
// WorkspaceEdit is applied to the text, and the fixed text, opened again, no longer has that diagnostic.

import { strict as assert } from "node:assert";
import type {
  CodeAction,
  Diagnostic,
  Position,
  Range,
  TextEdit,
  WorkspaceEdit,
} from "vscode-languageserver-protocol/node";
import { applyTextEdits, markers, TestClient } from "./harness";

const lines = (...l: string[]) => l.join("\n") + "\n";

interface Case {
  name: string;
  /** The source, with `<|>` inside the range of the diagnostic to fix. */
  source: string;
  code: string;
  title: string;
  preferred?: boolean;
  expected: string;
}

const TOOL = lines("tool lookup {", '  description: "Look up an order"', "  input { order_id: string }", "}");

const CASES: Case[] = [
  {
    name: "did-you-mean for an unknown tool",
    source: TOOL + lines("", "agent support {", '  instructions: "Help"', "  tools: [lok<|>up]", "}"),
    code: "unknown-reference",
    title: "Change to 'lookup'",
    preferred: true,
    expected: TOOL + lines("", "agent support {", '  instructions: "Help"', "  tools: [lookup]", "}"),
  },
  {
    name: "did-you-mean for an unknown property",
    source: lines("agent support {", '  instructions: "Help"', "  tempera<|>ture_: 0.2", "}"),
    code: "unknown-property",
    title: "Change to 'temperature'",
    preferred: true,
    expected: lines("agent support {", '  instructions: "Help"', "  temperature: 0.2", "}"),
  },
  {
    name: "did-you-mean for an invalid enum word",
    source: lines("backend main { kind: statles<|>s provider: local }", 'agent a { instructions: "x" }'),
    code: "invalid-enum",
    title: "Change to 'stateless'",
    preferred: true,
    expected: lines("backend main { kind: stateless provider: local }", 'agent a { instructions: "x" }'),
  },
  {
    name: "did-you-mean for an unknown model, quotes included",
    source: lines(
      'backend main { kind: stateless provider: openai model: "gpt-4.1-m<|>ni" }',
      'agent a { instructions: "x" }',
    ),
    code: "unknown-model",
    title: "Change to 'gpt-4.1-mini'",
    preferred: true,
    expected: lines(
      'backend main { kind: stateless provider: openai model: "gpt-4.1-mini" }',
      'agent a { instructions: "x" }',
    ),
  },
  {
    name: "did-you-mean for a template variable",
    source: lines(
      "agent a {",
      '  instructions: "Work for {{vars.comp<|>nay}}"',
      '  vars { company: "Acme" }',
      "}",
    ),
    code: "undefined-template-variable",
    title: "Change to 'company'",
    preferred: true,
    expected: lines(
      "agent a {",
      '  instructions: "Work for {{vars.company}}"',
      '  vars { company: "Acme" }',
      "}",
    ),
  },
  {
    name: "did-you-mean for a tool input field in a policy condition",
    source:
      TOOL +
      lines(
        "agent a {",
        '  instructions: "x"',
        "  tools: [lookup]",
        "  policy {",
        '    deny lookup when input.order_<|>di == "A1"',
        "  }",
        "}",
      ),
    code: "unknown-tool-input",
    title: "Change to 'order_id'",
    preferred: true,
    expected:
      TOOL +
      lines(
        "agent a {",
        '  instructions: "x"',
        "  tools: [lookup]",
        "  policy {",
        '    deny lookup when input.order_id == "A1"',
        "  }",
        "}",
      ),
  },
  {
    name: "adds a missing property on its own line, plain default for a choice",
    source: lines("backend <|>main {", "  provider: local", "}", 'agent a { instructions: "x" }'),
    code: "missing-property",
    title: "Add missing property 'kind'",
    expected: lines(
      "backend main {",
      "  provider: local",
      "  kind: stateless",
      "}",
      'agent a { instructions: "x" }',
    ),
  },
  {
    name: "adds a missing property inside a one-line block",
    source: lines("tool <|>lookup {}", 'agent a {\n  instructions: "x"\n  tools: [lookup]\n}'),
    code: "missing-property",
    title: "Add missing property 'description'",
    expected: lines(
      'tool lookup { description: "" }',
      'agent a {\n  instructions: "x"\n  tools: [lookup]\n}',
    ),
  },
  {
    name: "adds a missing property indented like the other members",
    source: lines("agent <|>a {", '    description: "Support"', "}"),
    code: "missing-property",
    title: "Add missing property 'instructions'",
    expected: lines("agent a {", '    description: "Support"', '    instructions: ""', "}"),
  },
  {
    name: "adds a missing test agent, naming the agent in scope",
    source: lines('agent support { instructions: "x" }', "", 'test <|>"greets" {', '  send "hi"', "}"),
    code: "missing-property",
    title: "Add missing property 'agent'",
    expected: lines(
      'agent support { instructions: "x" }',
      "",
      'test "greets" {',
      '  send "hi"',
      "  agent: support",
      "}",
    ),
  },
  {
    name: "adds a send step to a test without one",
    source: lines('agent support { instructions: "x" }', "", 'test <|>"greets" {', "  agent: support", "}"),
    code: "missing-property",
    title: "Add missing step 'send'",
    expected: lines(
      'agent support { instructions: "x" }',
      "",
      'test "greets" {',
      "  agent: support",
      '  send "Hello"',
      "}",
    ),
  },
  {
    name: "creates a tool after the declaration that names it",
    source: lines(
      "agent support {",
      '  instructions: "x"',
      "  tools: [issue_<|>refund]",
      "}",
      "",
      "// the end",
    ),
    code: "unknown-reference",
    title: "Create tool 'issue_refund'",
    expected: lines(
      "agent support {",
      '  instructions: "x"',
      "  tools: [issue_refund]",
      "}",
      "",
      "tool issue_refund {",
      '  description: ""',
      "}",
      "",
      "// the end",
    ),
  },
  {
    name: "creates a type for an unknown field type",
    source: lines(
      "tool lookup {",
      '  description: "x"',
      "  output: Ord<|>er",
      "}",
      'agent a { instructions: "x" tools: [lookup] }',
    ),
    code: "unknown-reference",
    title: "Create type 'Order'",
    expected: lines(
      "tool lookup {",
      '  description: "x"',
      "  output: Order",
      "}",
      "",
      "type Order {",
      "  id: string",
      "}",
      'agent a { instructions: "x" tools: [lookup] }',
    ),
  },
  {
    name: "creates a memory",
    source: lines("agent a {", '  instructions: "x"', "  memory: custo<|>mer", "}"),
    code: "unknown-reference",
    title: "Create memory 'customer'",
    expected: lines(
      "agent a {",
      '  instructions: "x"',
      "  memory: customer",
      "}",
      "",
      "memory customer {",
      "  scope: session",
      "}",
    ),
  },
  {
    name: "creates the agent a test names",
    source: lines('test "greets" {', "  agent: sup<|>port", '  send "hi"', "}"),
    code: "unknown-reference",
    title: "Create agent 'support'",
    expected: lines(
      'test "greets" {',
      "  agent: support",
      '  send "hi"',
      "}",
      "",
      "agent support {",
      '  instructions: ""',
      "}",
    ),
  },
  {
    name: "moves a secret literal into env(...)",
    source: lines(
      'backend main { kind: stateless provider: openai api_key: "sk-<|>123" }',
      'agent a { instructions: "x" }',
    ),
    code: "secret-literal",
    title: 'Move the secret into env("OPENAI_API_KEY")',
    expected: lines(
      'backend main { kind: stateless provider: openai api_key: env("OPENAI_API_KEY") }',
      'agent a { instructions: "x" }',
    ),
  },
  {
    name: "removes an unused declaration and its blank line",
    source:
      TOOL +
      lines(
        "",
        "tool <|>spare {",
        '  description: "Not used"',
        "}",
        "",
        'agent a {\n  instructions: "x"\n  tools: [lookup]\n}',
      ),
    code: "unused-declaration",
    title: "Remove unused tool 'spare'",
    expected: TOOL + lines("", 'agent a {\n  instructions: "x"\n  tools: [lookup]\n}'),
  },
  {
    name: "removes an unused declaration at the end of the file",
    source: lines('agent a { instructions: "x" }', "", "memory <|>notes {", "  scope: user", "}"),
    code: "unused-declaration",
    title: "Remove unused memory 'notes'",
    expected: lines('agent a { instructions: "x" }'),
  },
];

describe("lsp: code actions", () => {
  let client: TestClient;
  before(async () => {
    client = await TestClient.start();
  });
  after(async () => client?.stop());

  CASES.forEach((c, i) => {
    it(c.name, async () => {
      const name = `case${i}.agent`;
      const { actions, diagnostic } = await actionsAt(client, name, c.source, c.code);
      const action = actions.find((a) => a.title === c.title);
      assert.ok(action, `no action '${c.title}' among: ${actions.map((a) => a.title).join(", ")}`);
      assert.equal(action.kind, "quickfix");
      assert.equal(action.isPreferred === true, c.preferred === true, "isPreferred");
      assert.deepEqual(action.diagnostics, [diagnostic]);
      const fixed = applyWorkspaceEdit(markers(c.source).text, client.uri(name), action.edit!);
      assert.equal(fixed, c.expected);
      // Opened again, the fixed text no longer has a diagnostic of that code.
      const fixedName = `case${i}-fixed.agent`;
      await client.open(fixedName, fixed);
      const after = await client.diagnostics(fixedName);
      assert.deepEqual(
        after.filter((d) => d.code === c.code).map((d) => d.message),
        [],
        `still reported after the fix`,
      );
    });
  });

  it("offers a did-you-mean and a stub for one unknown name", async () => {
    const source = lines(
      'tool refund { description: "x" }',
      "agent a {",
      '  instructions: "x"',
      "  tools: [refun<|>]",
      "}",
    );
    const { actions } = await actionsAt(client, "both.agent", source, "unknown-reference");
    assert.deepEqual(
      actions.map((a) => [a.title, a.isPreferred === true]),
      [
        ["Change to 'refund'", true],
        ["Create tool 'refun'", false],
      ],
    );
  });

  it("recomputes the fixes when the client drops the diagnostic's data", async () => {
    const source = lines("agent a {", '  instructions: "x"', "  tempera<|>ture_: 1", "}");
    const { diagnostic } = await actionsAt(client, "nodata.agent", source, "unknown-property");
    const bare: Diagnostic = { ...diagnostic, data: undefined };
    const actions = await client.request<CodeAction[]>("textDocument/codeAction", {
      textDocument: { uri: client.uri("nodata.agent") },
      range: bare.range,
      context: { diagnostics: [bare] },
    });
    assert.deepEqual(
      actions.map((a) => a.title),
      ["Change to 'temperature'"],
    );
    assert.equal(
      applyWorkspaceEdit(markers(source).text, client.uri("nodata.agent"), actions[0].edit!),
      lines("agent a {", '  instructions: "x"', "  temperature: 1", "}"),
    );
  });

  it("offers fix-all only when source actions are asked for, applying every preferred fix", async () => {
    const source =
      TOOL +
      lines(
        "agent a {",
        '  instructions: "Hi {{vars.nmae}}"',
        '  vars { name: "x" }',
        "  tools: [lokup]",
        "  temprature: 1",
        "}",
      );
    const uri = client.uri("all.agent");
    await client.open("all.agent", source);
    await client.diagnostics("all.agent", (d) => d.some((x) => x.code === "unknown-property"));
    const whole: Range = { start: { line: 0, character: 0 }, end: { line: 10, character: 0 } };
    const lightBulb = await client.request<CodeAction[]>("textDocument/codeAction", {
      textDocument: { uri },
      range: whole,
      context: { diagnostics: [] },
    });
    assert.deepEqual(lightBulb, []);
    const [all, ...rest] = await client.request<CodeAction[]>("textDocument/codeAction", {
      textDocument: { uri },
      range: whole,
      context: { diagnostics: [], only: ["source.fixAll"] },
    });
    assert.deepEqual(rest, []);
    assert.equal(all.kind, "source.fixAll.statecraft");
    const fixed = applyWorkspaceEdit(source, uri, all.edit!);
    assert.equal(
      fixed,
      TOOL +
        lines(
          "agent a {",
          '  instructions: "Hi {{vars.name}}"',
          '  vars { name: "x" }',
          "  tools: [lookup]",
          "  temperature: 1",
          "}",
        ),
    );
    await client.open("all-fixed.agent", fixed);
    assert.deepEqual(await client.diagnostics("all-fixed.agent"), []);
  });
});

/** Opens `source` (markers stripped), waits for its diagnostic of `code` under the marker, and asks for fixes. */
async function actionsAt(
  client: TestClient,
  name: string,
  source: string,
  code: string,
): Promise<{ actions: CodeAction[]; diagnostic: Diagnostic }> {
  const { text, positions } = markers(source);
  assert.equal(positions.length, 1, "one <|> marker");
  const at = positions[0];
  await client.open(name, text);
  const ds = await client.diagnostics(name, (list) =>
    list.some((d) => d.code === code && contains(d.range, at)),
  );
  const diagnostic = ds.find((d) => d.code === code && contains(d.range, at))!;
  const actions = await client.request<CodeAction[]>("textDocument/codeAction", {
    textDocument: { uri: client.uri(name) },
    range: diagnostic.range,
    context: { diagnostics: [diagnostic], triggerKind: 1 },
  });
  return { actions, diagnostic };
}

function contains(r: Range, p: Position): boolean {
  const before = (a: Position, b: Position) =>
    a.line < b.line || (a.line === b.line && a.character <= b.character);
  return before(r.start, p) && before(p, r.end);
}

/** Applies the edits of one document (from `changes` or `documentChanges`), last first. */
function applyWorkspaceEdit(text: string, uri: string, edit: WorkspaceEdit): string {
  const edits: TextEdit[] = [
    ...(edit.changes?.[uri] ?? []),
    ...(edit.documentChanges ?? []).flatMap((c) =>
      "textDocument" in c && c.textDocument.uri === uri ? c.edits : [],
    ),
  ] as TextEdit[];
  assert.ok(edits.length > 0, "the action edits the document");
  return applyTextEdits(text, edits);
}
