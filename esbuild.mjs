// One build script, one esbuild context per entry point. `vscode` is always
// external: it is provided by the extension host at run time.
//   node esbuild.mjs               development build with sourcemaps
//   node esbuild.mjs --production  minified
//   node esbuild.mjs --watch       rebuild on change
import * as fs from "node:fs";
import * as path from "node:path";
import * as esbuild from "esbuild";

const production = process.argv.includes("--production");
const watch = process.argv.includes("--watch");

/** @type {esbuild.BuildOptions[]} */
const entries = [
  { entryPoints: ["client/src/extension.ts"], outfile: "dist/extension.js" },
  { entryPoints: ["server/lsp/main.ts"], outfile: "dist/server.js" },
  {
    entryPoints: ["server/cli/main.ts"],
    outfile: "dist/cli.js",
    banner: { js: "#!/usr/bin/env node" },
    plugins: [otelApart()],
  },
  // The OpenTelemetry SDK, in a file of its own: dist/cli.js requires it only when an endpoint is set,
  // so a command without telemetry does not even parse it.
  { entryPoints: ["server/service/otelSdk.ts"], outfile: "dist/otelSdk.js" },
];

/** Leaves service/telemetry.ts's `require("./otelSdk")` to load dist/otelSdk.js at run time. */
function otelApart() {
  return {
    name: "otel-apart",
    setup(build) {
      build.onResolve({ filter: /^\.\/otelSdk$/ }, () => ({ path: "./otelSdk.js", external: true }));
    },
  };
}

const common = {
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  external: ["vscode"],
  sourcemap: !production,
  sourcesContent: false,
  minify: production,
  logLevel: "warning",
};

// PGlite (the runtime service's embedded PostgreSQL) loads its WebAssembly and
// file-system bundle from next to the script that bundles it: dist/cli.js.
fs.mkdirSync("dist", { recursive: true });
for (const f of ["pglite.wasm", "pglite.data", "initdb.wasm"])
  fs.copyFileSync(path.join("node_modules/@electric-sql/pglite/dist", f), path.join("dist", f));

const contexts = await Promise.all(entries.map((e) => esbuild.context({ ...common, ...e })));
if (watch) {
  await Promise.all(contexts.map((c) => c.watch()));
  console.log("esbuild: watching for changes");
} else {
  await Promise.all(contexts.map((c) => c.rebuild()));
  await Promise.all(contexts.map((c) => c.dispose()));
}
