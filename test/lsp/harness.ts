// Drives the built language server (dist/server.js) over stdio with a real
// LSP client connection, the way an editor does. Tests wait for the message
// that proves a state (a publishDiagnostics for a file), never for time.

import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import {
  createProtocolConnection,
  DidChangeTextDocumentNotification,
  DidOpenTextDocumentNotification,
  ExitNotification,
  InitializedNotification,
  InitializeRequest,
  PublishDiagnosticsNotification,
  ShutdownRequest,
  StreamMessageReader,
  StreamMessageWriter,
  type ClientCapabilities,
  type Diagnostic,
  type Position,
  type ProtocolConnection,
  type PublishDiagnosticsParams,
  type TextEdit,
} from "vscode-languageserver-protocol/node";

export const SERVER = path.resolve(__dirname, "../../dist/server.js");

/** Strips cursor markers `<|>` from text, returning the clean text and the marked positions. */
export function markers(
  text: string,
  marker = "<|>",
): { text: string; positions: Position[]; offsets: number[] } {
  const offsets: number[] = [];
  let clean = "";
  let i = 0;
  while (true) {
    const j = text.indexOf(marker, i);
    if (j < 0) {
      clean += text.slice(i);
      break;
    }
    clean += text.slice(i, j);
    offsets.push(clean.length);
    i = j + marker.length;
  }
  return { text: clean, positions: offsets.map((o) => positionOf(clean, o)), offsets };
}

/** The offset of an LSP position in `text` (lines split on \n, UTF-16 characters). */
export function offsetAt(text: string, p: Position): number {
  let offset = 0;
  for (let line = 0; line < p.line; line++) offset = text.indexOf("\n", offset) + 1;
  return offset + p.character;
}

/** Applies LSP text edits (non-overlapping, positions in the original text) and returns the new text. */
export function applyTextEdits(text: string, edits: TextEdit[]): string {
  const spans = edits
    .map((e) => ({
      start: offsetAt(text, e.range.start),
      end: offsetAt(text, e.range.end),
      newText: e.newText,
    }))
    .sort((a, b) => b.start - a.start);
  let out = text;
  for (const s of spans) out = out.slice(0, s.start) + s.newText + out.slice(s.end);
  return out;
}

export function positionOf(text: string, offset: number): Position {
  const before = text.slice(0, offset);
  const line = before.split("\n").length - 1;
  return { line, character: offset - (before.lastIndexOf("\n") + 1) };
}

export interface ClientOptions {
  /** Files to create in the workspace folder before the server starts (name -> text). */
  files?: Record<string, string>;
  capabilities?: ClientCapabilities;
}

export const PUSH_CAPABILITIES: ClientCapabilities = {
  textDocument: { publishDiagnostics: { relatedInformation: true, tagSupport: { valueSet: [1, 2] } } },
};

export class TestClient {
  readonly dir: string;
  private readonly proc: ChildProcess;
  readonly connection: ProtocolConnection;
  private readonly versions = new Map<string, number>();
  private readonly latest = new Map<string, PublishDiagnosticsParams>();
  private readonly waiters: {
    uri: string;
    pred: (d: Diagnostic[]) => boolean;
    resolve: (d: Diagnostic[]) => void;
  }[] = [];
  stderr = "";

  constructor(options: ClientOptions = {}) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "statecraft-lsp-"));
    for (const [name, text] of Object.entries(options.files ?? {})) this.write(name, text);
    this.proc = spawn(process.execPath, [SERVER, "--stdio"], { stdio: ["pipe", "pipe", "pipe"] });
    this.proc.stderr?.on("data", (d: Buffer) => (this.stderr += d.toString()));
    this.connection = createProtocolConnection(
      new StreamMessageReader(this.proc.stdout!),
      new StreamMessageWriter(this.proc.stdin!),
    );
    this.connection.onNotification(PublishDiagnosticsNotification.type, (p) => {
      this.latest.set(p.uri, p);
      for (const w of [...this.waiters]) {
        if (w.uri === p.uri && w.pred(p.diagnostics)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(p.diagnostics);
        }
      }
    });
    this.connection.listen();
  }

  static async start(options: ClientOptions = {}): Promise<TestClient> {
    const client = new TestClient(options);
    await client.connection.sendRequest(InitializeRequest.type, {
      processId: process.pid,
      rootUri: client.uri(""),
      workspaceFolders: [{ uri: client.uri(""), name: "ws" }],
      capabilities: options.capabilities ?? PUSH_CAPABILITIES,
    });
    await client.connection.sendNotification(InitializedNotification.type, {});
    return client;
  }

  path(name: string): string {
    return path.join(this.dir, name);
  }

  uri(name: string): string {
    return pathToFileURL(name ? this.path(name) : this.dir).href;
  }

  write(name: string, text: string): void {
    fs.mkdirSync(path.dirname(this.path(name)), { recursive: true });
    fs.writeFileSync(this.path(name), text);
  }

  async open(name: string, text: string): Promise<void> {
    this.versions.set(name, 1);
    await this.connection.sendNotification(DidOpenTextDocumentNotification.type, {
      textDocument: { uri: this.uri(name), languageId: "agent", version: 1, text },
    });
  }

  /** Replaces the whole text of an open document. */
  async change(name: string, text: string): Promise<void> {
    const version = (this.versions.get(name) ?? 1) + 1;
    this.versions.set(name, version);
    await this.connection.sendNotification(DidChangeTextDocumentNotification.type, {
      textDocument: { uri: this.uri(name), version },
      contentChanges: [{ text }],
    });
  }

  /** Resolves with the first published diagnostics of `name` that satisfy `pred` (already received ones count). */
  diagnostics(name: string, pred: (d: Diagnostic[]) => boolean = () => true): Promise<Diagnostic[]> {
    const uri = this.uri(name);
    const have = this.latest.get(uri);
    if (have && pred(have.diagnostics)) return Promise.resolve(have.diagnostics);
    return new Promise((resolve) => this.waiters.push({ uri, pred, resolve }));
  }

  request<R>(method: string, params: unknown): Promise<R> {
    return this.connection.sendRequest(method, params) as Promise<R>;
  }

  async stop(): Promise<void> {
    await this.connection.sendRequest(ShutdownRequest.type);
    await this.connection.sendNotification(ExitNotification.type);
    await new Promise<void>((resolve) => {
      if (this.proc.exitCode !== null) resolve();
      else this.proc.once("exit", () => resolve());
    });
    this.connection.dispose();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
