// What each declaration kind and nested block may contain: property types,
// required properties and one-line documentation. One table serves the
// validator, completion, hover and the formatter's checks.

import type { DeclarationKind } from "./ast";
import type { BuiltinJudge } from "./evalIR";
import { andList, PROVIDER_NAMES, providerRow, providersNeedingEndpoint } from "./providers";

export type PropType =
  | { t: "string" }
  | { t: "text" }
  | { t: "number"; min?: number; max?: number }
  | { t: "integer"; min?: number; max?: number }
  | { t: "boolean" }
  | { t: "enum"; values: readonly string[] }
  | { t: "ref"; kind: DeclarationKind }
  | { t: "list"; of: PropType }
  | { t: "secret" }
  /** A string literal, or `env("NAME")` read at run time (a connection's url, a header value). */
  | { t: "stringOrEnv" }
  | { t: "call"; callees: readonly BuiltinCall[] }
  | { t: "typeRef" }
  | { t: "object"; keys?: Record<string, PropType> }
  | { t: "any" }
  | { t: "block"; block: BlockSchema }
  | { t: "fields" };

export interface PropSpec {
  type: PropType;
  required?: boolean;
  doc: string;
  /** Snippet inserted by completion and by "add missing property" fixes. */
  snippet?: string;
}

export interface BlockSchema {
  props: Record<string, PropSpec>;
  /** Properties with any name are allowed (vars, env). */
  open?: PropType;
}

export type BuiltinCall = "env" | "file" | "http" | "sql" | "command" | "mcp" | AuthCall;

/** The ways a connection authenticates (`auth:`), connections.md section 1. */
export type AuthCall = "bearer" | "header" | "basic" | "oauth2" | "user_token";
export const AUTH_CALLS: readonly AuthCall[] = ["bearer", "header", "basic", "oauth2", "user_token"];

/** The keys of `oauth2 { ... }`: all required but `scopes`. */
export const OAUTH2_KEYS: Record<string, PropSpec> = {
  token_url: {
    type: { t: "stringOrEnv" },
    required: true,
    doc: "The authorization server's token endpoint (client credentials grant, RFC 6749 4.4).",
  },
  client_id: { type: { t: "secret" }, required: true, doc: 'The client id, as env("NAME").' },
  client_secret: { type: { t: "secret" }, required: true, doc: 'The client secret, as env("NAME").' },
  scopes: { type: { t: "list", of: { t: "string" } }, doc: "The scopes requested with the token." },
};

export interface BuiltinSignature {
  label: string;
  doc: string;
  params: { label: string; doc: string }[];
}

