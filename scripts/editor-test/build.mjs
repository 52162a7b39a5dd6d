// Bundles the in-editor test suite (test/editor/suite/index.ts) into
// dist/editor-tests/index.js, the module VS Code loads as extensionTestsPath.
// Same esbuild settings as esbuild.mjs; mocha is bundled so that the suite
// needs nothing at run time but the extension host's `vscode`.
import * as esbuild from "esbuild";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

await esbuild.build({
  absWorkingDir: root,
  entryPoints: ["test/editor/suite/index.ts"],
  outfile: "dist/editor-tests/index.js",
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  external: ["vscode"],
  sourcemap: true,
  sourcesContent: false,
  logLevel: "warning",
  // Only mocha's parallel mode resolves files at run time, and the suite runs serially.
  logOverride: { "require-resolve-not-external": "silent" },
});
