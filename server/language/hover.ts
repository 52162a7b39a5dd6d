// Hover: what the keyword, name or value under the cursor means, as markdown
// with the span it applies to. Declarations show a one-line signature and
// their description; properties their documentation and expected type; enum
// words, built-in calls, test steps and templates what they mean; the agent's
// instructions and context sources how many tokens they cost.

import * as path from "node:path";
import {
  declarationName,
  referenceText,
  type BlockMember,
  type CallValue,
  type Declaration,
  type DenyRule,
  type FieldDecl,
  type Identifier,
  type Import,
  type Property,
  type Reference,
  type Span,
  type StringLiteral,
  type CaseBlock,
  type Step,
  type TemplateRef,
} from "./ast";
import { blocks, fields, props } from "./compile";
import { connectionInfo, connectionOfCall, identityText } from "./connections";
import { nodesAt, type AnyNode } from "./locate";
import type { Symbol, SymbolTable } from "./program";
import {
  isProvider,
  orList,
  PROVIDER_NAMES,
  PROVIDERS,
  providerRow,
  providersOfKind,
  type BackendKind,
} from "./providers";
import {
  BUILTIN_CALLS,
  DECLARATION_SCHEMAS,
  KIND_DOCS,
  describeType,
  BUILTIN_JUDGE_DOCS,
  CASE_SCHEMA,
  type BlockSchema,
  type BuiltinCall,
  type PropSpec,
  type PropType,
} from "./schema";
import {
  agentBackend,
  agentModel,
  backendModel,
  contextModel,
  contextSource,
  formatCount,
  formatNumber,
  instructionsTokens,
  numberValue,
  stringValue,
  truncated,
  wordValue,
  type ModelChoice,
} from "./sectionTokenCounts";
import type { BuiltinJudge } from "./evalIR";
import type { LanguageService } from "./languageService";
import { countTokensForModel } from "./tokenCount";
import { MEMORY_TOOL } from "../protocol/names";

export interface HoverResult {
  markdown: string;
  span: Span;
}

/** How prose names the providers of a backend kind: "OpenAI, Azure, ...". */
function kindLabels(kind: BackendKind): string[] {
  return providersOfKind(kind).map((p) => PROVIDERS[p].label);
}

/** What each enum word means, by the property that takes it. */
export const ENUM_DOCS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  kind: {
    stateless: `The client holds memory and history and resends the whole context on every call (${kindLabels("stateless").join(", ")}).`,
    stateful: `The runtime holds memory, context and identity per session; the client sends only the new input and a session id (${orList(kindLabels("stateful"))}, behind the Statecraft runtime).`,
  },
  provider: Object.fromEntries(PROVIDER_NAMES.map((p) => [p, PROVIDERS[p].doc])),
  api: {
    chat: "Chat Completions (the default): served by OpenAI, Azure, Ollama and vLLM alike.",
    responses:
      "The Responses API, called with `store: false` so that the client stays the only holder of state.",
  },
  refresh: {
    per_session: "Read once when a session starts (the default).",
    per_turn: "Read again before every turn.",
  },
  scope: {
    session: "One session only (the default): the memory starts empty every session.",
    user: "Every session of the same user: the next session of that user starts from it.",
    agent: "Every session of the agent, whoever the user is.",
  },
  acts_for: {
    user: "The agent acts on behalf of the signed-in user.",
    service: "The agent acts as a service, under its own identity.",
  },
  effort: {
    low: "Little reasoning before the answer: fastest and cheapest.",
    medium: "The provider's default amount of reasoning.",
    high: "The most reasoning before the answer: slowest, for hard multi-step tasks.",
  },
};

