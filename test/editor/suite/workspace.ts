// Helpers for tests that drive the editor on the fixture workspace
// (test/editor/fixtures/workspace, opened by the launcher as a copy).
// Waiting is always for the event that proves a state, bounded by a deadline
// that fails with what was last seen, never for time.

import * as vscode from "vscode";

export const EXTENSION_ID = "statecraft.statecraft";

/** The URI of a file of the fixture workspace. */
export function fixture(name: string): vscode.Uri {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder) throw new Error("no workspace folder: the launcher must open the fixture workspace");
  return vscode.Uri.joinPath(folder.uri, name);
}

/** Opens a fixture file in an editor, as a user would, and returns its document. */
export async function open(name: string): Promise<vscode.TextDocument> {
  const doc = await vscode.workspace.openTextDocument(fixture(name));
  await vscode.window.showTextDocument(doc);
  return doc;
}

/** The position just after `text` (or at its start), which must occur exactly once in the document. */
export function positionAt(
  doc: vscode.TextDocument,
  text: string,
  where: "start" | "end" = "end",
): vscode.Position {
  const source = doc.getText();
  const at = source.indexOf(text);
  if (at < 0 || source.indexOf(text, at + 1) >= 0)
    throw new Error(`'${text}' must occur exactly once in ${doc.uri.path}`);
  return doc.positionAt(where === "end" ? at + text.length : at);
}

/** A diagnostic as `code@line:character` (zero-based), for readable assertions. */
export function describeDiagnostic(d: vscode.Diagnostic): string {
  const code = typeof d.code === "object" ? d.code.value : d.code;
  return `${String(code)}@${d.range.start.line}:${d.range.start.character}`;
}

/**
 * Resolves with the language server's diagnostics for `uri` once `ready` holds for them; checks
 * the current state first, then on every change VS Code reports for that file.
 */
export function statecraftDiagnostics(
  uri: vscode.Uri,
  ready: (ds: vscode.Diagnostic[]) => boolean,
  deadlineMs = 20_000,
): Promise<vscode.Diagnostic[]> {
  const current = () => vscode.languages.getDiagnostics(uri).filter((d) => d.source === "statecraft");
  return new Promise((resolve, reject) => {
    const settle = (ds: vscode.Diagnostic[] | Error) => {
      clearTimeout(deadline);
      subscription.dispose();
      if (ds instanceof Error) reject(ds);
      else resolve(ds);
    };
    const check = () => {
      const ds = current();
      if (ready(ds)) settle(ds);
    };
    const subscription = vscode.languages.onDidChangeDiagnostics((e) => {
      if (e.uris.some((u) => u.toString() === uri.toString())) check();
    });
    const deadline = setTimeout(() => {
      const seen = current().map(describeDiagnostic).join(", ") || "none";
      settle(
        new Error(`diagnostics for ${uri.path} not as expected after ${deadlineMs} ms; last seen: ${seen}`),
      );
    }, deadlineMs);
    check();
  });
}
