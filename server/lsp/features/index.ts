// Every feature of the language server, registered in this order.

import type { Feature } from "../context";
import { diagnosticsFeature } from "./diagnostics";

export const FEATURES: Feature[] = [diagnosticsFeature];