/** What each test step (and eval case step) does, with its form. */
export const STEP_DOCS: Readonly<Record<Step["step"], { form: string; doc: string }>> = {
  "expect.trajectory": {
    form: "expect trajectory [TOOL, ...] [in_order | exact | any_order]",
    doc: "Checks the tool calls of the whole case: `in_order` (default) the list is a subsequence of the calls, `exact` the calls are the list, `any_order` every listed tool was called. Reported with the precision and recall of the called tools.",
  },
  judge: {
    form: 'judge "criterion" [at_least N] | judge BUILTIN [at_least N]',
    doc: "The eval's judge backend scores the case's transcript against the criterion, 0 to 1, with a one-sentence reason; the criterion holds at `at_least` (default 0.5). A name instead of a string is a built-in judge. At the eval's level it applies to every case.",
  },
  score: {
    form: 'score command("executable", ["args"]) [at_least N]',
    doc: 'A program gets the case\'s session log (JSONL) on stdin and prints {"score": 0..1, "reason": "..."}; it runs in this file\'s folder. Holds at `at_least` (default 0.5).',
  },
  "judge.scores": {
    form: 'judge scores N "reason"',
    doc: "A scripted answer of a `local` judge: consumed in order by the case's judge criteria (the eval-level ones last).",
  },
  "user.says": {
    form: 'user says "text"',
    doc: "The next message of a simulated user on a `local` simulate backend.",
  },
  expected: {
    form: 'expected "answer"',
    doc: "The case's reference answer, read by the `correctness` judge.",
  },
  goal: { form: 'goal "what the user wants"', doc: "The user's goal, read by the `goal_success` judge." },
  send: { form: 'send "text"', doc: "One user turn: the queued arrange steps apply to it." },
  "model.replies": {
    form: 'model replies "text"',
    doc: "Scripted model output for the next turn (local backend only).",
  },
  "model.calls": {
    form: "model calls TOOL { ... }",
    doc: "A scripted tool call with this input (local backend only).",
  },
  "model.hands_off": { form: "model hands_off AGENT", doc: "A scripted handoff (local backend only)." },
  "tool.returns": { form: "tool TOOL returns VALUE", doc: "Mocks the tool's next result." },
  "tool.fails": {
    form: 'tool TOOL fails "message"',
    doc: "Makes the tool's next call fail with this error.",
  },
  approve: { form: "approve TOOL", doc: "Approves the tool's next approval request." },
  reject: { form: "reject TOOL", doc: "Rejects the tool's next approval request: the call does not run." },
  "expect.reply": {
    form: 'expect reply contains "text" | expect reply matches "regex"',
    doc: "Checks the last reply.",
  },
  "expect.tool": {
    form: "expect tool TOOL called [with { ... }] | not called | denied",
    doc: "Checks the tools of the last turn: `called` means it ran (`with`: these input fields match); `denied` means a policy rule or a rejected approval stopped it.",
  },
  "expect.handoff": {
    form: "expect handoff AGENT",
    doc: "Checks that the last turn handed off to this agent.",
  },
  "expect.memory": {
    form: "expect memory.FIELD OP VALUE",
    doc: "Checks a memory field after the last turn.",
  },
  "expect.tokens": { form: "expect tokens OP N", doc: "Checks the tokens used so far." },
  "expect.turns": { form: "expect turns OP N", doc: "Checks the turns taken so far." },
};

const FIELD_TYPE_DOCS: Readonly<Record<string, string>> = {
  string: 'A string: JSON Schema `{"type": "string"}`.',
  number: 'A number: JSON Schema `{"type": "number"}`.',
  integer: 'A whole number: JSON Schema `{"type": "integer"}`.',
  boolean: 'true or false: JSON Schema `{"type": "boolean"}`.',
  json: "Any JSON value: JSON Schema `{}`.",
  enum: 'One of the listed strings: JSON Schema `{"type": "string", "enum": [...]}`.',
};

/** The fields of the `user` and `session` template roots, supplied at run time. */
const RUNTIME_TEMPLATE_FIELDS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  user: {
    id: "The id of the user the session runs for, supplied at run time.",
    name: "The name of the user the session runs for, supplied at run time.",
  },
  session: {
    id: "The id of the current session.",
    turn: "The number of the current turn, from 1.",
  },
};

const DENY_DOC =
  "`deny TOOL when CONDITION`: a call of the tool whose input makes the condition true is refused and the model is told why. Rules are checked in source order, after the scope check and before the limits.";

const MEMORY_TOOL_DOC =
  "The built-in memory tool `remember { field, value }`: writes one field of the agent's memory. Every write is validated against the field's type and recorded.";

const CASE_DOC =
  "A case of the eval: a test body (`send`, `user`, arrange steps on local backends, every `expect`) plus the eval criteria (`expect trajectory`, `judge`, `score`), or a `simulate { ... }` block where an LLM plays the user. It passes when every expect, judge and score criterion holds.";

const TRAJECTORY_MODE_DOCS: Readonly<Record<string, string>> = {
  in_order:
    "`in_order` (the default): the listed tools were called in this order, other calls between them allowed.",
  exact: "`exact`: the case's tool calls are exactly this list.",
  any_order: "`any_order`: every listed tool was called, in any order.",
};

const IMPORT_DOC =
  "Imports another `.agent` file, relative to this one: its declarations, and those of the files it imports, are visible here.";

export function hover(service: LanguageService, filePath: string, offset: number): HoverResult | undefined {
  const key = path.resolve(filePath);
  const file = service.program.get(key)?.file;
  if (!file) return undefined;
  const chain = nodesAt(file, offset);
  if (!chain.length) return undefined;
  const result = new HoverBuilder(service, key, chain, offset).run();
  return result && { markdown: result.markdown, span: { start: result.span.start, end: result.span.end } };
}