export const BUILTIN_CALLS: Record<BuiltinCall, BuiltinSignature> = {
  env: {
    label: "env(name: string)",
    doc: "A value read from the environment (or the editor's secret store) at run time. Never written to a session log.",
    params: [{ label: "name: string", doc: 'The environment variable, e.g. "OPENAI_API_KEY".' }],
  },
  file: {
    label: "file(path: string)",
    doc: "The contents of a file, relative to the file that names it.",
    params: [{ label: "path: string", doc: "A path relative to this .agent file." }],
  },
  http: {
    label: "http(method: string, url: string)",
    doc: 'An HTTP request. Tools send their input as a JSON body for methods other than GET; templates such as {{input.id}} are filled in. Through a connection: http(method, connection, "/path"), the connection\'s url joined with the path, its auth and headers added.',
    params: [
      { label: "method: string", doc: "GET, POST, PUT, PATCH or DELETE." },
      {
        label: "url: string",
        doc: "The URL (or the name of a connection, then the path); may use {{input.*}}, {{user.*}}, {{session.*}}.",
      },
    ],
  },
  sql: {
    label: "sql(connection, statement: string, params: list)",
    doc: "A SQL statement on a postgres:// connection. Values go only through $1..$n placeholders bound to the listed params, never into the text. Runs in a READ ONLY transaction unless the tool says write: true.",
    params: [
      { label: "connection", doc: "The name of a `connection` whose url is postgres:// or postgresql://." },
      { label: "statement: string", doc: "The statement, with $1..$n placeholders; no {{ }} templates." },
      {
        label: "params: list",
        doc: "The values of $1..$n, in order: input.*, user.*, session.* or literals.",
      },
    ],
  },
  command: {
    label: "command(executable: string, args: string[])",
    doc: "A local program, run in the folder of this file: input as one JSON object on stdin, one JSON value on stdout. Runs only in a trusted workspace.",
    params: [
      { label: "executable: string", doc: 'The program, e.g. "node".' },
      { label: "args: string[]", doc: 'Its arguments, e.g. ["tools/lookup.js"].' },
    ],
  },
  mcp: {
    label: "mcp(server, tool: string)",
    doc: "A tool of a Model Context Protocol server declared with `mcp`.",
    params: [
      { label: "server", doc: "The name of an `mcp` declaration." },
      { label: "tool: string", doc: "The tool's name on that server." },
    ],
  },
  bearer: {
    label: "bearer(token: env)",
    doc: "Sends `Authorization: Bearer <token>` with every request of the connection.",
    params: [{ label: "token: env", doc: 'The token, as env("NAME").' }],
  },
  header: {
    label: "header(name: string, value: env)",
    doc: 'Sends the secret in a header of its own, e.g. header("X-Api-Key", env("KEY")).',
    params: [
      { label: "name: string", doc: 'The header, e.g. "X-Api-Key".' },
      { label: "value: env", doc: 'The secret, as env("NAME").' },
    ],
  },
  basic: {
    label: "basic(username: env, password: env)",
    doc: "HTTP Basic authentication (`Authorization: Basic base64(user:password)`).",
    params: [
      { label: "username: env", doc: 'The user name, as env("NAME").' },
      { label: "password: env", doc: 'The password, as env("NAME").' },
    ],
  },
  oauth2: {
    label: "oauth2 { token_url, client_id, client_secret, scopes }",
    doc: "OAuth 2.0 client credentials: the agent's own service identity. The token is fetched on first use, cached until 60 s before it expires, refreshed once on a 401.",
    params: [
      {
        label: "{ token_url, client_id, client_secret, scopes }",
        doc: 'token_url: the token endpoint; client_id, client_secret: env("NAME"); scopes: a list of strings.',
      },
    ],
  },
  user_token: {
    label: "user_token(name: string)",
    doc: "The end user's own delegated token called `name`: the CLI reads STATECRAFT_USER_TOKEN_<NAME>, the runtime service its token vault. Tools on such a connection act as the user: the agent's identity.acts_for must be `user`.",
    params: [{ label: "name: string", doc: 'The token\'s name, e.g. "mail".' }],
  },
};

export const FIELD_TYPES = ["string", "number", "integer", "boolean", "json"] as const;

/** "openai, azure, compatible (any OpenAI-compatible server), bedrock, or local (the built-in offline model)." */
function providerDoc(): string {
  const names = PROVIDER_NAMES.map((p) => {
    const gloss = providerRow(p)?.gloss;
    return gloss ? `${p} (${gloss})` : p;
  });
  return `${names.slice(0, -1).join(", ")}, or ${names[names.length - 1]}.`;
}

const str: PropType = { t: "string" };
const strList: PropType = { t: "list", of: str };

const identity: BlockSchema = {
  props: {
    role: { type: str, doc: "The role this agent acts in, recorded with every session." },
    acts_for: {
      type: { t: "enum", values: ["user", "service"] },
      doc: "Whether the agent acts for the signed-in user or as a service.",
    },
    scopes: {
      type: strList,
      doc: "Identity scopes the agent holds; a tool's `requires` must be covered by them.",
    },
  },
};

const reasoning: BlockSchema = {
  props: {
    effort: {
      type: { t: "enum", values: ["low", "medium", "high"] },
      doc: "OpenAI, Azure and compatible servers: how hard a reasoning model thinks before it answers (Responses `reasoning.effort`, chat `reasoning_effort`).",
      snippet: "effort: ${1|low,medium,high|}",
    },
    budget_tokens: {
      type: { t: "integer", min: 1024 },
      doc: "Bedrock (Anthropic models): the tokens extended thinking may use, at least 1024 (`thinking.budget_tokens`).",
      snippet: "budget_tokens: ${1:2048}",
    },
  },
};

const policy: BlockSchema = {
  props: {
    require_approval: {
      type: { t: "list", of: { t: "ref", kind: "tool" } },
      doc: "Tools whose calls wait for an approval before they run.",
    },
    max_turns: { type: { t: "integer", min: 1 }, doc: "The most user turns in one session." },
    max_tool_calls: { type: { t: "integer", min: 0 }, doc: "The most tool calls in one session." },
    max_tokens: { type: { t: "integer", min: 1 }, doc: "The most tokens (input + output) in one session." },
  },
};

