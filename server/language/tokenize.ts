// The scanner: text to tokens, never throwing. Newlines are not tokens; each
// token records whether a line break precedes it, which is how the parser
// separates members and ends line-based statements. Comments are kept aside
// for the formatter; lexical errors are collected as diagnostics.

import type { Comment, Span, TemplateRef } from "./ast";

export type TokenKind =
  | "ident"
  | "string"
  | "number"
  | "{"
  | "}"
  | "["
  | "]"
  | "("
  | ")"
  | ":"
  | ","
  | "."
  | "?"
  | "=="
  | "!="
  | "<"
  | "<="
  | ">"
  | ">="
  | "->"
  | "invalid"
  | "eof";

export interface Token extends Span {
  kind: TokenKind;
  /** Source text of the token. */
  text: string;
  /** A line break (or the start of the file) comes before this token. */
  newlineBefore: boolean;
  /** For strings: the cooked value, whether it is a text block, its templates, and whether it was closed. */
  value?: string;
  textBlock?: boolean;
  templates?: TemplateRef[];
  terminated?: boolean;
  /** For numbers. */
  number?: number;
  /**
   * For strings: the value in template form, where only `\\` and `\{{` stay
   * escaped, so that a renderer can tell a literal `{{` from a template.
   */
  template?: string;
}

export interface LexError extends Span {
  code: "syntax" | "unterminated-string";
  message: string;
  /** An unterminated text block or block comment: everything after it was swallowed. */
  runsToEnd?: boolean;
}

export interface ScanResult {
  tokens: Token[];
  comments: Comment[];
  errors: LexError[];
}

const PUNCTUATION: Record<number, TokenKind | undefined> = {};
for (const p of "{}[]():,.?<>") PUNCTUATION[p.charCodeAt(0)] = p as TokenKind;

const isIdentStart = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
const isIdentPart = (c: number) => isIdentStart(c) || (c >= 48 && c <= 57);
const isDigit = (c: number) => c >= 48 && c <= 57;

