// Hover and inlay hints in the language core, on in-memory workspaces: the
// cases the protocol tests leave out (test steps, models, sources read at run
// time, imports), the documentation tables against the schema, and a sweep
// that deletes lines of the example project and hovers everywhere to check
// that nothing throws on broken input.

import { strict as assert } from "node:assert";
import * as path from "node:path";
import { hover, ENUM_DOCS, STEP_DOCS } from "../../server/language/hover";
import { inlayHints } from "../../server/language/inlayHints";
import { DECLARATION_SCHEMAS, type BlockSchema, type PropType } from "../../server/language/schema";
import { LanguageService } from "../../server/language/languageService";
import { nodeFileSystem, findAgentFiles } from "../../server/language/nodeFileSystem";
import { memoryFileSystem, wsPath } from "./helpers/memfs";

const CURSOR = "<|>";

/** A service over `files` (the `.agent` ones loaded), and the hover at the `<|>` in `name`. */
function hoverIn(files: Record<string, string>, name: string) {
  const source = files[name];
  const offset = source.indexOf(CURSOR);
  assert.ok(offset >= 0, `no ${CURSOR} in ${name}`);
  const clean = Object.fromEntries(Object.entries(files).map(([n, t]) => [n, t.replace(CURSOR, "")]));
  const service = new LanguageService(memoryFileSystem(clean));
  for (const n of Object.keys(clean)) if (n.endsWith(".agent")) service.add(wsPath(n));
  const h = hover(service, wsPath(name), offset);
  return h && { ...h, covers: clean[name].slice(h.span.start, h.span.end) };
}

const AGENT = `memory m {
  fields {
    open_tickets: integer
    nickname?: string
  }
}
agent a {
  instructions: "Hi"
  memory: m
}
`;

