import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "dist/**",
      "node_modules/**",
      ".statecraft/**",
      "**/*.mjs",
      "media/**/*.js",
      ".cache/**",
      ".vscode-test/**",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/await-thenable": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-empty": ["error", { allowEmptyCatch: false }],
      "no-restricted-imports": "off",
    },
  },
  {
    // Example and fixture tool scripts are plain Node programs.
    files: ["examples/**/*.js", "test/fixtures/**/*.js"],
    languageOptions: {
      sourceType: "commonjs",
      globals: {
        process: "readonly",
        require: "readonly",
        module: "writable",
        console: "readonly",
        Buffer: "readonly",
        __dirname: "readonly",
        URL: "readonly",
        URLSearchParams: "readonly",
      },
    },
    // CommonJS: `require` is how they import (examples/crm/server.js, demo.js).
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
  // The layers of shared/design/architecture.md, one block per folder of server/ and one for the
  // client: protocol <- language <- (lsp, runtime) <- backends <- service <- debug <- cli.
  ...layers(),
);

/**
 * Per-folder import rules: a folder imports only folders to its left (protocol from anywhere);
 * lsp and runtime not each other; nothing under server/ imports vscode or the client; the client
 * imports nothing of server/ but `import type` from server/protocol. Import cycles are checked by
 * scripts/import-cycles.mjs (run by `npm run lint`).
 */
function layers() {
  const ORDER = "protocol <- language <- (lsp, runtime) <- backends <- service <- debug <- cli";
  const below = {
    protocol: [],
    language: ["protocol"],
    lsp: ["protocol", "language"],
    runtime: ["protocol", "language"],
    backends: ["protocol", "language", "runtime"],
    service: ["protocol", "language", "runtime", "backends"],
    debug: ["protocol", "language", "runtime", "backends", "service"],
    cli: ["protocol", "language", "lsp", "runtime", "backends", "service", "debug"],
  };
  const folders = Object.keys(below);
  const vscode = { name: "vscode", message: "server/ must not import vscode (architecture.md)." };
  const configs = folders.map((folder) => {
    const refused = folders.filter((f) => f !== folder && !below[folder].includes(f));
    const patterns = [
      {
        regex: "^(\\.\\./)+client(/|$)",
        message: "server/ must not import the client: the client talks to it over LSP, DAP, HTTP or the CLI.",
      },
    ];
    if (refused.length)
      patterns.push({
        regex: `^(\\.\\./)+(${refused.join("|")})(/|$)`,
        message: `server/${folder} may import only ${below[folder].join(", ") || "nothing of server/"} (architecture.md: ${ORDER}).`,
      });
    if (folder === "protocol")
      patterns.push({
        regex: "^(?!\\./)",
        message: "server/protocol holds types and constants only: it imports nothing but its own files.",
      });
    return {
      files: [`server/${folder}/**/*.ts`],
      rules: { "@typescript-eslint/no-restricted-imports": ["error", { paths: [vscode], patterns }] },
    };
  });
  configs.push({
    files: ["client/**/*.ts"],
    rules: {
      "@typescript-eslint/no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              regex: "^(\\.\\./)+server/protocol/",
              allowTypeImports: true,
              message:
                "the client imports only types from server/protocol (`import type`): nothing of the server may enter the extension bundle.",
            },
            {
              regex: "^(\\.\\./)+server/(?!protocol/)",
              message:
                "the client imports nothing of server/ but `import type` from server/protocol: reach the rest over LSP, DAP, HTTP or the CLI.",
            },
          ],
        },
      ],
    },
  });
  return configs;
}
