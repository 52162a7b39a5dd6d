// `endpoint: "agentcore:<runtime ARN>"`: the stateful client through the real
// `@aws-sdk/client-bedrock-agentcore` InvokeAgentRuntime, against a fake of
// the AgentCore Runtime data plane (the SDK's endpoint override): it checks
// the REST binding (POST /runtimes/{url-encoded ARN}/invocations?qualifier=,
// the runtime session header, the payload as the body) and verifies the
// SigV4 signature by signing the received request again with the same
// credentials, then forwards the payload to a real runtime service's
// POST /invocations, as AgentCore forwards it to the container, and streams
// the container's answer back.

import { strict as assert } from "node:assert";
import { createHash, createHmac } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { SignatureV4 } from "@smithy/signature-v4";
import { scriptTurns, toWireScript } from "../../server/backends/script";
import { statefulClient } from "../../server/backends/stateful";
import { RemoteSession } from "../../server/backends/statefulSession";
import type { CompiledBackend, CompiledDefinition } from "../../server/language/compile";
import type { SessionEvent, SessionStartEvent } from "../../server/protocol/events";
import { BackendError, type ScriptStep } from "../../server/runtime/model";
import { compileFor, loadChecked } from "../../server/runtime/prepare";
import { readLog } from "../../server/runtime/sessionLog";
import { startService } from "../../server/service";
import { freshPgliteDir } from "../service/helpers";
import { removeTemps, REPLY1, REPLY2, statefulProject, TURN1, TURN2 } from "./statefulHelpers";

const ARN = "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/support_agent-Ab12Cd34Ef";
const CREDS = { accessKeyId: "AKIDSTATECRAFTTEST", secretAccessKey: "secret/statecraft/test/key" };

/** node:crypto as the signer's hash (the SDK's Checksum interface). */
class Sha256 {
  private readonly h;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    const key =
      typeof secret === "string"
        ? Buffer.from(secret)
        : secret instanceof ArrayBuffer
          ? Buffer.from(secret)
          : secret && Buffer.from(secret.buffer, secret.byteOffset, secret.byteLength);
    this.h = key ? createHmac("sha256", key) : createHash("sha256");
  }
  update(data: string | Uint8Array): void {
    this.h.update(data);
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.h.digest()));
  }
  reset(): void {}
}

interface Seen {
  path: string;
  qualifier: string | null;
  sessionId: string | undefined;
  body: string;
  signatureOk: boolean;
}

