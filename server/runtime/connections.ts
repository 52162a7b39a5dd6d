// The connections of one run (connections.md sections 1-3): where an
// `http(METHOD, CONNECTION, "path")` call goes and with which credential
// (bearer, header, basic, OAuth client credentials, the end user's token),
// the SQL databases behind `sql(CONNECTION, ...)` (opened on first use,
// closed with the session), and which identity each call acts as. Every
// credential read or fetched here is handed to the run's redactor first.

import type {
  CompiledConnection,
  CompiledDefinition,
  CompiledTool,
  EnvValue,
  SourceIR,
} from "../protocol/definition";
import type { CallIdentity, UserInfo } from "../protocol/events";
import { OAuthFailure, OAuthTokens, type ClientCredentials } from "./oauth";
import type { Environment, Secret } from "./secrets";
import { isSqlUrl, openSqlDatabase, type SqlDatabase } from "./sql";

/** A connection that cannot be used as declared: a variable not set, a user not connected, a refused token. */
export class ConnectionError extends Error {}

export interface UserTokenQuery {
  /** The name in `user_token("name")`. */
  name: string;
  connection: string;
  user?: UserInfo;
}

/** Where the end users' delegated tokens come from: the CLI's environment, or the runtime service's vault. */
export interface UserTokens {
  get(query: UserTokenQuery): Promise<string | undefined> | string | undefined;
  /** What the user (or operator) does to connect, for the message when there is no token. */
  howToConnect(query: UserTokenQuery): string;
}

/** The variable the CLI reads a user token from: `STATECRAFT_USER_TOKEN_<NAME>`, upper case. */
export function userTokenVariable(name: string): string {
  return `STATECRAFT_USER_TOKEN_${name.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`;
}

/** The CLI's user tokens: one per name, from the environment (the CLI runs for one user). */
export function envUserTokens(env: Environment): UserTokens {
  return {
    get: (q) => env[userTokenVariable(q.name)] || undefined,
    howToConnect: (q) => `set ${userTokenVariable(q.name)} to their token`,
  };
}

/** The connection a tool's run (or a context's source) goes through, if any. */
export function connectionOf(run: SourceIR | null): string | undefined {
  if (run?.kind === "sql") return run.connection;
  if (run?.kind === "http") return run.connection;
  return undefined;
}

/** The identity a call of `tool` acts as: the end user's for a `user_token` connection, else the agent's own. */
export function callIdentity(
  def: CompiledDefinition,
  tool: CompiledTool | undefined,
  user: UserInfo | undefined,
): CallIdentity | undefined {
  const name = tool && connectionOf(tool.run);
  const conn = name ? def.connections?.[name] : undefined;
  if (!name || !conn) return undefined;
  if (conn.auth?.kind === "user_token") return { as: "user", connection: name, user: user?.id ?? "" };
  return { as: "service", connection: name };
}

