// Positions: the points a debug run can stop at (an event, a tool about to
// run, a memory write, an approval, a limit, a failed model call, a test step,
// the wait for a user message), how each is described in the editor, and the
// line of the spec where it acts.

import type { CompiledDefinition, Json } from "../language/compile";
import type { ApprovalRequest, MemoryWriteRequest } from "../runtime/engine";
import type { SessionEvent, ToolCallRequest } from "../protocol/events";
import { MEMORY_TOOL } from "../protocol/names";
import type { TestStep } from "../runtime/testRunner";
import { evaluate } from "../runtime/policy";
import { truthy } from "./expr";
import type { Location, SpecMap } from "./specMap";

export type Position =
  | { kind: "event"; event: SessionEvent }
  | { kind: "tool.run"; call: ToolCallRequest }
  | { kind: "memory.write"; write: MemoryWriteRequest }
  | { kind: "approval"; request: ApprovalRequest }
  | { kind: "limit" | "error"; reason: string }
  | { kind: "test.step"; step: TestStep }
  | { kind: "input" };

/** The index of the deny rule that denies a call of `tool` with `input`, or -1. */
export function denyRule(definition: CompiledDefinition, agent: string, tool: string, input: Json): number {
  return definition.agents[agent].policy.deny.findIndex(
    (r) => r.tool === tool && truthy(evaluate(r.when, input)),
  );
}

/** What locating a position needs of the run. */
export interface LocationContext {
  map: SpecMap;
  definition: CompiledDefinition;
  /** The active agent. */
  agent: string;
  /** The file of the test block a test launch runs. */
  testFile?: string;
  /** The input the model gave a call (as the policy saw it), if it is the pending one. */
  callInput(callId: string): Json;
}

/** Where a position acts in the spec: the declaration's line. */
export function actingLocation(pos: Position | undefined, at: LocationContext): Location | undefined {
  const { agent, map: m, definition } = at;
  if (!pos) return m.agentLocation(agent);
  switch (pos.kind) {
    case "tool.run":
      return m.toolLocation(pos.call.name) ?? m.agentLocation(agent);
    case "memory.write":
      return m.memoryLocation(pos.write.memory) ?? m.agentLocation(agent);
    case "approval":
      return m.policyLocation(agent, "require_approval");
    case "test.step":
      return { path: at.testFile!, line: pos.step.line };
    case "limit": {
      const name = /^(max_turns|max_tool_calls|max_tokens)/.exec(pos.reason)?.[1];
      return name ? m.policyLocation(agent, name) : m.agentLocation(agent);
    }
    case "error":
    case "input":
      return m.agentLocation(agent);
    case "event": {
      const e = pos.event;
      switch (e.type) {
        case "tool.call":
        case "tool.result":
          return (
            m.toolLocation(e.tool) ??
            (e.tool === MEMORY_TOOL ? memoryOf(at, agent) : undefined) ??
            m.agentLocation(agent)
          );
        case "policy.decision": {
          if (e.check === "deny") {
            const i = denyRule(definition, agent, e.tool, at.callInput(e.callId));
            if (i >= 0) return m.denyLocation(agent, i);
          }
          if (e.check === "approval") return m.policyLocation(agent, "require_approval");
          if (e.check === "limit") {
            const name = /^(max_tool_calls|max_tokens)/.exec(e.reason ?? "")?.[1];
            return m.policyLocation(agent, name);
          }
          if (e.decision === "allow") return m.toolLocation(e.tool) ?? m.agentLocation(agent);
          return m.policyLocation(agent);
        }
        case "approval":
          return m.policyLocation(agent, "require_approval");
        case "memory.write":
        case "memory.snapshot":
          return (e.memory ? m.memoryLocation(e.memory) : undefined) ?? m.agentLocation(agent);
        case "handoff":
          return m.agentLocation(e.to);
        default:
          return (
            m.agentLocation("agent" in e && typeof e.agent === "string" ? e.agent : agent) ??
            m.agentLocation(agent)
          );
      }
    }
  }
}

function memoryOf(at: LocationContext, agent: string): Location | undefined {
  const mem = at.definition.agents[agent]?.memory;
  return mem ? at.map.memoryLocation(mem) : undefined;
}

/** A short description of a position, for stop messages and frame names. */
export function describe(pos: Position | undefined): string {
  if (!pos) return "";
  switch (pos.kind) {
    case "tool.run":
      return `${pos.call.name} about to run`;
    case "memory.write":
      return `write ${pos.write.memory}.${pos.write.field}`;
    case "approval":
      return `approval needed: ${pos.request.tool}`;
    case "limit":
      return `limit reached: ${pos.reason}`;
    case "error":
      return `model call failed: ${pos.reason}`;
    case "test.step":
      return `step: ${pos.step.source.split("\n")[0]}`;
    case "input":
      return "waiting for a user message";
    case "event": {
      const e = pos.event;
      switch (e.type) {
        case "tool.call":
          return `tool.call ${e.tool}`;
        case "tool.result":
          return `tool.result ${e.tool}${e.ok ? "" : " (failed)"}`;
        case "policy.decision":
          return `policy.decision ${e.tool}: ${e.decision}`;
        case "approval":
          return `approval ${e.tool}: ${e.approved ? "approved" : "refused"}`;
        case "memory.write":
          return `memory.write ${e.field}`;
        case "handoff":
          return `handoff ${e.from} -> ${e.to}`;
        case "context.snapshot":
        case "model.request":
        case "model.response":
          return `${e.type} (call ${e.step + 1})`;
        default:
          return e.type;
      }
    }
  }
}
