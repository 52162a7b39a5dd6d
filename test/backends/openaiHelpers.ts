// Shared set-up of the OpenAI backend tests: one fake server speaking all
// three providers' paths, and backends pointed at it.

import type { CompiledBackend } from "../../server/language/compile";
import { OpenAIBackend, type OpenAIProvider } from "../../server/backends/openai";
import type { BackendErrorCode } from "../../server/runtime/model";
import { BackendError } from "../../server/runtime/model";
import { strict as assert } from "node:assert";

export const OPENAI_KEY = "sk-test-Q7w9ZkP2mX4vR8tL1nB6";
export const AZURE_KEY = "azkey-5f1c9e7d2b8a4036";
export const AD_TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.fake-entra-token";
export const MODEL = "gpt-4.1-mini";
export const DEPLOYMENT = "support-gpt41";

export const PROVIDERS: OpenAIProvider[] = ["openai", "azure", "compatible"];
export const APIS: ("chat" | "responses")[] = ["chat", "responses"];

export interface BackendSetup {
  provider: OpenAIProvider;
  api?: "chat" | "responses";
  /** The fake's base URL (http://127.0.0.1:PORT). */
  base: string;
  env?: NodeJS.ProcessEnv;
  spec?: Partial<CompiledBackend>;
  timeoutMs?: number;
  maxRetries?: number;
}

/** The backend declaration a user would write for `provider`, pointed at the fake. */
export function specFor(provider: OpenAIProvider, api: "chat" | "responses", base: string): CompiledBackend {
  if (provider === "azure")
    return {
      name: "azure_fake",
      kind: "stateless",
      provider,
      api,
      model: DEPLOYMENT,
      endpoint: base,
      apiKeyEnv: "AZURE_OPENAI_API_KEY",
    };
  return {
    name: `${provider}_fake`,
    kind: "stateless",
    provider,
    api,
    model: MODEL,
    endpoint: `${base}/v1`,
    apiKeyEnv: provider === "openai" ? "OPENAI_API_KEY" : undefined,
  };
}

export const defaultEnv: NodeJS.ProcessEnv = { OPENAI_API_KEY: OPENAI_KEY, AZURE_OPENAI_API_KEY: AZURE_KEY };

export function makeBackend(o: BackendSetup): OpenAIBackend {
  const spec = { ...specFor(o.provider, o.api ?? "chat", o.base), ...o.spec };
  return new OpenAIBackend(spec, {
    env: o.env ?? defaultEnv,
    timeoutMs: o.timeoutMs ?? 5000,
    maxRetries: o.maxRetries ?? 2,
  });
}

/** Awaits a rejection with a BackendError of `code` and returns its message. */
export async function rejectsWith(p: Promise<unknown>, code: BackendErrorCode): Promise<string> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof BackendError, `a BackendError, got ${String(err)}`);
    assert.equal(err.code, code, `code ${code}; message: ${err.message}`);
    return err.message;
  }
  assert.fail(`expected a ${code} BackendError, but the call succeeded`);
}
