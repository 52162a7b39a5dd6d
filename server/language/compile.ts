// The compiler from a validated agent to the plain-JSON intermediate form
// (architecture.md): the unit sent to a stateful runtime and pinned into the
// session log. Types become JSON Schema 2020-12; the hash covers everything
// that changes behaviour and nothing that only moves lines.

import { createHash } from "node:crypto";
import * as path from "node:path";
import {
  declarationName,
  referenceText,
  type Block,
  type BlockMember,
  type Declaration,
  type Expr,
  type FieldDecl,
  type Property,
  type TypeExpr,
  type Value,
} from "./ast";
import { LineIndex } from "./lineIndex";
import { lookup, type Program, type SymbolTable } from "./program";
import type {
  Json,
  JsonSchema,
  SourceRef,
  SourceIR,
  ExprIR,
  CompiledBackend,
  CompiledMemory,
  CompiledAgent,
  CompiledDefinition,
  CompiledConnection,
  ConnectionAuthIR,
  EnvValue,
  Provider,
  SqlParamIR,
} from "../protocol/definition";

// The compiler's output types live in protocol/ (they cross to the runtime
// service and into session logs); re-exported for the language layer's own use.
export type {
  Json,
  JsonSchema,
  SourceRef,
  RunIR,
  SourceIR,
  ExprIR,
  CompiledBackend,
  CompiledTool,
  CompiledContext,
  CompiledMemory,
  CompiledDenyRule,
  CompiledAgent,
  CompiledMcp,
  CompiledConnection,
  CompiledDefinition,
} from "../protocol/definition";

export const IR_FORMAT = 1;

export const IMPLICIT_BACKEND: CompiledBackend = {
  name: "local",
  kind: "stateless",
  provider: "local",
  api: "chat",
  implicit: true,
};

// ---- helpers over the AST ----------------------------------------------------------

export function props(block: Block): Map<string, Property> {
  const out = new Map<string, Property>();
  for (const m of block.members) if (m.type === "Property" && !out.has(m.name.name)) out.set(m.name.name, m);
  return out;
}

export function blocks(block: Block): Map<string, BlockMember> {
  const out = new Map<string, BlockMember>();
  for (const m of block.members)
    if (m.type === "BlockMember" && !out.has(m.name.name)) out.set(m.name.name, m);
  return out;
}

export function fields(block: Block | undefined): FieldDecl[] {
  return block ? (block.members.filter((m) => m.type === "Field") as FieldDecl[]) : [];
}

/** A literal value as JSON; references become their dotted text (enum words). */
export function valueToJson(v: Value): Json {
  switch (v.type) {
    case "String":
      return v.value;
    case "Number":
      return v.value;
    case "Boolean":
      return v.value;
    case "Null":
      return null;
    case "Reference":
      return referenceText(v);
    case "List":
      return v.items.map(valueToJson);
    case "Object":
      return Object.fromEntries(v.entries.map((e) => [e.key.name, valueToJson(e.value)]));
    case "Call":
      return { [v.callee.name]: v.args.map(valueToJson) };
    case "Missing":
      return null;
  }
}

const str = (v: Value | undefined): string | undefined => (v && v.type === "String" ? v.value : undefined);
/** A string in template form (`{{ }}` still to be filled in; literal braces escaped as `\{{`). */
const tmpl = (v: Value | undefined): string | undefined =>
  v && v.type === "String" ? v.template : undefined;
const tmplList = (v: Value | undefined): string[] =>
  v && v.type === "List" ? v.items.filter((i) => i.type === "String").map((i) => i.template) : [];
const bool = (v: Value | undefined): boolean | undefined => (v && v.type === "Boolean" ? v.value : undefined);
const num = (v: Value | undefined): number | undefined => (v && v.type === "Number" ? v.value : undefined);
const word = (v: Value | undefined): string | undefined =>
  v && v.type === "Reference" ? referenceText(v) : v && v.type === "String" ? v.value : undefined;
const refList = (v: Value | undefined): string[] =>
  v && v.type === "List" ? v.items.filter((i) => i.type === "Reference").map((i) => referenceText(i)) : [];
const strList = (v: Value | undefined): string[] =>
  v && v.type === "List" ? v.items.filter((i) => i.type === "String").map((i) => i.value) : [];

/**
 * `record[key] = value` as an own property whatever the key: a declaration, field or var may be called
 * `__proto__`, which plain assignment would turn into a change of prototype.
 */
