// The token vault of the runtime service (connections.md section 4): each
// actor keeps its end users' delegated tokens (the `user_token("name")` of a
// connection), encrypted at rest with AES-256-GCM under STATECRAFT_VAULT_KEY.
// Values go in and reach the turn code through `resolve`; no endpoint ever
// returns one. Another actor's token is as missing as one never stored.

import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import type { UserTokenInfo, UserTokenList, UserTokenPut } from "../protocol/runtimeService";
import type { Db } from "./db";
import { badRequest, HttpError, notFound, onlyFields } from "./http";

export const VAULT_KEY_VARIABLE = "STATECRAFT_VAULT_KEY";

/** A key that is not 32 bytes of base64: the service does not start (one line, what to set). */
export class VaultKeyError extends Error {}

/** The vault key from the environment: undefined when not set, VaultKeyError when not 32 bytes of base64. */
export function vaultKey(env: NodeJS.ProcessEnv): Buffer | undefined {
  const text = env[VAULT_KEY_VARIABLE]?.trim();
  if (!text) return undefined;
  const key =
    /^[A-Za-z0-9+/]+={0,2}$/.test(text) && text.length % 4 === 0 ? Buffer.from(text, "base64") : undefined;
  if (!key || key.length !== 32)
    throw new VaultKeyError(
      `${VAULT_KEY_VARIABLE} must be 32 bytes in base64 (make one with: openssl rand -base64 32); ` +
        (key ? `it decodes to ${key.length} bytes` : "it is not base64"),
    );
  return key;
}

const NAME = /^[A-Za-z0-9_]{1,64}$/;
const MAX_TOKEN = 16 * 1024;
const IV_BYTES = 12;
const TAG_BYTES = 16;

interface Row {
  name: string;
  sealed: Uint8Array;
  expires_at: Date | string | null;
  updated_at: Date | string;
}

const iso = (d: Date | string | null): string | null => (d === null ? null : new Date(d).toISOString());

export class TokenVault {
  constructor(
    private readonly db: Db,
    private readonly key: Buffer | undefined,
  ) {}

  get enabled(): boolean {
    return this.key !== undefined;
  }

