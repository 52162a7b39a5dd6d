// Watching one kind of file under a workspace folder's .statecraft/ (session logs, eval runs) and
// keeping an in-memory reader of them up to date: the Session Explorer and the Evals view share it.

import * as vscode from "vscode";

/** What reads the watched files: re-reads one (true when what it shows changed), forgets one. */
export interface WatchedFiles {
  update(file: string): Promise<boolean>;
  remove(file: string): boolean;
}

/**
 * Watches `pattern` (relative to the folder) and tells `files` of every created, changed and deleted
 * file; `changed` is called when what it shows changed, `report` names a file that could not be read.
 */
export function watchFolderFiles(
  folder: vscode.WorkspaceFolder,
  pattern: string,
  files: WatchedFiles,
  changed: () => void,
  report: (what: string) => (err: unknown) => void,
): vscode.Disposable[] {
  const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(folder, pattern));
  const update = (uri: vscode.Uri) =>
    void files.update(uri.fsPath).then((did) => did && changed(), report(`reading ${uri.fsPath}`));
  return [
    watcher,
    watcher.onDidCreate(update),
    watcher.onDidChange(update),
    watcher.onDidDelete((uri) => files.remove(uri.fsPath) && changed()),
  ];
}