function put<T>(record: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
}

// ---- types to JSON Schema -----------------------------------------------------------------

const BUILTIN_SCHEMAS: Record<string, JsonSchema> = {
  string: { type: "string" },
  number: { type: "number" },
  integer: { type: "integer" },
  boolean: { type: "boolean" },
  json: {},
};

/** Builds schemas for field lists; declared types are inlined, recursive ones go through $defs. */
export class SchemaBuilder {
  private readonly stack: string[] = [];
  readonly defs: Record<string, JsonSchema> = {};
  private readonly needed = new Set<string>();

  constructor(private readonly table: SymbolTable) {}

  typeSchema(t: TypeExpr): JsonSchema {
    let base: JsonSchema;
    if (t.enumValues) base = { type: "string", enum: t.enumValues.map((v) => v.value) };
    else if (Object.hasOwn(BUILTIN_SCHEMAS, t.name.name)) base = { ...BUILTIN_SCHEMAS[t.name.name] };
    else base = this.declaredType(t.name.name);
    return t.list ? { type: "array", items: base } : base;
  }

  private declaredType(name: string): JsonSchema {
    const sym = lookup(this.table, "type", name);
    if (!sym) return {};
    if (this.stack.includes(name)) {
      this.needed.add(name);
      return { $ref: `#/$defs/${name}` };
    }
    this.stack.push(name);
    const schema = this.object(fields(sym.decl.body));
    this.stack.pop();
    if (this.needed.has(name)) {
      put(this.defs, name, schema);
      return { $ref: `#/$defs/${name}` };
    }
    return schema;
  }

  object(fs: FieldDecl[]): JsonSchema {
    const properties: Record<string, Json> = {};
    const required: string[] = [];
    for (const f of fs) {
      if (Object.hasOwn(properties, f.name.name)) continue;
      const s = this.typeSchema(f.fieldType);
      if (f.description) s.description = f.description.value;
      put(properties, f.name.name, s);
      if (!f.optional) required.push(f.name.name);
    }
    return { type: "object", properties, required, additionalProperties: false };
  }

  /** A top-level schema: the object plus any $defs it needed. */
  root(fs: FieldDecl[]): JsonSchema {
    const schema = this.object(fs);
    if (Object.keys(this.defs).length) schema.$defs = { ...this.defs };
    return schema;
  }

  /** A top-level schema for one type (a tool's output, a memory field), with any $defs it needed. */
  rootType(t: TypeExpr): JsonSchema {
    const schema = this.typeSchema(t);
    if (Object.keys(this.defs).length) schema.$defs = { ...this.defs };
    return schema;
  }
}

export function toolParameters(tool: Declaration, table: SymbolTable): JsonSchema {
  return new SchemaBuilder(table).root(fields(blocks(tool.body).get("input")?.body));
}

// ---- expressions --------------------------------------------------------------------

export function exprToIR(e: Expr): ExprIR {
  switch (e.type) {
    case "Binary":
      return { op: e.op, left: exprToIR(e.left), right: exprToIR(e.right) } as ExprIR;
    case "Not":
      return { op: "not", operand: exprToIR(e.operand) };
    case "ValueExpr":
      return e.value.type === "Reference" && !["true", "false", "null"].includes(referenceText(e.value))
        ? { path: e.value.segments.map((s) => s.name) }
        : { value: valueToJson(e.value) };
  }
}

const PRECEDENCE = { or: 1, and: 2, not: 3, compare: 4, primary: 5 } as const;

function precedence(e: Expr): number {
  if (e.type === "Not") return PRECEDENCE.not;
  if (e.type === "ValueExpr") return PRECEDENCE.primary;
  return e.op === "or" ? PRECEDENCE.or : e.op === "and" ? PRECEDENCE.and : PRECEDENCE.compare;
}

function valueText(v: Value, source: string): string {
  switch (v.type) {
    case "String":
      return v.textBlock ? JSON.stringify(v.value) : source.slice(v.start, v.end);
    case "Number":
      return v.raw;
    case "Boolean":
      return String(v.value);
    case "Null":
      return "null";
    case "Reference":
      return referenceText(v);
    case "List":
      return `[${v.items.map((i) => valueText(i, source)).join(", ")}]`;
    case "Object":
      return `{ ${v.entries.map((e) => `${e.key.name}: ${valueText(e.value, source)}`).join(", ")} }`;
    case "Call":
      return `${v.callee.name}(${v.args.map((a) => valueText(a, source)).join(", ")})`;
    case "Missing":
      return "";
  }
}

