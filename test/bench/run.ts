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

async function main(): Promise<void> {
  console.log(`statecraft benchmarks: node ${process.version}, ${new Date().toISOString()}`);
  if (!(globalThis as { gc?: unknown }).gc) console.log("(run with --expose-gc for heap figures)");
  runLanguageBench();
  runHintsBench();
  await runLspBench();
  await runEngineBench();
  await runEvalBench();
  await runOtelBench();
  await runOpenAIBench();
  await runServiceBench();
  runExtensionBench();
  await runExplorerBench();
  await runStatefulBench();
  await runConnectionsBench();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
