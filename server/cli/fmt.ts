// `statecraft fmt`: rewrite `.agent` files in the canonical layout, or with
// --check list the files that are not formatted (exit 1) without writing.

import * as fs from "node:fs";
import { parseArgs } from "node:util";
import { format } from "../language/format";
import { collectAgentFiles, displayPath } from "./files";
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
    const text = fs.readFileSync(f, "utf8");
    const result = format(text);
    const shown = displayPath(f, io.cwd);
    if ("error" in result) {
      io.stderr(`${shown}: not formatted: ${result.error}\n`);
      failed++;
      continue;
    }
    if (!result.changed) continue;
    unformatted++;
    if (values.check) io.stdout(`${shown}\n`);
    else {
      fs.writeFileSync(f, result.text);
      io.stdout(`formatted ${shown}\n`);
    }
  }
  if (values.check && unformatted)
    io.stderr(`${unformatted} file${unformatted === 1 ? "" : "s"} need formatting: run statecraft fmt\n`);
  return failed > 0 ? 2 : values.check && unformatted > 0 ? 1 : 0;
}
