// Running `statecraft` commands in-process for tests: output captured, the
// exit code returned, exactly as the binary would report them.

import * as path from "node:path";
import { main } from "../../server/cli/main";

export const ROOT = path.resolve(__dirname, "../..");

export async function runCli(
  args: string[],
  cwd = ROOT,
): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await main(args, {
    cwd,
    env: {},
    stdout: (t) => (out += t),
    stderr: (t) => (err += t),
  });
  return { code, out, err };
}
