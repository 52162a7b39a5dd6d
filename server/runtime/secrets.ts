// What keeps a run's secrets in their place. The programs a run starts
// (command tools, MCP servers) get a minimal environment plus what their
// declaration gives them, never the whole parent environment (API keys, cloud
// credentials); and every value a run reads as a secret is replaced by
// `[secret:NAME]` before anything is written (session log, memory store),
// in whatever form it appears: as is, or JSON-escaped once or twice.

import type { CompiledConnection, CompiledDefinition, EnvValue, Json } from "../protocol/definition";

export type Environment = Record<string, string | undefined>;

/** A declared environment value: a literal, or `env("NAME")` read from the run's environment. */
export type { EnvValue };

/** The only variables of the parent's environment a started program inherits. */
export const INHERITED_ENV: readonly string[] = [
  "PATH",
  "HOME",
  "LANG",
  "LC_ALL",
  "TZ",
  "TMPDIR",
  ...(process.platform === "win32" ? ["SystemRoot"] : []),
];

/**
 * The environment of a program a run starts: the inherited variables that are set, then the declared
 * ones (an `env("NAME")` that is not set is left out and reported through `onMissing`).
 */
export function childEnv(
  environment: Environment,
  declared: Record<string, EnvValue> | undefined,
  onMissing?: (key: string, from: string) => void,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of INHERITED_ENV) {
    const value = environment[key];
    // A value starting with "()" is a bash exported function: never passed on.
    if (value !== undefined && !value.startsWith("()")) out[key] = value;
  }
  for (const [key, value] of Object.entries(declared ?? {})) {
    if (typeof value === "string") out[key] = value;
    else {
      const resolved = environment[value.env];
      if (resolved === undefined) onMissing?.(key, value.env);
      else out[key] = resolved;
    }
  }
  return out;
}

/** Credentials the backends read without a declaration naming them. */
const IMPLICIT_SECRETS = [
  "AZURE_OPENAI_AD_TOKEN",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_BEARER_TOKEN_BEDROCK",
];

/** Shorter values would be replaced wherever their letters happen to occur. */
const MIN_SECRET_LENGTH = 4;

export interface Secret {
  /** The environment variable it came from. */
  name: string;
  value: string;
}

/** The `env("NAME")` of a compiled `vars` value (`{ "env": ["NAME"] }`), if it is one. */
export function envCallName(v: Json): string | undefined {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return undefined;
  const keys = Object.keys(v);
  const args = v.env;
  return keys.length === 1 && Array.isArray(args) && typeof args[0] === "string" ? args[0] : undefined;
}

/** Every value a run of `def` reads through env(...), and the backends' implicit credentials, that is set. */
export function runSecrets(def: CompiledDefinition, environment: Environment): Secret[] {
  const names = new Set<string>(IMPLICIT_SECRETS);
  for (const b of Object.values(def.backends)) if (b.apiKeyEnv) names.add(b.apiKeyEnv);
  const declared = [
    ...Object.values(def.mcpServers).map((m) => m.env),
    ...Object.values(def.tools).map((t) => t.env ?? {}),
  ];
  for (const env of declared) for (const v of Object.values(env)) if (typeof v !== "string") names.add(v.env);
  for (const a of Object.values(def.agents))
    for (const v of Object.values(a.vars)) {
      const name = envCallName(v);
      if (name) names.add(name);
    }
  const out: Secret[] = [];
  for (const name of names) {
    const value = environment[name];
    if (value && value.length >= MIN_SECRET_LENGTH) out.push({ name, value });
  }
  for (const c of Object.values(def.connections ?? {})) out.push(...connectionSecrets(c, environment));
  // The longest first: a secret that contains another is replaced whole.
  return out
    .filter((s) => s.value.length >= MIN_SECRET_LENGTH)
    .sort((a, b) => b.value.length - a.value.length);
}

const envName = (v: EnvValue): string | undefined => (typeof v === "string" ? undefined : v.env);
const envRead = (v: EnvValue, environment: Environment): string | undefined =>
  typeof v === "string" ? v : environment[v.env];

/**
 * The secrets a connection reads (connections.md section 3): every `env(...)` in a secret position (a
 * token, a header value, a password, a client secret), the base64 `user:pass` an Authorization: Basic
 * header carries, and the password of a database URL (and the URL itself, when it came from env).
 */