/** What each built-in judge scores (evals.md section 1); docs/evals.md has their prompts. */
export const BUILTIN_JUDGE_DOCS: Readonly<Record<BuiltinJudge, string>> = {
  helpfulness: "Whether the replies help the user with what they asked.",
  correctness: 'Whether the final answer agrees with the case\'s reference answer (`expected "..."`).',
  faithfulness:
    "Whether every claim in the replies is supported by the tool results and the context the model saw.",
  goal_success: "Whether the user's goal was met (the case's `goal`, or its simulation's).",
  instruction_following: "Whether the replies follow the agent's instructions.",
  tool_selection: "Whether each tool call was the right tool at that point; scored per call, then averaged.",
  tool_parameters:
    "Whether each tool call's input was right for the request; scored per call, then averaged.",
  refusal: "1 when the agent refused the request, 0 when it did not.",
};

/** `simulate { ... }` in an eval case: an LLM plays the user (evals.md section 1). */
export const SIMULATE_SCHEMA: BlockSchema = {
  props: {
    backend: {
      type: { t: "ref", kind: "backend" },
      required: true,
      doc: 'The backend whose model plays the user: a declared backend, or `local` (its messages scripted with `user says "..."` steps).',
      snippet: "backend: $1",
    },
    persona: {
      type: { t: "text" },
      required: true,
      doc: "Who the simulated user is and what they know, in their words.",
      snippet: 'persona: "$1"',
    },
    goal: {
      type: { t: "text" },
      required: true,
      doc: "What the simulated user wants; the conversation ends when it is met (or after max_turns). Read by the goal_success judge.",
      snippet: 'goal: "$1"',
    },
    max_turns: {
      type: { t: "integer", min: 1 },
      doc: "The most user turns of the simulated conversation (default 10).",
    },
  },
};

/** The properties and blocks of an eval `case "name" { ... }` (its steps are statements, not properties). */
export const CASE_SCHEMA: BlockSchema = {
  props: {
    user: {
      type: { t: "object", keys: { id: str, name: str } },
      doc: 'The user the case runs as: user { id: "u1", name: "Ada" } (or user: { ... }).',
    },
    simulate: {
      type: { t: "block", block: SIMULATE_SCHEMA },
      doc: "An LLM plays the user: it writes each next message from the persona, the goal and the conversation so far, and ends when the goal is met or after max_turns.",
    },
  },
};