export function tokenize(text: string): ScanResult {
  const tokens: Token[] = [];
  const comments: Comment[] = [];
  const errors: LexError[] = [];
  const n = text.length;
  let i = 0;
  let newline = true;

  // Every token gets the same fields in the same order: one object shape keeps the parser's property reads fast.
  const push = (
    kind: TokenKind,
    start: number,
    end: number,
    value?: string,
    textBlock?: boolean,
    templates?: TemplateRef[],
    terminated?: boolean,
    number?: number,
    template?: string,
  ) => {
    tokens.push({
      kind,
      start,
      end,
      text: text.slice(start, end),
      newlineBefore: newline,
      value,
      textBlock,
      templates,
      terminated,
      number,
      template,
    });
    newline = false;
  };

  while (i < n) {
    const c = text.charCodeAt(i);
    // whitespace
    if (c === 10) {
      newline = true;
      i++;
      continue;
    }
    if (c === 32 || c === 9 || c === 13 || c === 0xfeff) {
      i++;
      continue;
    }
    // comments
    if (c === 47 /* / */ && text.charCodeAt(i + 1) === 47) {
      let j = i + 2;
      while (j < n && text.charCodeAt(j) !== 10) j++;
      const end = j > i && text.charCodeAt(j - 1) === 13 ? j - 1 : j;
      comments.push({ start: i, end, text: text.slice(i, end), block: false });
      i = j;
      continue;
    }
    if (c === 47 && text.charCodeAt(i + 1) === 42 /* * */) {
      const close = text.indexOf("*/", i + 2);
      const end = close < 0 ? n : close + 2;
      if (close < 0)
        errors.push({
          start: i,
          end: i + 2,
          code: "syntax",
          message: "Block comment is not closed: expected '*/'.",
          runsToEnd: true,
        });
      const body = text.slice(i, end);
      if (body.includes("\n")) newline = true;
      comments.push({ start: i, end, text: body, block: true });
      i = end;
      continue;
    }
    if (isIdentStart(c)) {
      let j = i + 1;
      while (j < n && isIdentPart(text.charCodeAt(j))) j++;
      push("ident", i, j);
      i = j;
      continue;
    }
    if (isDigit(c) || (c === 45 /* - */ && isDigit(text.charCodeAt(i + 1)))) {
      i = scanNumber(i);
      continue;
    }
    if (c === 34 /* " */) {
      if (text.startsWith('"""', i)) i = scanTextBlock(i);
      else i = scanString(i);
      continue;
    }
    const next = text.charCodeAt(i + 1);
    if (next === 61 /* = */ && (c === 61 || c === 33 || c === 60 || c === 62)) {
      push(c === 61 ? "==" : c === 33 ? "!=" : c === 60 ? "<=" : ">=", i, i + 2);
      i += 2;
      continue;
    }
    if (c === 45 && next === 62) {
      push("->", i, i + 2);
      i += 2;
      continue;
    }
    const punct = PUNCTUATION[c];
    if (punct) {
      push(punct, i, i + 1);
      i++;
      continue;
    }
    // Anything else is one invalid character (a whole surrogate pair counts as one).
    const len = c >= 0xd800 && c <= 0xdbff && i + 1 < n ? 2 : 1;
    push("invalid", i, i + len);
    i += len;
  }
  tokens.push({ kind: "eof", start: n, end: n, text: "", newlineBefore: true });
  return { tokens, comments, errors };

  function scanNumber(start: number): number {
    let j = start;
    if (text.charCodeAt(j) === 45) j++;
    const digits = () => {
      while (
        j < n &&
        (isDigit(text.charCodeAt(j)) || (text.charCodeAt(j) === 95 && isDigit(text.charCodeAt(j + 1))))
      )
        j++;
    };
    digits();
    if (text.charCodeAt(j) === 46 /* . */ && isDigit(text.charCodeAt(j + 1))) {
      j++;
      digits();
    }
    const e = text.charCodeAt(j);
    if (e === 101 || e === 69) {
      let k = j + 1;
      if (text.charCodeAt(k) === 43 || text.charCodeAt(k) === 45) k++;
      if (isDigit(text.charCodeAt(k))) {
        j = k;
        digits();
      }
    }
    const raw = text.slice(start, j);
    push(
      "number",
      start,
      j,
      undefined,
      undefined,
      undefined,
      undefined,
      Number(raw.includes("_") ? raw.replace(/_/g, "") : raw),
    );
    return j;
  }

  /** Reads an escape at `j` (pointing at the backslash); returns [cooked, next index]. */
  function escape(j: number): [string, number] {
    const e = text[j + 1];
    if (e === undefined || e === "\n" || e === "\r") {
      // A backslash at the end of a line or file escapes nothing; the line break stays a line break.
      // In a string the unterminated-string error says it all; text blocks report it where they scan.
      return ["", j + 1];
    }
    switch (e) {
      case '"':
        return ['"', j + 2];
      case "\\":
        return ["\\", j + 2];
      case "n":
        return ["\n", j + 2];
      case "t":
        return ["\t", j + 2];
      case "r":
        return ["\r", j + 2];
      case "{":
        // `\{{` is a literal `{{`; a lone `\{` is a literal `{`.
        if (text[j + 2] === "{") return ["{{", j + 3];
        return ["{", j + 2];
      case "u": {
        const m = /^\{([0-9a-fA-F]{1,6})\}/.exec(text.slice(j + 2, j + 12));
        if (m) {
          const cp = parseInt(m[1], 16);
          if (cp <= 0x10ffff) return [String.fromCodePoint(cp), j + 2 + m[0].length];
        }
        errors.push({
          start: j,
          end: Math.min(j + 2, n),
          code: "syntax",
          message: "Invalid unicode escape: expected '\\u{XXXX}' with 1 to 6 hex digits.",
        });
        return ["", j + 2];
      }
      default:
        errors.push({
          start: j,
          end: Math.min(j + 2, n),
          code: "syntax",
          message: `Unknown escape '\\${e}': expected one of \\" \\\\ \\n \\t \\r \\u{XXXX} \\{{.`,
        });
        return [e, j + 2];
    }
  }

  /** An escape as it stays in template form: only backslashes and `\{{` keep their escape. */
  function templateEscape(j: number, cooked: string): string {
    if (text[j + 1] === "{" && text[j + 2] === "{") return "\\{{";
    return cooked === "\\" ? "\\\\" : cooked;
  }

  function scanString(start: number): number {
    let j = start + 1;
    let value = "";
    let template = "";
    let terminated = false;
    while (j < n) {
      const ch = text.charCodeAt(j);
      if (ch === 34) {
        terminated = true;
        j++;
        break;
      }
      if (ch === 10 || (ch === 13 && text.charCodeAt(j + 1) === 10)) break;
      if (ch === 92) {
        const [s, next] = escape(j);
        value += s;
        template += templateEscape(j, s);
        j = next;
        continue;
      }
      // Append the run of plain characters up to the next quote, backslash or line end in one slice.
      let k = j + 1;
      while (k < n) {
        const d = text.charCodeAt(k);
        if (d === 34 || d === 92 || d === 10 || d === 13) break;
        k++;
      }
      value += text.slice(j, k);
      template += text.slice(j, k);
      j = k;
    }
    if (!terminated)
      errors.push({
        start,
        end: j,
        code: "unterminated-string",
        message:
          'String is not closed: expected \'"\' before the end of the line (use """ for text over several lines).',
      });
    push(
      "string",
      start,
      j,
      value,
      false,
      findTemplates(start + 1, terminated ? j - 1 : j),
      terminated,
      undefined,
      template,
    );
    return j;
  }

  function scanTextBlock(start: number): number {
    const close = text.indexOf('"""', start + 3);
    const terminated = close >= 0;
    const contentEnd = terminated ? close : n;
    const end = terminated ? close + 3 : n;
    if (!terminated)
      errors.push({
        start,
        end: start + 3,
        code: "unterminated-string",
        message: 'Text block is not closed: expected \'"""\'.',
        runsToEnd: true,
      });
    // Trim indentation on the source first, then cook escapes (as Java and Kotlin text blocks do),
    // so that an escaped tab is content, not indentation. Escape errors are reported with positions first.
    for (let j = start + 3; j < contentEnd;) {
      const slash = text.indexOf("\\", j);
      if (slash < 0 || slash >= contentEnd) break;
      const after = text[slash + 1];
      if (after === "\n" || after === "\r")
        errors.push({
          start: slash,
          end: slash + 1,
          code: "syntax",
          message:
            "A backslash at the end of a line escapes nothing: a text block keeps its line breaks as written.",
        });
      j = escape(slash)[1];
    }
    const { value: cooked, template } = cook(trimIndent(text.slice(start + 3, contentEnd)));
    push(
      "string",
      start,
      end,
      cooked,
      true,
      findTemplates(start + 3, contentEnd),
      terminated,
      undefined,
      template,
    );
    return end;
  }

  function findTemplates(from: number, to: number): TemplateRef[] {
    const out: TemplateRef[] = [];
    let j = from;
    while (j < to) {
      const ch = text.charCodeAt(j);
      if (ch === 92) {
        j += text[j + 1] === "{" && text[j + 2] === "{" ? 3 : 2;
        continue;
      }
      if (ch === 123 && text.charCodeAt(j + 1) === 123) {
        const close = text.indexOf("}}", j + 2);
        if (close < 0 || close + 2 > to) {
          errors.push({
            start: j,
            end: j + 2,
            code: "syntax",
            message: "Template is not closed: expected '}}'.",
          });
          return out;
        }
        const inner = text.slice(j + 2, close);
        const lead = inner.length - inner.trimStart().length;
        const body = inner.trim();
        const pathStart = j + 2 + lead;
        if (!/^[A-Za-z_][A-Za-z0-9_]*(\s*\.\s*[A-Za-z_][A-Za-z0-9_]*)*$/.test(body)) {
          errors.push({
            start: j,
            end: close + 2,
            code: "syntax",
            message: `Invalid template '{{${inner}}}': expected a dotted name such as '{{ memory.name }}'.`,
          });
        } else {
          const segments: Span[] = [];
          const path: string[] = [];
          const re = /[A-Za-z_][A-Za-z0-9_]*/g;
          let m: RegExpExecArray | null;
          while ((m = re.exec(body))) {
            path.push(m[0]);
            segments.push({ start: pathStart + m.index, end: pathStart + m.index + m[0].length });
          }
          out.push({ start: pathStart, end: pathStart + body.length, path, segments });
        }
        j = close + 2;
        continue;
      }
      j++;
    }
    return out;
  }
}

