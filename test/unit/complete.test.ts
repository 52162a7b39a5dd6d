// Completion and signature help in the language core. The cursor contexts are
// covered over the protocol (test/lsp/completion.test.ts); here: replace spans,
// snippets, import paths, the signature table, and a sweep that completes at
// every offset of the example project, whole and cut off at the cursor.

import { strict as assert } from "node:assert";
import { complete, declarationSnippet, type CompletionItem } from "../../server/language/complete";
import { LanguageService } from "../../server/language/languageService";
import { signatureAt } from "../../server/language/signature";
import { tokenize } from "../../server/language/tokenize";
import * as fs from "node:fs";
import * as path from "node:path";
import { findAgentFiles, nodeFileSystem } from "../../server/language/nodeFileSystem";
import { memoryFileSystem, wsPath } from "./helpers/memfs";
import { TOOLS } from "./helpers/completionWorkspace";

/** Completion at the `<|>` of `source`, opened as main.agent beside tools.agent. */
function at(
  source: string,
  options: { trigger?: string; files?: Record<string, string> } = {},
): CompletionItem[] {
  const offset = source.indexOf("<|>");
  assert.ok(offset >= 0, "the source needs a <|> marker");
  const text = source.replace("<|>", "");
  const files = { "tools.agent": TOOLS, ...options.files, "main.agent": text };
  const service = new LanguageService(memoryFileSystem(files));
  for (const name of Object.keys(files)) service.add(wsPath(name));
  return complete(service, wsPath("main.agent"), offset, { triggerCharacter: options.trigger });
}

const labels = (items: CompletionItem[]) => items.map((i) => i.label).sort();
const MAIN = `import "tools.agent"\n`;

describe("complete", () => {
  it("offers relative paths of the other .agent files, one folder at a time, inside import", () => {
    const files = { "lib/a.agent": "", "lib/b.agent": "", "other.agent": "" };
    assert.deepEqual(labels(at(`import "<|>"\n`, { files })), ["lib/", "other.agent", "tools.agent"]);
    const inLib = at(`import "lib/<|>"\n`, { files });
    assert.deepEqual(labels(inLib), ["a.agent", "b.agent"]);
    assert.deepEqual(inLib[0].replaceSpan, { start: 12, end: 12 });
    // Files already imported are not offered again.
    assert.deepEqual(labels(at(`import "other.agent"\nimport "<|>"\n`, { files })), ["lib/", "tools.agent"]);
  });

  it("replaces the whole word under the cursor", () => {
    const source = `backend b {\n  kind: stat<|>eful\n}\n`;
    const [first] = at(source);
    assert.deepEqual(first.replaceSpan, { start: 20, end: 28 });
  });

  it("replaces the template segment being typed", () => {
    const source = `${MAIN}agent a {\n  memory: customer\n  instructions: "{{ memory.pre<|> }}"\n}\n`;
    const items = at(source);
    const start = source.indexOf("pre");
    assert.ok(items.every((i) => i.replaceSpan?.start === start && i.replaceSpan.end === start + 3));
    assert.equal(items.find((i) => i.label === "preferred_name")?.detail, "string (optional)");
  });

  it("uses the schema's snippet and documentation for properties", () => {
    const items = at(`tool t {\n  <|>\n}\n`);
    const description = items.find((i) => i.label === "description")!;
    assert.equal(description.insertText, 'description: "$1"');
    assert.equal(description.isSnippet, true);
    assert.match(description.documentation ?? "", /What the tool does/);
    const timeout = items.find((i) => i.label === "timeout_ms")!;
    assert.equal(timeout.insertText, "timeout_ms: ");
    assert.ok(!timeout.isSnippet);
    const input = items.find((i) => i.label === "input")!;
    assert.equal(input.insertText, "input {\n\t$0\n}");
  });

  it("inserts only the name when ':' already follows it", () => {
    const [item] = at(`tool t {\n  descr<|>: "x"\n}\n`).filter((i) => i.label === "description");
    assert.equal(item.insertText, undefined);
  });

  it("builds declaration snippets from the required properties", () => {
    assert.equal(declarationSnippet("tool"), 'tool ${1:name} {\n\tdescription: "$2"\n\t$0\n}');
    assert.equal(
      declarationSnippet("backend"),
      "backend ${1:name} {\n\tkind: ${2|stateless,stateful|}\n\tprovider: ${3|openai,azure,compatible,bedrock,local|}\n\t$0\n}",
    );
    assert.equal(
      declarationSnippet("test"),
      'test "${1:what it checks}" {\n\tagent: $2\n\tsend "$3"\n\t$0\n}',
    );
  });
});

describe("signatureAt", () => {
  const table: [string, string | undefined, number?][] = [
    ["backend b { api_key: env(<|> }", "env", 0],
    ['backend b { api_key: env("OPEN<|>") }', "env", 0],
    ['tool t { run: http("GET", <|>', "http", 1],
    ['tool t { run: command("node", ["a", <|>', "command", 1],
    ['tool t { run: mcp(orders, "x<|>")', "mcp", 1],
    ['tool t { run: http("GET", "u")<|> }', undefined],
    ['tool t { input { s: enum("a", <|>) } }', undefined],
    ['tool t { run: http("GET"\n}\nagent a {\n  <|>\n}', undefined],
  ];
  for (const [source, callee, param] of table)
    it(`${JSON.stringify(source)} -> ${callee ?? "none"}`, () => {
      const got = signatureAt(source.replace("<|>", ""), source.indexOf("<|>"));
      assert.equal(got?.callee, callee);
      if (callee) assert.equal(got?.activeParameter, param);
    });
});

describe("completion and signature help never fail", () => {
  const root = path.resolve(__dirname, "../../examples/support");
  const files = findAgentFiles(root);

  /** Every item replaces a span on the cursor's line that contains the cursor. */
  function check(text: string, offset: number, items: CompletionItem[]): void {
    for (const item of items) {
      const span = item.replaceSpan ?? { start: offset, end: offset };
      assert.ok(
        span.start <= offset && offset <= span.end,
        `${item.label} at ${offset}: ${JSON.stringify(span)}`,
      );
      assert.ok(!text.slice(span.start, span.end).includes("\n"), `${item.label} spans lines at ${offset}`);
    }
    signatureAt(text, offset);
  }

  it("at the start, middle and end of every token of the example files", () => {
    const service = new LanguageService(nodeFileSystem());
    for (const f of files) service.add(f);
    for (const f of files) {
      const text = fs.readFileSync(f, "utf8");
      const offsets = new Set<number>();
      for (const t of tokenize(text).tokens)
        offsets
          .add(t.start)
          .add((t.start + t.end) >> 1)
          .add(t.end);
      for (const offset of offsets) check(text, offset, complete(service, f, offset));
    }
  });

  it("at the end of the text typed so far, cut mid-line and at each line's end", () => {
    const service = new LanguageService(nodeFileSystem());
    for (const f of files) service.add(f);
    for (const f of files) {
      const text = fs.readFileSync(f, "utf8");
      const cuts: number[] = [];
      for (let start = 0, end; start < text.length; start = end + 1) {
        end = text.indexOf("\n", start);
        if (end < 0) end = text.length;
        cuts.push((start + end) >> 1, end);
      }
      for (const offset of cuts) {
        const typed = text.slice(0, offset);
        service.update(f, typed);
        check(typed, offset, complete(service, f, offset));
      }
      service.update(f, text);
    }
  });
});