/** Joins a connection's URL and a call's path (`/customers?x=1`, `?q=1`, `items`); never leaves its origin. */
export function joinUrl(base: string, rest: string): string {
  if (!rest) return base;
  const tail = /^[/?#]/.test(rest) ? rest : `/${rest}`;
  return base.replace(/\/+$/, "") + tail;
}

export interface HttpTarget {
  url: string;
  headers: Record<string, string>;
  timeoutMs?: number;
  /** After a 401: the headers with a new credential (OAuth only), to retry once. */
  retry?: () => Promise<Record<string, string>>;
}

export interface ConnectionsOptions {
  definition: CompiledDefinition;
  /** Folder relative PGlite paths and seed files start from (the agent file's). */
  baseDir: string;
  env: Environment;
  user?: UserInfo;
  /** Default: the environment's `STATECRAFT_USER_TOKEN_<NAME>`. */
  userTokens?: UserTokens;
  /** Default: a cache of this run's own. */
  oauth?: OAuthTokens;
  /** Told of every credential learnt while running (access tokens, user tokens) before it is used. */
  onSecret?: (secret: Secret) => void;
}

export class Connections {
  private readonly oauth: OAuthTokens;
  private readonly userTokens: UserTokens;
  private readonly databases = new Map<string, Promise<SqlDatabase>>();
  private closed = false;

  constructor(private readonly options: ConnectionsOptions) {
    this.userTokens = options.userTokens ?? envUserTokens(options.env);
    this.oauth = options.oauth ?? new OAuthTokens();
  }

  private secret(name: string, value: string): void {
    this.options.onSecret?.({ name, value });
  }

  spec(name: string): CompiledConnection {
    const c = this.options.definition.connections?.[name];
    if (!c) throw new ConnectionError(`there is no connection '${name}' in the compiled definition`);
    return c;
  }

  private read(c: CompiledConnection, v: EnvValue, what: string): string {
    if (typeof v === "string") return v;
    const value = this.options.env[v.env];
    if (value === undefined || value === "")
      throw new ConnectionError(`connection '${c.name}': ${what} reads ${v.env}, which is not set`);
    return value;
  }

  private from(v: EnvValue, what: string): string {
    return typeof v === "string" ? what : v.env;
  }

  /** The connection's own `timeout_ms`, if it declares one. */
  timeoutOf(name: string): number | undefined {
    return this.options.definition.connections?.[name]?.timeoutMs;
  }

  url(name: string): string {
    const c = this.spec(name);
    return this.read(c, c.url, "url");
  }

  /** Where a call to `rest` on connection `name` goes, its headers and credential. */
  async http(name: string, rest: string): Promise<HttpTarget> {
    const c = this.spec(name);
    const base = this.read(c, c.url, "url");
    if (isSqlUrl(base))
      throw new ConnectionError(
        `connection '${name}' is a SQL connection (${c.url.toString()}): use sql(${name}, ...)`,
      );
    let origin: string;
    try {
      origin = new URL(base).origin;
    } catch {
      throw new ConnectionError(`connection '${name}': url is not a URL: ${JSON.stringify(base)}`);
    }
    const url = joinUrl(base, rest);
    if (new URL(url).origin !== origin)
      throw new ConnectionError(`connection '${name}': ${JSON.stringify(rest)} would leave ${origin}`);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(c.headers)) headers[k.toLowerCase()] = this.read(c, v, `header ${k}`);
    const target: HttpTarget = { url, headers, timeoutMs: c.timeoutMs };
    const auth = c.auth;
    switch (auth?.kind) {
      case undefined:
        break;
      case "bearer":
        headers.authorization = `Bearer ${this.read(c, auth.token, "the bearer token")}`;
        break;
      case "header":
        headers[auth.name.toLowerCase()] = this.read(c, auth.value, `header ${auth.name}`);
        break;
      case "basic": {
        const pair = `${this.read(c, auth.username, "the user name")}:${this.read(c, auth.password, "the password")}`;
        headers.authorization = `Basic ${Buffer.from(pair).toString("base64")}`;
        break;
      }
      case "user_token": {
        const query = { name: auth.name, connection: name, user: this.options.user };
        const token = await this.userTokens.get(query);
        if (!token) {
          const who = this.options.user?.id ? `user '${this.options.user.id}'` : "the user";
          throw new ConnectionError(
            `${who} has not connected '${auth.name}' (connection '${name}' acts with their token): ${this.userTokens.howToConnect(query)}`,
          );
        }
        this.secret(`user_token:${auth.name}`, token);
        headers.authorization = `Bearer ${token}`;
        break;
      }
      case "oauth2": {
        const client: ClientCredentials = {
          connection: name,
          tokenUrl: this.read(c, auth.tokenUrl, "token_url"),
          clientId: this.read(c, auth.clientId, "client_id"),
          clientSecret: this.read(c, auth.clientSecret, "client_secret"),
          scopes: auth.scopes,
          from: {
            clientId: this.from(auth.clientId, "client_id"),
            clientSecret: this.from(auth.clientSecret, "client_secret"),
            tokenUrl: this.from(auth.tokenUrl, "token_url"),
          },
        };
        const token = await this.oauthToken(name, () => this.oauth.token(client));
        headers.authorization = `Bearer ${token}`;
        target.retry = async () => {
          const fresh = await this.oauthToken(name, () => this.oauth.replace(client, token));
          return { ...headers, authorization: `Bearer ${fresh}` };
        };
        break;
      }
    }
    return target;
  }

  /** An access token, made a secret of this run before it is used (the cache may be shared by runs). */
  private async oauthToken(connection: string, get: () => Promise<string>): Promise<string> {
    try {
      const token = await get();
      this.secret(`oauth:${connection}`, token);
      return token;
    } catch (err) {
      if (err instanceof OAuthFailure) throw new ConnectionError(err.message);
      throw err;
    }
  }

  /** The SQL database of connection `name`, opened on first use and kept until close(). */
  database(name: string): Promise<SqlDatabase> {
    if (this.closed) return Promise.reject(new ConnectionError("the session's connections are closed"));
    let db = this.databases.get(name);
    if (!db) {
      const url = this.url(name);
      if (!isSqlUrl(url))
        throw new ConnectionError(
          `connection '${name}' is not a SQL connection: its url must start with postgres:// or postgresql://`,
        );
      db = openSqlDatabase(url, this.options.baseDir);
      // A database that failed to open is tried again by the next call.
      db.catch(() => this.databases.delete(name));
      this.databases.set(name, db);
    }
    return db;
  }

  /** Closes the databases this run opened. */
  async close(): Promise<void> {
    this.closed = true;
    const dbs = [...this.databases.values()];
    this.databases.clear();
    await Promise.all(dbs.map((d) => d.then((db) => db.close()).catch(() => {})));
  }
}