const SIMPLE_ESCAPES: Record<string, string> = { '"': '"', "\\": "\\", n: "\n", t: "\t", r: "\r" };

/**
 * Applies escapes to already-scanned text (errors were reported by the
 * scanner): the value, and the template form in which `\\` and `\{{` stay escaped.
 */
export function cook(raw: string): { value: string; template: string } {
  let value = "";
  let template = "";
  let i = 0;
  while (i < raw.length) {
    const slash = raw.indexOf("\\", i);
    if (slash < 0) {
      value += raw.slice(i);
      template += raw.slice(i);
      break;
    }
    value += raw.slice(i, slash);
    template += raw.slice(i, slash);
    const e = raw[slash + 1];
    if (e === "{" && raw[slash + 2] === "{") {
      value += "{{";
      template += "\\{{";
      i = slash + 3;
    } else if (e === "u") {
      const m = /^\{([0-9a-fA-F]{1,6})\}/.exec(raw.slice(slash + 2, slash + 12));
      const cp = m ? parseInt(m[1], 16) : NaN;
      const ch = cp <= 0x10ffff ? String.fromCodePoint(cp) : "";
      value += ch;
      template += ch;
      i = slash + 2 + (m ? m[0].length : 0);
    } else if (e === undefined || e === "\n" || e === "\r") {
      i = slash + 1;
    } else {
      const ch = SIMPLE_ESCAPES[e] ?? (e === "{" ? "{" : e);
      value += ch;
      template += ch === "\\" ? "\\\\" : ch;
      i = slash + 2;
    }
  }
  return { value, template };
}

/** Kotlin's trimIndent: drop a blank first and last line, remove the common indentation of non-blank lines. */
export function trimIndent(raw: string): string {
  const lines = raw.replace(/\r\n/g, "\n").split("\n");
  if (lines.length > 1 && lines[0].trim() === "") lines.shift();
  if (lines.length > 1 && lines[lines.length - 1].trim() === "") lines.pop();
  let indent = Infinity;
  for (const line of lines) {
    if (line.trim() === "") continue;
    const m = /^[ \t]*/.exec(line);
    indent = Math.min(indent, m ? m[0].length : 0);
  }
  if (!Number.isFinite(indent)) indent = 0;
  return lines.map((l) => (l.trim() === "" ? "" : l.slice(indent))).join("\n");
}
