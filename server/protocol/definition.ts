// The compiled definition: the plain-JSON intermediate form of an agent
// (architecture.md). Written by the compiler (language/compile.ts); read by
// the engine, the backends, the runtime service (it arrives in a turn request)
// and replay (it is pinned in every session.start event).

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonSchema = { [key: string]: Json };

export interface SourceRef {
  /** Path relative to the root file's folder, with '/' separators. */
  file: string;
  /** 1-based line of the declaration. */
  line: number;
}

export type RunIR =
  | { kind: "http"; method: string; url: string }
  | { kind: "command"; executable: string; args: string[]; cwd: string }
  | { kind: "mcp"; server: string; tool: string };

export type SourceIR = RunIR | { kind: "file"; path: string } | { kind: "text"; text: string };

export type ExprIR =
  | { op: "and" | "or"; left: ExprIR; right: ExprIR }
  | { op: "not"; operand: ExprIR }
  | { op: "==" | "!=" | "<" | "<=" | ">" | ">=" | "contains" | "matches"; left: ExprIR; right: ExprIR }
  | { path: string[] }
  | { value: Json };

/** Where a backend's state lives: in the client (stateless) or in a runtime (stateful). */
export type BackendKind = "stateless" | "stateful";

/**
 * The providers a backend may name. Each has its row in the provider table
 * (language/providers.ts), which must list exactly these: a name added here
 * without a row, or a row without a name, does not compile.
 */
export type Provider = "openai" | "azure" | "compatible" | "bedrock" | "local";

export interface CompiledBackend {
  name: string;
  kind: BackendKind;
  provider: Provider;
  model?: string;
  endpoint?: string;
  api: "chat" | "responses";
  apiVersion?: string;
  region?: string;
  /** The environment variable holding the key: the key itself never enters the definition. */
  apiKeyEnv?: string;
  contextWindow?: number;
  /** `reasoning { }`: present only when declared (definitions without it keep their hash). */
  reasoning?: { effort?: "low" | "medium" | "high"; budgetTokens?: number };
  implicit?: boolean;
}

export interface CompiledTool {
  name: string;
  description: string;
  parameters: JsonSchema;
  output?: JsonSchema;
  run: RunIR | null;
  requires: string[];
  timeoutMs?: number;
  /** A command tool's own environment variables (`env { }`): literals, or `{ env: "NAME" }` read at run time. */
  env?: Record<string, string | { env: string }>;
  source: SourceRef;
}

export interface CompiledContext {
  name: string;
  description?: string;
  from: SourceIR;
  refresh: "per_session" | "per_turn";
  maxTokens?: number;
  source: SourceRef;
}

export interface CompiledMemory {
  name: string;
  scope: "session" | "user" | "agent";
  window: number;
  summarizeAfter?: number;
  fields: Record<string, { schema: JsonSchema; optional: boolean }>;
  source: SourceRef;
}

export interface CompiledDenyRule {
  tool: string;
  when: ExprIR;
  /** The condition as written, for messages. */
  text: string;
  source: SourceRef;
}

export interface CompiledAgent {
  name: string;
  description?: string;
  backend: string;
  model?: string;
  temperature?: number;
  instructions: string;
  vars: Record<string, Json>;
  context: string[];
  memory?: string;
  tools: string[];
  handoffs: string[];
  identity: { role?: string; actsFor: "user" | "service"; scopes: string[] };
  policy: {
    requireApproval: string[];
    deny: CompiledDenyRule[];
    maxTurns?: number;
    maxToolCalls?: number;
    maxTokens?: number;
  };
  source: SourceRef;
}

export interface CompiledMcp {
  name: string;
  transport:
    { kind: "stdio"; executable: string; args: string[]; cwd: string } | { kind: "http"; url: string };
  env: Record<string, string | { env: string }>;
  source: SourceRef;
}

export interface CompiledDefinition {
  format: number;
  /** The entry agent. */
  agent: string;
  agents: Record<string, CompiledAgent>;
  tools: Record<string, CompiledTool>;
  contexts: Record<string, CompiledContext>;
  memories: Record<string, CompiledMemory>;
  backends: Record<string, CompiledBackend>;
  mcpServers: Record<string, CompiledMcp>;
  /** sha256 of the canonical JSON of everything above except source positions. */
  hash: string;
}