  /** The bytes stored for one token: iv, ciphertext, tag; bound to its actor, user and name. */
  private seal(actor: string, user: string, name: string, token: string): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.key!, iv);
    cipher.setAAD(aad(actor, user, name));
    const body = Buffer.concat([cipher.update(token, "utf8"), cipher.final()]);
    return Buffer.concat([iv, body, cipher.getAuthTag()]);
  }

  private open(actor: string, user: string, name: string, sealed: Uint8Array): string {
    const bytes = Buffer.from(sealed);
    const decipher = createDecipheriv("aes-256-gcm", this.key!, bytes.subarray(0, IV_BYTES));
    decipher.setAAD(aad(actor, user, name));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    try {
      return Buffer.concat([
        decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)),
        decipher.final(),
      ]).toString("utf8");
    } catch {
      throw new Error(
        `the token '${name}' of user '${user}' cannot be decrypted with the current ${VAULT_KEY_VARIABLE} (was the key changed?): store it again`,
      );
    }
  }

  async put(
    actor: string,
    user: string,
    name: string,
    body: Record<string, unknown>,
  ): Promise<UserTokenInfo> {
    checkPath(user, name);
    if (!this.key)
      throw new HttpError(
        "unavailable",
        `this service stores no user tokens: it was started without ${VAULT_KEY_VARIABLE} (32 bytes in base64, e.g. from openssl rand -base64 32), which encrypts them at rest`,
      );
    onlyFields(body, ["token", "expires_at"], "a token body");
    const put = body as Partial<UserTokenPut>;
    if (typeof put.token !== "string" || !put.token)
      throw badRequest(`'token' (the user's token for '${name}', a non-empty string) is required`);
    if (put.token.length > MAX_TOKEN) throw badRequest(`'token' is longer than ${MAX_TOKEN} characters`);
    let expires: string | null = null;
    if (put.expires_at !== undefined) {
      if (typeof put.expires_at !== "string" || Number.isNaN(Date.parse(put.expires_at)))
        throw badRequest(`'expires_at' must be an ISO 8601 date-time, e.g. "2027-01-31T12:00:00Z"`);
      expires = new Date(put.expires_at).toISOString();
    }
    const rows = await this.db.query<Row>(
      `INSERT INTO user_tokens (actor, user_id, name, sealed, expires_at, updated_at) VALUES ($1, $2, $3, $4, $5, now())
       ON CONFLICT (actor, user_id, name) DO UPDATE SET sealed = EXCLUDED.sealed, expires_at = EXCLUDED.expires_at, updated_at = now()
       RETURNING name, sealed, expires_at, updated_at`,
      [actor, user, name, this.seal(actor, user, name, put.token), expires],
    );
    return info(rows[0]);
  }

  async list(actor: string, user: string): Promise<UserTokenList> {
    checkPath(user);
    const rows = await this.db.query<Row>(
      "SELECT name, sealed, expires_at, updated_at FROM user_tokens WHERE actor = $1 AND user_id = $2 ORDER BY name",
      [actor, user],
    );
    if (rows.length === 0) throw notFound(`user '${user}' has no stored token (for this token's actor)`);
    return { user, tokens: rows.map(info) };
  }

  async delete(actor: string, user: string, name: string): Promise<void> {
    checkPath(user, name);
    const rows = await this.db.query(
      "DELETE FROM user_tokens WHERE actor = $1 AND user_id = $2 AND name = $3 RETURNING name",
      [actor, user, name],
    );
    if (rows.length === 0) throw notFound(`user '${user}' has no token '${name}' (for this token's actor)`);
  }

  /**
   * The resolver the turn code calls for `user_token("name")`: the token of user `user` stored under this
   * actor, or undefined (none, expired, or no vault key).
   */
  async resolve(actor: string, user: string, name: string): Promise<string | undefined> {
    if (!this.key) return undefined;
    const [row] = await this.db.query<Row>(
      "SELECT name, sealed, expires_at, updated_at FROM user_tokens WHERE actor = $1 AND user_id = $2 AND name = $3",
      [actor, user, name],
    );
    if (!row || (row.expires_at !== null && new Date(row.expires_at).getTime() <= Date.now()))
      return undefined;
    return this.open(actor, user, name, row.sealed);
  }

  /** The user tokens of one actor's turns, in the shape of the runtime's user-token hook. */
  userTokens(actor: string): {
    get(q: { name: string; user?: { id: string } }): Promise<string | undefined>;
    howToConnect(q: { name: string; user?: { id: string } }): string;
  } {
    return {
      get: async (q) => (q.user ? this.resolve(actor, q.user.id, q.name) : undefined),
      howToConnect: (q) =>
        q.user
          ? `store their token with PUT /users/${encodeURIComponent(q.user.id)}/tokens/${q.name}`
          : `send the turn with a user ("user": {"id": ...}) whose token is stored with PUT /users/{userId}/tokens/${q.name}`,
    };
  }
}

function aad(actor: string, user: string, name: string): Buffer {
  return Buffer.from(JSON.stringify([actor, user, name]));
}

function info(r: Row): UserTokenInfo {
  return { name: r.name, expires_at: iso(r.expires_at), updated_at: iso(r.updated_at)! };
}

function checkPath(user: string, name?: string): void {
  if (!user || user.length > 256 || [...user].some((ch) => ch.charCodeAt(0) < 0x20))
    throw badRequest("the user id in the path must be 1 to 256 characters, without control characters");
  if (name !== undefined && !NAME.test(name))
    throw badRequest(
      `'${name.slice(0, 70)}' is not a token name: 1 to 64 of A-Z a-z 0-9 _ (the name in user_token("name"))`,
    );
}

/** `/users/{userId}/tokens[/{name}]`: the answer, or undefined when the path is not the vault's. */
export async function vaultRoute(
  vault: TokenVault,
  method: string,
  parts: string[],
  actor: string,
  body: () => Promise<Record<string, unknown>>,
): Promise<{ status: number; result: unknown } | undefined> {
  if (parts[0] !== "users" || parts[2] !== "tokens") return undefined;
  const user = parts[1];
  if (method === "GET" && parts.length === 3) return { status: 200, result: await vault.list(actor, user) };
  if (method === "PUT" && parts.length === 4)
    return { status: 200, result: await vault.put(actor, user, parts[3], await body()) };
  if (method === "DELETE" && parts.length === 4) {
    await vault.delete(actor, user, parts[3]);
    return { status: 204, result: undefined };
  }
  return undefined;
}
