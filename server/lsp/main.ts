// Entry point of the bundled language server (dist/server.js). The transport
// comes from the command line, as vscode-languageclient passes it:
// --node-ipc, --stdio or --socket=PORT.

import { createConnection, ProposedFeatures } from "vscode-languageserver/node";
import { startServer } from "./server";

startServer(createConnection(ProposedFeatures.all));
