// What the debugger reads of a session while stopped: the engine's own
// session, or, on a stateful backend, a view rebuilt from the events the
// runtime service commits (the state itself lives in the service).

import type { CompiledAgent, CompiledDefinition, CompiledMemory, Json } from "../language/compile";
import type { SessionEvent, Usage } from "../protocol/events";

/** What the debugger reads of a session: the engine's own, or a view rebuilt from a runtime's events. */
export interface SessionView {
  activeAgent: string;
  turn: number;
  toolCalls: number;
  usage: Usage;
  memory: Record<string, Json>;
  agent(name?: string): CompiledAgent;
  memorySpec(agent?: CompiledAgent): CompiledMemory | undefined;
}

/**
 * A stateful backend's session as the debugger sees it: the runtime service runs the turn, and
 * this view follows the events it commits (memory from memory.snapshot and memory.write, usage
 * from model.response, the active agent from turn.start and handoff).
 */
export class RemoteView implements SessionView {
  activeAgent: string;
  turn = 0;
  toolCalls = 0;
  usage: Usage = { inputTokens: 0, outputTokens: 0 };
  memory: Record<string, Json> = {};

  constructor(private readonly definition: CompiledDefinition) {
    this.activeAgent = definition.agent;
  }

  agent(name = this.activeAgent): CompiledAgent {
    const a = this.definition.agents[name];
    if (!a) throw new Error(`agent '${name}' is not in the compiled definition`);
    return a;
  }

  memorySpec(agent = this.agent()): CompiledMemory | undefined {
    return agent.memory ? this.definition.memories[agent.memory] : undefined;
  }

  apply(e: SessionEvent): void {
    switch (e.type) {
      case "turn.start":
        this.turn = e.turn;
        this.activeAgent = e.agent;
        break;
      case "handoff":
        this.activeAgent = e.to;
        break;
      case "memory.snapshot":
        this.memory = structuredClone(e.values);
        break;
      case "memory.write":
        if (e.ok) this.memory = { ...this.memory, [e.field]: structuredClone(e.value) };
        break;
      case "model.response":
        this.usage = {
          ...this.usage,
          inputTokens: this.usage.inputTokens + e.usage.inputTokens,
          outputTokens: this.usage.outputTokens + e.usage.outputTokens,
        };
        break;
      case "tool.result":
        if (this.definition.tools[e.tool]) this.toolCalls++;
        break;
    }
  }
}

/** Why nothing can be edited while debugging a stateful backend. */
export const REMOTE_EDIT_REFUSED =
  "the pending call runs in the runtime service, which holds this session's state: the debugger shows its events but cannot change them; to edit inputs or memory, debug the agent on a stateless backend";