const within = (span: Span, offset: number) => span.start <= offset && offset <= span.end;

/** A property or block on the path to the cursor, with the schema entry that describes it. */
interface Site {
  member: Property | BlockMember;
  spec: PropSpec | undefined;
  /** Whether the spec is that of an open block's entries (vars, env). */
  open: boolean;
  /** `agent`, `agent identity`: the declaration kind and enclosing block names. */
  owner: string;
  /** Nesting depth: 0 for a property of the declaration itself. */
  depth: number;
}

class HoverBuilder {
  private readonly decl: Declaration | undefined;
  private readonly table: SymbolTable;

  constructor(
    private readonly service: LanguageService,
    private readonly path: string,
    private readonly chain: AnyNode[],
    private readonly offset: number,
  ) {
    this.decl = chain[0].type === "Declaration" ? (chain[0] as unknown as Declaration) : undefined;
    this.table = service.program.symbols(path);
  }

  run(): HoverResult | undefined {
    if (this.chain[0].type === "Import") return this.importHover(this.chain[0] as unknown as Import);
    const decl = this.decl;
    if (!decl) return undefined;
    if (within(decl.keyword, this.offset))
      return { markdown: `**${decl.kind}**\n\n${KIND_DOCS[decl.kind]}`, span: decl.keyword };

    const str = this.innermost<StringLiteral>((n) => n.type === "String");
    const template = str?.templates.find((t) => within(this.templateRegion(t), this.offset));
    if (template) return this.templateHover(template);

    const symbol = this.service.symbolAt(this.path, this.offset);
    if (symbol) {
      const ref = this.service.referenceAt(this.path, this.offset);
      return this.declarationHover(symbol.symbol, ref ? ref.span : symbol.nameSpan);
    }

    return this.statementHover() ?? this.fieldHover() ?? this.callHover() ?? this.memberHover();
  }

  /** A template with its braces: `{{ memory.name }}`. */
  private templateRegion(t: TemplateRef): Span {
    const text = this.textOf(this.path);
    const open = text.lastIndexOf("{{", t.start);
    const close = text.indexOf("}}", t.end);
    return { start: open < 0 ? t.start : open, end: close < 0 ? t.end : close + 2 };
  }

  private innermost<T>(pred: (n: AnyNode) => boolean): T | undefined {
    return this.chain.findLast(pred) as T | undefined;
  }

  private textOf(p: string): string {
    return this.service.program.get(p)?.file.text ?? "";
  }

  // ---- declarations --------------------------------------------------------------------------

  private declarationHover(sym: Symbol, span: Span): HoverResult {
    const text = this.textOf(sym.path);
    const parts = [codeBlock(signature(sym, text))];
    const description = stringValue(props(sym.decl.body).get("description")?.value);
    if (description) parts.push(escapeMarkdown(description));
    parts.push(...this.details(sym, text));
    if (sym.path !== this.path) {
      const rel = path.relative(path.dirname(this.path), sym.path).split(path.sep).join("/");
      parts.push(`*Declared in \`${rel}\`*`);
    }
    return { markdown: parts.join("\n\n"), span };
  }

