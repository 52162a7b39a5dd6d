// The failures a user meets with the stateless backend, each through the real
// SDK against the fake server, and the message each one gives.

import { strict as assert } from "node:assert";
import * as net from "node:net";
import type { BackendErrorCode, ModelRequest } from "../../server/runtime/model";
import { FakeOpenAIServer } from "../fakes/openaiServer";
import {
  APIS,
  AZURE_KEY,
  DEPLOYMENT,
  MODEL,
  OPENAI_KEY,
  PROVIDERS,
  makeBackend,
  rejectsWith,
  specFor,
} from "./openaiHelpers";
import { OpenAIBackend } from "../../server/backends/openai";
import { waitFor } from "../helpers/waitFor";

const ask = (extra: Partial<ModelRequest> = {}): ModelRequest => ({
  messages: [{ role: "user", content: "Where is my order?" }],
  tools: [],
  ...extra,
});

/** Asks the SDK to retry soon, keeping the tests short (the backoff itself is the SDK's). */
const fast = { "retry-after-ms": "10" };

describe("OpenAIBackend failures", function () {
  let fake: FakeOpenAIServer;
  let open: FakeOpenAIServer;
  before(async () => {
    fake = await FakeOpenAIServer.start({
      apiKey: OPENAI_KEY,
      azureKey: AZURE_KEY,
      models: [MODEL],
      deployments: [DEPLOYMENT],
    });
    open = await FakeOpenAIServer.start();
  });
  after(async () => {
    await fake.close();
    await open.close();
  });
  beforeEach(() => {
    fake.reset();
    open.reset();
  });
  const serverFor = (p: string) => (p === "compatible" ? open : fake);

  describe("credentials", () => {
    it("openai without the key variable set: config, naming the variable and where it is declared", async () => {
      const msg = await rejectsWith(
        makeBackend({ provider: "openai", base: fake.url, env: {} }).complete(ask()),
        "config",
      );
      assert.match(
        msg,
        /backend 'openai_fake' \(provider openai\) has no API key: set the environment variable OPENAI_API_KEY \(named by api_key: env\("OPENAI_API_KEY"\) in backend 'openai_fake'\)/,
      );
      assert.equal(fake.journal.length, 0, "nothing was sent");
    });

    it("openai with no api_key declared: config, saying what to add", async () => {
      const msg = await rejectsWith(
        makeBackend({ provider: "openai", base: fake.url, spec: { apiKeyEnv: undefined } }).complete(ask()),
        "config",
      );
      assert.match(
        msg,
        /add api_key: env\("OPENAI_API_KEY"\) to backend 'openai_fake' and set that variable/,
      );
    });

    it("azure without a key or Entra token: config, naming both", async () => {
      const msg = await rejectsWith(
        makeBackend({ provider: "azure", base: fake.url, env: {} }).complete(ask()),
        "config",
      );
      assert.match(msg, /set the environment variable AZURE_OPENAI_API_KEY/);
      assert.match(msg, /or set AZURE_OPENAI_AD_TOKEN to a Microsoft Entra access token/);
    });

    for (const provider of ["openai", "azure"] as const)
      for (const api of APIS)
        it(`${provider}/${api} with a wrong key: auth, naming the variable, and the key is not in the message`, async () => {
          const wrong = provider === "openai" ? "sk-wrong-9b8c7d6e5f4a3b2c" : "wrong-azure-key-0042";
          const env = provider === "openai" ? { OPENAI_API_KEY: wrong } : { AZURE_OPENAI_API_KEY: wrong };
          const msg = await rejectsWith(
            makeBackend({ provider, api, base: fake.url, env }).complete(ask()),
            "auth",
          );
          assert.match(msg, /the API key was rejected \(401\)/);
          assert.match(
            msg,
            provider === "openai" ? /Set the environment variable OPENAI_API_KEY/ : /AZURE_OPENAI_API_KEY/,
          );
          assert.ok(!msg.includes(wrong) && !msg.includes(wrong.slice(-4)), msg);
          assert.equal(fake.journal.length, 1, "a 401 is not retried");
        });

    it("azure with a rejected Entra token: auth, saying it may have expired", async () => {
      const f2 = await FakeOpenAIServer.start({ azureAdToken: "good-token-123456" });
      try {
        const msg = await rejectsWith(
          makeBackend({
            provider: "azure",
            base: f2.url,
            env: { AZURE_OPENAI_AD_TOKEN: "stale-token-654321" },
          }).complete(ask()),
          "auth",
        );
        assert.match(msg, /the Microsoft Entra token in AZURE_OPENAI_AD_TOKEN was rejected/);
        assert.match(msg, /It may have expired/);
        assert.ok(!msg.includes("stale-token-654321"));
      } finally {
        await f2.close();
      }
    });

    it("redacts the key and anything key-shaped the server echoes", async () => {
      fake.script({
        kind: "error",
        status: 500,
        message: `upstream said: key ${OPENAI_KEY} and sk-proj-abc123XYZ are bad`,
      });
      const msg = await rejectsWith(
        makeBackend({ provider: "openai", base: fake.url, maxRetries: 0 }).complete(ask()),
        "server",
      );
      assert.ok(!msg.includes(OPENAI_KEY), msg);
      assert.ok(!msg.includes("abc123XYZ"), msg);
      assert.match(msg, /upstream said: key (\[redacted\]|sk-\[redacted\]) and sk-\[redacted\] are bad/);
    });
  });

  describe("model and deployment", () => {
    for (const api of APIS) {
      it(`openai/${api}, unknown model: not_found, saying to set model`, async () => {
        const msg = await rejectsWith(
          makeBackend({
            provider: "openai",
            api,
            base: fake.url,
            spec: { model: "gpt-9-imaginary" },
          }).complete(ask()),
          "not_found",
        );
        assert.match(
          msg,
          /model 'gpt-9-imaginary' was not found \(404: The model `gpt-9-imaginary` does not exist/,
        );
        assert.match(msg, /Set model \(on the backend or the agent\) to a model this endpoint serves/);
      });
      it(`azure/${api}, unknown deployment: not_found, saying to set model to a deployment name`, async () => {
        const msg = await rejectsWith(
          makeBackend({
            provider: "azure",
            api,
            base: fake.url,
            spec: { model: "no-such-deployment" },
          }).complete(ask()),
          "not_found",
        );
        assert.match(msg, /deployment 'no-such-deployment' was not found \(404: The API deployment/);
        assert.match(msg, /Set model in backend 'azure_fake' to the name of a deployment of this resource/);
      });
    }

    it("compatible at a wrong base path: not_found, pointing at the /v1 suffix", async () => {
      const msg = await rejectsWith(
        makeBackend({ provider: "compatible", base: open.url, spec: { endpoint: open.url } }).complete(ask()),
        "not_found",
      );
      assert.match(msg, /check that endpoint is the server's OpenAI API base URL \(usually ending in \/v1\)/);
    });

    it("no model anywhere: config", async () => {
      const msg = await rejectsWith(
        makeBackend({ provider: "openai", base: fake.url, spec: { model: undefined } }).complete(ask()),
        "config",
      );
      assert.match(msg, /names no model: set model on the backend or the agent/);
    });

    it("compatible without an endpoint, azure without an endpoint: config with an example", async () => {
      const m1 = await rejectsWith(
        makeBackend({ provider: "compatible", base: open.url, spec: { endpoint: undefined } }).complete(
          ask(),
        ),
        "config",
      );
      assert.match(m1, /has no endpoint: set endpoint to the server's OpenAI API base URL, for example/);
      const m2 = await rejectsWith(
        makeBackend({ provider: "azure", base: fake.url, spec: { endpoint: undefined } }).complete(ask()),
        "config",
      );
      assert.match(m2, /has no endpoint: set endpoint to your resource/);
    });

    it("a bad STATECRAFT_MODEL_TIMEOUT_MS: config at creation", () => {
      assert.throws(
        () =>
          new OpenAIBackend(specFor("openai", "chat", fake.url), {
            env: { STATECRAFT_MODEL_TIMEOUT_MS: "soon" },
          }),
        /STATECRAFT_MODEL_TIMEOUT_MS must be a whole number \(it is 'soon'\)/,
      );
    });
  });

  describe("rate limits and server errors", () => {
    for (const provider of PROVIDERS)
      for (const api of APIS) {
        it(`${provider}/${api}: a 429 is retried by the SDK and the call then succeeds`, async () => {
          const srv = serverFor(provider);
          srv.script({ kind: "rate_limit", retryAfter: 0 }, { kind: "text", text: "after the wait" });
          const r = await makeBackend({ provider, api, base: srv.url }).complete(ask());
          assert.equal(r.text, "after the wait");
          assert.deepEqual(
            srv.journal.map((j) => j.status),
            [429, 200],
          );
        });
        it(`${provider}/${api}: a 429 that persists: rate_limit after every retry`, async () => {
          const srv = serverFor(provider);
          srv.script(
            { kind: "rate_limit", retryAfter: 0 },
            { kind: "rate_limit", retryAfter: 0 },
            { kind: "rate_limit", retryAfter: 0 },
          );
          const msg = await rejectsWith(
            makeBackend({ provider, api, base: srv.url }).complete(ask()),
            "rate_limit",
          );
          assert.match(
            msg,
            /rate limited \(429\) after 3 attempts, waiting as retry-after asked between attempts/,
          );
          assert.match(msg, /Wait and send again/);
          assert.equal(srv.journal.length, 3);
        });
      }

    it("waits as long as retry-after says before retrying", async () => {
      fake.script({ kind: "rate_limit", retryAfter: 1 }, { kind: "text", text: "ok" });
      await makeBackend({ provider: "openai", base: fake.url }).complete(ask());
      const gap = fake.journal[1].at - fake.journal[0].at;
      // A lower bound (the wait asked for), not a speed check.
      assert.ok(gap >= 950, `the retry came ${gap} ms after the 429 that asked for 1 s`);
    });

    it("insufficient_quota: rate_limit saying to check billing", async () => {
      const q = {
        kind: "error" as const,
        status: 429,
        code: "insufficient_quota",
        type: "insufficient_quota",
        message: "You exceeded your current quota, please check your plan and billing details.",
        headers: { "x-should-retry": "false" },
      };
      fake.script(q);
      const msg = await rejectsWith(
        makeBackend({ provider: "openai", base: fake.url }).complete(ask()),
        "rate_limit",
      );
      assert.match(msg, /quota is used up \(429 insufficient_quota/);
      assert.match(msg, /Check the plan and billing/);
      assert.doesNotMatch(msg, /\.\./);
    });

    for (const status of [500, 503]) {
      it(`a ${status} that persists: server, after the retries`, async () => {
        fake.script(
          { kind: "error", status, headers: fast },
          { kind: "error", status, headers: fast },
          { kind: "error", status, message: "The server had an error while processing your request." },
        );
        const msg = await rejectsWith(
          makeBackend({ provider: "openai", base: fake.url, maxRetries: 2 }).complete(ask()),
          "server",
        );
        assert.match(
          msg,
          new RegExp(`the server failed with ${status} after 3 attempts: The server had an error`),
        );
        assert.match(msg, /try again later/);
        assert.doesNotMatch(msg, /\.\./, "the server's full stop is not doubled");
      });
    }

    it("a 500 then a good answer: retried, the call succeeds", async () => {
      fake.script({ kind: "error", status: 500, headers: fast }, { kind: "text", text: "fine" });
      const r = await makeBackend({ provider: "azure", base: fake.url }).complete(ask());
      assert.equal(r.text, "fine");
    });

    // The same provider error classifies alike whether it comes as an HTTP status before the stream or as
    // an error event inside it (which the SDK raises without a status).
    const QUOTA = "You exceeded your current quota, please check your plan and billing details.";
    const inStream: {
      code: string;
      message: string;
      expect: BackendErrorCode;
      says: RegExp;
      not?: RegExp;
    }[] = [
      {
        code: "insufficient_quota",
        message: QUOTA,
        expect: "rate_limit",
        says: /the account's quota is used up \(insufficient_quota, reported in the response stream: You exceeded your current quota, please check your plan and billing details\.\)\. Check the plan and billing/,
        not: /try again later/i,
      },
      {
        code: "rate_limit_exceeded",
        message: "Rate limit reached for gpt-4.1-mini on tokens per min (TPM).",
        expect: "rate_limit",
        says: /rate limited \(rate_limit_exceeded, reported in the response stream: Rate limit reached.*\)\. Wait and send again/,
      },
      {
        code: "server_error",
        message: "The model overloaded mid-response.",
        expect: "server",
        says: /the server failed \(server_error, reported in the response stream: The model overloaded mid-response\.\)\. This is on the server's side: try again later\./,
      },
      {
        code: "something_new",
        message: "An error the backend has no advice for.",
        expect: "server",
        says: /the server reported an error in the response stream \(something_new\): An error the backend has no advice for\. The turn failed: send the input again\./,
      },
    ];
    for (const provider of ["openai", "azure"] as const)
      for (const api of APIS)
        for (const c of inStream)
          it(`${provider}/${api}: ${c.code} inside the stream: ${c.expect}, as its code says`, async () => {
            fake.script({ kind: "stream_error", message: c.message, code: c.code });
            const msg = await rejectsWith(
              makeBackend({ provider, api, base: fake.url }).complete(ask()),
              c.expect,
            );
            assert.match(msg, c.says);
            if (c.not) assert.doesNotMatch(msg, c.not);
            assert.doesNotMatch(msg, /\.\./, "no double full stop");
            assert.equal(fake.journal.length, 1, "an error inside a stream is not retried");
          });

    it("responses: a response.failed event without an error event: classified by its code", async () => {
      fake.script({ kind: "stream_error", message: QUOTA, code: "insufficient_quota", only: "failed" });
      const msg = await rejectsWith(
        makeBackend({ provider: "openai", api: "responses", base: fake.url }).complete(ask()),
        "rate_limit",
      );
      assert.match(msg, /quota is used up \(insufficient_quota, reported in the response stream/);
      assert.doesNotMatch(msg, /\.\./);
    });

    it("a 400 the backend has no special advice for: config, with the server's words", async () => {
      fake.script({
        kind: "error",
        status: 400,
        message: "Invalid schema for function 'f'",
        code: "invalid_function_parameters",
      });
      const msg = await rejectsWith(
        makeBackend({ provider: "openai", base: fake.url }).complete(ask()),
        "config",
      );
      assert.match(msg, /the server refused the request \(400: Invalid schema for function 'f'\)/);
    });
  });

  describe("context length", () => {
    for (const provider of PROVIDERS)
      for (const api of APIS)
        it(`${provider}/${api}: context_length, saying how to send less`, async () => {
          const srv = serverFor(provider);
          srv.script({ kind: "context_length" });
          const msg = await rejectsWith(
            makeBackend({ provider, api, base: srv.url }).complete(ask()),
            "context_length",
          );
          assert.match(msg, /the request does not fit the context window of model/);
          assert.match(msg, /lower the memory window, set summarize_after/);
          assert.equal(srv.journal.length, 1, "not retried");
        });

    it("the fake's byte limit answers context_length_exceeded for large requests", async () => {
      const f2 = await FakeOpenAIServer.start({ contextLimitBytes: 2000 });
      try {
        f2.script({ kind: "text", text: "small is fine" });
        const b = makeBackend({ provider: "compatible", base: f2.url });
        assert.equal((await b.complete(ask())).text, "small is fine");
        await rejectsWith(
          b.complete(ask({ messages: [{ role: "user", content: "x".repeat(3000) }] })),
          "context_length",
        );
      } finally {
        await f2.close();
      }
    });
  });

  describe("timeouts, cut streams and cancellation", () => {
    for (const api of APIS) {
      it(`${api}: no response headers in time: timeout, naming STATECRAFT_MODEL_TIMEOUT_MS`, async () => {
        fake.script({ kind: "text", text: "late", delayMs: 1500 });
        const msg = await rejectsWith(
          makeBackend({ provider: "openai", api, base: fake.url, timeoutMs: 150, maxRetries: 0 }).complete(
            ask(),
          ),
          "timeout",
        );
        assert.match(msg, /no response within 150 ms/);
        assert.match(msg, /set STATECRAFT_MODEL_TIMEOUT_MS to wait longer/);
      });

      it(`${api}: a stream that goes silent: timeout`, async () => {
        fake.script({ kind: "stall" });
        const msg = await rejectsWith(
          makeBackend({ provider: "openai", api, base: fake.url, timeoutMs: 200, maxRetries: 0 }).complete(
            ask(),
          ),
          "timeout",
        );
        assert.match(msg, /the response stream went silent for 200 ms/);
      });

      for (const how of ["destroy", "end"] as const)
        it(`${api}: a stream cut mid-way (${how === "destroy" ? "connection dropped" : "ended early"}): stream_cut`, async () => {
          // Past the first text deltas (Responses streams open with four lifecycle events).
          fake.script({
            kind: "cut",
            text: "Your order A1003 is on its way to",
            afterEvents: api === "chat" ? 4 : 7,
            how,
          });
          const seen: string[] = [];
          const msg = await rejectsWith(
            makeBackend({ provider: "openai", api, base: fake.url }).complete(
              ask({ onText: (d) => seen.push(d) }),
            ),
            "stream_cut",
          );
          assert.match(msg, /the response stream was cut .*before the response finished/);
          assert.match(
            msg,
            /The turn failed; what was recorded before this model call is kept. Send the input again./,
          );
          assert.ok(seen.length > 0, "deltas before the cut were streamed");
          assert.equal(fake.journal.length, 1, "a streaming body is not retried");
        });
    }

    it("a server that does not listen: server, saying it cannot be reached", async () => {
      const port = await new Promise<number>((resolve) => {
        const s = net.createServer();
        s.listen(0, "127.0.0.1", () => {
          const p = (s.address() as net.AddressInfo).port;
          s.close(() => resolve(p));
        });
      });
      const msg = await rejectsWith(
        makeBackend({ provider: "compatible", base: `http://127.0.0.1:${port}`, maxRetries: 0 }).complete(
          ask(),
        ),
        "server",
      );
      assert.match(msg, /cannot reach the server \(ECONNREFUSED\)/);
      assert.match(msg, /Check endpoint in backend 'compatible_fake' and that the server is running/);
    });

    for (const api of APIS) {
      it(`${api}: cancelling while waiting for headers stops the request: cancelled`, async () => {
        fake.script({ kind: "text", text: "late", delayMs: 3000 });
        const ac = new AbortController();
        const p = makeBackend({ provider: "openai", api, base: fake.url }).complete(
          ask({ signal: ac.signal }),
        );
        setTimeout(() => ac.abort(), 50);
        const msg = await rejectsWith(p, "cancelled");
        assert.equal(msg, "cancelled");
      });

      it(`${api}: cancelling mid-stream stops it: cancelled`, async () => {
        fake.script({ kind: "stall" });
        const ac = new AbortController();
        const p = makeBackend({ provider: "azure", api, base: fake.url }).complete(
          ask({ signal: ac.signal }),
        );
        await waitFor("the server to answer the headers", () => fake.journal[0]?.status === 200);
        ac.abort();
        await rejectsWith(p, "cancelled");
      });
    }

    it("cancelling during a retry wait stops there: cancelled, and no further attempt", async () => {
      fake.script({ kind: "rate_limit", retryAfter: 1 }, { kind: "text", text: "never" });
      const ac = new AbortController();
      const p = makeBackend({ provider: "openai", base: fake.url }).complete(ask({ signal: ac.signal }));
      await waitFor("the first request", () => fake.journal.length > 0);
      ac.abort();
      await rejectsWith(p, "cancelled");
      // Past the time the retry would have gone out: it never did.
      await new Promise((r) => setTimeout(r, 1300));
      assert.equal(fake.journal.length, 1);
    });

    it("an already cancelled signal sends nothing", async () => {
      const ac = new AbortController();
      ac.abort();
      await rejectsWith(
        makeBackend({ provider: "openai", base: fake.url }).complete(ask({ signal: ac.signal })),
        "cancelled",
      );
      assert.equal(fake.journal.length, 0);
    });
  });
});
