// Contract tests of the stateless backend: the real `openai` SDK (v6) and
// OpenAIBackend against the fake OpenAI server, for each provider (openai,
// azure, compatible) and both APIs (chat, responses).

import { strict as assert } from "node:assert";
import * as http from "node:http";
import type { Message, ToolSchema } from "../../server/protocol/events";
import { createBackend } from "../../server/backends";
import { OpenAIBackend } from "../../server/backends/openai";
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

const tools: ToolSchema[] = [
  {
    name: "lookup_order",
    description: "Look an order up",
    parameters: {
      type: "object",
      properties: { id: { type: "string" } },
      required: ["id"],
      additionalProperties: false,
    },
  },
  {
    name: "weather",
    description: "Weather in a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
];

describe("OpenAIBackend against the fake OpenAI server", function () {
  // The OpenAI and Azure paths with their keys; an OpenAI-compatible server without auth (as Ollama runs).
  let secured: FakeOpenAIServer;
  let open: FakeOpenAIServer;
  let fake: FakeOpenAIServer;
  before(async () => {
    secured = await FakeOpenAIServer.start({
      apiKey: OPENAI_KEY,
      azureKey: AZURE_KEY,
      models: [MODEL],
      deployments: [DEPLOYMENT],
    });
    open = await FakeOpenAIServer.start({ models: [MODEL] });
  });
  after(async () => {
    await secured.close();
    await open.close();
  });
  beforeEach(() => {
    secured.reset();
    open.reset();
    fake = secured;
  });

  it("createBackend returns it for openai, azure and compatible", () => {
    for (const p of PROVIDERS) {
      const b = createBackend(specFor(p, "chat", fake.url), { env: {} });
      assert.ok(b instanceof OpenAIBackend);
      assert.equal(b.provider, p);
      assert.equal(b.kind, "stateless");
    }
  });

  for (const provider of PROVIDERS)
    for (const api of APIS)
      describe(`${provider} / ${api}`, () => {
        beforeEach(() => {
          if (provider === "compatible") fake = open;
        });
        const backend = () => makeBackend({ provider, api, base: fake.url });

        it("streams a text reply, records usage and the bytes sent", async () => {
          fake.script({
            kind: "text",
            text: "Your order A1003 ships tomorrow.",
            usage: { input: 42, output: 9 },
          });
          const deltas: string[] = [];
          const messages: Message[] = [
            { role: "system", content: "You are support." },
            { role: "user", content: "Where is A1003?" },
          ];
          const r = await backend().complete({
            messages,
            tools,
            onText: (d) => deltas.push(d),
            temperature: 0.2,
          });
          assert.equal(r.text, "Your order A1003 ships tomorrow.");
          assert.ok(deltas.length > 1, "text arrived in several deltas");
          assert.equal(deltas.join(""), r.text);
          assert.deepEqual(r.toolCalls, []);
          assert.deepEqual(r.usage, { inputTokens: 42, outputTokens: 9 });
          assert.equal(r.stopReason, "end_turn");
          assert.equal(fake.journal.length, 1);
          const req = fake.journal[0];
          assert.equal(r.requestBytes, req.bytes, "requestBytes is the size of the body the server received");
          assert.equal(req.api, api);
          assert.equal(req.stream, true);
          const body = req.body as Record<string, unknown>;
          assert.equal(body.temperature, 0.2);
          if (api === "chat") {
            assert.deepEqual(body.stream_options, { include_usage: true });
            assert.deepEqual(body.messages, [
              { role: "system", content: "You are support." },
              { role: "user", content: "Where is A1003?" },
            ]);
            assert.deepEqual(
              (body.tools as { function: { name: string } }[]).map((t) => t.function.name),
              ["lookup_order", "weather"],
            );
          } else {
            assert.equal(body.store, false);
            assert.deepEqual(body.input, [
              { role: "system", content: "You are support." },
              { role: "user", content: "Where is A1003?" },
            ]);
            assert.deepEqual(
              (body.tools as { name: string; type: string }[]).map((t) => [t.type, t.name]),
              [
                ["function", "lookup_order"],
                ["function", "weather"],
              ],
            );
          }
          if (provider === "azure") {
            assert.equal(req.auth, "api-key");
            assert.equal(req.headers["api-key"], "[redacted]");
            assert.ok(req.apiVersion, "api-version query parameter sent");
            assert.equal(req.deployment, DEPLOYMENT);
            if (api === "chat")
              assert.match(
                req.path,
                /^\/openai\/deployments\/support-gpt41\/chat\/completions\?api-version=/,
              );
            else assert.match(req.path, /^\/openai\/responses\?api-version=/);
          } else {
            assert.equal(body.model, MODEL);
            assert.equal(req.path, api === "chat" ? "/v1/chat/completions" : "/v1/responses");
            // compatible without a key sends no Authorization header at all.
            assert.equal(req.auth, provider === "openai" ? "bearer" : "none");
            assert.equal("authorization" in req.headers, provider === "openai");
          }
        });

        it("assembles parallel tool calls from argument deltas and sends results back in the API's shape", async () => {
          fake.script(
            {
              kind: "tools",
              calls: [
                { name: "lookup_order", arguments: { id: "A1003" }, id: "call_a" },
                { name: "weather", arguments: { city: "Zürich ☀" }, id: "call_b" },
              ],
            },
            { kind: "text", text: "Done." },
          );
          const b = backend();
          const messages: Message[] = [{ role: "user", content: "order and weather" }];
          const r = await b.complete({ messages, tools });
          assert.equal(r.stopReason, "tool_use");
          assert.deepEqual(r.toolCalls, [
            { id: "call_a", name: "lookup_order", input: { id: "A1003" } },
            { id: "call_b", name: "weather", input: { city: "Zürich ☀" } },
          ]);
          const next: Message[] = [
            ...messages,
            { role: "assistant", content: r.text, toolCalls: r.toolCalls },
            { role: "tool", toolCallId: "call_a", name: "lookup_order", content: '{"status":"shipped"}' },
            { role: "tool", toolCallId: "call_b", name: "weather", content: "Error: offline", isError: true },
          ];
          const r2 = await b.complete({ messages: next, tools });
          assert.equal(r2.text, "Done.");
          const body = fake.journal[1].body as Record<string, unknown>;
          if (api === "chat")
            assert.deepEqual(body.messages, [
              { role: "user", content: "order and weather" },
              {
                role: "assistant",
                content: null,
                tool_calls: [
                  {
                    id: "call_a",
                    type: "function",
                    function: { name: "lookup_order", arguments: '{"id":"A1003"}' },
                  },
                  {
                    id: "call_b",
                    type: "function",
                    function: { name: "weather", arguments: '{"city":"Zürich ☀"}' },
                  },
                ],
              },
              { role: "tool", tool_call_id: "call_a", content: '{"status":"shipped"}' },
              { role: "tool", tool_call_id: "call_b", content: "Error: offline" },
            ]);
          else
            assert.deepEqual(body.input, [
              { role: "user", content: "order and weather" },
              { type: "function_call", call_id: "call_a", name: "lookup_order", arguments: '{"id":"A1003"}' },
              { type: "function_call", call_id: "call_b", name: "weather", arguments: '{"city":"Zürich ☀"}' },
              { type: "function_call_output", call_id: "call_a", output: '{"status":"shipped"}' },
              { type: "function_call_output", call_id: "call_b", output: "Error: offline" },
            ]);
        });
      });

  it("passes tool arguments that are not JSON on as text, so the engine's validation reports them", async () => {
    fake.script({ kind: "tools", calls: [{ name: "weather", arguments: '{"city": "Par' }] });
    const r = await makeBackend({ provider: "openai", base: fake.url }).complete({
      messages: [{ role: "user", content: "x" }],
      tools,
    });
    assert.equal(r.toolCalls[0].input, '{"city": "Par');
  });

  it("sends an assistant reply that had text and tool calls as both (responses: message item then call)", async () => {
    fake.script({ kind: "text", text: "ok" });
    await makeBackend({ provider: "openai", api: "responses", base: fake.url }).complete({
      messages: [
        { role: "user", content: "q" },
        {
          role: "assistant",
          content: "Checking.",
          toolCalls: [{ id: "c1", name: "weather", input: { city: "Oslo" } }],
        },
        { role: "tool", toolCallId: "c1", name: "weather", content: "5C" },
      ],
      tools,
    });
    assert.deepEqual((fake.journal[0].body as { input: unknown[] }).input.slice(1), [
      { role: "assistant", content: "Checking." },
      { type: "function_call", call_id: "c1", name: "weather", arguments: '{"city":"Oslo"}' },
      { type: "function_call_output", call_id: "c1", output: "5C" },
    ]);
  });

  it("uses the agent's model over the backend's (the Azure deployment in the path)", async () => {
    const f2 = await FakeOpenAIServer.start({ azureKey: AZURE_KEY });
    try {
      f2.script({ kind: "text", text: "hi" });
      await makeBackend({ provider: "azure", base: f2.url }).complete({
        model: "other-deployment",
        messages: [{ role: "user", content: "x" }],
        tools: [],
      });
      assert.equal(f2.journal[0].deployment, "other-deployment");
    } finally {
      await f2.close();
    }
  });

  it("azure: authenticates with a Microsoft Entra token from AZURE_OPENAI_AD_TOKEN when no key is set", async () => {
    const token = "entra-token-xyz-123456";
    const f2 = await FakeOpenAIServer.start({ azureAdToken: token });
    try {
      f2.script({ kind: "text", text: "hi" });
      const b = makeBackend({ provider: "azure", base: f2.url, env: { AZURE_OPENAI_AD_TOKEN: token } });
      const r = await b.complete({ messages: [{ role: "user", content: "x" }], tools: [] });
      assert.equal(r.text, "hi");
      assert.equal(f2.journal[0].auth, "bearer");
      assert.equal(f2.journal[0].headers.authorization, "[redacted]");
    } finally {
      await f2.close();
    }
  });

  it("ignores the SDK's own variables in the process environment (OPENAI_BASE_URL, AZURE_OPENAI_API_KEY, OPENAI_LOG)", async () => {
    const saved = { ...process.env };
    process.env.OPENAI_BASE_URL = "http://127.0.0.1:9/v1";
    process.env.AZURE_OPENAI_API_KEY = "ambient-azure-key";
    process.env.OPENAI_LOG = "debug";
    const logged: unknown[] = [];
    const orig = { debug: console.debug, info: console.info, log: console.log };
    console.debug = console.info = console.log = (...a: unknown[]) => void logged.push(a);
    const token = "entra-token-abc-987654";
    const f2 = await FakeOpenAIServer.start({ azureAdToken: token, apiKey: OPENAI_KEY });
    try {
      f2.script({ kind: "text", text: "azure ok" }, { kind: "text", text: "openai ok" });
      const az = makeBackend({ provider: "azure", base: f2.url, env: { AZURE_OPENAI_AD_TOKEN: token } });
      assert.equal(
        (await az.complete({ messages: [{ role: "user", content: "x" }], tools: [] })).text,
        "azure ok",
      );
      const oa = makeBackend({ provider: "openai", base: f2.url });
      assert.equal(
        (await oa.complete({ messages: [{ role: "user", content: "x" }], tools: [] })).text,
        "openai ok",
      );
      assert.deepEqual(logged, [], "the SDK logged nothing");
    } finally {
      Object.assign(console, orig);
      for (const k of ["OPENAI_BASE_URL", "AZURE_OPENAI_API_KEY", "OPENAI_LOG"])
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
      await f2.close();
    }
  });

  it("azure: uses api_version as given", async () => {
    fake.script({ kind: "text", text: "hi" });
    await makeBackend({ provider: "azure", base: fake.url, spec: { apiVersion: "2024-06-01" } }).complete({
      messages: [{ role: "user", content: "x" }],
      tools: [],
    });
    assert.equal(fake.journal[0].apiVersion, "2024-06-01");
  });

  it("compatible without a key, against a server that wants one: auth, naming the setting to add", async () => {
    const msg = await rejectsWith(
      makeBackend({ provider: "compatible", base: fake.url }).complete({
        messages: [{ role: "user", content: "x" }],
        tools: [],
      }),
      "auth",
    );
    assert.match(msg, /add api_key: env\("OPENAI_API_KEY"\) to backend 'compatible_fake'/);
  });

  it("compatible with a key sends it as a bearer token", async () => {
    fake.script({ kind: "text", text: "hi" });
    await makeBackend({
      provider: "compatible",
      base: fake.url,
      spec: { apiKeyEnv: "LOCAL_KEY" },
      env: { LOCAL_KEY: OPENAI_KEY },
    }).complete({ messages: [{ role: "user", content: "x" }], tools: [] });
    assert.equal(fake.journal[0].auth, "bearer");
  });

  it("summarize asks the model for a summary", async () => {
    fake.script({ kind: "text", text: "Ada asked about A1003." });
    const s = await makeBackend({ provider: "openai", base: fake.url }).summarize("user: where is A1003?");
    assert.equal(s, "Ada asked about A1003.");
    const body = fake.journal[0].body as { messages: { role: string; content: string }[] };
    assert.equal(body.messages[1].content, "user: where is A1003?");
  });

  it("estimates usage when a compatible server ignores include_usage", async () => {
    // A raw SSE stream without a usage chunk, as some OpenAI-compatible servers send.
    const srv = http.createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        res.writeHead(200, { "content-type": "text/event-stream" });
        const c = (delta: object, finish: string | null = null) =>
          `data: ${JSON.stringify({ id: "x", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
        res.end(
          c({ role: "assistant", content: "" }) +
            c({ content: "hello there" }) +
            c({}, "stop") +
            "data: [DONE]\n\n",
        );
      });
    });
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    try {
      const port = (srv.address() as { port: number }).port;
      const r = await makeBackend({ provider: "compatible", base: `http://127.0.0.1:${port}` }).complete({
        messages: [{ role: "user", content: "hi" }],
        tools: [],
      });
      assert.equal(r.text, "hello there");
      assert.ok(r.usage.inputTokens > 0 && r.usage.outputTokens > 0);
    } finally {
      await new Promise<void>((r) => srv.close(() => r()));
    }
  });
});