/**
 * A condition as the author wrote it, in canonical layout (single spaces, parentheses only where
 * needed, no comments), so that formatting the file or commenting a rule does not change the definition.
 * `source` is the text of the file the condition is in (string and number literals are copied from it).
 */
export function exprText(e: Expr, source: string): string {
  const sub = (x: Expr, min: number) =>
    precedence(x) < min ? `(${exprText(x, source)})` : exprText(x, source);
  switch (e.type) {
    case "ValueExpr":
      return valueText(e.value, source);
    case "Not":
      // `not a == b` means `not (a == b)`; the parentheses say so to a reader.
      return `not ${sub(e.operand, PRECEDENCE.primary)}`;
    case "Binary": {
      const p = precedence(e);
      // and / or associate to the left; comparisons take primaries on both sides.
      const [left, right] = p === PRECEDENCE.compare ? [p + 1, p + 1] : [p, p + 1];
      return `${sub(e.left, left)} ${e.op} ${sub(e.right, right)}`;
    }
  }
}

// ---- hashing ------------------------------------------------------------------------------

/**
 * Canonical JSON: keys sorted, undefined members left out. With `skipSource` (the default), a compiled
 * definition is written without its `hash` and the `source` positions of its declarations and deny rules,
 * so that moving lines keeps the hash. Only those positions are left out: a tool, field or var that happens
 * to be called `source` or `hash` stays in.
 */
export function canonicalJson(value: unknown, skipSource = true): string {
  return canonical(skipSource && isDefinition(value) ? withoutPositions(value) : value);
}

function canonical(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record)
    .filter((k) => record[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(record[k])}`).join(",")}}`;
}

type DefinitionBody = Omit<CompiledDefinition, "hash">;

function isDefinition(value: unknown): value is DefinitionBody {
  if (value === null || typeof value !== "object") return false;
  const v = value as Partial<DefinitionBody>;
  return typeof v.format === "number" && typeof v.agents === "object" && typeof v.tools === "object";
}

function withoutSource<T extends { source?: SourceRef }>(item: T): Omit<T, "source"> {
  const copy: Partial<T> = { ...item };
  delete copy.source;
  return copy as Omit<T, "source">;
}

function mapValues<T, U>(record: Record<string, T> | undefined, f: (v: T) => U): Record<string, U> {
  return Object.fromEntries(Object.entries(record ?? {}).map(([k, v]) => [k, f(v)]));
}

/** What the hash covers: the definition without its hash and source positions. */
function withoutPositions(def: DefinitionBody): unknown {
  const copy: Partial<CompiledDefinition> = { ...def };
  delete copy.hash;
  return {
    ...copy,
    agents: mapValues(def.agents, (a) => ({
      ...withoutSource(a),
      policy: { ...a.policy, deny: a.policy.deny.map(withoutSource) },
    })),
    tools: mapValues(def.tools, withoutSource),
    contexts: mapValues(def.contexts, withoutSource),
    memories: mapValues(def.memories, withoutSource),
    mcpServers: mapValues(def.mcpServers, withoutSource),
    ...(def.connections ? { connections: mapValues(def.connections, withoutSource) } : {}),
  };
}

export function definitionHash(def: DefinitionBody): string {
  return "sha256:" + createHash("sha256").update(canonicalJson(def)).digest("hex");
}

// ---- the compiler -----------------------------------------------------------------------------

export interface CompileError {
  message: string;
}

/**
 * Compiles `agentName` as seen from `rootPath`. The caller validates first:
 * the compiler assumes a program without errors and skips what is malformed.
 */
