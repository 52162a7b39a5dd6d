// OAuth 2.0 client credentials (RFC 6749 section 4.4) for `oauth2 { }`
// connections: a token is fetched on first use, cached until 60 s before it
// expires, shared by concurrent calls (one token request at a time per
// client) and replaced once when an API answers 401. A failed token request
// is a value naming the endpoint's error (`invalid_client`...) and what to set.

import { formEncode } from "./secrets";

export interface ClientCredentials {
  /** The connection, for messages. */
  connection: string;
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  scopes: string[];
  /** Where the client id and secret come from (`CRM_CLIENT_ID`...), for the hint of a failed request. */
  from: { clientId: string; clientSecret: string; tokenUrl: string };
}

/** A token request that failed: the message says what the endpoint answered and what to check. */
export class OAuthFailure extends Error {}

/** Tokens are replaced this long before they expire (or halfway through a shorter lifetime). */
export const REFRESH_MARGIN_MS = 60_000;
export const TOKEN_TIMEOUT_MS = 10_000;

interface Entry {
  token?: { value: string; refreshAt: number };
  pending?: Promise<string>;
}

export interface OAuthTokensOptions {
  /** The clock (tests move it to expire tokens). */
  now?: () => number;
}

/** The access tokens of the clients a run uses, by token endpoint, client and scopes. */
export class OAuthTokens {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly options: OAuthTokensOptions = {}) {}

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  private entry(c: ClientCredentials): Entry {
    const key = JSON.stringify([c.tokenUrl, c.clientId, c.clientSecret, c.scopes]);
    let e = this.entries.get(key);
    if (!e) this.entries.set(key, (e = {}));
    return e;
  }

  /** A valid access token: the cached one, the one being fetched, or a new one. */
  token(c: ClientCredentials): Promise<string> {
    const e = this.entry(c);
    if (e.token && this.now() < e.token.refreshAt) return Promise.resolve(e.token.value);
    return this.fetch(c, e);
  }

  /**
   * A token other than `rejected` (which an API just refused with 401): the one a concurrent call
   * already fetched in its place, or a new one.
   */
  replace(c: ClientCredentials, rejected: string): Promise<string> {
    const e = this.entry(c);
    if (e.token && e.token.value !== rejected && this.now() < e.token.refreshAt)
      return Promise.resolve(e.token.value);
    if (e.token?.value === rejected) e.token = undefined;
    return this.fetch(c, e);
  }

  private fetch(c: ClientCredentials, e: Entry): Promise<string> {
    if (e.pending) return e.pending;
    // The lifetime counts from the request: the answer may have taken a while to arrive.
    const asked = this.now();
    e.pending = requestToken(c).then(
      ({ value, expiresIn }) => {
        e.pending = undefined;
        const lifetime = expiresIn === undefined ? Infinity : expiresIn * 1000;
        e.token = { value, refreshAt: asked + lifetime - Math.min(REFRESH_MARGIN_MS, lifetime / 2) };
        return value;
      },
      (err: unknown) => {
        e.pending = undefined;
        throw err;
      },
    );
    return e.pending;
  }
}

/** What to check when the endpoint answers with an error code (RFC 6749 section 5.2). */
function hint(c: ClientCredentials, error: string): string {
  switch (error) {
    case "invalid_client":
      return `check the client id and secret (${c.from.clientId}, ${c.from.clientSecret})`;
    case "invalid_scope":
      return `check the scopes of connection '${c.connection}' (${c.scopes.join(" ") || "none"}) against what the client may request`;
    case "unauthorized_client":
    case "unsupported_grant_type":
      return `the authorization server must allow the client_credentials grant for client ${c.from.clientId}`;
    default:
      return `check token_url (${c.from.tokenUrl}) and the client's registration`;
  }
}

async function requestToken(c: ClientCredentials): Promise<{ value: string; expiresIn?: number }> {
  const what = `the OAuth token request of connection '${c.connection}' to ${c.tokenUrl}`;
  const body = new URLSearchParams({ grant_type: "client_credentials" });
  if (c.scopes.length) body.set("scope", c.scopes.join(" "));
  let res: Response;
  let text: string;
  try {
    res = await fetch(c.tokenUrl, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        accept: "application/json",
        // client_secret_basic (RFC 6749 2.3.1): the id and secret form-encoded, then base64.
        authorization: `Basic ${Buffer.from(`${formEncode(c.clientId)}:${formEncode(c.clientSecret)}`).toString("base64")}`,
      },
      body: body.toString(),
      signal: AbortSignal.timeout(TOKEN_TIMEOUT_MS),
    });
    text = await res.text();
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const why =
      e.name === "TimeoutError"
        ? `timed out after ${TOKEN_TIMEOUT_MS} ms`
        : (e.cause?.code ?? e.cause?.message ?? e.message);
    throw new OAuthFailure(`${what} failed: ${why}; check token_url (${c.from.tokenUrl})`);
  }
  let json: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed))
      json = parsed as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const error = typeof json?.error === "string" ? json.error : undefined;
    const description = typeof json?.error_description === "string" ? ` (${json.error_description})` : "";
    if (error)
      throw new OAuthFailure(
        `${what} failed: ${error}${description}, status ${res.status}; ${hint(c, error)}`,
      );
    throw new OAuthFailure(
      `${what} answered ${res.status} ${res.statusText}${text ? `: ${text.slice(0, 200)}` : ""}; ${hint(c, "")}`,
    );
  }
  const token = json?.access_token;
  if (typeof token !== "string" || !token)
    throw new OAuthFailure(`${what} answered without an access_token; ${hint(c, "")}`);
  const type = json?.token_type;
  if (typeof type === "string" && type.toLowerCase() !== "bearer")
    throw new OAuthFailure(`${what} gave a '${type}' token; only bearer tokens are supported`);
  const raw = json?.expires_in;
  const expiresIn = typeof raw === "number" ? raw : typeof raw === "string" ? Number(raw) : undefined;
  return {
    value: token,
    expiresIn: expiresIn !== undefined && Number.isFinite(expiresIn) ? expiresIn : undefined,
  };
}
