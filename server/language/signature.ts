// Signature help for the built-in calls (env, file, http, command, mcp): which
// call the cursor is in and which argument it is on. Read from the tokens
// before the cursor, since the call being typed is usually not closed yet.

import { BUILTIN_CALLS, type BuiltinCall, type BuiltinSignature } from "./schema";
import type { TokenKind } from "./tokenize";
import { startsDeclaration, tokensOf } from "./complete";

export interface ActiveSignature {
  callee: BuiltinCall;
  signature: BuiltinSignature;
  /** 0-based: the number of commas before the cursor at the call's own level. */
  activeParameter: number;
}

const OPENERS: Partial<Record<TokenKind, TokenKind>> = { ")": "(", "]": "[", "}": "{" };

export function signatureAt(text: string, offset: number): ActiveSignature | undefined {
  const { tokens } = tokensOf(text);
  const stack: { open: TokenKind; callee?: BuiltinCall; commas: number }[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.kind === "eof" || t.start >= offset) break;
    // The parser ends every open bracket at a declaration on a new line; so does this.
    if (startsDeclaration(tokens, i)) stack.length = 0;
    if (t.kind === "(" || t.kind === "[" || t.kind === "{") {
      const prev = tokens[i - 1];
      const callee =
        t.kind === "(" &&
        prev?.kind === "ident" &&
        prev.end === t.start &&
        Object.hasOwn(BUILTIN_CALLS, prev.text)
          ? (prev.text as BuiltinCall)
          : undefined;
      stack.push({ open: t.kind, callee, commas: 0 });
    } else if (OPENERS[t.kind]) {
      const at = stack.findLastIndex((f) => f.open === OPENERS[t.kind]);
      if (at >= 0) stack.length = at;
    } else if (t.kind === "," && stack.length) stack[stack.length - 1].commas++;
  }
  // The innermost call: inside `command("node", [` the list is its second argument.
  const call = stack.findLast((f) => f.open === "(");
  if (!call?.callee) return undefined;
  return { callee: call.callee, signature: BUILTIN_CALLS[call.callee], activeParameter: call.commas };
}