export function compileAgent(
  program: Program,
  rootPath: string,
  agentName: string,
): CompiledDefinition | CompileError {
  const root = path.resolve(rootPath);
  const table = program.symbols(root);
  const entry = lookup(table, "agent", agentName);
  if (!entry) {
    const agents = table.ofKind("agent").map((s) => s.name);
    return {
      message: `No agent '${agentName}' in ${rootPath} or its imports${agents.length ? `; agents: ${agents.join(", ")}` : ""}.`,
    };
  }
  const baseDir = path.dirname(root);
  const rel = (p: string) => path.relative(baseDir, p).split(path.sep).join("/") || ".";
  const indexes = new Map<string, LineIndex>();
  const sourceOf = (decl: Declaration, file: string): SourceRef => {
    let idx = indexes.get(file);
    if (!idx) indexes.set(file, (idx = new LineIndex(program.get(file)?.file.text ?? "")));
    return { file: rel(file), line: idx.position(decl.start).line + 1 };
  };

  const def: Omit<CompiledDefinition, "hash"> = {
    format: IR_FORMAT,
    agent: agentName,
    agents: {},
    tools: {},
    contexts: {},
    memories: {},
    backends: {},
    mcpServers: {},
  };
  const backendDecls = table.ofKind("backend");

  const addBackend = (name: string | undefined): string => {
    const sym = name
      ? lookup(table, "backend", name)
      : backendDecls.length === 1
        ? backendDecls[0]
        : undefined;
    if (!sym) {
      def.backends.local ??= { ...IMPLICIT_BACKEND };
      return "local";
    }
    if (!Object.hasOwn(def.backends, sym.name)) put(def.backends, sym.name, compileBackend(sym.decl));
    return sym.name;
  };

  const addMcp = (name: string) => {
    const sym = lookup(table, "mcp", name);
    if (!sym || Object.hasOwn(def.mcpServers, name)) return;
    const p = props(sym.decl.body);
    const cmd = p.get("command")?.value;
    const env = envBlock(sym.decl.body);
    const cwd = rel(path.dirname(sym.path));
    put(def.mcpServers, name, {
      name,
      transport:
        cmd && cmd.type === "Call"
          ? { kind: "stdio", executable: str(cmd.args[0]) ?? "", args: strList(cmd.args[1]), cwd }
          : { kind: "http", url: str(p.get("url")?.value) ?? "" },
      env,
      source: sourceOf(sym.decl, sym.path),
    });
  };

  const addConnection = (name: string) => {
    const sym = lookup(table, "connection", name);
    if (!sym) return;
    // Only when one is used: definitions without connections keep their hash.
    def.connections ??= {};
    if (!Object.hasOwn(def.connections, name))
      put(def.connections, name, compileConnection(sym.decl, sourceOf(sym.decl, sym.path)));
  };

  const callToSource = (v: Value | undefined, file: string): SourceIR | null => {
    if (!v || v.type !== "Call") return null;
    const a = v.args;
    switch (v.callee.name) {
      case "http": {
        const method = (str(a[0]) ?? "GET").toUpperCase();
        if (a.length < 3) return { kind: "http", method, url: tmpl(a[1]) ?? "" };
        const connection = word(a[1]) ?? "";
        addConnection(connection);
        return { kind: "http", method, url: tmpl(a[2]) ?? "", connection };
      }
      case "sql": {
        const connection = word(a[0]) ?? "";
        addConnection(connection);
        const params = a[2] && a[2].type === "List" ? a[2].items.map(sqlParam) : [];
        return { kind: "sql", connection, statement: str(a[1]) ?? "", params };
      }
      case "command":
        return {
          kind: "command",
          executable: tmpl(a[0]) ?? "",
          args: tmplList(a[1]),
          cwd: rel(path.dirname(file)),
        };
      case "mcp": {
        const server = word(a[0]) ?? "";
        addMcp(server);
        return { kind: "mcp", server, tool: str(a[1]) ?? "" };
      }
      case "file":
        return { kind: "file", path: rel(path.resolve(path.dirname(file), str(a[0]) ?? "")) };
    }
    return null;
  };

  const addTool = (name: string) => {
    if (Object.hasOwn(def.tools, name)) return;
    const sym = lookup(table, "tool", name);
    if (!sym) return;
    const p = props(sym.decl.body);
    const output = p.get("output")?.value;
    const builder = new SchemaBuilder(table);
    let outputSchema: JsonSchema | undefined;
    if (output && output.type === "Reference") {
      const typeExpr: TypeExpr = {
        name: output.segments[0],
        list: false,
        start: output.start,
        end: output.end,
      };
      outputSchema = builder.rootType(typeExpr);
    }
    const run = callToSource(p.get("run")?.value, sym.path);
    const env = envBlock(sym.decl.body);
    put(def.tools, name, {
      name,
      description: str(p.get("description")?.value) ?? "",
      parameters: toolParameters(sym.decl, table),
      output: outputSchema,
      run: run && run.kind !== "file" && run.kind !== "text" ? run : null,
      requires: strList(p.get("requires")?.value),
      timeoutMs: num(p.get("timeout_ms")?.value),
      // Only when declared: definitions without it keep their hash.
      ...(Object.keys(env).length ? { env } : {}),
      ...(bool(p.get("write")?.value) ? { write: true } : {}),
      ...(num(p.get("max_rows")?.value) !== undefined ? { maxRows: num(p.get("max_rows")?.value) } : {}),
      source: sourceOf(sym.decl, sym.path),
    });
  };

  const addContext = (name: string) => {
    if (Object.hasOwn(def.contexts, name)) return;
    const sym = lookup(table, "context", name);
    if (!sym) return;
    const p = props(sym.decl.body);
    put(def.contexts, name, {
      name,
      description: str(p.get("description")?.value),
      from: callToSource(p.get("from")?.value, sym.path) ?? { kind: "text", text: "" },
      refresh: word(p.get("refresh")?.value) === "per_turn" ? "per_turn" : "per_session",
      maxTokens: num(p.get("max_tokens")?.value),
      source: sourceOf(sym.decl, sym.path),
    });
  };

  const addMemory = (name: string) => {
    if (Object.hasOwn(def.memories, name)) return;
    const sym = lookup(table, "memory", name);
    if (!sym) return;
    const p = props(sym.decl.body);
    const out: CompiledMemory["fields"] = {};
    for (const f of fields(blocks(sym.decl.body).get("fields")?.body)) {
      if (Object.hasOwn(out, f.name.name)) continue;
      // One builder per field: each schema stands alone, with the $defs it needs.
      const schema = new SchemaBuilder(table).rootType(f.fieldType);
      if (f.description) schema.description = f.description.value;
      put(out, f.name.name, { schema, optional: f.optional });
    }
    const scope = word(p.get("scope")?.value);
    put(def.memories, name, {
      name,
      scope: scope === "user" || scope === "agent" ? scope : "session",
      window: num(p.get("window")?.value) ?? 20,
      summarizeAfter: num(p.get("summarize_after")?.value),
      fields: out,
      source: sourceOf(sym.decl, sym.path),
    });
  };

  const addAgent = (name: string) => {
    if (Object.hasOwn(def.agents, name)) return;
    const sym = lookup(table, "agent", name);
    if (!sym) return;
    const p = props(sym.decl.body);
    const b = blocks(sym.decl.body);
    const identity = b.get("identity") ? props(b.get("identity")!.body) : new Map<string, Property>();
    const policyBlock = b.get("policy")?.body;
    const policy = policyBlock ? props(policyBlock) : new Map<string, Property>();
    const vars: Record<string, Json> = {};
    for (const m of b.get("vars")?.body.members ?? [])
      if (m.type === "Property") put(vars, m.name.name, valueToJson(m.value));
    const agent: CompiledAgent = {
      name,
      description: str(p.get("description")?.value),
      backend: addBackend(word(p.get("backend")?.value)),
      model: str(p.get("model")?.value),
      temperature: num(p.get("temperature")?.value),
      instructions: tmpl(p.get("instructions")?.value) ?? "",
      vars,
      context: refList(p.get("context")?.value),
      memory: word(p.get("memory")?.value),
      tools: refList(p.get("tools")?.value),
      handoffs: refList(p.get("handoffs")?.value),
      identity: {
        role: str(identity.get("role")?.value),
        actsFor: word(identity.get("acts_for")?.value) === "service" ? "service" : "user",
        scopes: strList(identity.get("scopes")?.value),
      },
      policy: {
        requireApproval: refList(policy.get("require_approval")?.value),
        deny: (policyBlock?.members ?? [])
          .filter((m) => m.type === "Deny")
          .filter((m) => m.condition)
          .map((m) => ({
            tool: referenceText(m.tool),
            when: exprToIR(m.condition!),
            text: exprText(m.condition!, program.get(sym.path)?.file.text ?? ""),
            source: sourceOf(sym.decl, sym.path),
          })),
        maxTurns: num(policy.get("max_turns")?.value),
        maxToolCalls: num(policy.get("max_tool_calls")?.value),
        maxTokens: num(policy.get("max_tokens")?.value),
      },
      source: sourceOf(sym.decl, sym.path),
    };
    // Deny rules point at their own line, not the agent's.
    const denies = (policyBlock?.members ?? []).filter((m) => m.type === "Deny" && m.condition);
    agent.policy.deny.forEach((rule, i) => {
      const idx = indexes.get(sym.path);
      if (idx) rule.source = { file: rule.source.file, line: idx.position(denies[i].start).line + 1 };
    });
    put(def.agents, name, agent);
    for (const t of agent.tools) addTool(t);
    for (const c of agent.context) addContext(c);
    if (agent.memory) addMemory(agent.memory);
    for (const h of agent.handoffs) addAgent(h);
  };

  addAgent(agentName);
  return { ...def, hash: definitionHash(def) };
}

