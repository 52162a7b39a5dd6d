// Edits a value inside a JSON document by a path of keys and indexes: the debugger's changes to a
// pending tool call's input or to memory, and replay making those recorded changes again.

import type { Json } from "../language/compile";

export const SET_FAILED = Symbol("set failed");

/** Sets `value` at `p` inside `root` (in place); returns the previous value. */
export function setPath(
  root: Json,
  p: string[],
  value: Json,
  allowNew = false,
): Json | undefined | typeof SET_FAILED {
  let node: Json = root;
  for (let i = 0; i < p.length - 1; i++) {
    if (node === null || typeof node !== "object") return SET_FAILED;
    node = Array.isArray(node) ? node[Number(p[i])] : node[p[i]];
  }
  const key = p[p.length - 1];
  if (node === null || typeof node !== "object") return SET_FAILED;
  if (Array.isArray(node)) {
    const i = Number(key);
    if (!Number.isInteger(i) || i < 0 || i >= node.length) return SET_FAILED;
    const before = node[i];
    node[i] = value;
    return before;
  }
  if (!(key in node) && !allowNew && p.length > 1) return SET_FAILED;
  const before = node[key];
  node[key] = value;
  return before;
}
