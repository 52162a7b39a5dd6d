// Turns what the `openai` SDK throws (HTTP status errors, connection
// failures, timeouts, in-stream errors, a stream that stops early) into a
// BackendError whose message says what to change. Messages never carry the
// key: whatever the server echoes goes through the redactor first.

import OpenAI from "openai";
import { BackendError } from "../runtime/model";
import { endSentence } from "../runtime/sentence";

export interface FailureContext {
  backend: string;
  provider: "openai" | "azure" | "compatible";
  api: "chat" | "responses";
  endpoint: string;
  model?: string;
  keyEnv?: string;
  usesAdToken: boolean;
  retries: number;
  timeoutMs: number;
  redact: (text: string) => string;
}

export interface FailureState {
  /** The response headers had arrived (streaming had begun). */
  started: boolean;
  /** The call was aborted because nothing arrived within the timeout. */
  timedOut: boolean;
  /** HTTP attempts made (1 + retries). */
  attempts?: number;
  /** The stream ended without its terminal event. */
  cut?: { events: number; chars: number };
}

/** A failure the server reported inside a stream (Responses `error` / `response.failed`). */
export class StreamFailure extends Error {
  constructor(
    readonly code: string | null | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** Replaces the given secrets, and anything shaped like an OpenAI key, in text. */
export function redactor(secrets: (string | undefined)[]): (text: string) => string {
  const list = secrets.filter((s): s is string => !!s && s.length >= 4);
  return (text) => {
    let out = text;
    for (const s of list) out = out.split(s).join("[redacted]");
    return out.replace(/\bsk-[A-Za-z0-9_*.-]{3,}/g, "sk-[redacted]");
  };
}

const CONTEXT_RE = /context[_ ]length|context window|maximum context|too many tokens|prompt is too long/i;

function serverMessage(err: unknown, redact: (t: string) => string): string {
  let msg = "";
  if (err instanceof OpenAI.APIError) {
    const body = err.error as { message?: unknown } | undefined;
    msg = typeof body?.message === "string" ? body.message : err.message;
  } else if (err instanceof Error) msg = err.message;
  return redact(msg.trim()).slice(0, 500);
}

function errorCode(err: unknown): string | undefined {
  if (err instanceof StreamFailure) return err.code ?? undefined;
  if (err instanceof OpenAI.APIError) {
    const body = err.error as { code?: unknown; type?: unknown } | undefined;
    const c = err.code ?? body?.code ?? body?.type;
    return typeof c === "string" ? c : typeof c === "number" ? String(c) : undefined;
  }
  return undefined;
}

function connectionCause(err: unknown): string {
  let e: unknown = err;
  for (let i = 0; i < 4 && e; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && /^E[A-Z]+/.test(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return err instanceof Error ? err.message : String(err);
}

export function describeFailure(err: unknown, ctx: FailureContext, state: FailureState): BackendError {
  const who = `backend '${ctx.backend}' (${ctx.provider}, ${ctx.endpoint})`;
  const tries = state.attempts ?? ctx.retries + 1;
  const retried = tries > 1 ? ` after ${tries} attempts` : "";
  if (state.timedOut) return timeout(ctx, who, state.started, retried);
  if (err instanceof OpenAI.APIUserAbortError) return new BackendError("cancelled", "cancelled");

  if (state.cut || (state.started && !(err instanceof OpenAI.APIError) && !(err instanceof StreamFailure))) {
    const what = state.cut
      ? `after ${state.cut.events} event${state.cut.events === 1 ? "" : "s"} (${state.cut.chars} characters of text)`
      : `mid-way (${ctx.redact(connectionCause(err))})`;
    return new BackendError(
      "stream_cut",
      `${who}: the response stream was cut ${what}, before the response finished. ` +
        `The turn failed; what was recorded before this model call is kept. Send the input again.`,
    );
  }
  if (err instanceof OpenAI.APIConnectionTimeoutError) return timeout(ctx, who, state.started, retried);
  if (err instanceof OpenAI.APIConnectionError)
    return new BackendError(
      "server",
      `${who}: cannot reach the server (${ctx.redact(connectionCause(err))})${retried}. ` +
        `Check endpoint in backend '${ctx.backend}' and that the server is running.`,
    );

  const msg = serverMessage(err, ctx.redact);
  const code = errorCode(err);
  const status = err instanceof OpenAI.APIError ? err.status : undefined;
  const quoted = msg ? `: ${msg}` : "";
  // What the server said, with where it said it: an HTTP status, or an error event inside the stream
  // (the SDK raises those without a status).
  const said = (what: string | undefined) =>
    status !== undefined
      ? `(${status}${what ? ` ${what}` : ""}${quoted})`
      : `(${what ? `${what}, ` : ""}reported in the response stream${quoted})`;

  switch (classify(code, status, msg)) {
    case "context_length":
      return new BackendError(
        "context_length",
        endSentence(`${who}: the request does not fit the context window of model '${ctx.model}'${quoted}`) +
          ` Shorten what is sent: lower the memory window, set summarize_after, trim context sources, ` +
          `or use a model with a larger window (context_window on the backend makes the editor warn earlier).`,
      );
    case "quota":
      return new BackendError(
        "rate_limit",
        `${who}: the account's quota is used up ${said("insufficient_quota")}. Check the plan and billing of the account the key belongs to.`,
      );
    case "rate_limit":
      return new BackendError(
        "rate_limit",
        status !== undefined
          ? `${who}: rate limited (${status})${retried}, waiting as retry-after asked between attempts. ` +
              `Wait and send again, ask for a higher rate limit, or set ${"STATECRAFT_MODEL_MAX_RETRIES"} to retry more${quoted ? ` (server${quoted})` : ""}.`
          : `${who}: rate limited ${said(code)}. Wait and send again, or ask for a higher rate limit.`,
      );
    case "auth": {
      if (ctx.usesAdToken)
        return new BackendError(
          "auth",
          `${who}: the Microsoft Entra token in AZURE_OPENAI_AD_TOKEN was rejected ${said(undefined)}. ` +
            `It may have expired: get a new one (az account get-access-token --resource https://cognitiveservices.azure.com) ` +
            `and check the identity has the Cognitive Services OpenAI User role on the resource.`,
        );
      const env = ctx.keyEnv ?? (ctx.provider === "azure" ? "AZURE_OPENAI_API_KEY" : "OPENAI_API_KEY");
      const where =
        ctx.provider === "azure"
          ? "a key of this Azure OpenAI resource (Keys and Endpoint in the Azure portal)"
          : ctx.provider === "compatible"
            ? "the key this server expects"
            : "a valid OpenAI API key (https://platform.openai.com/api-keys)";
      return new BackendError(
        "auth",
        `${who}: the API key was rejected (${status ?? "in the response stream"}). Set the environment variable ${env} to ${where}` +
          (ctx.keyEnv ? "" : `, and add api_key: env("${env}") to backend '${ctx.backend}'`) +
          ".",
      );
    }
    case "forbidden":
      return new BackendError(
        "auth",
        `${who}: permission denied ${said(undefined)}. The key${ctx.keyEnv ? ` in ${ctx.keyEnv}` : ""} is valid but may not use model '${ctx.model}' or this project or region.`,
      );
    case "not_found":
      if (ctx.provider === "azure")
        return new BackendError(
          "not_found",
          `${who}: deployment '${ctx.model}' was not found ${said(undefined)}. ` +
            `Set model in backend '${ctx.backend}' to the name of a deployment of this resource` +
            (ctx.api === "responses"
              ? ", and check api_version supports the Responses API."
              : ", and check api_version."),
        );
      return new BackendError(
        "not_found",
        `${who}: model '${ctx.model}' was not found ${said(undefined)}. Set model (on the backend or the agent) to a model this endpoint serves` +
          (ctx.provider === "compatible"
            ? `, and check that endpoint is the server's OpenAI API base URL (usually ending in /v1)` +
              (ctx.api === "responses"
                ? " and that the server supports the Responses API (else use api: chat)."
                : ".")
            : "."),
      );
    case "server":
      return new BackendError(
        "server",
        status !== undefined
          ? endSentence(`${who}: the server failed with ${status}${retried}${quoted}`) +
              ` This is on the server's side: try again later.`
          : `${who}: the server failed ${said(code)}. This is on the server's side: try again later.`,
      );
    case "refused":
      return new BackendError(
        "config",
        `${who}: the server refused the request ${said(undefined)}. Check model, api (${ctx.api}) and the tools' schemas.`,
      );
    case "stream":
      return new BackendError(
        "server",
        `${who}: the server reported an error in the response stream${code ? ` (${code})` : ""}${quoted ? endSentence(quoted) : "."} The turn failed: send the input again.`,
      );
  }
}

type FailureClass =
  | "context_length"
  | "quota"
  | "rate_limit"
  | "auth"
  | "forbidden"
  | "not_found"
  | "server"
  | "refused"
  | "stream";

/**
 * What a provider error means, by its code first (the same code arrives as an HTTP error before the stream
 * starts or as an error event inside it), then by the HTTP status.
 */
function classify(code: string | undefined, status: number | undefined, msg: string): FailureClass {
  switch (code) {
    case "insufficient_quota":
      return "quota";
    case "context_length_exceeded":
      return "context_length";
    case "rate_limit_exceeded":
      return "rate_limit";
    case "invalid_api_key":
      return "auth";
    case "model_not_found":
    case "DeploymentNotFound":
      return "not_found";
    case "server_error":
    case "internal_error":
      return "server";
  }
  if ((status === 400 || status === undefined) && CONTEXT_RE.test(msg)) return "context_length";
  if (status === undefined) return "stream";
  if (status === 401) return "auth";
  if (status === 403) return "forbidden";
  if (status === 404) return "not_found";
  if (status === 429) return "rate_limit";
  if (status >= 500) return "server";
  return "refused";
}

function timeout(ctx: FailureContext, who: string, started: boolean, retried: string): BackendError {
  return new BackendError(
    "timeout",
    started
      ? `${who}: the response stream went silent for ${ctx.timeoutMs} ms, so the call was stopped. ` +
          `Try again, or set STATECRAFT_MODEL_TIMEOUT_MS to wait longer.`
      : `${who}: no response within ${ctx.timeoutMs} ms${retried}. ` +
          `Check the server, or set STATECRAFT_MODEL_TIMEOUT_MS to wait longer.`,
  );
}
