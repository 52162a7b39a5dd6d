// `statecraft lsp --stdio`: the language server for editors other than VS Code
// (Neovim, Emacs, Helix, ...), speaking LSP over standard input and output.

import {
  createConnection,
  ProposedFeatures,
  StreamMessageReader,
  StreamMessageWriter,
} from "vscode-languageserver/node";
import { startServer } from "../lsp/server";
import { UsageError, type CliIO } from "./io";

export function lspCommand(argv: string[], _io: CliIO): Promise<number> {
  if (!argv.includes("--stdio"))
    throw new UsageError("usage: statecraft lsp --stdio (the only transport offered)");
  const connection = createConnection(
    ProposedFeatures.all,
    new StreamMessageReader(process.stdin),
    new StreamMessageWriter(process.stdout),
  );
  startServer(connection);
  // The server runs until the client sends exit, which ends the process.
  return new Promise<number>(() => undefined);
}
