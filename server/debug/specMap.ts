// Lines of the spec and what acts there. A breakpoint on a line resolves to
// the declaration around it (an agent, a tool, a memory, a policy rule, a test
// step) when that declaration takes part in the debugged session; frames point
// back at the declaration that acts, through the compiled definition's source
// references.

import * as path from "node:path";
import type { Declaration, TestStep } from "../language/ast";
import { declarationName } from "../language/ast";
import type { CompiledAgent, CompiledDefinition, SourceRef } from "../language/compile";
import type { TestIR } from "../language/compileTests";
import { LineIndex } from "../language/lineIndex";
import type { LoadedProgram } from "../runtime/prepare";

export type PolicyRule =
  | { type: "deny"; index: number }
  | { type: "approval" }
  | { type: "limit"; name: "max_turns" | "max_tool_calls" | "max_tokens" }
  | { type: "any" };

export type BreakTarget =
  | { kind: "agent"; agent: string }
  | { kind: "tool"; tool: string }
  | { kind: "memory"; memory: string }
  | { kind: "policy"; agent: string; rule: PolicyRule }
  | { kind: "step"; line: number };

export interface Resolution {
  target?: BreakTarget;
  /** The line the breakpoint is shown at (a multi-line test step: its first line). */
  line: number;
  /** Why it cannot hit, when it cannot. */
  message?: string;
}

export interface Location {
  path: string;
  line: number;
}

const WHERE_TO_STOP =
  "breakpoints stop on agents (each of their turns), tools (before each call), memories (before each write), policy rules (when they decide) and test steps";

export class SpecMap {
  readonly baseDir: string;
  private readonly files: Set<string>;
  private readonly indexes = new Map<string, LineIndex>();

  constructor(
    private readonly loaded: LoadedProgram,
    readonly definition: CompiledDefinition,
    readonly test?: TestIR,
  ) {
    this.baseDir = path.dirname(loaded.root);
    this.files = new Set(loaded.program.closure(loaded.root).map((f) => path.resolve(f)));
  }

  private index(file: string): LineIndex {
    let idx = this.indexes.get(file);
    if (!idx) this.indexes.set(file, (idx = new LineIndex(this.loaded.program.get(file)?.file.text ?? "")));
    return idx;
  }

  private line(file: string, offset: number): number {
    return this.index(file).position(offset).line + 1;
  }

  /** The absolute path of a compiled source reference. */
  location(ref: SourceRef): Location {
    return { path: path.resolve(this.baseDir, ref.file), line: ref.line };
  }

  agentLocation(agent: string): Location | undefined {
    const a = this.definition.agents[agent];
    return a ? this.location(a.source) : undefined;
  }

  toolLocation(tool: string): Location | undefined {
    const t = this.definition.tools[tool];
    return t ? this.location(t.source) : undefined;
  }

  memoryLocation(memory: string): Location | undefined {
    const m = this.definition.memories[memory];
    return m ? this.location(m.source) : undefined;
  }

  /** The line of a policy property (`require_approval`, `max_tool_calls`...) of an agent, else the agent's. */
  policyLocation(agent: string, property?: string): Location | undefined {
    const a = this.definition.agents[agent];
    if (!a) return undefined;
    const at = this.location(a.source);
    const decl = this.agentDecl(at.path, agent);
    const policy = decl?.body.members.find((m) => m.type === "BlockMember" && m.name.name === "policy");
    if (!decl || policy?.type !== "BlockMember") return at;
    const prop = property
      ? policy.body.members.find((m) => m.type === "Property" && m.name.name === property)
      : undefined;
    return { path: at.path, line: this.line(at.path, (prop ?? policy).start) };
  }

  denyLocation(agent: string, index: number): Location | undefined {
    const rule = this.definition.agents[agent]?.policy.deny[index];
    return rule ? this.location(rule.source) : this.policyLocation(agent);
  }

  private agentDecl(file: string, agent: string): Declaration | undefined {
    return this.loaded.program
      .get(file)
      ?.file.declarations.find((d) => d.kind === "agent" && declarationName(d) === agent);
  }

