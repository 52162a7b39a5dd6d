// The provider table against every site that reads it: for each row, the schema
// offers the provider, validation accepts it under the kinds it allows (and only
// those), asks for an endpoint and checks model ids exactly when the row says so,
// the fixes offer its endpoint example and key variable, the hover shows its doc,
// the catalog lists its models, the backend factory creates it, and the docs and
// messages that list providers name it. A row added without one of these fails here.

import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { createBackend } from "../../server/backends";
import { NO_SCRIPT_MESSAGE } from "../../server/backends/local";
import { modelsFor, resolveModel } from "../../server/language/catalog";
import { quickFixes } from "../../server/language/codeActions";
import type { CompiledBackend } from "../../server/language/compile";
import { hover } from "../../server/language/hover";
import { LanguageService } from "../../server/language/languageService";
import {
  modelProviders,
  PROVIDER_NAMES,
  PROVIDERS,
  providerRow,
  type BackendKind,
  type Provider,
  type ProviderRow,
} from "../../server/language/providers";
import { DECLARATION_SCHEMAS } from "../../server/language/schema";
import { BackendError } from "../../server/runtime/model";
import { checkSources, memoryFileSystem, wsPath } from "./helpers/memfs";

const KINDS: BackendKind[] = ["stateless", "stateful"];
const rows: [Provider, ProviderRow][] = PROVIDER_NAMES.map((p) => [p, PROVIDERS[p]]);

/** A backend of `provider` and `kind` run by one agent; `extra` goes into the backend. */
function source(provider: string, kind: BackendKind, extra = ""): string {
  return `backend b {\n  kind: ${kind}\n  provider: ${provider}\n${extra}}\nagent a {\n  instructions: "Hi"\n  backend: b\n}\n`;
}

function diagnostics(text: string) {
  return checkSources({ "main.agent": text });
}

function service(text: string): LanguageService {
  const s = new LanguageService(memoryFileSystem({ "main.agent": text }));
  s.add(wsPath("main.agent"));
  return s;
}

/** An endpoint when the row needs one, so that other checks are seen alone. */
const endpointFor = (row: ProviderRow) => (row.endpoint ? `  endpoint: "${row.endpoint.example}"\n` : "");

