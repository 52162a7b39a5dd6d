// The CRM of the example, offline: an OAuth 2.0 authorization server that
// implements the client credentials grant (RFC 6749 section 4.4) and an
// orders API that accepts only the access tokens it issued, each on its own
// loopback port. Plain Node, no dependencies.
//
//   const { startCrm } = require("./server.js");
//   const crm = await startCrm({ clientId: "order-desk", clientSecret: "..." });
//   crm.tokenUrl; // http://127.0.0.1:PORT/oauth2/token
//   crm.apiUrl; // http://127.0.0.1:PORT/api
//   await crm.close();
//
// The token endpoint takes the client's id and secret with HTTP Basic
// authentication (client_secret_basic, section 2.3.1), issues short-lived
// opaque bearer tokens and answers errors as section 5.2 says: JSON
// `{ "error": "invalid_client", ... }`, 401 for a client that does not
// authenticate, 400 otherwise. The API answers 401 to a request without a
// valid token (RFC 6750), 403 to a token without `orders.read`.

"use strict";

const crypto = require("node:crypto");
const http = require("node:http");

const SCOPES = ["orders.read"];

const ORDERS = {
  A1001: { id: "A1001", status: "delivered", carrier: "ParcelCo", total: "40.00 USD" },
  A1003: { id: "A1003", status: "shipped", carrier: "ParcelCo", total: "129.99 USD" },
  A1007: { id: "A1007", status: "processing", carrier: null, total: "12.50 USD" },
};

function send(res, status, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** `application/x-www-form-urlencoded` decoding of one Basic credential half (RFC 6749 section 2.3.1). */
function formDecode(s) {
  return decodeURIComponent(s.replace(/\+/g, " "));
}

/** The client id and secret of a `Basic` authorization header, or undefined. */
function basicCredentials(header) {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header || "");
  if (!m) return undefined;
  const decoded = Buffer.from(m[1], "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  try {
    return { id: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
  } catch {
    return undefined;
  }
}

/** Equal strings, compared in constant time. */
function same(a, b) {
  const x = Buffer.from(String(a));
  const y = Buffer.from(String(b));
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on("data", (c) => {
      size += c.length;
      if (size > 16 * 1024) {
        reject(new Error("request body too large"));
        req.destroy();
      } else chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function listen(server) {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${server.address().port}`));
  });
}

/**
 * Starts the authorization server and the API. `ttlSeconds` is the lifetime of a token (300 by default).
 * `issued` lists every access token handed out, for tests that check none was written anywhere.
 */
async function startCrm({ clientId, clientSecret, ttlSeconds = 300 }) {
  if (!clientId || !clientSecret) throw new Error("startCrm needs a clientId and a clientSecret");
  /** access token -> { expires (ms), scopes } */
  const tokens = new Map();
  const issued = [];

  const oauthError = (res, status, error, description) =>
    send(
      res,
      status,
      { error, error_description: description },
      {
        "cache-control": "no-store",
        pragma: "no-cache",
        ...(status === 401 ? { "www-authenticate": 'Basic realm="crm"' } : {}),
      },
    );

  const auth = http.createServer(async (req, res) => {
    const path = new URL(req.url, "http://localhost").pathname;
    if (path !== "/oauth2/token") return send(res, 404, { error: "not_found" });
    if (req.method !== "POST") return send(res, 405, { error: "method_not_allowed" }, { allow: "POST" });
    let body;
    try {
      body = new URLSearchParams(await readBody(req));
    } catch (err) {
      return oauthError(res, 400, "invalid_request", err.message);
    }
    const client = basicCredentials(req.headers.authorization);
    if (!client || !same(client.id, clientId) || !same(client.secret, clientSecret))
      return oauthError(res, 401, "invalid_client", "client authentication failed");
    if (body.get("grant_type") !== "client_credentials")
      return oauthError(res, 400, "unsupported_grant_type", "only client_credentials is supported");
    const asked = (body.get("scope") || SCOPES.join(" ")).split(" ").filter(Boolean);
    const unknown = asked.filter((s) => !SCOPES.includes(s));
    if (unknown.length) return oauthError(res, 400, "invalid_scope", `unknown scope: ${unknown.join(" ")}`);
    const token = crypto.randomBytes(32).toString("base64url");
    tokens.set(token, { expires: Date.now() + ttlSeconds * 1000, scopes: asked });
    issued.push(token);
    send(
      res,
      200,
      { access_token: token, token_type: "Bearer", expires_in: ttlSeconds, scope: asked.join(" ") },
      { "cache-control": "no-store", pragma: "no-cache" },
    );
  });

  const api = http.createServer((req, res) => {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization || "");
    const grant = m && tokens.get(m[1]);
    if (!grant || grant.expires <= Date.now()) {
      if (grant) tokens.delete(m[1]);
      const challenge = m ? 'Bearer realm="crm", error="invalid_token"' : 'Bearer realm="crm"';
      return send(res, 401, { error: "invalid_token" }, { "www-authenticate": challenge });
    }
    if (!grant.scopes.includes("orders.read"))
      return send(
        res,
        403,
        { error: "insufficient_scope" },
        { "www-authenticate": 'Bearer realm="crm", error="insufficient_scope", scope="orders.read"' },
      );
    const order = /^\/api\/orders\/([^/]+)$/.exec(new URL(req.url, "http://localhost").pathname);
    if (req.method !== "GET" || !order) return send(res, 404, { error: "not_found" });
    const found = ORDERS[decodeURIComponent(order[1])];
    if (!found) return send(res, 404, { error: "not_found", message: `no order ${order[1]}` });
    send(res, 200, found);
  });

  const authUrl = await listen(auth);
  const apiUrl = await listen(api).catch((err) => {
    auth.close();
    throw err;
  });
  const stop = (server) =>
    new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return {
    tokenUrl: `${authUrl}/oauth2/token`,
    apiUrl: `${apiUrl}/api`,
    issued,
    close: () => Promise.all([stop(auth), stop(api)]).then(() => undefined),
  };
}

module.exports = { startCrm };
