// Finds the AST nodes under a position: the chain from the declaration down
// to the innermost node containing an offset. Editor features (completion,
// hover, definition, rename) start from here.

import type { Declaration, SourceFile, Span } from "./ast";

export type AnyNode = Span & { type?: string; [key: string]: unknown };

function isNode(v: unknown): v is AnyNode {
  return (
    typeof v === "object" &&
    v !== null &&
    typeof (v as Span).start === "number" &&
    typeof (v as Span).end === "number"
  );
}

/** The direct child nodes of a node, in source order. */
export function children(node: object): AnyNode[] {
  const out: AnyNode[] = [];
  for (const [key, value] of Object.entries(node)) {
    if (key === "opSpan" || key === "argsSpan") continue;
    if (Array.isArray(value)) {
      for (const item of value) if (isNode(item)) out.push(item);
    } else if (isNode(value)) out.push(value);
  }
  return out.sort((a, b) => a.start - b.start);
}

/**
 * Nodes containing `offset`, outermost first. `offset` may sit at a node's
 * end (the cursor right after a name belongs to that name).
 */
export function nodesAt(file: SourceFile, offset: number): AnyNode[] {
  const chain: AnyNode[] = [];
  const top = [...file.imports, ...file.declarations] as unknown as AnyNode[];
  let level: AnyNode[] = top;
  while (true) {
    // Prefer the innermost candidate that strictly contains the offset, then one that ends at it.
    const hit =
      level.find((n) => n.start <= offset && offset < n.end) ??
      level.find((n) => n.start <= offset && offset === n.end);
    if (!hit) return chain;
    chain.push(hit);
    level = children(hit);
  }
}

export function declarationAt(file: SourceFile, offset: number): Declaration | undefined {
  return file.declarations.find((d) => d.start <= offset && offset <= d.end);
}