  private details(sym: Symbol, text: string): string[] {
    const p = props(sym.decl.body);
    switch (sym.kind) {
      case "backend": {
        const choice = backendModel(sym);
        return choice.window === undefined
          ? []
          : [
              `Context window: ${formatNumber(choice.window)} tokens (${choice.windowSource === "context_window" ? "context_window" : "from the model catalog"}).`,
            ];
      }
      case "tool": {
        const out: string[] = [];
        const run = p.get("run")?.value;
        out.push(
          run ? `Runs \`${sourceText(text, run)}\`.` : "No `run`: the tool can only be mocked in tests.",
        );
        const requires = p.get("requires")?.value;
        const scopes =
          requires?.type === "List" ? requires.items.map(stringValue).filter((x) => x !== undefined) : [];
        if (scopes.length) out.push(`Requires the scopes ${scopes.map((x) => `\`${x}\``).join(", ")}.`);
        const conn = connectionOfCall(this.service.program.symbols(sym.path), run);
        if (conn)
          out.push(
            `Calls through connection \`${conn.name}\` ${identityText(connectionInfo(conn.decl), conn.decl)}.`,
          );
        return out;
      }
      case "connection": {
        const info = connectionInfo(sym.decl);
        const kind =
          info.sql === undefined
            ? "A connection whose url is read from the environment (postgres:// makes it a SQL one)"
            : info.sql
              ? "A SQL connection (postgres)"
              : "An HTTP connection";
        const auth = info.auth ? `\`${info.auth}\`` : "none";
        return [`${kind}. Auth: ${auth}.`, `Tools on it call ${identityText(info, sym.decl)}.`];
      }
      case "memory": {
        const out: string[] = [];
        const after = numberValue(p.get("summarize_after")?.value);
        if (after !== undefined)
          out.push(`Older turns are summarized after ${formatNumber(after)} tokens of history.`);
        if (fields(blocks(sym.decl.body).get("fields")?.body).length)
          out.push("An agent using it writes the fields with the built-in `remember` tool.");
        return out;
      }
      case "context":
        return [this.contextTokens(sym)];
      case "agent": {
        const choice = agentModel(this.service.program.symbols(sym.path), sym.decl);
        const out = [`Runs on ${describeModel(choice)}.`];
        const count = instructionsTokens(this.service.program.symbols(sym.path), sym.decl);
        if (count) out.push(`Instructions: ${formatCount(count)}.`);
        return out;
      }
      default:
        return [];
    }
  }

  /** The tokens a context adds, counted with the model of the agent under the cursor or of one that uses it. */
  private contextTokens(sym: Symbol): string {
    const agent = this.decl?.kind === "agent" ? { decl: this.decl, path: this.path } : undefined;
    const { choice, agentName } = contextModel(this.service, sym, agent);
    const source = contextSource(this.service.program.fs, sym, choice.info);
    const counted =
      agentName !== undefined
        ? `for agent \`${agentName}\` (${describeModel(choice)})`
        : `for ${describeModel(choice)}`;
    switch (source.kind) {
      case "file": {
        const base = `**Tokens:** ${formatCount(source.count)} in \`${source.relative}\`, ${counted}.`;
        if (truncated(source))
          return `${base} \`max_tokens\` truncates it to ${formatNumber(source.maxTokens!)} tokens.`;
        return source.maxTokens !== undefined
          ? `${base} Within \`max_tokens\` (${formatNumber(source.maxTokens)}).`
          : base;
      }
      case "missing-file":
        return `**Tokens:** unknown: \`${source.relative}\` cannot be read.`;
      case "runtime":
        return `**Tokens:** read at run time by \`${source.callee}(...)\`${source.maxTokens !== undefined ? `; at most ${formatNumber(source.maxTokens)} (\`max_tokens\`)` : ""}.`;
      case "none":
        return "**Tokens:** no source (`from`).";
    }
  }

  // ---- imports -----------------------------------------------------------------------------

  private importHover(imp: Import): HoverResult | undefined {
    if (within(imp.keyword, this.offset))
      return { markdown: `**import**\n\n${IMPORT_DOC}`, span: imp.keyword };
    const entry = this.service.program.get(this.path)?.imports.find((i) => i.node === imp);
    if (!entry || !within(imp.path, this.offset)) return undefined;
    const count = this.service.program.get(entry.target)?.file.declarations.length ?? 0;
    const status = entry.found
      ? `${count} ${count === 1 ? "declaration" : "declarations"}.`
      : "Cannot be read.";
    return { markdown: `${codeBlock(entry.target, "text")}\n\n${status}`, span: imp.path };
  }

  // ---- templates ----------------------------------------------------------------------------

  /** Which template roots the string under the cursor is filled in with: by where it sits. */
  private templateSite(): "agent" | "tool" | "context" | undefined {
    const decl = this.decl;
    const top = this.chain[2];
    if (!decl || top?.type !== "Property") return undefined;
    const name = (top as unknown as Property).name.name;
    if (decl.kind === "agent" && name === "instructions") return "agent";
    if (decl.kind === "tool" && name === "run") return "tool";
    const call = (top as unknown as Property).value;
    if (decl.kind === "context" && name === "from" && call.type === "Call" && call.callee.name !== "file")
      return "context";
    return undefined;
  }

  private templateHover(t: TemplateRef): HoverResult | undefined {
    const site = this.templateSite();
    const decl = this.decl!;
    const [root, field] = t.path;
    const head = `\`{{ ${t.path.join(".")} }}\``;
    const region = this.templateRegion(t);
    const result = (body: string) => ({ markdown: `${head}\n\n${body}`, span: region });
    if (site === undefined)
      return result(
        "Left as written: templates are filled in only in an agent's `instructions`, a tool's `run` and a context's source.",
      );
    if (Object.hasOwn(RUNTIME_TEMPLATE_FIELDS, root)) {
      const docs = RUNTIME_TEMPLATE_FIELDS[root];
      if (field === undefined)
        return result(
          `The ${root}: ${Object.keys(docs)
            .map((f) => `\`${root}.${f}\``)
            .join(", ")}.`,
        );
      return Object.hasOwn(docs, field) ? result(docs[field]) : undefined;
    }
    const agentName = declarationName(decl);
    if (site === "agent" && root === "vars") {
      const vars = blocks(decl.body).get("vars")?.body.members ?? [];
      if (field === undefined) return result(`The vars of agent \`${agentName}\`.`);
      const v = vars.find((m): m is Property => m.type === "Property" && m.name.name === field);
      if (!v) return undefined;
      return result(
        `${codeBlock(`${field}: ${sourceText(this.textOf(this.path), v.value)}`)}\n\nA var of agent \`${agentName}\`.`,
      );
    }
    if (site === "agent" && root === "memory") {
      const mem = props(decl.body).get("memory")?.value;
      const sym = mem?.type === "Reference" ? this.table.lookup("memory", mem.segments[0].name) : undefined;
      if (!sym) return result(`Agent \`${agentName}\` has no memory.`);
      if (field === undefined) return result(`The fields of memory \`${sym.name}\`.`);
      return this.memoryField(sym, field, region);
    }
    if (site === "tool" && root === "input") {
      if (field === undefined)
        return result(`The input of tool \`${declarationName(decl)}\`, filled in per call.`);
      const sym = { kind: decl.kind, name: declarationName(decl) ?? "", decl, path: this.path };
      return this.toolInputField(sym, field, region, head);
    }
    return undefined;
  }

  private memoryField(memory: Symbol, field: string, span: Span): HoverResult | undefined {
    const f = fields(blocks(memory.decl.body).get("fields")?.body).find((x) => x.name.name === field);
    if (!f) return undefined;
    const scope = wordValue(props(memory.decl.body).get("scope")?.value) ?? "session";
    const start = f.optional
      ? "Optional: absent until the agent remembers it."
      : `Starts at ${zeroValue(f)} until the agent remembers it.`;
    const parts = [
      codeBlock(fieldText(f, this.textOf(memory.path))),
      `Field of memory \`${memory.name}\` (scope ${scope}). ${start}`,
    ];
    if (f.description) parts.push(escapeMarkdown(f.description.value));
    return { markdown: parts.join("\n\n"), span };
  }

  private toolInputField(tool: Symbol, field: string, span: Span, head?: string): HoverResult | undefined {
    const f = fields(blocks(tool.decl.body).get("input")?.body).find((x) => x.name.name === field);
    if (!f) return undefined;
    const parts = [codeBlock(fieldText(f, this.textOf(tool.path))), `Input of tool \`${tool.name}\`.`];
    if (head) parts.unshift(head);
    if (f.description) parts.push(escapeMarkdown(f.description.value));
    return { markdown: parts.join("\n\n"), span };
  }

  // ---- policy rules and test steps -------------------------------------------------------------

  private statementHover(): HoverResult | undefined {
    const deny = this.innermost<DenyRule>((n) => n.type === "Deny");
    if (deny) {
      const ref = this.innermost<Reference>((n) => n.type === "Reference");
      if (ref && ref !== deny.tool && ref.segments[0].name === "input" && ref.segments.length === 2) {
        const tool = this.table.lookup("tool", deny.tool.segments[0].name);
        return tool && this.toolInputField(tool, ref.segments[1].name, ref);
      }
      if (within(deny.keyword, this.offset) || this.chain[this.chain.length - 1] === (deny as unknown))
        return { markdown: DENY_DOC, span: deny.keyword };
      return undefined;
    }
    const kase = this.innermost<CaseBlock>((n) => n.type === "Case");
    if (kase && within(kase.keyword, this.offset))
      return {
        markdown: `${codeBlock('case "name" { ... }')}\n\n${CASE_DOC}`,
        span: kase.keyword,
      };
    const step = this.innermost<Step>((n) => n.type === "Step");
    if (!step) return undefined;
    const evalWord = this.evalStepWord(step);
    if (evalWord) return evalWord;
    const stepDoc = () => {
      const d = STEP_DOCS[step.step];
      return { markdown: `${codeBlock(d.form)}\n\n${d.doc}`, span: step.keyword };
    };
    if (within(step.keyword, this.offset) || this.chain[this.chain.length - 1] === (step as unknown))
      return stepDoc();
    if (step.step === "expect.memory" && within(step.path, this.offset)) {
      const memory = this.testMemory();
      const field = step.path.segments[1];
      return memory && this.memoryField(memory, field.name, step.path);
    }
    if ("tool" in step && within(step.tool, this.offset) && referenceText(step.tool) === MEMORY_TOOL)
      return { markdown: MEMORY_TOOL_DOC, span: step.tool };
    return undefined;
  }

  /** Hovers on the words of eval criteria: a built-in judge, `at_least`, a trajectory mode. */
  private evalStepWord(step: Step): HoverResult | undefined {
    if (
      step.step === "judge" &&
      step.criterion.type === "Identifier" &&
      within(step.criterion, this.offset)
    ) {
      const name = step.criterion.name;
      if (!Object.hasOwn(BUILTIN_JUDGE_DOCS, name)) return undefined;
      return {
        markdown: `${codeBlock(`judge ${name}`)}\n\nBuilt-in judge: ${BUILTIN_JUDGE_DOCS[name as BuiltinJudge]} Scored 0 to 1 by the eval's judge backend.`,
        span: step.criterion,
      };
    }
    if (
      (step.step === "judge" || step.step === "score") &&
      step.atLeast &&
      within(step.atLeast.keyword, this.offset)
    )
      return {
        markdown: `${codeBlock("at_least N")}\n\nThe criterion holds when its score is at least N (0 to 1); default 0.5.`,
        span: step.atLeast.keyword,
      };
    if (step.step === "expect.trajectory" && step.mode && within(step.mode, this.offset))
      return { markdown: TRAJECTORY_MODE_DOCS[step.mode.name] ?? "", span: step.mode };
    return undefined;
  }

  /** The memory of the agent a test runs. */
  private testMemory(): Symbol | undefined {
    const agentRef = this.decl && props(this.decl.body).get("agent")?.value;
    const agent =
      agentRef?.type === "Reference" ? this.table.lookup("agent", agentRef.segments[0].name) : undefined;
    const mem = agent && props(agent.decl.body).get("memory")?.value;
    return mem?.type === "Reference" ? this.table.lookup("memory", mem.segments[0].name) : undefined;
  }

  // ---- fields -------------------------------------------------------------------------------------

  private fieldHover(): HoverResult | undefined {
    const f = this.innermost<FieldDecl>((n) => n.type === "Field");
    if (!f) return undefined;
    const text = this.textOf(this.path);
    if (within(f.name, this.offset)) {
      const owner = this.fieldOwner();
      const parts = [codeBlock(fieldText(f, text))];
      if (owner) parts.push(owner);
      if (f.description) parts.push(escapeMarkdown(f.description.value));
      return { markdown: parts.join("\n\n"), span: f.name };
    }
    const typeName = f.fieldType.name;
    if (within(typeName, this.offset) && Object.hasOwn(FIELD_TYPE_DOCS, typeName.name))
      return { markdown: `**${typeName.name}**\n\n${FIELD_TYPE_DOCS[typeName.name]}`, span: typeName };
    return undefined;
  }

  private fieldOwner(): string | undefined {
    const decl = this.decl!;
    const name = declarationName(decl);
    switch (decl.kind) {
      case "type":
        return `Field of type \`${name}\`.`;
      case "tool":
        return `Input of tool \`${name}\`.`;
      case "memory":
        return `Field of memory \`${name}\`.`;
      default:
        return undefined;
    }
  }

  // ---- built-in calls ----------------------------------------------------------------------------

  private callHover(): HoverResult | undefined {
    const call = this.innermost<CallValue>((n) => n.type === "Call");
    if (!call || !within(call.callee, this.offset)) return undefined;
    const name = call.callee.name;
    if (!Object.hasOwn(BUILTIN_CALLS, name)) return undefined;
    const sig = BUILTIN_CALLS[name as BuiltinCall];
    const params = sig.params.map((p) => `- \`${p.label}\`: ${p.doc}`).join("\n");
    return { markdown: `${codeBlock(sig.label)}\n\n${sig.doc}\n\n${params}`, span: call.callee };
  }

  // ---- properties and their values --------------------------------------------------------------

  /** The properties and blocks from the declaration down to the cursor, each with its schema entry. */
  private sites(): Site[] {
    const decl = this.decl!;
    const out: Site[] = [];
    let schema: BlockSchema | undefined = decl.kind === "type" ? undefined : DECLARATION_SCHEMAS[decl.kind];
    let owner: string = decl.kind;
    for (const node of this.chain.slice(1)) {
      if (node.type === "Case") {
        schema = CASE_SCHEMA;
        owner = "eval case";
        continue;
      }
      if (node.type !== "Property" && node.type !== "BlockMember") continue;
      const member = node as unknown as Property | BlockMember;
      const name = member.name.name;
      const known = schema !== undefined && Object.hasOwn(schema.props, name);
      const spec: PropSpec | undefined = known
        ? schema!.props[name]
        : schema?.open
          ? { type: schema.open, doc: "" }
          : undefined;
      out.push({ member, spec, open: !known && spec !== undefined, owner, depth: out.length });
      owner = `${owner} ${name}`;
      schema = member.type === "BlockMember" && spec?.type.t === "block" ? spec.type.block : undefined;
    }
    return out;
  }

  private memberHover(): HoverResult | undefined {
    const site = this.sites().at(-1);
    if (!site) return undefined;
    const { member, spec } = site;
    if (within(member.name, this.offset)) return this.propertyHover(site);
    if (member.type !== "Property" || !spec || !within(member.value, this.offset)) return undefined;
    const decl = this.decl!;
    const topLevel = site.depth === 0;
    if (topLevel && decl.kind === "agent" && member.name.name === "instructions")
      return this.instructionsHover(member);
    if (topLevel && decl.kind === "context" && member.name.name === "from") {
      const sym = { kind: decl.kind, name: declarationName(decl) ?? "", decl, path: this.path };
      return { markdown: this.contextTokens(sym), span: member.value };
    }
    if (topLevel && (decl.kind === "backend" || decl.kind === "agent") && member.name.name === "model")
      return this.modelHover(member);
    if (topLevel && decl.kind === "test" && member.name.name === "backend") {
      const v = member.value;
      if (v.type === "Reference" && referenceText(v) === "local" && !this.table.lookup("backend", "local"))
        return {
          markdown: `${codeBlock("backend local: stateless local")}\n\nThe built-in offline backend: scripted model steps, mocked tools, no network and no keys.`,
          span: v,
        };
    }
    return this.enumHover(site);
  }

  private propertyHover(site: Site): HoverResult | undefined {
    const { member, spec, open, owner } = site;
    const name = member.name.name;
    if (!spec) return undefined;
    if (open) {
      const what =
        owner === "agent vars"
          ? `A var of the agent: its instructions read it as \`{{vars.${name}}}\`.`
          : owner === "mcp env"
            ? "An environment variable of the server's process."
            : "An entry of this block.";
      return { markdown: `**${name}** *(${owner})*\n\n${what}`, span: member.name };
    }
    const flags = spec.required ? `${owner}, required` : owner;
    const parts = [`**${name}** *(${flags})*`, spec.doc, `Expects ${describeType(spec.type)}.`];
    return { markdown: parts.join("\n\n"), span: member.name };
  }

  /** A model id: what the catalog knows of it, for the backend it runs on. */
  private modelHover(member: Property): HoverResult | undefined {
    const decl = this.decl!;
    const v = member.value;
    if (v.type !== "String") return undefined;
    const choice =
      decl.kind === "backend"
        ? backendModel({ kind: decl.kind, name: declarationName(decl) ?? "", decl, path: this.path })
        : backendModel(agentBackend(this.table, decl), v.value);
    const head = `**${escapeMarkdown(v.value)}** *(${choice.provider})*`;
    const info = choice.info;
    const facts: string[] = [];
    if (choice.window !== undefined)
      facts.push(
        `Context window: ${formatNumber(choice.window)} tokens${choice.windowSource === "context_window" ? " (the backend's context_window)" : ""}.`,
      );
    if (info?.maxOutputTokens !== undefined)
      facts.push(`Up to ${formatNumber(info.maxOutputTokens)} output tokens.`);
    if (info)
      facts.push(
        `Tokens are counted with ${info.tokenizer === "estimate" ? "an estimate" : info.tokenizer}.`,
      );
    else if (!isProvider(choice.provider) || providerRow(choice.provider)?.catalog)
      facts.push(`Not in the built-in ${choice.provider} catalog: tokens are estimated.`);
    else facts.push(`Any model name is valid for a ${choice.provider} server: tokens are estimated.`);
    return { markdown: [head, facts.join(" ")].join("\n\n"), span: v };
  }

  private instructionsHover(member: Property): HoverResult | undefined {
    const decl = this.decl!;
    const v = member.value;
    if (v.type !== "String") return undefined;
    const choice = agentModel(this.table, decl);
    const count = countTokensForModel(v.value, choice.info);
    return {
      markdown: `**Instructions:** ${formatCount(count)}\n\nCounted for ${describeModel(choice)}.`,
      span: v,
    };
  }

  private enumHover(site: Site): HoverResult | undefined {
    const type = enumType(site.spec!.type);
    if (!type) return undefined;
    const ident = this.innermost<Identifier | StringLiteral>(
      (n) => n.type === "Identifier" || n.type === "String",
    );
    if (!ident) return undefined;
    const word = ident.type === "Identifier" ? ident.name : ident.value;
    const property = site.member.name.name;
    const docs = Object.hasOwn(ENUM_DOCS, property) ? ENUM_DOCS[property] : undefined;
    if (!type.values.includes(word)) return undefined;
    const doc = docs && Object.hasOwn(docs, word) ? docs[word] : `One of ${type.values.join(", ")}.`;
    return { markdown: `**${word}** *(${site.owner} ${property})*\n\n${doc}`, span: ident };
  }
}

