// `statecraft run` and `statecraft replay --mode live` on the stateless
// backend, in-process, against fake OpenAI servers: each provider (openai,
// azure, compatible) and both APIs, with the key from the environment; the
// failures a user meets; and the stateless context growing turn by turn.

import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { main } from "../../server/cli/main";
import type { SessionEvent } from "../../server/protocol/events";
import { readLog } from "../../server/runtime/sessionLog";
import { FakeOpenAIServer, type FakeReply } from "../fakes/openaiServer";

const ROOT = path.resolve(__dirname, "../..");
const FIXTURE = path.join(ROOT, "test/fixtures/openai");
const OPENAI_KEY = "sk-cli-test-7Hq2Lm9Vx3Rt5Wz8";
const AZURE_KEY = "azure-cli-key-31c4f9a0";
const ENV = {
  OPENAI_API_KEY: OPENAI_KEY,
  AZURE_OPENAI_API_KEY: AZURE_KEY,
  STATECRAFT_MODEL_MAX_RETRIES: "0",
};

const TURN1 = "Where is my order A1003?";
const TURN2 = "Thanks!";
const REPLY1 = "Order A1003 has shipped and arrives in 3 days.";
const REPLY2 = "You're welcome!";
/** The fake's side of the conversation local.script.json plays back. */
const CONVERSATION: FakeReply[] = [
  { kind: "tools", calls: [{ name: "lookup_order", arguments: { order_id: "A1003" } }] },
  { kind: "text", text: REPLY1 },
  { kind: "text", text: REPLY2 },
];

async function cli(args: string[], cwd: string, env: NodeJS.ProcessEnv = ENV) {
  let out = "";
  let err = "";
  const code = await main(args, { cwd, env, stdout: (t) => (out += t), stderr: (t) => (err += t) });
  return { code, out, err };
}

const temps: string[] = [];
after(() => {
  for (const d of temps.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A copy of the fixture project whose endpoints point at the two fakes. */
function workspace(secured: FakeOpenAIServer, open: FakeOpenAIServer): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "statecraft-openai-cli-")));
  temps.push(dir);
  fs.cpSync(FIXTURE, dir, { recursive: true });
  const file = path.join(dir, "support.agent");
  fs.writeFileSync(
    file,
    fs.readFileSync(file, "utf8").replaceAll("SECURED_URL", secured.url).replaceAll("OPEN_URL", open.url),
  );
  return dir;
}

function sessionFiles(dir: string): string[] {
  const d = path.join(dir, ".statecraft/sessions");
  return fs.existsSync(d) ? fs.readdirSync(d).map((f) => path.join(d, f)) : [];
}

function onlySession(dir: string): { file: string; events: SessionEvent[]; raw: string } {
  const files = sessionFiles(dir);
  assert.equal(files.length, 1, `one session recorded; got ${files.length}`);
  return { file: files[0], events: readLog(files[0]).events, raw: fs.readFileSync(files[0], "utf8") };
}

