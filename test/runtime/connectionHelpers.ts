// Compiled definitions with connections for the runtime's connection and SQL
// tests: an agent compiled from source through the real compiler, its tools'
// runs and its connections then set as the language compiles them
// (protocol/definition.ts), so the runtime is tested on exactly that shape.

import type {
  CompiledConnection,
  CompiledDefinition,
  CompiledTool,
  RunIR,
} from "../../server/protocol/definition";
import { compileSource, lines } from "./helpers";

export type ConnectionSpec = Omit<CompiledConnection, "name" | "source" | "headers"> & {
  headers?: CompiledConnection["headers"];
};

export type ToolSpec = { run: RunIR } & Partial<Pick<CompiledTool, "write" | "maxRows" | "timeoutMs">>;

/** One agent `support` offering `tools` (each taking an optional string `q`), with `connections`. */
export function defineWithConnections(
  connections: Record<string, ConnectionSpec>,
  tools: Record<string, ToolSpec>,
  extra: { contexts?: string; agentContext?: string[]; scopes?: string[] } = {},
): CompiledDefinition {
  const names = Object.keys(tools);
  const def = compileSource(
    lines(
      ...names.flatMap((n) => [`tool ${n} {`, `  description: "${n}"`, "  input { q?: string }", "}"]),
      extra.contexts ?? "",
      "agent support {",
      '  instructions: "Help."',
      ...(extra.agentContext ? [`  context: [${extra.agentContext.join(", ")}]`] : []),
      `  tools: [${names.join(", ")}]`,
      "}",
    ),
  );
  for (const [n, t] of Object.entries(tools)) Object.assign(def.tools[n], t);
  def.connections = Object.fromEntries(
    Object.entries(connections).map(([name, c]) => [
      name,
      { name, headers: {}, source: { file: "main.agent", line: 1 }, ...c },
    ]),
  );
  return def;
}