describe("hover (language core)", () => {
  const cases: {
    name: string;
    files: Record<string, string>;
    file?: string;
    expect: string[];
    covers?: string;
  }[] = [
    {
      name: "a test step keyword: its form",
      files: {
        "t.agent": `${AGENT}test "x" {\n  agent: a\n  exp<|>ect reply contains "Hi"\n  send "hello"\n}\n`,
      },
      expect: ['expect reply contains "text"', "Checks the last reply."],
      covers: "expect",
    },
    {
      name: "a step's own word (`replies`): the step",
      files: { "t.agent": `${AGENT}test "x" {\n  agent: a\n  model rep<|>lies "Hi"\n  send "hello"\n}\n` },
      expect: ['model replies "text"', "local backend only"],
    },
    {
      name: "`expect memory.FIELD`: the memory field, its type and starting value",
      files: {
        "t.agent": `${AGENT}test "x" {\n  agent: a\n  send "hi"\n  expect memory.open_<|>tickets == 0\n}\n`,
      },
      expect: ["open_tickets: integer", "Field of memory `m`", "Starts at `0`"],
      covers: "memory.open_tickets",
    },
    {
      name: "the built-in memory tool in a test",
      files: {
        "t.agent": `${AGENT}test "x" {\n  agent: a\n  model calls remem<|>ber { field: "nickname", value: "Al" }\n  send "hi"\n}\n`,
      },
      expect: ["built-in memory tool `remember"],
      covers: "remember",
    },
    {
      name: "a test's `backend: local` without a declared backend local: the built-in one",
      files: { "t.agent": `${AGENT}test "x" {\n  agent: a\n  backend: lo<|>cal\n  send "hi"\n}\n` },
      expect: ["backend local: stateless local", "built-in offline backend"],
      covers: "local",
    },
    {
      name: "a model id: what the catalog knows",
      files: { "b.agent": `backend b {\n  kind: stateless\n  provider: openai\n  model: "gpt-<|>4o"\n}\n` },
      expect: [
        "**gpt-4o** *(openai)*",
        "Context window: 128,000 tokens.",
        "Up to 16,384 output tokens.",
        "o200k_base",
      ],
      covers: '"gpt-4o"',
    },
    {
      name: "a model on a compatible server: estimated, window from context_window",
      files: {
        "b.agent": `backend b {\n  kind: stateless\n  provider: compatible\n  endpoint: "http://localhost:11434/v1"\n  model: "ll<|>ama3"\n  context_window: 8192\n}\n`,
      },
      expect: ["Context window: 8,192 tokens (the backend's context_window).", "tokens are estimated"],
    },
    {
      name: "instructions on a model the catalog does not know: an estimate, and why",
      files: {
        "a.agent": `backend b {\n  kind: stateless\n  provider: compatible\n  endpoint: "http://x"\n  model: "llama3"\n}\nagent a {\n  instructions: "H<|>i there"\n}\n`,
      },
      expect: ["(estimate)", "`llama3` on backend `b` (not in the model catalog)"],
    },
    {
      name: "a context read at run time: only max_tokens is known",
      files: {
        "c.agent": `context faq {\n  from: http("GET", "https://example.com/f<|>aq")\n  max_tokens: 200\n}\n`,
      },
      expect: ["read at run time by `http(...)`; at most 200 (`max_tokens`)"],
    },
    {
      name: "a context whose file is missing",
      files: { "c.agent": `context faq<|> {\n  from: file("nope.md")\n}\n` },
      expect: ["`nope.md` cannot be read"],
    },
    {
      name: "a context file within max_tokens, counted with the implicit local backend when no agent uses it",
      files: {
        "c.agent": `context faq<|> {\n  from: file("faq.md")\n  max_tokens: 1000\n}\n`,
        "faq.md": "Short answer.",
      },
      expect: [
        "~",
        "(estimate) in `faq.md`, for the local model on the implicit local backend",
        "Within `max_tokens` (1,000).",
      ],
    },
    {
      name: "an import path: the file it resolves to",
      files: { "a.agent": `import "ty<|>pes.agent"\n`, "types.agent": "type T { x: string }\n" },
      expect: [path.join(path.resolve("/ws"), "types.agent"), "1 declaration."],
      covers: '"types.agent"',
    },
    {
      name: "a built-in field type",
      files: { "t.agent": `type T {\n  n: inte<|>ger\n}\n` },
      expect: ["**integer**", '{"type": "integer"}'],
      covers: "integer",
    },
    {
      name: "a field's name: the field and whose it is",
      files: { "t.agent": `type T {\n  na<|>me?: string "Display name"\n}\n` },
      expect: ["name?: string", "Field of type `T`.", "Display name"],
      covers: "name",
    },
    {
      name: "a var's name: how instructions read it",
      files: { "a.agent": `agent a {\n  instructions: "Hi"\n  vars { com<|>pany: "Acme" }\n}\n` },
      expect: ["**company** *(agent vars)*", "`{{vars.company}}`"],
      covers: "company",
    },
    {
      name: "a property of a nested block",
      files: { "a.agent": `agent a {\n  instructions: "Hi"\n  policy {\n    max_tu<|>rns: 3\n  }\n}\n` },
      expect: ["**max_turns** *(agent policy)*", "Expects a whole number."],
      covers: "max_turns",
    },
    {
      name: "a type's own name: its fields",
      files: { "t.agent": `type Or<|>der {\n  id: string\n  tags?: string[]\n}\n` },
      expect: ["type Order { id: string; tags?: string[] }"],
    },
    {
      name: "a template in a string that is not filled in",
      files: { "t.agent": `tool t {\n  description: "Uses {{inp<|>ut.x}}"\n}\n` },
      expect: ["Left as written"],
    },
    {
      name: "user text is escaped: a description cannot inject markdown",
      files: { "t.agent": `tool t<|> {\n  description: "Use *bold* <b>"\n}\n` },
      expect: ["Use \\*bold\\* \\<b\\>"],
    },
  ];

  for (const c of cases) {
    it(c.name, () => {
      const file = c.file ?? Object.keys(c.files).find((n) => c.files[n].includes(CURSOR))!;
      const h = hoverIn(c.files, file);
      assert.ok(h, "expected a hover");
      for (const e of c.expect)
        assert.ok(h.markdown.includes(e), `missing ${JSON.stringify(e)} in:\n${h.markdown}`);
      if (c.covers !== undefined) assert.equal(h.covers, c.covers);
    });
  }

  it("documents every enum word of the schema", () => {
    const missing: string[] = [];
    const visit = (schema: BlockSchema) => {
      for (const [name, spec] of Object.entries(schema.props)) {
        const t: PropType = spec.type.t === "list" ? spec.type.of : spec.type;
        if (t.t === "enum")
          for (const v of t.values) if (!ENUM_DOCS[name]?.[v]) missing.push(`${name}: ${v}`);
        if (t.t === "block") visit(t.block);
      }
    };
    for (const schema of Object.values(DECLARATION_SCHEMAS)) visit(schema);
    assert.deepEqual(missing, []);
    assert.ok(Object.values(STEP_DOCS).every((d) => d.form && d.doc));
  });

  it("never throws on broken files: the example project with lines deleted, hovered throughout", function () {
    this.timeout(120_000);
    const dir = path.resolve(__dirname, "../../examples/support");
    const service = new LanguageService(nodeFileSystem());
    for (const f of findAgentFiles(dir)) service.add(f);
    for (const file of findAgentFiles(dir)) {
      const original = service.program.get(file)!.file.text;
      const lines = original.split("\n");
      // Every other line, and every 29th offset shifted per deletion: broad coverage in a few seconds.
      for (let drop = 0; drop < lines.length; drop += 2) {
        const text = [...lines.slice(0, drop), ...lines.slice(drop + 1)].join("\n");
        service.update(file, text);
        for (let offset = drop % 29; offset <= text.length; offset += 29) hover(service, file, offset);
        inlayHints(service, file, { start: 0, end: text.length });
      }
      service.update(file, original);
    }
  });
});