describe("statecraft run on the OpenAI backend (fake servers)", function () {
  let secured: FakeOpenAIServer;
  let open: FakeOpenAIServer;
  before(async () => {
    secured = await FakeOpenAIServer.start({
      apiKey: OPENAI_KEY,
      azureKey: AZURE_KEY,
      models: ["gpt-4.1-mini"],
      deployments: ["support-gpt41"],
    });
    open = await FakeOpenAIServer.start({ models: ["llama3.1"] });
  });
  after(async () => {
    await secured.close();
    await open.close();
  });
  beforeEach(() => {
    secured.reset();
    open.reset();
  });

  const cases = [
    { backend: "openai_fake", api: "chat", provider: "openai", server: () => secured },
    { backend: "openai_responses", api: "responses", provider: "openai", server: () => secured },
    { backend: "azure_fake", api: "chat", provider: "azure", server: () => secured },
    { backend: "azure_responses", api: "responses", provider: "azure", server: () => secured },
    { backend: "local_llm", api: "chat", provider: "compatible", server: () => open },
  ] as const;

  for (const c of cases)
    it(`runs a two-turn conversation with a real tool on ${c.backend} (${c.provider}, ${c.api})`, async () => {
      const dir = workspace(secured, open);
      const fake = c.server();
      fake.script(...CONVERSATION);
      const r = await cli(
        ["run", "support.agent", "--backend", c.backend, "--input", TURN1, "--input", TURN2],
        dir,
      );
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out, `${REPLY1}\n${REPLY2}\n`);
      assert.match(r.err, /-> lookup_order \{"order_id":"A1003"\}/);
      assert.deepEqual(
        fake.journal.map((j) => [j.api, j.status, j.auth]),
        Array(3).fill([
          c.api,
          200,
          c.provider === "azure" ? "api-key" : c.provider === "openai" ? "bearer" : "none",
        ]),
      );
      // The tool ran for real, and its output went back to the model.
      const second = JSON.stringify(fake.journal[1].body);
      assert.match(second, /\\"status\\":\\"shipped\\"/);
      const { events, raw } = onlySession(dir);
      const start = events[0];
      assert.ok(start.type === "session.start");
      assert.deepEqual(start.backend, {
        name: c.backend,
        kind: "stateless",
        provider: c.provider,
        model:
          c.provider === "azure" ? "support-gpt41" : c.provider === "openai" ? "gpt-4.1-mini" : "llama3.1",
      });
      assert.deepEqual(
        events.filter((e) => e.type === "turn.end").map((e) => e.type === "turn.end" && e.status),
        ["ok", "ok"],
      );
      assert.ok(!raw.includes(OPENAI_KEY) && !raw.includes(AZURE_KEY), "no key in the session log");
    });

  it("without the key variable: the turn fails saying which variable to set, and the log records it", async () => {
    const dir = workspace(secured, open);
    const r = await cli(["run", "support.agent", "--backend", "openai_fake", "--input", TURN1], dir, {});
    assert.equal(r.code, 1);
    assert.match(
      r.err,
      /statecraft run: turn 1 failed: backend 'openai_fake' \(provider openai\) has no API key: set the environment variable OPENAI_API_KEY \(named by api_key: env\("OPENAI_API_KEY"\) in backend 'openai_fake'\)/,
    );
    assert.equal(secured.journal.length, 0);
    const { events } = onlySession(dir);
    const end = events.find((e) => e.type === "turn.end");
    assert.ok(end?.type === "turn.end" && end.status === "failed" && /OPENAI_API_KEY/.test(end.reason!));
  });

  it("with a wrong key: the turn fails (401) naming the variable; the key is in neither the output nor the log", async () => {
    const dir = workspace(secured, open);
    const wrong = "sk-definitely-wrong-4242abcd";
    const r = await cli(["run", "support.agent", "--backend", "azure_fake", "--input", TURN1], dir, {
      AZURE_OPENAI_API_KEY: wrong,
    });
    assert.equal(r.code, 1);
    assert.match(
      r.err,
      /the API key was rejected \(401\)\. Set the environment variable AZURE_OPENAI_API_KEY/,
    );
    const { raw } = onlySession(dir);
    assert.ok(!raw.includes(wrong) && !r.err.includes(wrong) && !r.out.includes(wrong));
  });

  it("secrets: a command tool sees only the minimal environment, and no key reaches any file the run wrote", async () => {
    const dir = workspace(secured, open);
    const CRM = "crm-token-Vb7Nq2Xs9Lp4";
    const AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const PARENT_ONLY = "parent-process-secret-5d1e";
    fs.writeFileSync(
      path.join(dir, "tools/show_env.js"),
      "process.stdout.write(JSON.stringify(process.env));\n",
    );
    const file = path.join(dir, "support.agent");
    fs.writeFileSync(
      file,
      fs
        .readFileSync(file, "utf8")
        .replace("tools: [lookup_order]", "tools: [lookup_order, show_env]")
        .concat(
          `\ntool show_env {\n  description: "Shows the tool's environment"\n  run: command("node", ["tools/show_env.js"])\n` +
            `  env {\n    CRM_TOKEN: env("CRM_TOKEN")\n    MODE: "test"\n  }\n}\n`,
        ),
    );
    secured.script(
      { kind: "tools", calls: [{ name: "show_env", arguments: {} }] },
      // The model echoes the API key and the token the tool printed.
      { kind: "text", text: `Your key is ${OPENAI_KEY} and the CRM token is ${CRM}.` },
    );
    // This process's own environment is the parent of the tool too: nothing of it may pass either.
    process.env.STATECRAFT_TEST_PARENT_ONLY = PARENT_ONLY;
    let r;
    try {
      r = await cli(["run", "support.agent", "--backend", "openai_fake", "--input", "Show me"], dir, {
        ...ENV,
        CRM_TOKEN: CRM,
        AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE",
        AWS_SECRET_ACCESS_KEY: AWS_SECRET,
        GITHUB_TOKEN: "ghp_0123456789abcdefghijABCDEFGHIJ012345",
        PATH: process.env.PATH,
        HOME: "/home/ada",
        LANG: "C.UTF-8",
      });
    } finally {
      delete process.env.STATECRAFT_TEST_PARENT_ONLY;
    }
    assert.equal(r.code, 0, r.err);
    const { events } = onlySession(dir);
    const result = events.find((e) => e.type === "tool.result");
    assert.ok(result?.type === "tool.result" && result.ok, JSON.stringify(result));
    const seen = result.output as Record<string, string>;
    assert.deepEqual(Object.keys(seen).sort(), ["CRM_TOKEN", "HOME", "LANG", "MODE", "PATH"]);
    assert.equal(
      seen.CRM_TOKEN,
      "[secret:CRM_TOKEN]",
      "the declared token reached the tool, and not the log",
    );
    assert.equal(seen.MODE, "test");
    // What the model got back is redacted the same way.
    assert.ok(!JSON.stringify(secured.journal[1].body).includes(CRM));
    const reply = events.find((e) => e.type === "model.response" && e.toolCalls.length === 0);
    assert.ok(reply?.type === "model.response");
    assert.equal(reply.text, "Your key is [secret:OPENAI_API_KEY] and the CRM token is [secret:CRM_TOKEN].");
    // Every file the run wrote (session log, memory, anything under the project) is free of every key.
    const written: string[] = [];
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true }))
        if (e.isDirectory()) walk(path.join(d, e.name));
        else written.push(path.join(d, e.name));
    };
    walk(dir);
    assert.ok(written.some((f) => f.includes(".statecraft")));
    for (const f of written) {
      const text = fs.readFileSync(f, "utf8");
      for (const secret of [OPENAI_KEY, CRM, AWS_SECRET, PARENT_ONLY, "ghp_0123456789"])
        assert.ok(!text.includes(secret), `${path.relative(dir, f)} contains ${secret.slice(0, 8)}...`);
    }
  });

  for (const backend of ["openai_responses", "azure_responses", "openai_fake"])
    it(`reasoning on ${backend}: the effort is sent, the reasoning goes back within the tool turn, the log records it and the reply never shows it`, async () => {
      const dir = workspace(secured, open);
      const file = path.join(dir, "support.agent");
      fs.writeFileSync(
        file,
        fs
          .readFileSync(file, "utf8")
          .replace(`backend ${backend} {`, `backend ${backend} {\n  reasoning { effort: high }`),
      );
      const THOUGHT = "The user asks about A1003: look it up first.";
      secured.script(
        {
          kind: "tools",
          calls: [{ name: "lookup_order", arguments: { order_id: "A1003" } }],
          reasoning: { summary: THOUGHT, tokens: 128 },
        },
        {
          kind: "text",
          text: REPLY1,
          reasoning: { summary: "It shipped; say when it arrives.", tokens: 32 },
        },
        { kind: "text", text: REPLY2 },
      );
      const r = await cli(
        ["run", "support.agent", "--backend", backend, "--input", TURN1, "--input", TURN2],
        dir,
      );
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out, `${REPLY1}\n${REPLY2}\n`, "the reasoning is never the reply");
      const bodies = secured.journal.map((j) => j.body as Record<string, unknown>);
      assert.deepEqual(
        secured.journal.map((j) => j.status),
        [200, 200, 200],
      );
      const { events, raw } = onlySession(dir);
      const responses = events.filter((e) => e.type === "model.response");
      if (backend === "openai_fake") {
        assert.equal(bodies[0].reasoning_effort, "high");
        assert.deepEqual(
          responses.map((e) => e.type === "model.response" && e.reasoning?.tokens),
          [128, 32, undefined],
        );
        return;
      }
      assert.deepEqual(bodies[0].reasoning, { effort: "high", summary: "auto" });
      assert.deepEqual(bodies[0].include, ["reasoning.encrypted_content"]);
      // The second call of the tool turn carries the reasoning item back (the fake refuses it otherwise).
      const input = bodies[1].input as { type?: string; encrypted_content?: string }[];
      assert.ok(
        input.some((i) => i.type === "reasoning" && i.encrypted_content?.startsWith("enc_")),
        JSON.stringify(input),
      );
      // The next turn does not send the previous turn's reasoning.
      assert.ok(!(bodies[2].input as { type?: string }[]).some((i) => i.type === "reasoning"));
      assert.deepEqual(
        responses.map((e) => e.type === "model.response" && e.reasoning),
        [
          { summary: THOUGHT, tokens: 128 },
          { summary: "It shipped; say when it arrives.", tokens: 32 },
          undefined,
        ],
      );
      const end = events.find((e) => e.type === "turn.end");
      assert.ok(end?.type === "turn.end" && end.reply === REPLY1);
      assert.ok(!JSON.stringify(end.messages).includes("encrypted_content"), "history keeps no reasoning");
      assert.ok(raw.includes(THOUGHT));
    });

  it("an unknown Azure deployment, a 500, a cut stream: each fails the turn with its message", async () => {
    const dir = workspace(secured, open);
    const file = path.join(dir, "support.agent");
    const text = fs.readFileSync(file, "utf8");
    fs.writeFileSync(file, text.replace('model: "support-gpt41"', 'model: "gone-deployment"'));
    let r = await cli(["run", "support.agent", "--backend", "azure_fake", "--input", TURN1], dir);
    assert.equal(r.code, 1);
    assert.match(r.err, /deployment 'gone-deployment' was not found \(404/);
    fs.writeFileSync(file, text);

    secured.script({ kind: "error", status: 500, message: "The server had an error" });
    r = await cli(["run", "support.agent", "--backend", "openai_fake", "--input", TURN1], dir);
    assert.equal(r.code, 1);
    assert.match(r.err, /the server failed with 500: The server had an error\. This is on the server's side/);

    secured.script({ kind: "cut", text: "Order A1003 has shipped and", afterEvents: 3 });
    r = await cli(["run", "support.agent", "--backend", "openai_fake", "--input", TURN1], dir);
    assert.equal(r.code, 1);
    assert.match(r.out, /^Order A1003 /, "what arrived before the cut was streamed");
    assert.match(r.err, /turn 1 failed: .*the response stream was cut/);
  });

  it("replay --mode live: a session recorded on the local backend, sent again to OpenAI, shows no divergence", async () => {
    const dir = workspace(secured, open);
    const rec = await cli(
      ["run", "support.agent", "--script", "local.script.json", "--input", TURN1, "--input", TURN2],
      dir,
    );
    assert.equal(rec.code, 0, rec.err);
    const [recorded] = sessionFiles(dir);
    const id = path.basename(recorded, ".jsonl");
    secured.script(...CONVERSATION);
    const r = await cli(["replay", id, "--mode", "live", "--backend", "openai_fake"], dir);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`live replay of ${id} on openai_fake \\(stateless\\) as `));
    assert.match(r.out, /no divergence: every turn replied the same and called the same tools/);
    assert.equal(secured.journal.length, 3);
    // Both turns replied the same and called the same tools ("yes" in the comparison table).
    const rows = r.out.split("\n").filter((l) => /^\s+\d+\s+yes/.test(l));
    assert.equal(rows.length, 2, r.out);
  });

  it("the stateless context grows turn by turn: messages and bytes in each context.snapshot", async () => {
    const dir = workspace(secured, open);
    const inputs = ["one", "two", "three", "four", "five"];
    secured.respond = (entry) => ({
      kind: "text",
      text: `reply to request ${secured.journal.indexOf(entry) + 1}`,
    });
    const r = await cli(
      ["run", "support.agent", "--backend", "openai_fake", ...inputs.flatMap((i) => ["--input", i])],
      dir,
    );
    assert.equal(r.code, 0, r.err);
    const { events } = onlySession(dir);
    const snaps = events.filter((e) => e.type === "context.snapshot");
    assert.equal(snaps.length, 5);
    // system + (user, assistant) per earlier turn + this turn's user.
    assert.deepEqual(
      snaps.map((s) => s.type === "context.snapshot" && s.messages.length),
      [2, 4, 6, 8, 10],
    );
    const bytes = snaps.map((s) => (s.type === "context.snapshot" ? s.bytes : 0));
    const wire = secured.journal.map((j) => j.bytes);
    for (let i = 1; i < 5; i++) {
      assert.ok(bytes[i] > bytes[i - 1], `snapshot bytes grow: ${bytes.join(", ")}`);
      assert.ok(wire[i] > wire[i - 1], `bytes on the wire grow: ${wire.join(", ")}`);
    }
    // The snapshot of turn N holds exactly the messages the request of turn N carried.
    const last = snaps[4];
    const sent = (secured.journal[4].body as { messages: { role: string; content: string }[] }).messages;
    assert.ok(last.type === "context.snapshot");
    assert.deepEqual(
      last.messages.map((m) => [m.role, m.content]),
      sent.map((m) => [m.role, m.content]),
    );
  });
});
