// What every language-server feature receives: the connection, the open
// documents, the language service, and conversions between LSP positions and
// URIs and the core's offsets and paths. Features are thin adapters over it.

import * as path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import {
  ErrorCodes,
  ResponseError,
  type ClientCapabilities,
  type Connection,
  type Position,
  type Range,
  type ServerCapabilities,
  type TextDocuments,
} from "vscode-languageserver/node";
import type { TextDocument } from "vscode-languageserver-textdocument";
import type { Span } from "../language/ast";
import { LineIndex } from "../language/lineIndex";
import type { LanguageService } from "../language/languageService";
import type { SourceFile } from "../language/ast";

export class FeatureContext {
  private readonly uris = new Map<string, string>();
  private readonly indexes = new Map<string, { text: string; index: LineIndex }>();
  clientCapabilities: ClientCapabilities = {};

  constructor(
    readonly connection: Connection,
    readonly documents: TextDocuments<TextDocument>,
    readonly service: LanguageService,
  ) {}

  toPath(uri: string): string {
    const p = uri.startsWith("file:") ? path.resolve(fileURLToPath(uri)) : uri;
    if (!this.uris.has(p)) this.uris.set(p, uri);
    return p;
  }

  /** The URI the client knows the file by, so that edits and locations match its documents. */
  toUri(p: string): string {
    return this.uris.get(p) ?? pathToFileURL(p).href;
  }

  file(p: string): SourceFile | undefined {
    return this.service.program.get(p)?.file;
  }

  lineIndex(p: string): LineIndex {
    // A data file (an eval's dataset) has diagnostics too: its text is read from the file system.
    const text = this.service.program.text(p) ?? "";
    const cached = this.indexes.get(p);
    if (cached && cached.text === text) return cached.index;
    const index = new LineIndex(text);
    this.indexes.set(p, { text, index });
    return index;
  }

  range(p: string, span: Span): Range {
    const idx = this.lineIndex(p);
    return { start: idx.position(span.start), end: idx.position(span.end) };
  }

  offset(p: string, pos: Position): number {
    return this.lineIndex(p).offset(pos);
  }
}

export interface Feature {
  /** The server capabilities this feature contributes, given what the client supports. */
  capabilities(client: ClientCapabilities): ServerCapabilities;
  register(ctx: FeatureContext): void;
}

/**
 * Wraps a request handler: a bug becomes a ResponseError and a log line
 * instead of a crashed server, and the handler stays a few lines long.
 */
export function handler<P, R>(ctx: FeatureContext, name: string, fn: (params: P) => R): (params: P) => R {
  return (params: P) => {
    try {
      return fn(params);
    } catch (err) {
      const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
      ctx.connection.console.error(`${name} failed: ${message}`);
      throw new ResponseError(
        ErrorCodes.InternalError,
        `${name} failed: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  };
}
