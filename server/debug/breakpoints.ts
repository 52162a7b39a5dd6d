// Breakpoints: lines of the spec resolved to what they stop at (an agent, a
// tool, a memory, a policy rule, a test step), and whether one is hit at a
// position the run reaches.

import type { CompiledDefinition, Json } from "../language/compile";
import { parseExpression, parseHitCondition } from "./expr";
import { denyRule, type Position } from "./positions";
import type { BreakTarget, SpecMap } from "./specMap";

let nextBreakpointId = 1;

export interface BreakpointSpec {
  line: number;
  condition?: string;
  hitCondition?: string;
}

export interface ResolvedBreakpoint {
  id: number;
  verified: boolean;
  line: number;
  message?: string;
  target?: BreakTarget;
  condition?: ReturnType<typeof parseExpression> & { ok: true };
  hit?: (hits: number) => boolean;
  hits: number;
}

/** What matching a breakpoint needs of the run. */
export interface MatchContext {
  /** The runtime service runs the session: tools and memory writes are seen as events. */
  remote: boolean;
  activeAgent: string | undefined;
  definition: CompiledDefinition;
  /** The input the model gave a call (as the policy saw it), if it is the pending one. */
  callInput(callId: string): Json;
}

/** Breakpoints on the lines of a file, verified against the spec (and their conditions parsed). */
export function resolveBreakpoints(
  map: SpecMap,
  file: string,
  specs: (BreakpointSpec & { id?: number })[],
): ResolvedBreakpoint[] {
  return specs.map((s): ResolvedBreakpoint => {
    const r = map.resolve(file, s.line);
    const bp: ResolvedBreakpoint = {
      id: s.id ?? nextBreakpointId++,
      verified: !!r.target,
      line: r.line,
      message: r.message,
      target: r.target,
      hits: 0,
    };
    if (bp.verified && s.condition?.trim()) {
      const c = parseExpression(s.condition);
      if (!c.ok) Object.assign(bp, { verified: false, message: `condition: ${c.error}` });
      else bp.condition = c;
    }
    if (bp.verified && s.hitCondition?.trim()) {
      const h = parseHitCondition(s.hitCondition);
      if (typeof h === "string") Object.assign(bp, { verified: false, message: h });
      else bp.hit = h;
    }
    return bp;
  });
}

/** Whether a breakpoint's target is at a position (conditions and hit counts aside). */
export function matches(t: BreakTarget, pos: Position, at: MatchContext): boolean {
  switch (t.kind) {
    case "agent":
      return (
        pos.kind === "event" &&
        ((pos.event.type === "turn.start" && pos.event.agent === t.agent) ||
          (pos.event.type === "handoff" && pos.event.to === t.agent))
      );
    case "tool":
      if (at.remote)
        // The runtime runs the tool: the view stops where the policy let the call through.
        return (
          pos.kind === "event" &&
          pos.event.type === "policy.decision" &&
          pos.event.tool === t.tool &&
          pos.event.decision !== "deny"
        );
      return pos.kind === "tool.run" && pos.call.name === t.tool;
    case "memory":
      if (at.remote)
        return pos.kind === "event" && pos.event.type === "memory.write" && pos.event.memory === t.memory;
      return pos.kind === "memory.write" && pos.write.memory === t.memory;
    case "step":
      return pos.kind === "test.step" && pos.step.line === t.line;
    case "policy": {
      if (at.activeAgent !== t.agent) return false;
      if (pos.kind === "limit")
        return t.rule.type === "any" || (t.rule.type === "limit" && pos.reason.startsWith(t.rule.name));
      if (pos.kind !== "event" || pos.event.type !== "policy.decision") return false;
      const e = pos.event;
      switch (t.rule.type) {
        case "any":
          return true;
        case "approval":
          return e.decision === "approval";
        case "limit":
          return e.check === "limit" && (e.reason ?? "").startsWith(t.rule.name);
        case "deny": {
          if (e.check !== "deny") return false;
          return denyRule(at.definition, t.agent, e.tool, at.callInput(e.callId)) === t.rule.index;
        }
      }
    }
  }
}