export const DECLARATION_SCHEMAS: Record<DeclarationKind, BlockSchema> = {
  backend: {
    props: {
      kind: {
        type: { t: "enum", values: ["stateless", "stateful"] },
        required: true,
        doc: "stateless: the client holds memory and history and resends the whole context each call. stateful: the runtime holds them; the client sends the new input and a session id.",
        snippet: "kind: ${1|stateless,stateful|}",
      },
      provider: {
        type: { t: "enum", values: PROVIDER_NAMES },
        required: true,
        doc: providerDoc(),
        snippet: `provider: \${1|${PROVIDER_NAMES.join(",")}|}`,
      },
      model: { type: str, doc: "The provider's model id, or the Azure deployment name." },
      endpoint: {
        type: str,
        doc: `Base URL (required for ${andList(providersNeedingEndpoint())}; for stateful, the runtime URL).`,
      },
      api: {
        type: { t: "enum", values: ["chat", "responses"] },
        doc: "Stateless only: Chat Completions (`chat`, default) or the Responses API (`responses`, with store: false).",
      },
      api_version: { type: str, doc: 'Azure only: the API version, e.g. "2024-10-21".' },
      region: { type: str, doc: 'Bedrock only: the AWS region, e.g. "us-east-1".' },
      api_key: {
        type: { t: "secret" },
        doc: 'The key, always as env("NAME"): never a literal.',
        snippet: 'api_key: env("${1:OPENAI_API_KEY}")',
      },
      context_window: {
        type: { t: "integer", min: 1 },
        doc: "The model's context window in tokens; defaults from the built-in catalog.",
      },
      reasoning: {
        type: { t: "block", block: reasoning },
        doc: "For reasoning models: `reasoning { effort: low|medium|high }` (openai, azure, compatible) or `reasoning { budget_tokens: 2048 }` (bedrock). The reasoning summary is recorded in the session log, never shown as the reply.",
      },
    },
  },
  type: { props: {} },
  tool: {
    props: {
      description: {
        type: str,
        required: true,
        doc: "What the tool does, as the model will read it.",
        snippet: 'description: "$1"',
      },
      input: {
        type: { t: "fields" },
        doc: 'The tool\'s parameters: `name[?]: TYPE "description"` per line.',
      },
      output: { type: { t: "typeRef" }, doc: "The type of the tool's result." },
      run: {
        type: { t: "call", callees: ["http", "sql", "command", "mcp"] },
        doc: "How the tool runs: http(...), sql(...), command(...) or mcp(...). Without it the tool can only be mocked in tests.",
      },
      requires: { type: strList, doc: "Identity scopes an agent needs to call this tool." },
      timeout_ms: { type: { t: "integer", min: 1 }, doc: "How long a call may take, in milliseconds." },
      write: {
        type: { t: "boolean" },
        doc: "A sql(...) tool that may write: its statement runs outside a READ ONLY transaction, and its calls need an approval unless the policy says otherwise.",
      },
      max_rows: {
        type: { t: "integer", min: 1 },
        doc: "A sql(...) tool's row limit (default 100): the result says when it was cut.",
      },
      env: {
        type: { t: "block", block: { props: {}, open: { t: "any" } } },
        doc: 'Environment variables for a command tool: `NAME: "value"` or `NAME: env("VAR")`. The tool gets only these and PATH, HOME, LANG, LC_ALL, TZ, TMPDIR, never the rest of the environment.',
      },
    },
  },
  context: {
    props: {
      description: { type: str, doc: "What this knowledge is." },
      from: {
        type: { t: "call", callees: ["file", "http", "sql", "command", "mcp"] },
        required: true,
        doc: "Where the text comes from: file(...), http(...), sql(...), command(...) or mcp(...).",
        snippet: 'from: file("${1:docs/policy.md}")',
      },
      refresh: {
        type: { t: "enum", values: ["per_session", "per_turn"] },
        doc: "When the source is read again: once per session (default) or every turn.",
      },
      max_tokens: { type: { t: "integer", min: 1 }, doc: "Truncated past this many tokens, with a marker." },
    },
  },
  memory: {
    props: {
      scope: {
        type: { t: "enum", values: ["session", "user", "agent"] },
        doc: "Who shares this memory: one session (default), every session of a user, or every session of the agent.",
      },
      window: { type: { t: "integer", min: 1 }, doc: "Turns of history kept verbatim (default 20)." },
      summarize_after: {
        type: { t: "integer", min: 1 },
        doc: "Tokens of history before older turns are summarized.",
      },
      fields: {
        type: { t: "fields" },
        doc: "Typed fields the agent can write with the built-in `remember` tool.",
      },
    },
  },
  agent: {
    props: {
      description: { type: str, doc: "What the agent is for." },
      backend: {
        type: { t: "ref", kind: "backend" },
        doc: "Where inference runs and where session state lives.",
      },
      model: { type: str, doc: "Overrides the backend's model." },
      temperature: { type: { t: "number", min: 0, max: 2 }, doc: "Sampling temperature, 0 to 2." },
      instructions: {
        type: { t: "text" },
        required: true,
        doc: "The system instructions. Templates: {{vars.*}}, {{memory.*}}, {{user.id}}, {{user.name}}, {{session.id}}, {{session.turn}}.",
        snippet: 'instructions: """\n  $1\n"""',
      },
      vars: {
        type: { t: "block", block: { props: {}, open: { t: "any" } } },
        doc: "Values for {{vars.*}} templates.",
      },
      context: {
        type: { t: "list", of: { t: "ref", kind: "context" } },
        doc: "Context sources put into the model's context.",
      },
      memory: { type: { t: "ref", kind: "memory" }, doc: "The agent's memory." },
      tools: { type: { t: "list", of: { t: "ref", kind: "tool" } }, doc: "Tools the model may call." },
      handoffs: {
        type: { t: "list", of: { t: "ref", kind: "agent" } },
        doc: "Agents this one may transfer the conversation to.",
      },
      identity: {
        type: { t: "block", block: identity },
        doc: "Who the agent acts as: role, acts_for, scopes.",
      },
      policy: {
        type: { t: "block", block: policy },
        doc: "Governance: require_approval, `deny TOOL when CONDITION` rules, and limits.",
      },
    },
  },
  mcp: {
    props: {
      command: {
        type: { t: "call", callees: ["command"] },
        doc: "Start the server as a local program (stdio transport).",
      },
      url: { type: str, doc: "The server's streamable HTTP endpoint." },
      env: {
        type: { t: "block", block: { props: {}, open: { t: "any" } } },
        doc: 'Environment variables for a command server: `NAME: "value"` or `NAME: env("VAR")`. The server gets only these and PATH, HOME, LANG, LC_ALL, TZ, TMPDIR, never the rest of the environment.',
      },
    },
  },
  connection: {
    props: {
      url: {
        type: { t: "stringOrEnv" },
        required: true,
        doc: 'The base URL: https://... for http(...) tools, postgres:// or postgresql:// for sql(...) tools; or env("NAME").',
        snippet: 'url: "${1:https://api.example.com}"',
      },
      auth: {
        type: { t: "call", callees: AUTH_CALLS },
        doc: 'How requests authenticate: bearer(env("TOKEN")), header("Name", env("KEY")), basic(env("USER"), env("PASSWORD")), oauth2 { ... } (the agent\'s service identity) or user_token("name") (the end user\'s).',
      },
      headers: {
        type: { t: "block", block: { props: {}, open: { t: "stringOrEnv" } } },
        doc: 'Headers sent with every request: `"X-Tenant": "acme"` or `"X-Key": env("KEY")`.',
      },
      timeout_ms: {
        type: { t: "integer", min: 1 },
        doc: "How long a request may take, in milliseconds (a tool's own timeout_ms wins).",
      },
    },
  },
  test: {
    props: {
      agent: {
        type: { t: "ref", kind: "agent" },
        required: true,
        doc: "The agent under test.",
        snippet: "agent: $1",
      },
      backend: {
        type: { t: "ref", kind: "backend" },
        doc: "The backend to run on: `local` (default, scripted and offline) or a declared backend to run live.",
      },
      user: {
        type: { t: "object", keys: { id: str, name: str } },
        doc: 'The user the test runs as: { id: "u1", name: "Ada" }.',
      },
    },
  },
  eval: {
    props: {
      agent: {
        type: { t: "ref", kind: "agent" },
        required: true,
        doc: "The agent under evaluation.",
        snippet: "agent: $1",
      },
      backends: {
        type: { t: "list", of: { t: "ref", kind: "backend" } },
        doc: "The backends every case runs on (the matrix); default: the agent's backend. `local` names the built-in local backend unless one is declared.",
        snippet: "backends: [$1]",
      },
      judge: {
        type: { t: "ref", kind: "backend" },
        doc: 'The backend whose model scores the `judge` criteria (`local`: scripted with `judge scores N "reason"`).',
        snippet: "judge: $1",
      },
      trials: {
        type: { t: "integer", min: 1 },
        doc: "How many times every case runs on every backend (default 1).",
      },
      pass_rate: {
        type: { t: "number", min: 0, max: 1 },
        doc: "The eval passes when at least this share of its case runs pass, 0 to 1 (default 1).",
      },
      concurrency: {
        type: { t: "integer", min: 1 },
        doc: "How many case runs run at once (default 4).",
      },
      dataset: {
        type: { t: "call", callees: ["file"] },
        doc: "More cases, one JSON object per line (JSONL), relative to this file: {name, input, user, expected, goal, expect, judge, script}.",
        snippet: 'dataset: file("${1:cases.jsonl}")',
      },
    },
  },
};