  /** What a breakpoint at `line` (1-based) of `file` stops on, or why it never stops. */
  resolve(file: string, line: number): Resolution {
    const abs = path.resolve(file);
    const pf = this.loaded.program.get(abs);
    if (!pf || !this.files.has(abs))
      return {
        line,
        message: `this file is not part of the debugged program (${path.basename(this.loaded.root)} and its imports)`,
      };
    const idx = this.index(abs);
    const from = idx.lineStart(line - 1);
    const to = idx.lineEnd(line - 1);
    const decl = pf.file.declarations.find((d) => d.start <= to && from < d.end);
    const name = decl ? declarationName(decl) : undefined;
    if (!decl || name === undefined) return { line, message: `nothing runs on this line: ${WHERE_TO_STOP}` };
    const def = this.definition;
    switch (decl.kind) {
      case "agent": {
        const agent = def.agents[name];
        if (!agent)
          return {
            line,
            message: `agent '${name}' is not part of this debug session: it runs '${def.agent}'${
              Object.keys(def.agents).length > 1
                ? ` and the agents it can hand off to (${Object.keys(def.agents)
                    .filter((a) => a !== def.agent)
                    .join(", ")})`
                : ""
            }`,
          };
        return this.resolveInAgent(abs, decl, agent, from, to, line);
      }
      case "tool": {
        const users = Object.values(def.agents).filter((a) => a.tools.includes(name));
        if (!def.tools[name] || !users.length)
          return {
            line,
            message: `no agent of this debug session uses tool '${name}', so it is never called`,
          };
        return { line, target: { kind: "tool", tool: name } };
      }
      case "memory":
        if (!def.memories[name])
          return { line, message: `no agent of this debug session uses memory '${name}'` };
        return { line, target: { kind: "memory", memory: name } };
      case "test":
        return this.resolveInTest(abs, decl, name, from, to, line);
      default:
        return { line, message: `a ${decl.kind} declaration does not run by itself: ${WHERE_TO_STOP}` };
    }
  }

  private resolveInAgent(
    file: string,
    decl: Declaration,
    agent: CompiledAgent,
    from: number,
    to: number,
    line: number,
  ): Resolution {
    const policy = decl.body.members.find((m) => m.type === "BlockMember" && m.name.name === "policy");
    if (policy?.type !== "BlockMember" || policy.end <= from || policy.start > to)
      return { line, target: { kind: "agent", agent: agent.name } };
    const member = policy.body.members.find((m) => m.start <= to && from < m.end);
    if (!member) {
      if (this.line(file, policy.start) === line)
        return { line, target: { kind: "policy", agent: agent.name, rule: { type: "any" } } };
      return { line, message: `nothing in this policy decides on this line` };
    }
    const at = this.line(file, member.start);
    if (member.type === "Deny") {
      const index = agent.policy.deny.findIndex((r) => r.source.line === at);
      if (index < 0) return { line, message: "this rule is incomplete: it never decides" };
      return { line: at, target: { kind: "policy", agent: agent.name, rule: { type: "deny", index } } };
    }
    if (member.type === "Property") {
      const n = member.name.name;
      if (n === "require_approval")
        return { line: at, target: { kind: "policy", agent: agent.name, rule: { type: "approval" } } };
      if (n === "max_turns" || n === "max_tool_calls" || n === "max_tokens")
        return { line: at, target: { kind: "policy", agent: agent.name, rule: { type: "limit", name: n } } };
    }
    return { line, message: "nothing in this policy decides on this line" };
  }

  private resolveInTest(
    file: string,
    decl: Declaration,
    name: string,
    from: number,
    to: number,
    line: number,
  ): Resolution {
    if (!this.test)
      return {
        line,
        message: `test steps stop only when the launch configuration runs that test ("test": ${JSON.stringify(name)})`,
      };
    if (this.test.name !== name || path.resolve(this.test.file) !== file)
      return {
        line,
        message: `this debug session runs test ${JSON.stringify(this.test.name)}, not this one`,
      };
    const step = decl.body.members.find(
      (m): m is TestStep => m.type === "Step" && m.start <= to && from < m.end,
    );
    if (!step) return { line, message: "no test step on this line" };
    const at = this.line(file, step.start);
    return { line: at, target: { kind: "step", line: at } };
  }
}
