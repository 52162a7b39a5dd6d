// The Bedrock backend through the real @aws-sdk/client-bedrock-runtime (its
// default HTTP/2 transport, SigV4 signing, retries and event-stream decoding)
// against the fake Bedrock runtime: the Converse request it builds, streamed
// text, tool use round trips (parallel ones too), every stop reason, usage,
// request bytes, each error's code and message, failures in the middle of the
// stream, cancellation and the idle timeout, and the configuration errors.
import { strict as assert } from "node:assert";
import * as os from "node:os";
import * as path from "node:path";
import { BedrockBackend, type BedrockBackendOptions } from "../../server/backends/bedrock";
import { createBackend } from "../../server/backends/index";
import type { CompiledBackend } from "../../server/language/compile";
import type { Message, ToolSchema } from "../../server/protocol/events";
import { BackendError, type BackendErrorCode, type ModelRequest } from "../../server/runtime/model";
import {
  FAKE_CREDENTIALS,
  startFakeBedrock,
  type FakeBedrock,
  type FakeBedrockReply,
} from "../fakes/bedrockServer";
import { waitFor } from "../helpers/waitFor";

const MODEL = "us.anthropic.claude-3-5-haiku-20241022-v1:0";

const SPEC: CompiledBackend = {
  name: "aws_runtime",
  kind: "stateful",
  provider: "bedrock",
  model: MODEL,
  api: "chat",
  // A stateful declaration's endpoint is the runtime service: the backend must never send Bedrock calls there.
  endpoint: "http://127.0.0.1:9/never-bedrock",
};

const LOOKUP: ToolSchema = {
  name: "lookup_order",
  description: "Look up an order by id",
  parameters: {
    type: "object",
    properties: { order_id: { type: "string" } },
    required: ["order_id"],
    additionalProperties: false,
  },
};
const REFUND: ToolSchema = {
  name: "refund",
  description: "Refund an order",
  parameters: { type: "object", properties: { order_id: { type: "string" }, amount: { type: "number" } } },
};

const hello: Message[] = [
  { role: "system", content: "You are support." },
  { role: "user", content: "Where is my order A1003?" },
];

let fake: FakeBedrock;
const made: BedrockBackend[] = [];

function backend(env: NodeJS.ProcessEnv = {}, options: Partial<BedrockBackendOptions> = {}, spec = SPEC) {
  const b = new BedrockBackend(spec, { env: { ...fake.env, AWS_MAX_ATTEMPTS: "1", ...env }, ...options });
  made.push(b);
  return b;
}