export const KIND_DOCS: Record<DeclarationKind, string> = {
  backend: "Where inference runs and where session state lives (stateless or stateful).",
  type: "A record type; maps to JSON Schema.",
  tool: "A tool the model may call: description, input fields, output type, how it runs, scopes it requires.",
  context: "Institutional knowledge put into the model's context.",
  memory: "What the agent remembers: scope, history window, typed fields.",
  agent: "An agent: instructions, backend, tools, memory, context, identity and policy.",
  mcp: "A Model Context Protocol server whose tools agents may call.",
  connection:
    "A system tools reach: a base URL (https:// or postgres://), how to authenticate (as the agent's service or as the end user), headers and a timeout.",
  test: "An offline test: scripted model steps, mocked tools, and expectations.",
  eval: "An eval: cases run against real models on one or more backends, scored by expectations, judges and scorers.",
};

export function describeType(t: PropType): string {
  switch (t.t) {
    case "string":
      return "a string";
    case "text":
      return 'a string or a """text block"""';
    case "number":
      return "a number";
    case "integer":
      return "a whole number";
    case "boolean":
      return "true or false";
    case "enum":
      return `one of ${t.values.join(", ")}`;
    case "ref":
      return `the name of a ${t.kind}`;
    case "list":
      return `a list of ${describeType(t.of)
        .replace(/^an? /, "")
        .replace(/^the name of a (\w+)/, "$1 names")}`;
    case "secret":
      return 'env("NAME")';
    case "stringOrEnv":
      return 'a string or env("NAME")';
    case "call":
      return t.callees
        .map((c) => `${c}(...)`)
        .join(", ")
        .replace(/, ([^,]*)$/, " or $1");
    case "typeRef":
      return "a type (string, number, integer, boolean, json or a declared type)";
    case "object":
      return "an object { name: value }";
    case "any":
      return "a value";
    case "block":
      return "a block { ... }";
    case "fields":
      return "a block of fields { name: type }";
  }
}
