// Rules of backend declarations, read from the provider table: the kind the
// provider runs under, an endpoint where the provider needs one, and model ids
// against the provider's catalog (also an agent's own `model`).

import type { Declaration, Property, Span } from "../ast";
import { lookupModel, nearestModel } from "../catalog";
import { blocks, props } from "../compile";
import { orList, providerRow, providersOfKind } from "../providers";
import type { Checker, DeclarationCheck } from "./checker";
import { wordOf } from "./values";

/** The provider runs under the backend's kind. */
function checkBackendKind(c: Checker, decl: Declaration): void {
  const p = props(decl.body);
  const kind = wordOf(p.get("kind")?.value);
  const providerProp = p.get("provider");
  const provider = wordOf(providerProp?.value);
  const row = providerRow(provider);
  if (providerProp && kind && provider) {
    if (kind === "stateful" && !row?.kinds.includes("stateful"))
      c.report(
        providerProp.value,
        "backend-mismatch",
        `A stateful backend runs in the Statecraft runtime with provider ${orList(providersOfKind("stateful"))}; '${provider}' is a stateless API (use kind: stateless).`,
      );
    if (kind === "stateless" && row && !row.kinds.includes("stateless"))
      c.report(
        providerProp.value,
        "backend-mismatch",
        `${row.label} runs behind the stateful runtime: use kind: stateful with provider ${provider} (or a stateless provider: ${providersOfKind("stateless").join(", ")}).`,
      );
  }
}

/** A provider that needs an endpoint has one. */
function checkBackendEndpoint(c: Checker, decl: Declaration, owner: Span): void {
  const p = props(decl.body);
  const provider = wordOf(p.get("provider")?.value);
  const row = providerRow(provider);
  if (row?.endpoint && !p.has("endpoint"))
    c.report(
      owner,
      "missing-property",
      `${/^[aeiou]/.test(provider ?? "") ? "An" : "A"} ${provider} backend needs 'endpoint': the base URL of ${row.endpoint.what}.`,
      {
        fixes: [
          {
            kind: "insertProperty",
            property: "endpoint",
            snippet: 'endpoint: "$1"',
            blockEnd: decl.body.end - 1,
            indent: "",
          },
        ],
      },
    );
}

/** The model id is in the provider's catalog (unless the backend gives its own context_window). */
function checkBackendModel(c: Checker, decl: Declaration): void {
  const p = props(decl.body);
  const provider = wordOf(p.get("provider")?.value);
  const model = p.get("model");
  if (model && provider) checkModelId(c, model, provider, p.has("context_window"));
}

/** Each provider takes its own reasoning setting: effort (OpenAI APIs) or a token budget (Bedrock). */
function checkBackendReasoning(c: Checker, decl: Declaration): void {
  const block = blocks(decl.body).get("reasoning");
  const provider = wordOf(props(decl.body).get("provider")?.value);
  if (!block || !provider) return;
  const takes: Record<string, string | undefined> = {
    openai: "effort",
    azure: "effort",
    compatible: "effort",
    bedrock: "budget_tokens",
  };
  const own = Object.hasOwn(takes, provider) ? takes[provider] : undefined;
  if (!own) {
    c.report(
      block.name,
      "backend-mismatch",
      `The ${provider} backend does not reason: 'reasoning' is for openai, azure and compatible (effort) or bedrock (budget_tokens).`,
    );
    return;
  }
  for (const [name, prop] of props(block.body))
    if ((name === "effort" || name === "budget_tokens") && name !== own)
      c.report(
        prop.name,
        "backend-mismatch",
        `A ${provider} backend takes reasoning { ${own}: ${own === "effort" ? "low, medium or high" : "a token budget such as 2048"} }, not ${name}.`,
      );
}

/** The rules of a backend, in the order they report. */
export const BACKEND_CHECKS: readonly DeclarationCheck[] = [
  checkBackendKind,
  checkBackendEndpoint,
  checkBackendModel,
  checkBackendReasoning,
];

export function checkModelId(c: Checker, model: Property, provider: string, hasWindow: boolean): void {
  if (model.value.type !== "String" || hasWindow) return;
  if (!providerRow(provider)?.catalog) return;
  const id = model.value.value;
  if (lookupModel(provider, id)) return;
  const near = nearestModel(provider, id);
  c.report(
    model.value,
    "unknown-model",
    `'${id}' is not in the built-in ${provider} catalog${near ? ` (did you mean '${near}'?)` : ""}; if it is right, set context_window on the backend so budgets can be checked.`,
    near ? c.replaceFix(`Change to '${near}'`, `"${near}"`) : {},
  );
}