export function connectionSecrets(c: CompiledConnection, environment: Environment): Secret[] {
  const out: Secret[] = [];
  const add = (name: string | undefined, value: string | undefined) => {
    if (name && value) out.push({ name, value });
  };
  const secret = (v: EnvValue) => add(envName(v), envName(v) && envRead(v, environment));
  const a = c.auth;
  if (a?.kind === "bearer") secret(a.token);
  if (a?.kind === "header") secret(a.value);
  if (a?.kind === "basic" || a?.kind === "oauth2") {
    const [user, pass] = a.kind === "basic" ? [a.username, a.password] : [a.clientId, a.clientSecret];
    secret(pass);
    const u = envRead(user, environment);
    const p = envRead(pass, environment);
    // An oauth2 client authenticates to the token endpoint with Basic too (RFC 6749 2.3.1: form-encoded first).
    const pair = a.kind === "basic" ? `${u}:${p}` : `${formEncode(u ?? "")}:${formEncode(p ?? "")}`;
    if (u !== undefined && p)
      add(envName(pass) ?? `${c.name}.password`, Buffer.from(pair).toString("base64"));
  }
  for (const v of Object.values(c.headers)) secret(v);
  const url = envRead(c.url, environment);
  if (url && /^postgres(ql)?:/i.test(url)) {
    try {
      const password = new URL(url).password;
      if (password) {
        add(envName(c.url) ?? `${c.name}.url`, url);
        add(envName(c.url) ?? `${c.name}.url`, password);
        add(envName(c.url) ?? `${c.name}.url`, decodeURIComponent(password));
      }
    } catch {
      // Not a URL: the connection fails when it is used, saying so.
    }
  }
  return out;
}

/** application/x-www-form-urlencoded, as RFC 6749 appendix B encodes a client id and secret. */
export function formEncode(s: string): string {
  return encodeURIComponent(s).replace(/%20/g, "+");
}

const escaped = (s: string) => JSON.stringify(s).slice(1, -1);

const regExpSource = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

const hasOwn = Object.prototype.hasOwnProperty;

/** Replaces secret values by `[secret:NAME]` in text and in JSON values. */
export class Redactor {
  /** The longest first: an escaped form contains the raw one's pieces, a longer secret a shorter one. */
  private readonly forms: { form: string; mark: string }[] = [];

  private readonly known = new Set<string>();

  private shortest = Infinity;

  /** Whether a string holds any form: one compiled look instead of one per form (most strings hold none). */
  private any = /(?!)/;

  constructor(secrets: Secret[]) {
    for (const s of secrets) {
      if (this.known.has(s.value)) continue;
      this.known.add(s.value);
      this.addForms(s);
    }
    this.compile();
  }

  private addForms(s: Secret): void {
    const mark = `[secret:${s.name}]`;
    // As is, JSON-escaped (JSON text inside a string) and escaped twice (JSON text inside JSON text).
    for (const form of new Set([s.value, escaped(s.value), escaped(escaped(s.value))]))
      this.forms.push({ form, mark });
  }

  private compile(): void {
    this.forms.sort((a, b) => b.form.length - a.form.length);
    this.shortest = this.forms.length ? this.forms[this.forms.length - 1].form.length : Infinity;
    if (this.forms.length) this.any = new RegExp(this.forms.map((f) => regExpSource(f.form)).join("|"));
  }

  /** Adds a secret learnt during the run (an OAuth access token, a user's token): replaced from now on. */
  add(secret: Secret): void {
    if (secret.value.length < MIN_SECRET_LENGTH || this.known.has(secret.value)) return;
    this.known.add(secret.value);
    this.addForms(secret);
    this.compile();
  }

  get empty(): boolean {
    return this.forms.length === 0;
  }

  text(text: string): string {
    // Most strings of an event (ids, names, statuses) are shorter than any secret, and most hold none.
    if (text.length < this.shortest || !this.any.test(text)) return text;
    // One form after the other, the longest first, each in what the previous ones left.
    let out = text;
    for (const { form, mark } of this.forms) if (out.includes(form)) out = out.split(form).join(mark);
    return out;
  }

  /** `value` with every secret replaced in its strings and keys; the same object when it holds none. */
  json<T>(value: T): T {
    return this.empty ? value : (this.walk(value) as T);
  }

  /** `v` redacted; the same array or object (and so on down) when nothing in it changed. */
  private walk(v: unknown): unknown {
    if (typeof v === "string") return this.text(v);
    if (v === null || typeof v !== "object") return v;
    if (Array.isArray(v)) {
      let out: unknown[] | undefined;
      for (let i = 0; i < v.length; i++) {
        const x: unknown = v[i];
        const y = this.walk(x);
        if (y !== x && !out) out = v.slice(0, i);
        if (out) out.push(y);
      }
      return out ?? v;
    }
    const o = v as Record<string, unknown>;
    let out: [string, unknown][] | undefined;
    let i = 0;
    for (const k in o) {
      if (!hasOwn.call(o, k)) continue;
      const x = o[k];
      const key = this.text(k);
      const y = this.walk(x);
      if ((key !== k || y !== x) && !out) out = Object.entries(o).slice(0, i);
      if (out) out.push([key, y]);
      i++;
    }
    return out ? Object.fromEntries(out) : o;
  }
}
