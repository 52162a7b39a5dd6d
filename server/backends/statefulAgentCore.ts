// The stateful client's transport to Amazon Bedrock AgentCore Runtime
// (`endpoint: "agentcore:<runtime ARN>"`): InvokeAgentRuntime, which forwards
// the same bodies to the runtime service's `POST /invocations`.

import type { Readable } from "node:stream";
import type { CompiledBackend } from "../protocol/definition";
import { BackendError } from "../runtime/model";
import { traceContextHeaders, type StatefulTransport, type WireResponse } from "./statefulTransport";

/** `agentcore:<ARN>[?qualifier=NAME]` split into its parts. */
export function parseAgentCoreEndpoint(endpoint: string): {
  arn: string;
  qualifier?: string;
  region?: string;
} {
  const rest = endpoint.slice("agentcore:".length);
  const [arn, query] = rest.split("?", 2);
  const qualifier = query ? (new URLSearchParams(query).get("qualifier") ?? undefined) : undefined;
  const m = /^arn:aws[a-z-]*:bedrock-agentcore:([a-z0-9-]+):\d{12}:runtime\/.+$/.exec(arn);
  if (!m)
    throw new BackendError(
      "config",
      `'${endpoint}' is not agentcore:<runtime ARN>: the ARN looks like arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/NAME-ID (optionally ?qualifier=ENDPOINT)`,
    );
  return { arn, qualifier, region: m[1] };
}

/**
 * Amazon Bedrock AgentCore Runtime through `@aws-sdk/client-bedrock-agentcore` InvokeAgentRuntime:
 * the same JSON bodies, the runtime session id in `runtimeSessionId`, SigV4 from the standard
 * credential chain; `AWS_ENDPOINT_URL_BEDROCK_AGENTCORE` overrides the endpoint. AgentCore only
 * forwards /invocations, so inspection and control go as `action` bodies.
 */
export class AgentCoreTransport implements StatefulTransport {
  readonly display: string;
  private client: Promise<import("@aws-sdk/client-bedrock-agentcore").BedrockAgentCoreClient> | undefined;
  private readonly target: { arn: string; qualifier?: string; region?: string };

  constructor(
    endpoint: string,
    private readonly spec: CompiledBackend,
    private readonly env: NodeJS.ProcessEnv,
  ) {
    this.target = parseAgentCoreEndpoint(endpoint);
    this.display = endpoint;
  }

  private sdk() {
    this.client ??= import("@aws-sdk/client-bedrock-agentcore").then(({ BedrockAgentCoreClient }) => {
      const env = this.env;
      const region = this.spec.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? this.target.region;
      const endpoint = env.AWS_ENDPOINT_URL_BEDROCK_AGENTCORE ?? env.AWS_ENDPOINT_URL;
      const credentials =
        env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
          ? {
              accessKeyId: env.AWS_ACCESS_KEY_ID,
              secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
              sessionToken: env.AWS_SESSION_TOKEN,
            }
          : undefined;
      return new BedrockAgentCoreClient({ region, endpoint, credentials, maxAttempts: 1 });
    });
    return this.client;
  }

  async invoke(
    sessionId: string | undefined,
    body: string,
    o: { signal?: AbortSignal; idempotencyKey?: string },
  ): Promise<WireResponse> {
    const client = await this.sdk();
    const { InvokeAgentRuntimeCommand } = await import("@aws-sdk/client-bedrock-agentcore");
    const trace = traceContextHeaders();
    try {
      const out = await client.send(
        new InvokeAgentRuntimeCommand({
          agentRuntimeArn: this.target.arn,
          qualifier: this.target.qualifier,
          runtimeSessionId: sessionId,
          contentType: "application/json",
          accept: "text/event-stream, application/json",
          payload: new TextEncoder().encode(body),
          traceParent: trace.traceparent,
          traceState: trace.tracestate,
        }),
        { abortSignal: o.signal },
      );
      return {
        status: out.statusCode ?? 200,
        contentType: out.contentType ?? "",
        body: (out.response as Readable | undefined) ?? emptyBody(),
      };
    } catch (err) {
      throw agentCoreError(err, this.display);
    }
  }
}

async function* emptyBody(): AsyncGenerator<Uint8Array> {}

function agentCoreError(err: unknown, display: string): BackendError {
  if (err instanceof BackendError) return err;
  const e = err as {
    name?: string;
    message?: string;
    $metadata?: { httpStatusCode?: number };
    code?: string;
  };
  const what = `${e.name ?? "error"}: ${e.message ?? String(err)}`;
  switch (e.name) {
    case "AbortError":
      return new BackendError("cancelled", "the turn was cancelled");
    case "AccessDeniedException":
    case "UnauthorizedException":
    case "UnrecognizedClientException":
    case "InvalidSignatureException":
    case "ExpiredTokenException":
    case "CredentialsProviderError":
      return new BackendError(
        "auth",
        `AgentCore Runtime refused the call to ${display} (${what}): the AWS credentials (the standard chain: AWS_PROFILE, AWS_ACCESS_KEY_ID, ...) need bedrock-agentcore:InvokeAgentRuntime on that runtime`,
      );
    case "ResourceNotFoundException":
      return new BackendError(
        "not_found",
        `AgentCore Runtime has no runtime ${display} (${what}): check the ARN, its region and qualifier`,
      );
    case "ThrottlingException":
    case "ThrottledException":
    case "ServiceQuotaExceededException":
      return new BackendError(
        "rate_limit",
        `AgentCore Runtime is throttling ${display} (${what}): retry later`,
      );
    case "ValidationException":
      return new BackendError("config", `AgentCore Runtime rejected the call to ${display} (${what})`);
    case "RuntimeClientError":
      return new BackendError(
        "server",
        `the runtime container behind ${display} failed the request (${what}): see its logs in CloudWatch`,
      );
  }
  if (e.code && /^E[A-Z]+$/.test(e.code))
    return new BackendError(
      "server",
      `cannot reach AgentCore Runtime for ${display} (${e.code}): check the network, the region, or AWS_ENDPOINT_URL_BEDROCK_AGENTCORE`,
    );
  return new BackendError("server", `AgentCore Runtime failed the call to ${display} (${what})`);
}