/** The AgentCore Runtime data plane, in front of a runtime service acting as the container. */
async function fakeAgentCore(container: string) {
  const seen: Seen[] = [];
  const signer = new SignatureV4({
    credentials: CREDS,
    region: "us-east-1",
    service: "bedrock-agentcore",
    sha256: Sha256,
  });
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      void (async () => {
        const body = Buffer.concat(chunks);
        const url = new URL(req.url ?? "/", "http://agentcore");
        const auth = String(req.headers.authorization ?? "");
        const m =
          /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(
            auth,
          );
        let signatureOk = false;
        if (m && m[1] === CREDS.accessKeyId && m[3] === "us-east-1" && m[4] === "bedrock-agentcore") {
          const headers: Record<string, string> = {};
          for (const h of m[5].split(";")) headers[h] = String(req.headers[h] ?? "");
          const query: Record<string, string> = {};
          url.searchParams.forEach((v, k) => (query[k] = v));
          const amzDate = String(req.headers["x-amz-date"]);
          const date = new Date(
            `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
          );
          const again = await signer.sign(
            {
              method: req.method ?? "POST",
              protocol: "http:",
              hostname: String(req.headers.host).split(":")[0],
              port: Number(String(req.headers.host).split(":")[1]),
              path: url.pathname,
              query,
              headers,
              body,
            },
            { signingDate: date },
          );
          signatureOk = String(again.headers.authorization) === auth;
        }
        const sessionId = req.headers["x-amzn-bedrock-agentcore-runtime-session-id"] as string | undefined;
        seen.push({
          path: url.pathname,
          qualifier: url.searchParams.get("qualifier"),
          sessionId,
          body: body.toString(),
          signatureOk,
        });
        if (!signatureOk) {
          res.writeHead(403, {
            "content-type": "application/json",
            "x-amzn-errortype": "AccessDeniedException",
          });
          res.end(
            JSON.stringify({
              message: "The request signature we calculated does not match the signature you provided.",
            }),
          );
          return;
        }
        if (url.pathname !== `/runtimes/${encodeURIComponent(ARN)}/invocations`) {
          res.writeHead(404, {
            "content-type": "application/json",
            "x-amzn-errortype": "ResourceNotFoundException",
          });
          res.end(JSON.stringify({ message: `no runtime at ${url.pathname}` }));
          return;
        }
        // Forward to the container's /invocations and stream its answer back.
        const up = http.request(`${container}/invocations`, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            ...(sessionId ? { "x-amzn-bedrock-agentcore-runtime-session-id": sessionId } : {}),
          },
          agent: false,
        });
        up.on("response", (r) => {
          res.writeHead(r.statusCode ?? 500, {
            "content-type": r.headers["content-type"] ?? "application/octet-stream",
            ...(sessionId ? { "x-amzn-bedrock-agentcore-runtime-session-id": sessionId } : {}),
          });
          r.pipe(res);
        });
        up.end(body);
      })();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const DEMO: ScriptStep[] = (
  JSON.parse(fs.readFileSync(path.join(__dirname, "../../examples/support/demo.script.json"), "utf8")) as {
    reply?: string;
    call?: string;
    input?: never;
  }[]
).map((s) =>
  s.reply !== undefined ? { kind: "reply", text: s.reply } : { kind: "call", tool: s.call!, input: s.input! },
);
const [SCRIPT1, SCRIPT2] = scriptTurns(DEMO).map(toWireScript);

describe("stateful backend through AgentCore Runtime (InvokeAgentRuntime, real SDK, fake data plane)", function () {
  this.timeout(120_000);
  let service: Awaited<ReturnType<typeof startService>>;
  let agentcore: Awaited<ReturnType<typeof fakeAgentCore>>;
  let project: string;
  let definition: CompiledDefinition;
  let spec: CompiledBackend;
  const env = () => ({
    AWS_ENDPOINT_URL_BEDROCK_AGENTCORE: agentcore.url,
    AWS_ACCESS_KEY_ID: CREDS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CREDS.secretAccessKey,
  });

  before(async () => {
    project = statefulProject(`agentcore:${ARN}?qualifier=DEFAULT`);
    // The container: a runtime service without tokens on loopback, as AgentCore's IAM auth fronts it.
    service = await startService({ port: 0, dataDir: await freshPgliteDir(), env: {}, baseDir: project });
    agentcore = await fakeAgentCore(service.url);
    definition = compileFor(loadChecked(path.join(project, "main.agent")), "support", "rt");
    spec = definition.backends.rt;
  });
  after(async () => {
    await agentcore?.close();
    await service?.close();
    removeTemps();
  });

  it("runs two turns with the same payloads, signed, the second carrying only its input", async () => {
    const s = new RemoteSession({
      client: statefulClient(spec, env()),
      definition,
      workspace: project,
      runtimeEndpoint: spec.endpoint!,
      user: { id: "ada", name: "Ada" },
      source: "main.agent",
      approve: "all",
    });
    const t1 = await s.send(TURN1, { script: SCRIPT1 });
    const t2 = await s.send(TURN2, { script: SCRIPT2 });
    assert.deepEqual([t1.status, t1.reply, t2.status, t2.reply], ["ok", REPLY1, "ok", REPLY2]);
    await s.end();

    assert.ok(agentcore.seen.length >= 3, "two turns and the end action");
    for (const r of agentcore.seen) {
      assert.ok(r.signatureOk, "SigV4 verifies");
      assert.equal(r.path, `/runtimes/${encodeURIComponent(ARN)}/invocations`);
      assert.equal(r.qualifier, "DEFAULT");
      assert.equal(r.sessionId, s.sessionId);
    }
    const [b1, b2, ...rest] = agentcore.seen.map((r) => JSON.parse(r.body) as Record<string, unknown>);
    assert.equal((b1.definition as CompiledDefinition).hash, definition.hash);
    assert.deepEqual(Object.keys(b2).sort(), ["approve", "input", "script"]);
    // Inspection and control go as actions (AgentCore forwards only /invocations).
    assert.deepEqual(
      rest.map((b) => b.action),
      ["end", "events"],
    );

    const mirrored = readLog(s.file).events;
    assert.equal((mirrored[0] as SessionStartEvent).runtime?.endpoint, `agentcore:${ARN}?qualifier=DEFAULT`);
    const served = await statefulClient({ ...spec, endpoint: service.url }, {}).allEvents(s.sessionId);
    assert.deepEqual(
      mirrored.map((e: SessionEvent) => e.seq),
      served.map((e) => e.seq),
    );
    assert.equal(mirrored.at(-1)?.type, "session.end");
  });

  it("reads snapshots and lists sessions through actions", async () => {
    const c = statefulClient(spec, env());
    const sessions = await c.sessions();
    assert.ok(sessions.length >= 1);
    const snap = await c.snapshot(sessions[0].id, 1);
    assert.equal(snap.context?.type, "context.snapshot");
  });

  it("says which AWS credentials are refused, and which runtime is missing", async () => {
    const bad = statefulClient(spec, { ...env(), AWS_SECRET_ACCESS_KEY: "wrong" });
    await assert.rejects(bad.sessions(), (err: unknown) => {
      assert.ok(err instanceof BackendError);
      assert.equal(err.code, "auth");
      assert.match(
        err.message,
        /^AgentCore Runtime refused the call to agentcore:arn:.* \(AccessDeniedException: The request signature/,
      );
      assert.match(err.message, /need bedrock-agentcore:InvokeAgentRuntime on that runtime$/);
      return true;
    });
    const other = statefulClient({ ...spec, endpoint: `agentcore:${ARN.replace("Ab12", "Zz99")}` }, env());
    await assert.rejects(other.sessions(), (err: unknown) => {
      assert.ok(err instanceof BackendError);
      assert.equal(err.code, "not_found");
      assert.match(
        err.message,
        /^AgentCore Runtime has no runtime agentcore:arn:.*Zz99.* \(ResourceNotFoundException: no runtime at/,
      );
      return true;
    });
  });

  it("refuses an endpoint that is not agentcore:<runtime ARN>", () => {
    assert.throws(
      () => statefulClient({ ...spec, endpoint: "agentcore:support" }, env()),
      /'agentcore:support' is not agentcore:<runtime ARN>: the ARN looks like arn:aws:bedrock-agentcore:/,
    );
  });
});
