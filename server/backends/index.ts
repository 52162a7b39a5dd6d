// Chooses the model backend for a compiled backend declaration: the built-in
// local (scripted) model, the OpenAI API family (openai, azure, compatible)
// or Amazon Bedrock. A `kind: stateful` declaration's turns go to a runtime
// service instead (stateful.ts, statefulSession.ts); the service itself calls
// this for its inference (service/turns.ts).

import type { CompiledBackend } from "../language/compile";
import { BackendError, type ModelBackend } from "../runtime/model";
import { BedrockBackend } from "./bedrock";
import { LocalBackend } from "./local";
import { OpenAIBackend, OPENAI_PROVIDERS } from "./openai";

export interface BackendOptions {
  env: NodeJS.ProcessEnv;
}

export function createBackend(spec: CompiledBackend, options: BackendOptions): ModelBackend {
  if (spec.provider === "local") return new LocalBackend(spec.name, spec.kind);
  if (OPENAI_PROVIDERS.includes(spec.provider)) return new OpenAIBackend(spec, options);
  // Bedrock inference (the runtime service's, or a direct call): configured from options.env.
  if (spec.provider === "bedrock") return new BedrockBackend(spec, options);
  throw new BackendError(
    "config",
    `backend '${spec.name}' uses provider ${spec.provider} (${spec.kind}), which this build of Statecraft cannot call yet; ` +
      `run on a backend with provider local, or use the local backend's scripted replies`,
  );
}