describe("the provider table", () => {
  it("has a row for at least the providers the docs describe, each with a kind", () => {
    assert.deepEqual(PROVIDER_NAMES.slice(0, 5), ["openai", "azure", "compatible", "bedrock", "local"]);
    for (const [p, row] of rows) assert.ok(row.kinds.length > 0, p);
  });

  it("is what the schema's provider property offers", () => {
    const spec = DECLARATION_SCHEMAS.backend.props.provider;
    assert.deepEqual(spec.type, { t: "enum", values: PROVIDER_NAMES });
    assert.equal(spec.snippet, `provider: \${1|${PROVIDER_NAMES.join(",")}|}`);
    for (const p of PROVIDER_NAMES) assert.match(spec.doc, new RegExp(`\\b${p}\\b`), p);
  });

  for (const [p, row] of rows) {
    describe(p, () => {
      for (const kind of KINDS) {
        const allowed = row.kinds.includes(kind);
        it(`${allowed ? "is accepted" : "is a backend-mismatch"} with kind: ${kind}`, () => {
          const found = diagnostics(source(p, kind, endpointFor(row)));
          const mismatch = found.filter((d) => d.code === "backend-mismatch");
          if (allowed) assert.deepEqual(found, []);
          else {
            assert.equal(mismatch.length, 1, JSON.stringify(found));
            assert.equal(found.length, 1, JSON.stringify(found));
          }
        });
      }

      const kind = row.kinds[0];
      it(
        row.endpoint ? "needs an endpoint, and its fix writes the row's example" : "needs no endpoint",
        () => {
          const text = source(p, kind);
          const missing = diagnostics(text).filter((d) => d.code === "missing-property");
          if (!row.endpoint) return assert.deepEqual(missing, []);
          assert.equal(missing.length, 1);
          assert.match(
            missing[0].message,
            new RegExp(`needs 'endpoint': the base URL of ${row.endpoint.what}\\.`),
          );
          const s = service(text);
          const [fix] = quickFixes(s, wsPath("main.agent"), missing);
          assert.ok(fix, "no fix for the missing endpoint");
          assert.ok(
            fix.edits.some((e) => e.newText.includes(JSON.stringify(row.endpoint!.example))),
            JSON.stringify(fix.edits),
          );
        },
      );

      it(row.catalog ? "checks model ids against its catalog" : "accepts any model name", () => {
        const unknown = diagnostics(source(p, kind, `${endpointFor(row)}  model: "no-such-model-x"\n`));
        assert.deepEqual(
          unknown.map((d) => d.code),
          row.catalog ? ["unknown-model"] : [],
        );
        assert.equal(modelsFor(p).length, row.catalog?.models.length ?? 0);
        if (row.catalog) {
          const known = row.catalog.models[0].id;
          assert.deepEqual(diagnostics(source(p, kind, `${endpointFor(row)}  model: "${known}"\n`)), []);
          assert.equal(resolveModel(p, known)?.provider, p);
        }
      });

      it(row.builtinModel ? "runs its built-in model" : "runs the model its backend names", () => {
        assert.equal(resolveModel(p, undefined)?.id, row.builtinModel?.id);
      });

      it("offers its key variable for a literal api_key", () => {
        const text = source(p, kind, `${endpointFor(row)}  api_key: "sk-123"\n`);
        const literal = diagnostics(text).filter((d) => d.code === "secret-literal");
        assert.equal(literal.length, 1);
        const variable = row.keyVariable ?? "OPENAI_API_KEY";
        assert.deepEqual(literal[0].fixes?.[0], {
          kind: "replace",
          title: `Use env("${variable}")`,
          text: `env("${variable}")`,
        });
      });

      it("has its doc on hover", () => {
        const text = source(p, kind, endpointFor(row));
        const h = hover(
          service(text),
          wsPath("main.agent"),
          text.indexOf(`provider: ${p}`) + "provider: ".length,
        );
        assert.ok(h, "no hover");
        assert.ok(h.markdown.includes(row.doc), h.markdown);
      });

      it("is created by the backend factory", () => {
        const spec: CompiledBackend = {
          name: "b",
          kind,
          provider: p,
          api: "chat",
          endpoint: row.endpoint?.example,
          region: "us-east-1",
          apiKeyEnv: "KEY",
        };
        const backend = createBackend(spec, { env: { KEY: "k" } });
        assert.equal(backend.provider, p);
        assert.equal(backend.kind, kind);
      });

      it("is named by the docs' backend table", () => {
        const language = fs.readFileSync(path.resolve(__dirname, "../../docs/language.md"), "utf8");
        const line = language.split("\n").find((l) => l.includes("`provider` (required)"));
        assert.ok(line, "docs/language.md has no provider row");
        assert.ok(line.includes(`\`${p}\``), line);
      });
    });
  }

  it("is the list of real-model providers the local backend's message offers", () => {
    for (const p of modelProviders()) assert.match(NO_SCRIPT_MESSAGE, new RegExp(`\\b${p}\\b`));
    for (const p of PROVIDER_NAMES.filter((x) => providerRow(x)?.builtinModel))
      assert.doesNotMatch(NO_SCRIPT_MESSAGE, new RegExp(`provider [^.]*\\b${p}\\b`));
  });

  it("refuses, with a clear message, a provider outside it (a definition read from elsewhere)", () => {
    const spec = {
      name: "b",
      kind: "stateless",
      provider: "no-such-provider",
      api: "chat",
    } as unknown as CompiledBackend;
    assert.throws(
      () => createBackend(spec, { env: {} }),
      (err: unknown) =>
        err instanceof BackendError &&
        /backend 'b' uses provider no-such-provider \(stateless\), which this build/.test(err.message),
    );
  });

  it("gives nothing for a word that is not a provider", () => {
    assert.equal(providerRow("no-such-provider"), undefined);
    assert.equal(providerRow("toString"), undefined);
    assert.equal(resolveModel("no-such-provider", "gpt-4o"), undefined);
  });
});
