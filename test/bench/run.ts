// `npm run bench`: every benchmark suite, printed as tables of medians.

import { runLanguageBench } from "./language.bench";

function main(): void {
  console.log(`statecraft benchmarks: node ${process.version}, ${new Date().toISOString()}`);
  if (!(globalThis as { gc?: unknown }).gc) console.log("(run with --expose-gc for heap figures)");
  runLanguageBench();
}

main();