/** An `env { NAME: "value" | env("X") }` block (mcp servers, command tools), or a connection's `headers { }`. */
function envBlock(body: Block, block = "env"): Record<string, EnvValue> {
  const env: Record<string, EnvValue> = {};
  for (const m of blocks(body).get(block)?.body.members ?? []) {
    if (m.type !== "Property") continue;
    const v = envValue(m.value);
    if (v !== undefined) put(env, m.name.name, v);
  }
  return env;
}

/** A string literal, or `{ env }` for env("NAME"). */
function envValue(v: Value | undefined): EnvValue | undefined {
  if (v && v.type === "Call" && v.callee.name === "env") return { env: str(v.args[0]) ?? "" };
  return str(v);
}

/** A value bound to a `$n` of a sql(...) call: a path (`input.customer_id`, `user.id`) or a literal. */
function sqlParam(v: Value): SqlParamIR {
  return v.type === "Reference" ? { path: v.segments.map((s) => s.name) } : { value: valueToJson(v) };
}

export function compileConnection(decl: Declaration, source: SourceRef): CompiledConnection {
  const p = props(decl.body);
  const auth = authOf(p.get("auth")?.value);
  return {
    name: declarationName(decl) ?? "",
    url: envValue(p.get("url")?.value) ?? "",
    ...(auth ? { auth } : {}),
    headers: envBlock(decl.body, "headers"),
    timeoutMs: num(p.get("timeout_ms")?.value),
    source,
  };
}