async function fails(
  promise: Promise<unknown>,
  code: BackendErrorCode,
  ...patterns: RegExp[]
): Promise<BackendError> {
  const err = await promise.then(
    () => assert.fail(`expected a ${code} error`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof BackendError, `a BackendError, got ${String(err)}`);
  assert.equal(err.code, code, err.message);
  for (const p of patterns) assert.match(err.message, p);
  for (const secret of [FAKE_CREDENTIALS.secretAccessKey, FAKE_CREDENTIALS.accessKeyId])
    assert.ok(!err.message.includes(secret), "no credential in the message");
  return err;
}

async function once(reply: FakeBedrockReply, request: Partial<ModelRequest> = {}, b = backend()) {
  fake.script(reply);
  const deltas: string[] = [];
  const response = await b.complete({
    messages: hello,
    tools: [],
    onText: (d) => deltas.push(d),
    ...request,
  });
  return { response, deltas };
}

before(async () => {
  fake = await startFakeBedrock();
});
after(async () => {
  await fake.close();
});
afterEach(() => {
  for (const b of made.splice(0)) b.destroy();
  assert.equal(fake.pending, 0, "every scripted reply was used");
  fake.requests.length = 0;
});

describe("bedrock backend: requests and streamed replies", () => {
  it("is what createBackend returns for provider bedrock", () => {
    const b = createBackend(SPEC, { env: fake.env });
    assert.ok(b instanceof BedrockBackend);
    assert.deepEqual([b.name, b.kind, b.provider], ["aws_runtime", "stateful", "bedrock"]);
  });

  it("streams text deltas to onText and returns the text, stop reason, usage and request bytes", async () => {
    const { response, deltas } = await once(
      {
        chunks: ["Your order ", "A1003 ", "shipped ", "yesterday."],
        usage: { inputTokens: 321, outputTokens: 9 },
      },
      { temperature: 0.2 },
    );
    assert.deepEqual(deltas, ["Your order ", "A1003 ", "shipped ", "yesterday."]);
    assert.equal(response.text, "Your order A1003 shipped yesterday.");
    assert.deepEqual(response.toolCalls, []);
    assert.equal(response.stopReason, "end_turn");
    assert.deepEqual(response.usage, { inputTokens: 321, outputTokens: 9 });

    assert.equal(fake.requests.length, 1);
    const req = fake.requests[0];
    assert.equal(req.operation, "converse-stream");
    assert.equal(req.modelId, MODEL);
    assert.equal(req.path, `/model/${encodeURIComponent(MODEL)}/converse-stream`);
    assert.equal(response.requestBytes, Buffer.byteLength(req.raw), "the bytes of the body sent");
    assert.deepEqual(req.body.system, [{ text: "You are support." }]);
    assert.deepEqual(req.body.messages, [{ role: "user", content: [{ text: "Where is my order A1003?" }] }]);
    assert.deepEqual(req.body.inferenceConfig, { temperature: 0.2 });
    assert.equal(req.body.toolConfig, undefined, "no toolConfig without tools");
    // Signed with SigV4 for bedrock in the region, with a valid signature (the fake recomputes it).
    assert.equal(req.auth, "sigv4");
    assert.match(
      String(req.headers.authorization),
      new RegExp(
        `^AWS4-HMAC-SHA256 Credential=${FAKE_CREDENTIALS.accessKeyId}/\\d{8}/us-east-1/bedrock/aws4_request`,
      ),
    );
  });

  it("uses the agent's model over the backend's, and sends maxTokens when it is known", async () => {
    await once({ text: "ok" }, { model: "amazon.nova-lite-v1:0" }, backend({}, { maxTokens: 512 }));
    assert.equal(fake.requests[0].modelId, "amazon.nova-lite-v1:0");
    assert.deepEqual(fake.requests[0].body.inferenceConfig, { maxTokens: 512 });
  });

  it("round-trips a tool use: toolConfig out, the call back, toolUse and toolResult in the next request", async () => {
    const b = backend();
    fake.script({
      text: "Let me check.",
      toolUses: [{ id: "tooluse_A", name: "lookup_order", input: { order_id: "A1003" } }],
    });
    const first = await b.complete({ messages: hello, tools: [LOOKUP, REFUND] });
    assert.equal(first.stopReason, "tool_use");
    assert.equal(first.text, "Let me check.");
    assert.deepEqual(first.toolCalls, [
      { id: "tooluse_A", name: "lookup_order", input: { order_id: "A1003" } },
    ]);
    assert.deepEqual(fake.requests[0].body.toolConfig, {
      tools: [
        {
          toolSpec: {
            name: "lookup_order",
            description: LOOKUP.description,
            inputSchema: { json: LOOKUP.parameters },
          },
        },
        {
          toolSpec: {
            name: "refund",
            description: REFUND.description,
            inputSchema: { json: REFUND.parameters },
          },
        },
      ],
    });

    fake.script({ text: "It shipped on Monday." });
    const second = await b.complete({
      messages: [
        ...hello,
        { role: "assistant", content: first.text, toolCalls: first.toolCalls },
        { role: "tool", toolCallId: "tooluse_A", name: "lookup_order", content: '{"status":"shipped"}' },
      ],
      tools: [LOOKUP, REFUND],
    });
    assert.equal(second.text, "It shipped on Monday.");
    assert.deepEqual(fake.requests[1].body.messages, [
      { role: "user", content: [{ text: "Where is my order A1003?" }] },
      {
        role: "assistant",
        content: [
          { text: "Let me check." },
          { toolUse: { toolUseId: "tooluse_A", name: "lookup_order", input: { order_id: "A1003" } } },
        ],
      },
      {
        role: "user",
        content: [
          {
            toolResult: {
              toolUseId: "tooluse_A",
              content: [{ text: '{"status":"shipped"}' }],
              status: "success",
            },
          },
        ],
      },
    ]);
  });

  it("assembles parallel tool uses in order and sends their results in one user message, errors marked", async () => {
    const b = backend();
    fake.script({
      toolUses: [
        { id: "tu_1", name: "lookup_order", input: { order_id: "A1001" } },
        { id: "tu_2", name: "refund", input: { order_id: "A1001", amount: 40, note: 'arrived "damaged" ✓' } },
      ],
    });
    const first = await b.complete({ messages: hello, tools: [LOOKUP, REFUND] });
    assert.equal(first.text, "");
    assert.deepEqual(first.toolCalls, [
      { id: "tu_1", name: "lookup_order", input: { order_id: "A1001" } },
      { id: "tu_2", name: "refund", input: { order_id: "A1001", amount: 40, note: 'arrived "damaged" ✓' } },
    ]);
    fake.script({ text: "Done." });
    await b.complete({
      messages: [
        ...hello,
        { role: "assistant", content: "", toolCalls: first.toolCalls },
        { role: "tool", toolCallId: "tu_1", name: "lookup_order", content: "ok" },
        { role: "tool", toolCallId: "tu_2", name: "refund", content: "refunds are closed", isError: true },
      ],
      tools: [LOOKUP, REFUND],
    });
    const sent = fake.requests[1].body.messages ?? [];
    assert.deepEqual(
      sent.map((m) => m.role),
      ["user", "assistant", "user"],
    );
    assert.deepEqual(sent[1].content, [
      { toolUse: { toolUseId: "tu_1", name: "lookup_order", input: { order_id: "A1001" } } },
      { toolUse: { toolUseId: "tu_2", name: "refund", input: first.toolCalls[1].input } },
    ]);
    assert.deepEqual(sent[2].content, [
      { toolResult: { toolUseId: "tu_1", content: [{ text: "ok" }], status: "success" } },
      { toolResult: { toolUseId: "tu_2", content: [{ text: "refunds are closed" }], status: "error" } },
    ]);
  });

  it("gives a tool with no input an empty object", async () => {
    const { response } = await once({ toolUses: [{ id: "t0", name: "ping", input: {}, rawInput: "" }] });
    assert.deepEqual(response.toolCalls, [{ id: "t0", name: "ping", input: {} }]);
  });

  it("maps tool names Bedrock refuses to valid ones, and back", async () => {
    const odd: ToolSchema = { name: "orders.lookup", description: "d", parameters: { type: "object" } };
    const { response } = await once(
      { toolUses: [{ id: "t1", name: "orders_lookup", input: { id: 1 } }] },
      { tools: [odd, LOOKUP] },
    );
    const sent = fake.requests[0].body.toolConfig?.tools.map((t) => t.toolSpec.name);
    assert.deepEqual(sent, ["orders_lookup", "lookup_order"]);
    assert.deepEqual(response.toolCalls, [{ id: "t1", name: "orders.lookup", input: { id: 1 } }]);
  });

  for (const [bedrock, ours] of [
    ["end_turn", "end_turn"],
    ["tool_use", "tool_use"],
    ["max_tokens", "max_tokens"],
    ["stop_sequence", "stop_sequence"],
    ["guardrail_intervened", "guardrail_intervened"],
    ["content_filtered", "content_filter"],
    ["model_context_window_exceeded", "model_context_window_exceeded"],
    ["malformed_model_output", "malformed_model_output"],
    ["malformed_tool_use", "malformed_tool_use"],
  ])
    it(`reports stopReason ${bedrock} as ${ours}`, async () => {
      const { response } = await once({ text: "partial", stopReason: bedrock });
      assert.equal(response.stopReason, ours);
      assert.equal(response.text, "partial");
    });

  it("refuses a tool call whose input was cut off at max_tokens, naming the tool", async () => {
    await fails(
      once({
        toolUses: [{ name: "refund", input: null, rawInput: '{"order_id": "A10' }],
        stopReason: "max_tokens",
      }),
      "server",
      /output limit \(max_tokens\)/,
      /'refund'/,
    );
  });

  it("the fake's fallback answers unscripted requests (for benches)", async () => {
    const auto = await startFakeBedrock({ fallback: (r) => ({ text: `echo ${r.body.messages?.length}` }) });
    try {
      const b = new BedrockBackend(SPEC, { env: { ...auto.env } });
      made.push(b);
      assert.equal((await b.complete({ messages: hello, tools: [] })).text, "echo 1");
    } finally {
      await auto.close();
    }
  });

  it("summarizes through Converse (JSON)", async () => {
    fake.script({ text: "Ada asked about order A1003; it shipped." });
    const summary = await backend().summarize("user: where is A1003?\nassistant: it shipped");
    assert.equal(summary, "Ada asked about order A1003; it shipped.");
    const req = fake.requests[0];
    assert.equal(req.operation, "converse");
    assert.match(req.body.system?.[0].text ?? "", /Summarize/);
    assert.deepEqual(req.body.messages, [
      { role: "user", content: [{ text: "user: where is A1003?\nassistant: it shipped" }] },
    ]);
  });
});

describe("bedrock backend: errors", () => {
  it("retries throttling (the SDK's retries) and then reports rate_limit with the attempts", async () => {
    fake.script({ error: "throttlingException" }, { error: "throttlingException" });
    await fails(
      backend({ AWS_MAX_ATTEMPTS: "2" }).complete({ messages: hello, tools: [] }),
      "rate_limit",
      /throttled/,
      /after 2 attempts/,
      /AWS_MAX_ATTEMPTS/,
      /Service Quotas/,
    );
    assert.equal(fake.requests.length, 2, "the SDK retried once");
  });

  it("succeeds when a retry after throttling gets through", async () => {
    fake.script({ error: "throttlingException" }, { text: "made it" });
    const r = await backend({ AWS_MAX_ATTEMPTS: "3" }).complete({ messages: hello, tools: [] });
    assert.equal(r.text, "made it");
    assert.equal(fake.requests.length, 2);
  });

  const cases: [string, FakeBedrockReply, BackendErrorCode, RegExp[]][] = [
    [
      "a too-long input (ValidationException) is context_length",
      { error: "validationException", message: "Input is too long for requested model." },
      "context_length",
      [/longer than model/, /summarize_after/, /Input is too long/],
    ],
    [
      "an invalid model identifier suggests inference profiles",
      { error: "validationException", message: "The provided model identifier is invalid." },
      "not_found",
      [/us\.anthropic\./, /list-inference-profiles/],
    ],
    [
      "on-demand throughput not supported suggests inference profiles",
      {
        error: "validationException",
        message:
          "Invocation of model ID anthropic.claude-3-5-haiku-20241022-v1:0 with on-demand throughput isn’t supported. Retry your request with the ID or ARN of an inference profile that contains this model.",
      },
      "not_found",
      [/inference profile id/],
    ],
    [
      "another ValidationException is config, with AWS's words",
      { error: "validationException", message: "temperature: must be <= 1" },
      "config",
      [/rejected the request/, /temperature: must be <= 1/],
    ],
    [
      "AccessDeniedException says to enable model access",
      { error: "accessDeniedException" },
      "auth",
      [/denied access to model/, /Model access/, /bedrock:InvokeModelWithResponseStream/, /us-east-1/],
    ],
    [
      "ResourceNotFoundException is not_found with the model id help",
      { error: "resourceNotFoundException" },
      "not_found",
      [new RegExp(`model ${MODEL.replace(/\./g, "\\.")} was not found`), /list-foundation-models/],
    ],
    [
      "ServiceQuotaExceededException is rate_limit with quota advice, not 'wait'",
      { error: "serviceQuotaExceededException" },
      "rate_limit",
      [/quota for .* is used up/, /Service Quotas/, /exceeds the service quota/],
    ],
    [
      "ServiceUnavailableException is server",
      { error: "serviceUnavailableException" },
      "server",
      [/ServiceUnavailableException/, /try again later/],
    ],
    [
      "InternalServerException is server",
      { error: "internalServerException" },
      "server",
      [/InternalServerException/],
    ],
    ["ModelTimeoutException is timeout", { error: "modelTimeoutException" }, "timeout", [/took too long/]],
    [
      "UnrecognizedClientException (bad key) is auth",
      { error: "unrecognizedClientException" },
      "auth",
      [/rejected the credentials/, /AWS_ACCESS_KEY_ID/],
    ],
    [
      "ExpiredTokenException is auth, asking for fresh credentials",
      { error: "expiredTokenException" },
      "auth",
      [/expired/, /aws sso login/],
    ],
  ];
  for (const [title, reply, code, patterns] of cases)
    it(title, async () => {
      fake.script(reply);
      await fails(backend().complete({ messages: hello, tools: [] }), code, ...patterns);
    });

  it("a wrong secret key fails the signature check: auth", async () => {
    const err = await fails(
      backend({ AWS_SECRET_ACCESS_KEY: "not/the/right/secret/at/all/000000000000" }).complete({
        messages: hello,
        tools: [],
      }),
      "auth",
      /signature we calculated does not match/,
      /AWS_SECRET_ACCESS_KEY/,
    );
    assert.ok(!err.message.includes("not/the/right/secret"));
    assert.equal(fake.requests[0].auth, "rejected");
  });

  it("an unknown access key id: auth", async () => {
    await fails(
      backend({ AWS_ACCESS_KEY_ID: "AKIAUNKNOWN000000000" }).complete({ messages: hello, tools: [] }),
      "auth",
      /security token included in the request is invalid/,
    );
  });

  it("a modelStreamErrorException in the middle of the stream is stream_cut, after the partial text streamed", async () => {
    const deltas: string[] = [];
    fake.script({ chunks: ["Your order ", "is "], streamError: "modelStreamErrorException" });
    await fails(
      backend().complete({ messages: hello, tools: [], onText: (d) => deltas.push(d) }),
      "stream_cut",
      /broke off in the middle of the stream/,
      /send the turn again/,
    );
    assert.deepEqual(deltas, ["Your order ", "is "]);
  });

  it("an internalServerException frame mid-stream is server, saying it came mid-reply", async () => {
    fake.script({ text: "Partial", streamError: "internalServerException" });
    await fails(backend().complete({ messages: hello, tools: [] }), "server", /in the middle of the reply/);
  });

  it("a throttlingException frame mid-stream is rate_limit", async () => {
    fake.script({ text: "Partial", streamError: "throttlingException" });
    await fails(backend().complete({ messages: hello, tools: [] }), "rate_limit", /throttled/);
  });

  it("a validationException frame mid-stream is classified by its name, as before the stream (context_length)", async () => {
    fake.script({
      text: "Partial",
      streamError: "validationException",
      message: "Input is too long for requested model.",
    });
    await fails(backend().complete({ messages: hello, tools: [] }), "context_length", /longer than model/);
  });

  it("a connection reset mid-stream is stream_cut", async () => {
    fake.script({ text: "Your order is", cut: true });
    await fails(backend().complete({ messages: hello, tools: [] }), "stream_cut", /send the turn again/);
  });

  it("cancels before the reply: cancelled, and the fake sees the stream reset", async () => {
    fake.script({ hang: "before" });
    const controller = new AbortController();
    const pending = backend().complete({ messages: hello, tools: [], signal: controller.signal });
    await waitFor("the request to arrive", () => fake.requests.length === 1);
    const before = fake.cancelled;
    controller.abort();
    await fails(pending, "cancelled");
    await waitFor("the fake to see the cancellation", () => fake.cancelled > before);
  });

  it("cancels in the middle of the stream: cancelled", async () => {
    fake.script({ chunks: ["Once ", "upon "], hang: "mid" });
    const controller = new AbortController();
    const deltas: string[] = [];
    const before = fake.cancelled;
    const pending = backend().complete({
      messages: hello,
      tools: [],
      signal: controller.signal,
      onText: (d) => {
        deltas.push(d);
        if (deltas.length === 2) controller.abort();
      },
    });
    await fails(pending, "cancelled");
    assert.deepEqual(deltas, ["Once ", "upon "]);
    await waitFor("the fake to see the stream cancelled", () => fake.cancelled > before);
  });

  it("an already-aborted signal sends nothing", async () => {
    const controller = new AbortController();
    controller.abort();
    await fails(backend().complete({ messages: hello, tools: [], signal: controller.signal }), "cancelled");
    assert.equal(fake.requests.length, 0);
  });

  it("gives up after the idle timeout: timeout", async () => {
    fake.script({ hang: "before" });
    await fails(
      backend({}, { idleTimeoutMs: 150 }).complete({ messages: hello, tools: [] }),
      "timeout",
      /sent nothing for 150 ms after the request/,
      /try again/,
    );
  });

  it("an idle stream in the middle of the reply: timeout", async () => {
    fake.script({ text: "Half", hang: "mid" });
    await fails(
      backend({}, { idleTimeoutMs: 150 }).complete({ messages: hello, tools: [] }),
      "timeout",
      /in the middle of the reply/,
    );
  });
});

describe("bedrock backend: configuration", () => {
  /** Runs `fn` with the AWS variables of the real process environment removed (the SDK's chain reads them). */
  async function withoutAwsEnv<T>(fn: () => Promise<T>): Promise<T> {
    const saved = { ...process.env };
    for (const k of Object.keys(process.env)) if (k.startsWith("AWS_")) delete process.env[k];
    const nowhere = path.join(os.tmpdir(), "statecraft-no-such-aws-dir");
    process.env.AWS_CONFIG_FILE = path.join(nowhere, "config");
    process.env.AWS_SHARED_CREDENTIALS_FILE = path.join(nowhere, "credentials");
    process.env.AWS_EC2_METADATA_DISABLED = "true";
    try {
      return await fn();
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  }

  it("takes the endpoint from AWS_ENDPOINT_URL_BEDROCK_RUNTIME, never from the stateful declaration's endpoint", async () => {
    await once({ text: "ok" });
    assert.equal(fake.requests.length, 1, "the call reached the fake Bedrock, not SPEC.endpoint");
  });

  it("prefers the declaration's region over AWS_REGION", async () => {
    fake.script({ text: "ok" });
    await fails(
      backend({ AWS_REGION: "eu-west-1" }, {}, { ...SPEC, region: "eu-central-1" }).complete({
        messages: hello,
        tools: [],
      }),
      "auth",
      /scoped to a valid region, not 'eu-central-1'/,
    );
    fake.requests.length = 0;
    await backend(
      { AWS_REGION: "eu-west-1", AWS_DEFAULT_REGION: "eu-central-1" },
      {},
      { ...SPEC, region: "us-east-1" },
    ).complete({
      messages: hello,
      tools: [],
    });
    assert.match(String(fake.requests[0].headers.authorization), /\/us-east-1\/bedrock\//);
  });

  it("uses AWS_DEFAULT_REGION when AWS_REGION is not set", async () => {
    fake.script({ text: "ok" });
    const env = { ...fake.env, AWS_DEFAULT_REGION: "us-east-1" } as NodeJS.ProcessEnv;
    delete env.AWS_REGION;
    const b = new BedrockBackend(SPEC, { env });
    made.push(b);
    await b.complete({ messages: hello, tools: [] });
    assert.match(String(fake.requests[0].headers.authorization), /\/us-east-1\/bedrock\//);
  });

  it("no region anywhere: config, saying where to set one", async () => {
    const env = { ...fake.env } as NodeJS.ProcessEnv;
    delete env.AWS_REGION;
    await withoutAwsEnv(() =>
      fails(
        new BedrockBackend(SPEC, { env }).complete({ messages: hello, tools: [] }),
        "config",
        /no AWS region/,
        /region: "us-east-1"/,
        /AWS_REGION/,
      ),
    );
    assert.equal(fake.requests.length, 0);
  });

  it("no credentials anywhere: auth, naming the variables and the profile", async () => {
    const env: NodeJS.ProcessEnv = {
      AWS_REGION: fake.region,
      AWS_ENDPOINT_URL_BEDROCK_RUNTIME: fake.url,
      AWS_MAX_ATTEMPTS: "1",
    };
    await withoutAwsEnv(() =>
      fails(
        new BedrockBackend(SPEC, { env }).complete({ messages: hello, tools: [] }),
        "auth",
        /no AWS credentials were found/,
        /AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/,
        /AWS_PROFILE/,
        /AWS_BEARER_TOKEN_BEDROCK/,
      ),
    );
    assert.equal(fake.requests.length, 0);
  });

  it("half a key pair: auth, naming the missing variable", async () => {
    await fails(
      backend({ AWS_SECRET_ACCESS_KEY: "" }).complete({ messages: hello, tools: [] }),
      "auth",
      /AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not/,
    );
  });

  it("no model on the backend or the agent: config", async () => {
    await fails(
      backend({}, {}, { ...SPEC, model: undefined }).complete({ messages: hello, tools: [] }),
      "config",
      /names no model/,
      /inference profile id/,
    );
  });

  it("an endpoint that is not a URL: config", async () => {
    await fails(
      backend({ AWS_ENDPOINT_URL_BEDROCK_RUNTIME: "bedrock local" }).complete({ messages: hello, tools: [] }),
      "config",
      /is not a URL/,
      /AWS_ENDPOINT_URL_BEDROCK_RUNTIME/,
    );
  });

  it("an endpoint nobody listens on: server, saying it could not reach it", async () => {
    const closed = await startFakeBedrock();
    const url = closed.url;
    await closed.close();
    await fails(
      backend({ AWS_ENDPOINT_URL_BEDROCK_RUNTIME: url }).complete({ messages: hello, tools: [] }),
      "server",
      new RegExp(`could not reach Amazon Bedrock at ${url.replace(/\./g, "\\.")} \\(ECONNREFUSED\\)`),
    );
  });

  it("signs with a Bedrock API key from AWS_BEARER_TOKEN_BEDROCK", async () => {
    const keyed = await startFakeBedrock({ bearerToken: "bedrock-api-key-ABSKfake0123456789" });
    try {
      keyed.script({ text: "keyed" });
      const b = new BedrockBackend(SPEC, {
        env: {
          AWS_REGION: keyed.region,
          AWS_ENDPOINT_URL_BEDROCK_RUNTIME: keyed.url,
          AWS_BEARER_TOKEN_BEDROCK: "bedrock-api-key-ABSKfake0123456789",
        },
      });
      made.push(b);
      const r = await b.complete({ messages: hello, tools: [] });
      assert.equal(r.text, "keyed");
      assert.equal(keyed.requests[0].auth, "bearer");
    } finally {
      await keyed.close();
    }
  });
});

describe("bedrock backend: extended thinking", () => {
  const thinkingSpec: CompiledBackend = { ...SPEC, reasoning: { budgetTokens: 2048 } };
  const ask: Message[] = [{ role: "user", content: "Where is A1003?" }];
  const tools = [{ name: "lookup_order", description: "Look up an order", parameters: { type: "object" } }];

  it("asks for thinking with the budget, records it apart from the reply, and sends it back within the tool turn", async () => {
    fake.script(
      {
        reasoning: "The user wants A1003: look it up.",
        toolUses: [{ id: "tu_1", name: "lookup_order", input: { order_id: "A1003" } }],
      },
      { text: "It shipped." },
    );
    const b = backend({}, {}, thinkingSpec);
    const first = await b.complete({ messages: ask, tools });
    assert.deepEqual(fake.requests[0].body.additionalModelRequestFields, {
      thinking: { type: "enabled", budget_tokens: 2048 },
    });
    assert.equal(first.text, "", "the thinking is not the reply");
    assert.equal(first.reasoning?.summary, "The user wants A1003: look it up.");
    assert.ok(first.reasoning?.replay?.provider === "bedrock");
    const turn: Message[] = [
      ...ask,
      { role: "assistant", content: "", toolCalls: first.toolCalls, reasoning: first.reasoning.replay },
      { role: "tool", toolCallId: "tu_1", name: "lookup_order", content: '{"status":"shipped"}' },
    ];
    const second = await b.complete({ messages: turn, tools });
    assert.equal(second.text, "It shipped.");
    const sent = fake.requests[1].body.messages as { role: string; content: Record<string, unknown>[] }[];
    assert.deepEqual(Object.keys(sent[1].content[0]), ["reasoningContent"], "the thinking block comes first");
    assert.deepEqual(Object.keys(sent[1].content[1]), ["toolUse"]);
  });

  it("without the thinking block the continuation is refused, as Bedrock refuses it", async () => {
    fake.script({ reasoning: "Look it up.", toolUses: [{ id: "tu_2", name: "lookup_order", input: {} }] });
    const b = backend({}, {}, thinkingSpec);
    const first = await b.complete({ messages: ask, tools });
    const turn: Message[] = [
      ...ask,
      { role: "assistant", content: "", toolCalls: first.toolCalls },
      { role: "tool", toolCallId: "tu_2", name: "lookup_order", content: "{}" },
    ];
    await fails(b.complete({ messages: turn, tools }), "config", /Expected `thinking`/);
  });
});