function enumType(t: PropType): Extract<PropType, { t: "enum" }> | undefined {
  if (t.t === "enum") return t;
  if (t.t === "list") return enumType(t.of);
  return undefined;
}

/** "`gpt-4.1-mini` on backend `dev`", "the local model on the implicit local backend"; says when the catalog does not know the model. */
export function describeModel(choice: ModelChoice): string {
  const backend = choice.backend ? `backend \`${choice.backend.name}\`` : "the implicit local backend";
  if (providerRow(choice.provider)?.builtinModel) return `the ${choice.provider} model on ${backend}`;
  if (choice.modelId === undefined) return `${backend}, which names no model`;
  if (!choice.info) return `\`${choice.modelId}\` on ${backend} (not in the model catalog)`;
  return `\`${choice.modelId}\` on ${backend}`;
}

// ---- signatures ----------------------------------------------------------------------------------

/** The source text of a node with runs of white space collapsed, for one-line signatures. */
function sourceText(text: string, span: Span): string {
  return text.slice(span.start, span.end).replace(/\s+/g, " ");
}

function fieldText(f: FieldDecl, text: string): string {
  return `${f.name.name}${f.optional ? "?" : ""}: ${sourceText(text, f.fieldType)}`;
}

/** `{ a: string; b?: number }`, or one field per line when that is long. */
function fieldList(fs: FieldDecl[], text: string): string {
  const items = fs.map((f) => fieldText(f, text));
  const oneLine = `{ ${items.join("; ")} }`;
  return oneLine.length <= 80 ? oneLine : `{\n${items.map((i) => `  ${i}`).join("\n")}\n}`;
}