function authOf(v: Value | undefined): ConnectionAuthIR | undefined {
  if (!v || v.type !== "Call") return undefined;
  const a = v.args;
  const secret = (x: Value | undefined): EnvValue => envValue(x) ?? "";
  switch (v.callee.name) {
    case "bearer":
      return { kind: "bearer", token: secret(a[0]) };
    case "header":
      return { kind: "header", name: str(a[0]) ?? "", value: secret(a[1]) };
    case "basic":
      return { kind: "basic", username: secret(a[0]), password: secret(a[1]) };
    case "oauth2": {
      const o = a[0] && a[0].type === "Object" ? a[0] : undefined;
      const get = (k: string) => o?.entries.find((e) => e.key.name === k)?.value;
      return {
        kind: "oauth2",
        tokenUrl: secret(get("token_url")),
        clientId: secret(get("client_id")),
        clientSecret: secret(get("client_secret")),
        scopes: strList(get("scopes")),
      };
    }
    case "user_token":
      return { kind: "user_token", name: str(a[0]) ?? "" };
  }
  return undefined;
}

export function compileBackend(decl: Declaration): CompiledBackend {
  const p = props(decl.body);
  const key = p.get("api_key")?.value;
  const kind = word(p.get("kind")?.value);
  return {
    name: declarationName(decl) ?? "",
    kind: kind === "stateful" ? "stateful" : "stateless",
    // The compiler assumes a valid program: the validator rejects any other word (invalid-enum).
    provider: (word(p.get("provider")?.value) ?? "local") as Provider,
    model: str(p.get("model")?.value),
    endpoint: str(p.get("endpoint")?.value),
    api: word(p.get("api")?.value) === "responses" ? "responses" : "chat",
    apiVersion: str(p.get("api_version")?.value),
    region: str(p.get("region")?.value),
    apiKeyEnv: key && key.type === "Call" && key.callee.name === "env" ? str(key.args[0]) : undefined,
    contextWindow: num(p.get("context_window")?.value),
    ...reasoningOf(blocks(decl.body).get("reasoning")?.body),
  };
}

function reasoningOf(body: Block | undefined): Pick<CompiledBackend, "reasoning"> {
  if (!body) return {};
  const p = props(body);
  const effort = word(p.get("effort")?.value);
  const budget = num(p.get("budget_tokens")?.value);
  return {
    reasoning: {
      ...(effort === "low" || effort === "medium" || effort === "high" ? { effort } : {}),
      ...(budget !== undefined ? { budgetTokens: budget } : {}),
    },
  };
}

export function isCompileError(r: CompiledDefinition | CompileError): r is CompileError {
  return "message" in r && !("hash" in r);
}
