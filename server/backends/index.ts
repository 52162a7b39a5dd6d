// Chooses the model backend for a compiled backend declaration: one case per
// provider of the provider table (server/language/providers.ts), so a provider
// added there without a backend here does not compile.

import type { CompiledBackend } from "../language/compile";
import { BackendError, type ModelBackend } from "../runtime/model";
import { BedrockBackend } from "./bedrock";
import { LocalBackend } from "./local";
import { OpenAIBackend } from "./openai";

export interface BackendOptions {
  env: NodeJS.ProcessEnv;
}

export function createBackend(spec: CompiledBackend, options: BackendOptions): ModelBackend {
  switch (spec.provider) {
    case "local":
      return new LocalBackend(spec.name, spec.kind);
    case "openai":
    case "azure":
    case "compatible":
      return new OpenAIBackend(spec, options);
    case "bedrock":
      // Bedrock inference (the runtime service's, or a direct call): configured from options.env.
      return new BedrockBackend(spec, options);
    default: {
      // A definition read from outside (a request to the runtime service) may name anything.
      const provider: string = spec.provider satisfies never;
      throw new BackendError(
        "config",
        `backend '${spec.name}' uses provider ${provider} (${spec.kind}), which this build of Statecraft cannot call yet; ` +
          `run on a backend with provider local, or use the local backend's scripted replies`,
      );
    }
  }
}
