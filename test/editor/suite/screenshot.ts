// Pictures of the workbench taken while the suite runs. The extension host cannot capture the
// page it runs behind, so it asks the launcher: it prints a request line, which reaches the
// launcher through VS Code's console forwarding, and waits for the launcher's reply file (the
// launcher captures the page into test-results/editor/<name>.png, then writes the reply).
// Under a launcher without the channel (@vscode/test-electron) `screenshot` does nothing.

import * as fs from "node:fs";
import * as path from "node:path";

/** The folder where the launcher writes replies; set by scripts/editor-test/run.mjs. */
const REPLY_DIR_VARIABLE = "STATECRAFT_EDITOR_TEST_SCREENSHOT_DIR";
/** The request line's prefix; the launcher matches `<prefix><name>` exactly. */
export const SCREENSHOT_REQUEST = "in-editor suite: screenshot ";
const REPLY_DEADLINE_MS = 20_000;
const NAME = /^[a-z0-9][a-z0-9-]{0,63}$/;

/**
 * Asks the launcher for a picture of the workbench as it is now, saved as `<name>.png`; resolves
 * with the picture's path once it is written (undefined when no launcher takes pictures). Rejects
 * when the launcher reports that it could not take it, or does not answer in time.
 */
export async function screenshot(name: string): Promise<string | undefined> {
  if (!NAME.test(name)) throw new Error(`screenshot name '${name}' must be lower-case letters, digits, '-'`);
  const dir = process.env[REPLY_DIR_VARIABLE];
  if (!dir) return undefined;
  const reply = path.join(dir, `${name}.reply`);
  fs.rmSync(reply, { force: true });
  const answer = await new Promise<string>((resolve, reject) => {
    const read = () => {
      let text: string;
      try {
        text = fs.readFileSync(reply, "utf8");
      } catch {
        return; // not written yet: the watcher calls again
      }
      // The launcher writes the reply whole with a trailing newline; a partial write waits.
      if (!text.endsWith("\n")) return;
      settle(() => resolve(text.trim()));
    };
    const settle = (then: () => void) => {
      clearTimeout(deadline);
      watcher.close();
      then();
    };
    const watcher = fs.watch(dir, read);
    const deadline = setTimeout(
      () =>
        settle(() =>
          reject(new Error(`no reply to screenshot '${name}' after ${REPLY_DEADLINE_MS / 1000}s (${reply})`)),
        ),
      REPLY_DEADLINE_MS,
    );
    console.log(`${SCREENSHOT_REQUEST}${name}`);
    read();
  });
  const result = JSON.parse(answer) as { path?: string; error?: string };
  if (result.error !== undefined) throw new Error(`screenshot '${name}' failed: ${result.error}`);
  return result.path;
}
