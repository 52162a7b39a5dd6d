// What a `connection` declaration says, read from the AST: its url (a literal
// or an env variable), whether it is a SQL connection, how it authenticates
// and so which identity the tools on it act as. Shared by the validator, the
// compiler and the editor features (hover), so they agree.

import type { CallValue, Declaration, Value } from "./ast";
import { props } from "./compile";
import { lookup, type Symbol, type SymbolTable } from "./program";
import { AUTH_CALLS, type AuthCall } from "./schema";

export interface ConnectionInfo {
  /** The url literal, or `{ env }` when it is read from the environment; undefined when missing. */
  url: string | { env: string } | undefined;
  /** True for postgres:// and postgresql:// urls, false for others, undefined when unknown (an env url). */
  sql: boolean | undefined;
  auth: AuthCall | undefined;
  /** `user` for user_token(...): tools on the connection act as the end user; `service` otherwise. */
  identity: "user" | "service";
}

const SQL_URL = /^postgres(?:ql)?:\/\//i;

export function isSqlUrl(url: string): boolean {
  return SQL_URL.test(url);
}

export function connectionInfo(decl: Declaration): ConnectionInfo {
  const p = props(decl.body);
  const urlValue = p.get("url")?.value;
  const url = urlOf(urlValue);
  const authValue = p.get("auth")?.value;
  const auth =
    authValue &&
    authValue.type === "Call" &&
    (AUTH_CALLS as readonly string[]).includes(authValue.callee.name)
      ? (authValue.callee.name as AuthCall)
      : undefined;
  return {
    url,
    sql: typeof url === "string" ? isSqlUrl(url) : undefined,
    auth,
    identity: auth === "user_token" ? "user" : "service",
  };
}

function urlOf(v: Value | undefined): ConnectionInfo["url"] {
  if (!v) return undefined;
  if (v.type === "String") return v.value;
  if (v.type === "Call" && v.callee.name === "env" && v.args[0]?.type === "String")
    return { env: v.args[0].value };
  return undefined;
}

/** The connection a `http(METHOD, CONNECTION, "path")` or `sql(CONNECTION, ...)` call goes through. */
export function connectionArg(call: CallValue): Value | undefined {
  if (call.callee.name === "sql") return call.args[0];
  if (call.callee.name === "http" && call.args.length >= 3) return call.args[1];
  return undefined;
}

/** The connection declaration a tool's `run` (or a context's `from`) goes through, if it resolves. */
export function connectionOfCall(table: SymbolTable, call: Value | undefined): Symbol | undefined {
  if (!call || call.type !== "Call") return undefined;
  const ref = connectionArg(call);
  if (!ref || ref.type !== "Reference" || ref.segments.length !== 1) return undefined;
  return lookup(table, "connection", ref.segments[0].name);
}

/** "the end user's token 'mail'" / "the agent's service identity (oauth2)": for hovers and messages. */
export function identityText(info: ConnectionInfo, decl: Declaration): string {
  if (info.auth === "user_token") {
    const a = props(decl.body).get("auth")?.value;
    const name = a && a.type === "Call" && a.args[0]?.type === "String" ? a.args[0].value : "";
    return `as the end user (their delegated token '${name}')`;
  }
  return info.auth
    ? `as the agent's service identity (${info.auth} credentials)`
    : "as the agent's service identity (no credentials)";
}
