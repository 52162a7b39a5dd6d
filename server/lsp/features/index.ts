// Every feature of the language server, registered in this order.

import type { Feature } from "../context";
import { diagnosticsFeature } from "./diagnostics";
import { COMPLETION_FEATURES } from "./completion";
import { NAVIGATION_FEATURES } from "./navigation";
import { codeActionsFeature } from "./codeActions";
import { codeLensesFeature } from "./codeLenses";
import { formattingFeature } from "./formatting";
import { hoverFeature } from "./hover";
import { inlayHintsFeature } from "./inlayHints";
import { semanticTokensFeature } from "./semanticTokens";

export const FEATURES: Feature[] = [
  diagnosticsFeature,
  codeActionsFeature,
  codeLensesFeature,
  formattingFeature,
  ...NAVIGATION_FEATURES,
  ...COMPLETION_FEATURES,
  hoverFeature,
  inlayHintsFeature,
  semanticTokensFeature,
];
