// `statecraft dap`: the agent debugger for editors other than VS Code
// (nvim-dap, Emacs dap-mode, ...), speaking the Debug Adapter Protocol over
// standard input and output. VS Code's extension runs the same command.

import { runAdapter } from "../debug/adapter";
import { UsageError, type CliIO } from "./io";

export function dapCommand(argv: string[], _io: CliIO): Promise<number> {
  const extra = argv.filter((a) => a !== "--stdio");
  if (extra.length)
    throw new UsageError(
      `usage: statecraft dap [--stdio] (stdio is the only transport); unexpected: ${extra.join(" ")}`,
    );
  runAdapter();
  // The adapter runs until the client disconnects, which ends the process.
  return new Promise<number>(() => undefined);
}
