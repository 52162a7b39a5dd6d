// The scanner: table cases for strings and escapes, text blocks, templates, numbers, comments, line
// breaks and UTF-16 offsets, plus the invariants every scan keeps on arbitrary text.
import { strict as assert } from "node:assert";
import fc from "fast-check";
import type { Span } from "../../server/language/ast";
import { tokenize, type Token, type TokenKind } from "../../server/language/tokenize";

/** `[code, start, end]` of each lexical error, in source order. */
type ErrorRow = [string, number, number];

const errorsOf = (text: string): ErrorRow[] =>
  tokenize(text)
    .errors.map((e): ErrorRow => [e.code, e.start, e.end])
    .sort((a, b) => a[1] - b[1]);

/** The span of the `nth` occurrence of `needle` in `text`. */
function spanOf(text: string, needle: string, nth = 0): Span {
  let start = -1;
  for (let i = 0; i <= nth; i++) {
    start = text.indexOf(needle, start + 1);
    assert.ok(start >= 0, `${JSON.stringify(needle)} occurs ${nth + 1} times in ${JSON.stringify(text)}`);
  }
  return { start, end: start + needle.length };
}

/** The only string token of `text`. */
function onlyString(text: string): Token {
  const strings = tokenize(text).tokens.filter((t) => t.kind === "string");
  assert.equal(strings.length, 1, `one string token in ${JSON.stringify(text)}`);
  return strings[0];
}

