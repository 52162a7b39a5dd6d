// The fake OpenAI server checked by the SDK's own machinery: the `openai`
// package's stream accumulators (ChatCompletionStream, ResponseStream) fold
// the fake's SSE into the same objects its JSON answers give, and reject
// event sequences that do not fit. This is what makes the fake wire-faithful
// for the other helpers that reuse it.

import { strict as assert } from "node:assert";
import OpenAI, { AzureOpenAI } from "openai";
import { FakeOpenAIServer, type FakeReply } from "../fakes/openaiServer";

const KEY = "sk-fake-selftest-123456";
const tools: OpenAI.Chat.Completions.ChatCompletionFunctionTool[] = [
  {
    type: "function",
    function: {
      name: "lookup_order",
      parameters: { type: "object", properties: { id: { type: "string" } } },
    },
  },
];
const twoCalls: FakeReply = {
  kind: "tools",
  text: "Checking both.",
  calls: [
    { name: "lookup_order", arguments: { id: "A1" }, id: "call_1" },
    { name: "lookup_order", arguments: { id: "A2" }, id: "call_2" },
  ],
  usage: { input: 30, output: 12 },
};

describe("the fake OpenAI server, read by the SDK's own accumulators", () => {
  let fake: FakeOpenAIServer;
  let client: OpenAI;
  before(async () => {
    fake = await FakeOpenAIServer.start({ apiKey: KEY });
    client = new OpenAI({ apiKey: KEY, baseURL: fake.openaiURL, maxRetries: 0, logLevel: "off" });
  });
  after(() => fake.close());
  beforeEach(() => fake.reset());

  it("chat: the streamed answer folds into the same message as the JSON answer", async () => {
    fake.script(twoCalls, twoCalls);
    const json = await client.chat.completions.create({
      model: "m",
      messages: [{ role: "user", content: "x" }],
      tools,
    });
    const stream = client.chat.completions.stream({
      model: "m",
      messages: [{ role: "user", content: "x" }],
      tools,
      stream_options: { include_usage: true },
    });
    const folded = await stream.finalChatCompletion();
    const strip = (m: OpenAI.Chat.Completions.ChatCompletionMessage) => ({
      content: m.content,
      tool_calls: m.tool_calls,
    });
    assert.deepEqual(strip(folded.choices[0].message), strip(json.choices[0].message));
    assert.equal(folded.choices[0].finish_reason, "tool_calls");
    assert.deepEqual(folded.usage, json.usage);
    assert.deepEqual(json.usage, { prompt_tokens: 30, completion_tokens: 12, total_tokens: 42 });
  });

  it("responses: the SSE sequence folds into the same output as the JSON answer", async () => {
    fake.script(twoCalls, twoCalls, { kind: "text", text: "Plain words, streamed." });
    const input = [{ role: "user" as const, content: "x" }];
    const rtools: OpenAI.Responses.FunctionTool[] = [
      { type: "function", name: "lookup_order", parameters: { type: "object" }, strict: false },
    ];
    const json = await client.responses.create({ model: "m", input, tools: rtools, store: false });
    const stream = client.responses.stream({ model: "m", input, tools: rtools, store: false });
    const types: string[] = [];
    stream.on("event", (e) => types.push(e.type));
    const folded = await stream.finalResponse();
    // Item ids differ per response; the SDK's stream helper adds parsed fields.
    const plain = (v: unknown) =>
      JSON.parse(
        JSON.stringify(v, (k, x: unknown) =>
          k === "id" || k === "parsed" || k === "parsed_arguments" ? undefined : x,
        ),
      ) as unknown;
    assert.deepEqual(plain(folded.output), plain(json.output));
    assert.deepEqual(folded.usage, json.usage);
    assert.equal(folded.status, "completed");
    assert.deepEqual(
      [...new Set(types)],
      [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.completed",
      ],
    );
    const text = client.responses.stream({ model: "m", input });
    assert.equal((await text.finalResponse()).output_text, "Plain words, streamed.");
  });

  it("azure: AzureOpenAI reaches the deployment path with api-version and api-key", async () => {
    const az = await FakeOpenAIServer.start({ azureKey: "az-123456", deployments: ["dep"] });
    try {
      az.script({ kind: "text", text: "hi" });
      const c = new AzureOpenAI({
        endpoint: az.url,
        apiKey: "az-123456",
        apiVersion: "2024-10-21",
        maxRetries: 0,
        logLevel: "off",
      });
      const r = await c.chat.completions.create({ model: "dep", messages: [{ role: "user", content: "x" }] });
      assert.equal(r.choices[0].message.content, "hi");
      assert.equal(az.journal[0].path, "/openai/deployments/dep/chat/completions?api-version=2024-10-21");
      assert.equal(az.journal[0].headers["api-key"], "[redacted]");
    } finally {
      await az.close();
    }
  });

  it("journals every request, secrets redacted, with the body's byte length", async () => {
    fake.script({ kind: "text", text: "ok" });
    await client.chat.completions.create({ model: "m", messages: [{ role: "user", content: "héllo" }] });
    const j = fake.journal[0];
    assert.equal(j.method, "POST");
    assert.equal(j.headers.authorization, "[redacted]");
    assert.ok(!JSON.stringify(fake.journal).includes(KEY));
    assert.equal(j.bytes, Buffer.byteLength(JSON.stringify(j.body)));
    assert.equal(j.status, 200);
  });

  it("answers a 400 saying so when the script runs out", async () => {
    await assert.rejects(
      client.chat.completions.create({ model: "m", messages: [{ role: "user", content: "x" }] }),
      (e: unknown) => e instanceof OpenAI.BadRequestError && /no scripted reply left/.test(e.message),
    );
  });
});
