// The figures of the context window view, per turn: the tokens of each
// section of the context (instructions, context, memory, history, tools)
// against the model's window, and the bytes the client sent. Computed from
// the turn's context snapshots; no `vscode` (the panel posts this to its
// webview as JSON).

import type { SessionModel } from "./model";
import { abridge } from "./nodes";

export const SECTIONS = ["instructions", "context", "memory", "history", "tools"] as const;
export type Section = (typeof SECTIONS)[number];

export interface TurnFigure {
  turn: number;
  input: string;
  status: string;
  /** The turn's largest context (its last model call's): tokens per section. */
  sections: Record<Section, number>;
  total: number;
  exact: boolean;
  /** Model calls in the turn, and the bytes the client sent for them (the request bodies). */
  calls: number;
  bytes: number;
}

export interface ContextWindowData {
  sessionId: string;
  agent: string;
  backend: { name: string; kind: "stateless" | "stateful"; provider: string; model?: string };
  /** The model's window in tokens (the largest any snapshot recorded). */
  window?: number;
  turns: TurnFigure[];
  totalBytes: number;
}

export function contextWindowData(model: SessionModel): ContextWindowData {
  const start = model.start;
  let window: number | undefined;
  const turns: TurnFigure[] = model.turns.map((t) => {
    const last = t.contexts[t.contexts.length - 1];
    for (const c of t.contexts) if (c.contextWindow) window = Math.max(window ?? 0, c.contextWindow);
    const sections = Object.fromEntries(SECTIONS.map((s) => [s, last?.tokens[s] ?? 0])) as Record<
      Section,
      number
    >;
    return {
      turn: t.turn,
      input: abridge(t.input, 80),
      status: t.end?.status ?? "running",
      sections,
      total: last?.tokens.total ?? 0,
      exact: last?.tokens.exact ?? true,
      calls: t.contexts.length,
      bytes: t.contexts.reduce((a, c) => a + c.bytes, 0),
    };
  });
  return {
    sessionId: model.id,
    agent: start?.agent ?? "?",
    backend: start?.backend ?? { name: "?", kind: "stateless", provider: "?" },
    window,
    turns,
    totalBytes: turns.reduce((a, t) => a + t.bytes, 0),
  };
}
