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

/** A value read from the environment at run time (`env("NAME")`), or a literal. */
export type EnvValue = string | { env: string };

/** A value bound to a SQL placeholder: `input.x`, `user.id`, `session.id`..., or a literal. */
export type SqlParamIR = { path: string[] } | { value: Json };

export type RunIR =
  /** `http(METHOD, "url")`, or `http(METHOD, CONNECTION, "path")`: then `url` is the path, joined to the connection's url. */
  | { kind: "http"; method: string; url: string; connection?: string }
  /** `sql(CONNECTION, "statement", [params])`: `$1..$n` bound to `params`, never interpolated. */
  | { kind: "sql"; connection: string; statement: string; params: SqlParamIR[] }
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
  env?: Record<string, EnvValue>;
  /** A `sql` tool that may write (`write: true`): runs outside a READ ONLY transaction. Present only when true. */
  write?: boolean;
  /** A `sql` tool's row limit (`max_rows`, default 100). Present only when declared. */
  maxRows?: number;
  source: SourceRef;
}

/** How a connection authenticates (connections.md section 1). Secrets are `{ env }`: their values never enter the definition. */
export type ConnectionAuthIR =
  | { kind: "bearer"; token: EnvValue }
  | { kind: "header"; name: string; value: EnvValue }
  | { kind: "basic"; username: EnvValue; password: EnvValue }
  | { kind: "oauth2"; tokenUrl: EnvValue; clientId: EnvValue; clientSecret: EnvValue; scopes: string[] }
  /** The end user's delegated token called `name` (CLI: STATECRAFT_USER_TOKEN_<NAME>; service: its token vault). */
  | { kind: "user_token"; name: string };

export interface CompiledConnection {
  name: string;
  /** An http(s) URL, or a `postgres://` / `postgresql://` URL (a SQL connection); may come from the environment. */
  url: EnvValue;
  auth?: ConnectionAuthIR;
  headers: Record<string, EnvValue>;
  timeoutMs?: number;
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
  env: Record<string, EnvValue>;
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
  /** `connection` declarations: present only when the definition declares one (definitions without keep their hash). */
  connections?: Record<string, CompiledConnection>;
  /** sha256 of the canonical JSON of everything above except source positions. */
  hash: string;
}
