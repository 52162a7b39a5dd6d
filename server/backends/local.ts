// The built-in offline model: it plays back scripted steps (test blocks,
// `statecraft run --script`) and never calls a network. Without a script it
// says which real backends can be configured instead.

import { countTokens } from "../language/tokenCount";
import { modelProviders, orList } from "../language/providers";
import type { Message } from "../protocol/events";
import {
  BackendError,
  type ModelBackend,
  type ModelRequest,
  type ModelResponse,
  type ScriptedModel,
  type ScriptStep,
} from "../runtime/model";
import { HANDOFF_PREFIX } from "../protocol/names";
import { memoTokens } from "../runtime/engine";

export const NO_SCRIPT_MESSAGE =
  "the local backend only plays back scripted replies, and none is left for this turn. " +
  "Script it (model replies / model calls steps in a test, or statecraft run --script FILE), " +
  `or run on a real model with --backend NAME, naming a backend declared with provider ${orList(modelProviders())}.`;

function messageChars(m: Message): string {
  return m.role === "assistant" && m.toolCalls ? m.content + JSON.stringify(m.toolCalls) : m.content;
}

export class LocalBackend implements ModelBackend, ScriptedModel {
  readonly provider = "local";
  readonly scripted: ScriptedModel = this;
  private readonly queue: ScriptStep[] = [];
  private calls = 0;

  constructor(
    readonly name = "local",
    readonly kind: "stateless" | "stateful" = "stateless",
  ) {}

  enqueue(...steps: ScriptStep[]): void {
    this.queue.push(...steps);
  }

  get pending(): number {
    return this.queue.length;
  }

  /** Drops what is left of the script (a test's next send starts clean). */
  clear(): void {
    this.queue.length = 0;
  }

  complete(request: ModelRequest): Promise<ModelResponse> {
    if (request.signal?.aborted) return Promise.reject(new BackendError("cancelled", "cancelled"));
    const step = this.queue.shift();
    if (!step) return Promise.reject(new BackendError("script", NO_SCRIPT_MESSAGE));
    const inputTokens =
      request.messages.reduce((a, m) => a + memoTokens(m, () => messageChars(m), undefined), 0) +
      memoTokens(request.tools, () => JSON.stringify(request.tools), undefined);
    this.calls++;
    if (step.kind === "reply") {
      // Stream word by word, as a real model would.
      if (request.onText) for (const piece of step.text.match(/\S+\s*|\s+/g) ?? []) request.onText(piece);
      return Promise.resolve({
        text: step.text,
        toolCalls: [],
        usage: { inputTokens, outputTokens: countTokens(step.text, "estimate").tokens },
        stopReason: "end_turn",
      });
    }
    const name = step.kind === "call" ? step.tool : `${HANDOFF_PREFIX}${step.agent}`;
    const input = step.kind === "call" ? step.input : {};
    return Promise.resolve({
      text: "",
      toolCalls: [{ id: `call_${this.calls}`, name, input }],
      usage: { inputTokens, outputTokens: countTokens(JSON.stringify(input), "estimate").tokens },
      stopReason: "tool_use",
    });
  }

  summarize(text: string): Promise<string> {
    // Deterministic and labelled: the local backend does not invent a summary.
    const keep = text.slice(-2000);
    return Promise.resolve(
      `[local summary: the last ${keep.length} of ${text.length} characters of earlier turns]\n${keep}`,
    );
  }
}