function zeroValue(f: FieldDecl): string {
  if (f.fieldType.list) return "`[]`";
  switch (f.fieldType.name.name) {
    case "string":
      return '`""`';
    case "number":
    case "integer":
      return "`0`";
    case "boolean":
      return "`false`";
    default:
      return "`null`";
  }
}

/** The one-line signature of a declaration, as the hover's code block shows it. */
export function signature(sym: Symbol, text: string): string {
  const { decl, name } = sym;
  const p = props(decl.body);
  switch (decl.kind) {
    case "backend": {
      const words = [
        wordValue(p.get("kind")?.value),
        wordValue(p.get("provider")?.value),
        stringValue(p.get("model")?.value),
      ];
      const rest = words.filter((w) => w !== undefined).join(" ");
      return rest ? `backend ${name}: ${rest}` : `backend ${name}`;
    }
    case "tool": {
      const params = fields(blocks(decl.body).get("input")?.body).map((f) => fieldText(f, text));
      const output = p.get("output")?.value;
      return `tool ${name}(${params.join(", ")})${output && output.type !== "Missing" ? ` -> ${sourceText(text, output)}` : ""}`;
    }
    case "type":
      return `type ${name} ${fieldList(fields(decl.body), text)}`;
    case "memory": {
      const scope = wordValue(p.get("scope")?.value) ?? "session";
      const window = numberValue(p.get("window")?.value) ?? 20;
      const fs = fields(blocks(decl.body).get("fields")?.body);
      return `memory ${name} (scope ${scope}, window ${window})${fs.length ? ` ${fieldList(fs, text)}` : ""}`;
    }
    case "context": {
      const from = p.get("from")?.value;
      return from && from.type !== "Missing"
        ? `context ${name}: ${sourceText(text, from)}`
        : `context ${name}`;
    }
    case "mcp": {
      const transport = p.get("command")?.value ?? p.get("url")?.value;
      return transport && transport.type !== "Missing"
        ? `mcp ${name}: ${sourceText(text, transport)}`
        : `mcp ${name}`;
    }
    case "test":
      return `test ${decl.name?.type === "String" ? JSON.stringify(name) : name}`;
    case "eval":
      return `eval ${name}`;
    case "agent":
      return `agent ${name}`;
    case "connection": {
      const info = connectionInfo(decl);
      const url = typeof info.url === "string" ? info.url : info.url ? `env("${info.url.env}")` : "";
      return `connection ${name}${url ? `: ${url}` : ""}${info.auth ? ` (${info.auth})` : ""}`;
    }
  }
}

function codeBlock(code: string, language = "agent"): string {
  const longest = Math.max(2, ...(code.match(/`+/g) ?? []).map((m) => m.length));
  const fence = "`".repeat(longest + 1);
  return `${fence}${language}\n${code}\n${fence}`;
}

/** User text (descriptions) shown as markdown: characters markdown would interpret are escaped. */
function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]<>#|~]/g, (c) => `\\${c}`);
}