describe("tokenize", () => {
  describe("strings and escapes", () => {
    const cases: { src: string; value: string; errors?: ErrorRow[] }[] = [
      { src: '""', value: "" },
      { src: '"plain text"', value: "plain text" },
      { src: '"say \\"hi\\""', value: 'say "hi"' },
      { src: '"back\\\\slash"', value: "back\\slash" },
      { src: '"two\\nlines"', value: "two\nlines" },
      { src: '"a\\tb"', value: "a\tb" },
      { src: '"\\u{1F600}"', value: "😀" },
      { src: '"\\u{41}\\u{e9}"', value: "Aé" },
      { src: '"\\{{ not.a.template }}"', value: "{{ not.a.template }}" },
      { src: '"a\\qb"', value: "aqb", errors: [["syntax", 2, 4]] },
      { src: '"\\u{110000}"', value: "{110000}", errors: [["syntax", 1, 3]] },
      { src: '"\\u{}x"', value: "{}x", errors: [["syntax", 1, 3]] },
      { src: '"\\u0041"', value: "0041", errors: [["syntax", 1, 3]] },
    ];
    for (const c of cases) {
      it(`${c.src} -> ${JSON.stringify(c.value)}`, () => {
        const t = onlyString(c.src);
        assert.deepEqual(
          { start: t.start, end: t.end, value: t.value, textBlock: t.textBlock, terminated: t.terminated },
          { start: 0, end: c.src.length, value: c.value, textBlock: false, terminated: true },
        );
        assert.deepEqual(errorsOf(c.src), c.errors ?? []);
      });
    }

    it("the unknown-escape message lists the escapes that exist", () => {
      const [e] = tokenize('"\\q"').errors;
      assert.match(e.message, /Unknown escape '\\q'/);
      assert.match(e.message, /\\u\{XXXX\}/);
    });
  });

  describe("unterminated strings", () => {
    const cases: { name: string; src: string; open: string; after: string[] }[] = [
      { name: "LF", src: 'x: "abc\ny: 1', open: '"abc', after: ["y", ":", "1"] },
      {
        name: "CRLF (the span stops before \\r)",
        src: 'x: "abc\r\ny: 1',
        open: '"abc',
        after: ["y", ":", "1"],
      },
      { name: "at the end of the file", src: 'x: "abc', open: '"abc', after: [] },
      { name: "ending in an escaped quote", src: 'x: "abc\\"\ny', open: '"abc\\"', after: ["y"] },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const scan = tokenize(c.src);
        const span = spanOf(c.src, c.open);
        assert.deepEqual(errorsOf(c.src), [["unterminated-string", span.start, span.end]]);
        const str = scan.tokens.find((t) => t.kind === "string");
        assert.ok(str);
        assert.deepEqual(
          { start: str.start, end: str.end, terminated: str.terminated },
          { ...span, terminated: false },
        );
        const rest = scan.tokens.slice(scan.tokens.indexOf(str) + 1, -1);
        assert.deepEqual(
          rest.map((t) => t.text),
          c.after,
        );
        if (rest.length)
          assert.equal(rest[0].newlineBefore, true, "the next line is tokenized as a new line");
      });
    }

    it("each of several unterminated strings gets its own error", () => {
      const src = 'a: "x\nb: "y\nc: "z"';
      assert.deepEqual(errorsOf(src), [
        ["unterminated-string", 3, 5],
        ["unterminated-string", 9, 11],
      ]);
      assert.deepEqual(
        tokenize(src).tokens.map((t) => t.kind),
        ["ident", ":", "string", "ident", ":", "string", "ident", ":", "string", "eof"],
      );
    });
  });

  describe("text blocks", () => {
    const cases: { name: string; src: string; value: string }[] = [
      { name: "on one line", src: '"""abc"""', value: "abc" },
      { name: "the first newline is dropped", src: '"""\nabc\n"""', value: "abc" },
      {
        name: "common indentation is removed, relative indentation kept",
        src: '"""\n    first\n      indented\n    last\n  """',
        value: "first\n  indented\nlast",
      },
      {
        name: "blank lines inside are kept (and do not count for the indentation)",
        src: '"""\n    a\n\n      \n    b\n"""',
        value: "a\n\n\nb",
      },
      { name: "CRLF line breaks", src: '"""\r\n    a\r\n      b\r\n  """', value: "a\n  b" },
      { name: "closing quotes after the last line", src: '"""\n  a\n  b"""', value: "a\nb" },
      { name: "tabs as indentation", src: '"""\n\t\ta\n\t\t\tb\n"""', value: "a\n\tb" },
      { name: "escapes inside", src: '"""\n  say \\"hi\\"\\u{21}\n"""', value: 'say "hi"!' },
      { name: "a lone quote and two quotes inside", src: '"""\n  a " b "" c\n"""', value: 'a " b "" c' },
      { name: "empty", src: '""""""', value: "" },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const t = onlyString(c.src);
        assert.deepEqual(
          { start: t.start, end: t.end, value: t.value, textBlock: t.textBlock, terminated: t.terminated },
          { start: 0, end: c.src.length, value: c.value, textBlock: true, terminated: true },
        );
        assert.deepEqual(errorsOf(c.src), []);
      });
    }

    it("an unterminated text block is one error on the opening quotes and runs to the end of the file", () => {
      const src = 'x: """\n  abc\ny: 1\n';
      const open = spanOf(src, '"""');
      assert.deepEqual(errorsOf(src), [["unterminated-string", open.start, open.end]]);
      const t = onlyString(src);
      assert.deepEqual(
        { start: t.start, end: t.end, terminated: t.terminated },
        { start: 3, end: src.length, terminated: false },
      );
      assert.equal(t.value, "  abc\ny: 1");
    });

    it("the token after a text block on the closing line is on the same line", () => {
      const kinds = tokenize('x """\n  a\n  """ y\nz').tokens.map((t) => [
        t.text.slice(0, 3),
        t.newlineBefore,
      ]);
      assert.deepEqual(kinds, [
        ["x", true],
        ['"""', false],
        ["y", false],
        ["z", true],
        ["", true],
      ]);
    });
  });

  describe("templates", () => {
    const cases: { src: string; templates: string[][] }[] = [
      { src: '"Hi {{ vars.company }}!"', templates: [["vars", "company"]] },
      { src: '"{{a}}{{ b.c.d }}"', templates: [["a"], ["b", "c", "d"]] },
      { src: '"{{ user . name }}"', templates: [["user", "name"]] },
      { src: '"{{\tsession.turn\t}}"', templates: [["session", "turn"]] },
      {
        src: '"""\n  Dear {{ user.name }},\n  turn {{session.turn}}\n"""',
        templates: [
          ["user", "name"],
          ["session", "turn"],
        ],
      },
      { src: '"\\{{ vars.a }} {{ user.b }}"', templates: [["user", "b"]] },
      { src: '"{ single } braces"', templates: [] },
    ];
    for (const c of cases) {
      it(`${JSON.stringify(c.src)} -> exact spans of each path and segment`, () => {
        const t = onlyString(c.src);
        assert.deepEqual(errorsOf(c.src), []);
        let from = 0;
        const expected = c.templates.map((path) => {
          // The path span runs from the first segment to the last, whatever the spaces around the dots.
          const segments = path.map((s) => {
            const span = spanOf(c.src.slice(from), s);
            const abs = { start: from + span.start, end: from + span.end };
            from = abs.end;
            return abs;
          });
          return { start: segments[0].start, end: segments[segments.length - 1].end, path, segments };
        });
        assert.deepEqual(t.templates, expected);
      });
    }

    it("templates keep source offsets inside a text block whose indentation is trimmed", () => {
      const src = 'x: """\n      {{ memory.name }}\n"""';
      const [tpl] = onlyString(src).templates ?? [];
      assert.deepEqual(tpl, {
        start: src.indexOf("memory"),
        end: src.indexOf(" }}"),
        path: ["memory", "name"],
        segments: [spanOf(src, "memory"), spanOf(src, "name")],
      });
    });

    it("`\\{{` is a literal `{{` and not a template", () => {
      const t = onlyString('"\\{{ a }}"');
      assert.deepEqual([t.value, t.templates], ["{{ a }}", []]);
      assert.deepEqual(errorsOf('"\\{{ a }}"'), []);
    });

    const bad: { src: string; at: string }[] = [
      { src: '"{{ vars.a"', at: "{{" },
      { src: '"{{ vars.a" "}}"', at: "{{" },
      { src: '"{{ 1x }}"', at: "{{ 1x }}" },
      { src: '"{{ }}"', at: "{{ }}" },
      { src: '"{{ a..b }}"', at: "{{ a..b }}" },
      { src: '"{{ a-b }}"', at: "{{ a-b }}" },
    ];
    for (const c of bad) {
      it(`${c.src} is a syntax error on ${JSON.stringify(c.at)}`, () => {
        const span = spanOf(c.src, c.at);
        assert.deepEqual(errorsOf(c.src), [["syntax", span.start, span.end]]);
        assert.deepEqual(tokenize(c.src).tokens[0].templates, []);
      });
    }
  });

  describe("numbers", () => {
    const cases: [string, number][] = [
      ["42", 42],
      ["-3", -3],
      ["0", 0],
      ["0.25", 0.25],
      ["1e6", 1e6],
      ["1E+3", 1000],
      ["2.5e-1", 0.25],
      ["128_000", 128000],
      ["1_000.000_5", 1000.0005],
      ["-0.5", -0.5],
    ];
    for (const [src, value] of cases) {
      it(`${src} -> ${value}`, () => {
        const { tokens, errors } = tokenize(src);
        assert.deepEqual(
          tokens.map((t) => [t.kind, t.text, t.number]),
          [
            ["number", src, value],
            ["eof", "", undefined],
          ],
        );
        assert.deepEqual(errors, []);
      });
    }

    it("separators, signs and exponents only count next to digits", () => {
      const texts = (src: string) => tokenize(src).tokens.map((t) => `${t.kind}:${t.text}`);
      assert.deepEqual(texts("1_ -x 1e a-3"), [
        "number:1",
        "ident:_",
        "invalid:-",
        "ident:x",
        "number:1",
        "ident:e",
        "ident:a",
        "number:-3",
        "eof:",
      ]);
    });
  });

  describe("comments", () => {
    it("line and block comments are kept aside with their spans", () => {
      const src = "// head\r\nx /* inline */ y /* two\nlines */ z // tail";
      const scan = tokenize(src);
      assert.deepEqual(scan.comments, [
        { ...spanOf(src, "// head"), text: "// head", block: false },
        { ...spanOf(src, "/* inline */"), text: "/* inline */", block: true },
        { ...spanOf(src, "/* two\nlines */"), text: "/* two\nlines */", block: true },
        { ...spanOf(src, "// tail"), text: "// tail", block: false },
      ]);
      assert.deepEqual(
        scan.tokens.map((t) => [t.text, t.newlineBefore]),
        [
          ["x", true],
          ["y", false],
          ["z", true],
          ["", true],
        ],
      );
      assert.deepEqual(scan.errors, []);
    });

    it("comment markers inside strings are text", () => {
      const scan = tokenize('"http://x /* y */"');
      assert.deepEqual([scan.comments, scan.tokens[0].value], [[], "http://x /* y */"]);
    });

    it("an unclosed block comment is one error on '/*' and runs to the end of the file", () => {
      const src = "x /* never\nclosed y";
      assert.deepEqual(errorsOf(src), [["syntax", 2, 4]]);
      const scan = tokenize(src);
      assert.deepEqual(scan.comments, [{ start: 2, end: src.length, text: src.slice(2), block: true }]);
      assert.deepEqual(
        scan.tokens.map((t) => t.kind),
        ["ident", "eof"],
      );
    });
  });

  describe("tokens", () => {
    it("punctuation, two-character operators and invalid characters", () => {
      const src = "{ } [ ] ( ) : , . ? == != < <= > >= -> @ # = !";
      const kinds: (TokenKind | string)[] = tokenize(src).tokens.map((t) =>
        t.kind === "invalid" ? `invalid ${t.text}` : t.kind,
      );
      assert.deepEqual(kinds, [
        ...["{", "}", "[", "]", "(", ")", ":", ",", ".", "?", "==", "!=", "<", "<=", ">", ">=", "->"],
        ...["invalid @", "invalid #", "invalid =", "invalid !", "eof"],
      ]);
    });

    it("identifiers, including keywords, are ident tokens", () => {
      const scan = tokenize("agent _x9 deny when A_b");
      assert.deepEqual(
        scan.tokens.map((t) => `${t.kind}:${t.text}`),
        ["ident:agent", "ident:_x9", "ident:deny", "ident:when", "ident:A_b", "eof:"],
      );
    });

    it("newlineBefore marks the first token of each line (and of the file)", () => {
      const scan = tokenize("a b\nc\r\n  d e\n\n\nf");
      assert.deepEqual(
        scan.tokens.map((t) => [t.text, t.newlineBefore]),
        [
          ["a", true],
          ["b", false],
          ["c", true],
          ["d", true],
          ["e", false],
          ["f", true],
          ["", true],
        ],
      );
    });
  });

  describe("UTF-16 offsets", () => {
    it("an astral character in a string counts two units and shifts later offsets by 2", () => {
      // s : ␠ " 😀(2 units) " ␠ x
      const astral = tokenize('s: "😀" x');
      const bmp = tokenize('s: "é" x');
      assert.deepEqual(
        astral.tokens.map((t) => [t.start, t.end]),
        [
          [0, 1],
          [1, 2],
          [3, 7],
          [8, 9],
          [9, 9],
        ],
      );
      assert.equal(astral.tokens[3].start - bmp.tokens[3].start, 1);
      assert.equal(astral.tokens[2].value, "😀");
    });

    it("templates and errors after an emoji have UTF-16 offsets", () => {
      const src = '"😀😀 {{ a.b }} \\q"';
      const [tpl] = tokenize(src).tokens[0].templates ?? [];
      assert.deepEqual(tpl, {
        start: 9,
        end: 12,
        path: ["a", "b"],
        segments: [
          { start: 9, end: 10 },
          { start: 11, end: 12 },
        ],
      });
      assert.deepEqual(errorsOf(src), [["syntax", 16, 18]]);
    });

    it("an astral character outside a string is one invalid token of two units", () => {
      const scan = tokenize("a 🚀 b");
      assert.deepEqual(
        scan.tokens.map((t) => [t.kind, t.start, t.end]),
        [
          ["ident", 0, 1],
          ["invalid", 2, 4],
          ["ident", 5, 6],
          ["eof", 6, 6],
        ],
      );
    });

    it("an unterminated string with an emoji ends at the end of its line", () => {
      assert.deepEqual(errorsOf('x: "🙂 oops\ny'), [["unterminated-string", 3, 11]]);
    });
  });

  describe("invariants on arbitrary text", () => {
    const alphabet = fc.constantFrom(
      ...["agent", "x", " ", "\n", "\r\n", "\t", '"', '"""', "\\", "{{", "}}", "{", "}", "[", "]", "(", ")"],
      ...[":", ",", ".", "?", "=", "!", "<", ">", "-", "_", "1", "e", "//", "/*", "*/", "😀", "é", "@"],
    );
    const texts = fc.oneof(
      fc.string({ unit: "binary", maxLength: 200 }),
      fc.array(alphabet, { maxLength: 80 }).map((parts) => parts.join("")),
    );

    it("tokens are ordered, disjoint, inside the text, and end with one eof", () => {
      fc.assert(
        fc.property(texts, (text) => {
          // A known scanner bug (reported, to be fixed): a string whose last character is the file's final
          // backslash ends one unit past the end of the text.
          const { tokens, comments, errors } = tokenize(text);
          let prev = 0;
          for (const t of tokens) {
            assert.ok(
              prev <= t.start && t.start <= t.end && t.end <= text.length,
              `token ${JSON.stringify(t)}`,
            );
            assert.equal(t.text, text.slice(t.start, t.end));
            prev = t.end;
          }
          assert.deepEqual(
            tokens.filter((t) => t.kind === "eof").map((t) => [t.start, t.end]),
            [[text.length, text.length]],
          );
          assert.equal(tokens[tokens.length - 1].kind, "eof");
          for (const s of [...comments, ...errors])
            assert.ok(0 <= s.start && s.start <= s.end && s.end <= text.length);
        }),
        { numRuns: 500 },
      );
    });
  });
});
