// The language server: keeps the workspace index (every `.agent` file under
// the workspace folders, with open editors' text over the disk's), wires
// document events to re-validation, and registers each feature module.

import * as fs from "node:fs";
import {
  DidChangeWatchedFilesNotification,
  FileChangeType,
  TextDocumentSyncKind,
  TextDocuments,
  type Connection,
  type InitializeResult,
  type ServerCapabilities,
} from "vscode-languageserver/node";
import { TextDocument } from "vscode-languageserver-textdocument";
import { LanguageService } from "../language/languageService";
import { findAgentFiles, nodeFileSystem } from "../language/nodeFileSystem";
import { FeatureContext } from "./context";
import { publishDiagnostics } from "./features/diagnostics";
import { FEATURES } from "./features/index";

export const SERVER_VERSION = "0.1.0";

export function startServer(connection: Connection): FeatureContext {
  const documents = new TextDocuments(TextDocument);
  const overlays = new Map<string, string>();
  const service = new LanguageService(nodeFileSystem(overlays));
  const ctx = new FeatureContext(connection, documents, service);
  let roots: string[] = [];

  connection.onInitialize((params): InitializeResult => {
    ctx.clientCapabilities = params.capabilities;
    roots = (params.workspaceFolders ?? []).map((f) => ctx.toPath(f.uri));
    if (!roots.length && params.rootUri) roots = [ctx.toPath(params.rootUri)];
    const capabilities: ServerCapabilities = { textDocumentSync: TextDocumentSyncKind.Incremental };
    for (const f of FEATURES) Object.assign(capabilities, f.capabilities(params.capabilities));
    return { capabilities, serverInfo: { name: "statecraft-language-server", version: SERVER_VERSION } };
  });

  connection.onInitialized(() => {
    for (const root of roots) for (const f of findAgentFiles(root)) service.add(f);
    if (ctx.clientCapabilities.workspace?.didChangeWatchedFiles?.dynamicRegistration)
      void connection.client.register(DidChangeWatchedFilesNotification.type, {
        watchers: [{ globPattern: "**/*.agent" }, { globPattern: "**/*.jsonl" }],
      });
    publishDiagnostics(ctx, service.files());
  });

  const changed = (doc: TextDocument) => {
    const p = ctx.toPath(doc.uri);
    overlays.set(p, doc.getText());
    publishDiagnostics(ctx, service.update(p, doc.getText()));
  };
  documents.onDidOpen((e) => changed(e.document));
  documents.onDidChangeContent((e) => changed(e.document));
  documents.onDidClose((e) => {
    const p = ctx.toPath(e.document.uri);
    overlays.delete(p);
    // Back to what is on disk (or gone, if the file was never saved).
    const onDisk = nodeFileSystem().readFile(p);
    publishDiagnostics(ctx, onDisk === undefined ? service.remove(p) : service.update(p, onDisk));
  });

  connection.onDidChangeWatchedFiles((params) => {
    const affected = new Set<string>();
    for (const change of params.changes) {
      const p = ctx.toPath(change.uri);
      if (overlays.has(p)) continue; // the editor's text wins while the file is open
      if (!p.endsWith(".agent")) {
        // A data file (an eval's dataset): the files that read it are checked again.
        for (const a of service.dataChanged(p)) affected.add(a);
        continue;
      }
      const paths =
        change.type === FileChangeType.Deleted || !fs.existsSync(p)
          ? service.remove(p)
          : service.update(p, fs.readFileSync(p, "utf8"));
      for (const a of paths) affected.add(a);
    }
    publishDiagnostics(ctx, [...affected]);
  });

  for (const f of FEATURES) f.register(ctx);
  documents.listen(connection);
  connection.listen();
  return ctx;
}
