// Semantic tokens in the language core: the relative encoding, CRLF text
// blocks, and the invariants LSP requires (sorted, non-overlapping, one line
// each, inside the line) on the example project with lines deleted.

import { strict as assert } from "node:assert";
import * as path from "node:path";
import {
  encodeSemanticTokens,
  semanticTokens,
  TOKEN_MODIFIERS,
  TOKEN_TYPES,
  type SemanticToken,
} from "../../server/language/semanticTokens";
import { LanguageService } from "../../server/language/languageService";
import { findAgentFiles, nodeFileSystem } from "../../server/language/nodeFileSystem";
import { memoryFileSystem, wsPath } from "./helpers/memfs";

function tokensOf(text: string): SemanticToken[] {
  const service = new LanguageService(memoryFileSystem({ "a.agent": text }));
  service.add(wsPath("a.agent"));
  return semanticTokens(service, wsPath("a.agent"));
}

/** LSP's constraints on a token list for `text`. */
function checkInvariants(tokens: SemanticToken[], text: string, where: string): void {
  const lines = text.split(/\r?\n/);
  let prev: SemanticToken | undefined;
  for (const t of tokens) {
    assert.ok(t.length > 0, `${where}: empty token at ${t.line}:${t.character}`);
    assert.ok(
      t.character + t.length <= lines[t.line].length,
      `${where}: token past the end of line ${t.line}`,
    );
    if (prev)
      assert.ok(
        t.line > prev.line || (t.line === prev.line && t.character >= prev.character + prev.length),
        `${where}: token ${t.line}:${t.character} overlaps or precedes ${prev.line}:${prev.character}`,
      );
    prev = t;
  }
}

describe("semantic tokens (language core)", () => {
  it("encodes positions relative to the previous token, modifiers as bits", () => {
    const tokens: SemanticToken[] = [
      { line: 0, character: 0, length: 5, type: "keyword", modifiers: [] },
      { line: 0, character: 6, length: 3, type: "variable", modifiers: ["declaration"] },
      { line: 2, character: 4, length: 4, type: "function", modifiers: ["readonly", "defaultLibrary"] },
      { line: 2, character: 10, length: 2, type: "namespace", modifiers: [] },
    ];
    assert.deepEqual(
      encodeSemanticTokens(tokens),
      [0, 0, 5, 0, 0, 0, 6, 3, 3, 1, 2, 4, 4, 2, 6, 0, 6, 2, 11, 0],
    );
    assert.equal(TOKEN_TYPES.indexOf("namespace"), 11);
    assert.equal(TOKEN_MODIFIERS.length, 3);
  });

  it("splits a text block of a CRLF file per line, without the carriage returns", () => {
    const text = 'agent a {\r\n  instructions: """\r\n    Hi\r\n  """\r\n}\r\n';
    const strings = tokensOf(text).filter((t) => t.type === "string");
    assert.deepEqual(
      strings.map((t) => [t.line, t.character, t.length]),
      [
        [1, 16, 3],
        [2, 0, 6],
        [3, 0, 5],
      ],
    );
  });

  it("skips the empty lines of a text block", () => {
    const text = 'agent a {\n  instructions: """\n    One\n\n    Two\n  """\n}\n';
    const lines = tokensOf(text)
      .filter((t) => t.type === "string")
      .map((t) => t.line);
    assert.deepEqual(lines, [1, 2, 4, 5]);
  });

  it("keeps the LSP invariants on broken input: the example project with each line deleted", () => {
    const dir = path.resolve(__dirname, "../../examples/support");
    const service = new LanguageService(nodeFileSystem());
    for (const f of findAgentFiles(dir)) service.add(f);
    for (const file of findAgentFiles(dir)) {
      const original = service.program.get(file)!.file.text;
      const lines = original.split("\n");
      for (let drop = 0; drop <= lines.length; drop++) {
        const text = [...lines.slice(0, drop), ...lines.slice(drop + 1)].join("\n");
        service.update(file, text);
        const where = `${path.basename(file)} without line ${drop + 1}`;
        const all = semanticTokens(service, file);
        checkInvariants(all, text, where);
        // A range request returns exactly the tokens of the full answer that lie in the range.
        const mid = Math.floor(text.length / 2);
        const start = text.lastIndexOf("\n", mid) + 1;
        const part = semanticTokens(service, file, { start, end: text.length });
        const firstLine = text.slice(0, start).split("\n").length - 1;
        assert.deepEqual(
          part,
          all.filter((t) => t.line >= firstLine),
          where,
        );
      }
      service.update(file, original);
    }
  });
});
