// A real OAuth 2.0 authorization server on a loopback port (oidc-provider,
// client credentials grant) and, on the same port under /api/, a small API
// that accepts only the access tokens that server issued and has not revoked
// or expired. It counts token requests and API requests, and can revoke every
// token it issued (what makes the next API call answer 401).

import * as http from "node:http";
import type { AddressInfo } from "node:net";

export interface OAuthServer {
  /** http://127.0.0.1:PORT: the issuer */
  url: string;
  tokenUrl: string;
  /** http://127.0.0.1:PORT/api */
  apiUrl: string;
  clientId: string;
  clientSecret: string;
  /** POST /token requests received. */
  tokenRequests: number;
  /** API requests received, with the token each carried. */
  apiRequests: { url: string; token: string; status: number }[];
  /** Every access token issued so far. */
  issued: string[];
  /** Revokes every token issued so far: the API refuses them from now on (401). */
  revokeAll(): Promise<void>;
  /** Makes the API refuse every token (401), valid or not. */
  refuseAll: boolean;
  close(): Promise<void>;
}

interface AccessToken {
  isExpired: boolean;
  scope?: string;
  destroy(): Promise<void>;
}

export async function startOAuthServer(
  options: { ttlSeconds?: number; clientSecret?: string; scopes?: string[] } = {},
): Promise<OAuthServer> {
  const { default: Provider } = await import("oidc-provider");
  const scopes = options.scopes ?? ["orders.read"];
  const state = { handler: (_req: http.IncomingMessage, _res: http.ServerResponse): unknown => undefined };
  const server = http.createServer((req, res) => void state.handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clientId = "statecraft-test";
  const clientSecret = options.clientSecret ?? "cs-7f3a9c1e5b2d4068a1f0e9d8c7b6a5f4";
  const provider = new Provider(url, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        grant_types: ["client_credentials"],
        redirect_uris: [],
        response_types: [],
        scope: scopes.join(" "),
      },
    ],
    features: { clientCredentials: { enabled: true }, devInteractions: { enabled: false } },
    scopes,
    ttl: { ClientCredentials: options.ttlSeconds ?? 600 },
  });
  const store = provider as unknown as {
    ClientCredentials: { find(t: string): Promise<AccessToken | undefined> };
  };
  const callback = provider.callback();
  const o: OAuthServer = {
    url,
    tokenUrl: `${url}/token`,
    apiUrl: `${url}/api`,
    clientId,
    clientSecret,
    tokenRequests: 0,
    apiRequests: [],
    issued: [],
    refuseAll: false,
    async revokeAll() {
      for (const t of o.issued) await (await store.ClientCredentials.find(t))?.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  state.handler = async (req, res) => {
    if (req.url?.startsWith("/api/")) {
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1] ?? "";
      const found = token ? await store.ClientCredentials.find(token) : undefined;
      const ok = !o.refuseAll && !!found && !found.isExpired;
      o.apiRequests.push({ url: req.url, token, status: ok ? 200 : 401 });
      res.writeHead(ok ? 200 : 401, { "content-type": "application/json" });
      res.end(JSON.stringify(ok ? { path: req.url, scope: found?.scope } : { error: "invalid_token" }));
      return;
    }
    if (req.method === "POST" && req.url === "/token") {
      o.tokenRequests++;
      // The issued token, read from the answer on its way out.
      const end = res.end.bind(res) as (chunk?: unknown, ...rest: unknown[]) => http.ServerResponse;
      res.end = ((chunk?: unknown, ...rest: unknown[]) => {
        try {
          const body = JSON.parse(String(chunk)) as { access_token?: string };
          if (body.access_token) o.issued.push(body.access_token);
        } catch {
          // Not JSON: an error page, nothing issued.
        }
        return end(chunk, ...rest);
      }) as typeof res.end;
    }
    callback(req, res);
  };
  return o;
}
