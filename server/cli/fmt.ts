// `statecraft fmt`: rewrite `.agent` files in the canonical layout, or with
// --check list the files that are not formatted (exit 1) without writing.
// A file that cannot be read, is not UTF-8 or cannot be written is one line
// on stderr; the other files are still formatted, and the exit code is 2.

import * as fs from "node:fs";
import { parseArgs } from "node:util";
import { decodeUtf8, invalidEncodingMessage } from "../language/encoding";
import { format } from "../language/format";
import { LineIndex } from "../language/lineIndex";
import { collectAgentFiles, displayPath, fileError, plural } from "./files";
import type { CliIO, Flags } from "./io";

/** The flags of `statecraft fmt` (the docs test parses the documented commands against them). */
export const FMT_FLAGS = { check: { type: "boolean", default: false } } satisfies Flags;

export function fmtCommand(argv: string[], io: CliIO): number {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: FMT_FLAGS,
  });
  const files = collectAgentFiles(positionals, io.cwd);
  let unformatted = 0;
  let failed = 0;
  for (const f of files) {
    const shown = displayPath(f, io.cwd);
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(f);
    } catch (err) {
      io.stderr(`${shown}: not formatted: ${fileError("cannot read the file", err)}\n`);
      failed++;
      continue;
    }
    const decoded = decodeUtf8(bytes);
    if (decoded.invalid) {
      // Writing the decoded text back would replace the bad bytes with U+FFFD for good.
      const at = new LineIndex(decoded.text).position(decoded.invalid.offset);
      io.stderr(
        `${shown}:${at.line + 1}:${at.character + 1}: not formatted: ${invalidEncodingMessage(decoded.invalid)}\n`,
      );
      failed++;
      continue;
    }
    const result = format(decoded.text);
    if ("error" in result) {
      io.stderr(`${shown}: not formatted: ${result.error}\n`);
      failed++;
      continue;
    }
    if (!result.changed) continue;
    unformatted++;
    if (values.check) {
      io.stdout(`${shown}\n`);
      continue;
    }
    try {
      fs.writeFileSync(f, result.text);
      io.stdout(`formatted ${shown}\n`);
    } catch (err) {
      io.stderr(`${shown}: not formatted: ${fileError("cannot write the file", err)}\n`);
      failed++;
    }
  }
  if (values.check && unformatted)
    io.stderr(
      `${plural(unformatted, "file")} ${unformatted === 1 ? "needs" : "need"} formatting: run statecraft fmt\n`,
    );
  if (failed) io.stderr(`${plural(failed, "file")} not formatted\n`);
  return failed > 0 ? 2 : values.check && unformatted > 0 ? 1 : 0;
}
