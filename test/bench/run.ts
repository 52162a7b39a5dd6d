// `npm run bench`: every benchmark suite, printed as tables of medians.

import { runConnectionsBench } from "./connections.bench";
import { runEngineBench } from "./engine.bench";
import { runEvalBench } from "./eval.bench";
import { runExtensionBench } from "./extension.bench";
import { runExplorerBench } from "./explorer.bench";
import { runHintsBench, runLanguageBench } from "./language.bench";
import { runLspBench } from "./lsp.bench";
import { runOpenAIBench } from "./openai.bench";
import { runOtelBench } from "./otel.bench";
import { runServiceBench } from "./service.bench";
import { runStatefulBench } from "./stateful.bench";

// `npm run bench -- service lsp`: only the suites named (all when none is).
const only = process.argv.slice(2);
const suites: [string, () => unknown][] = [
  ["language", () => runLanguageBench()],
  ["hints", () => runHintsBench()],
  ["lsp", runLspBench],
  ["engine", runEngineBench],
  ["eval", runEvalBench],
  ["otel", runOtelBench],
  ["openai", runOpenAIBench],
  ["service", runServiceBench],
  ["extension", () => runExtensionBench()],
  ["explorer", runExplorerBench],
  ["stateful", runStatefulBench],
  ["connections", runConnectionsBench],
];

async function main(): Promise<void> {
  console.log(`statecraft benchmarks: node ${process.version}, ${new Date().toISOString()}`);
  if (!(globalThis as { gc?: unknown }).gc) console.log("(run with --expose-gc for heap figures)");
  const unknown = only.filter((n) => !suites.some(([name]) => name === n));
  if (unknown.length)
    throw new Error(
      `no benchmark suite ${unknown.join(", ")}; the suites: ${suites.map(([n]) => n).join(", ")}`,
    );
  for (const [name, run] of suites) if (!only.length || only.includes(name)) await run();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
