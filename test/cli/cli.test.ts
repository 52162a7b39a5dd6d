// The `statecraft` CLI: exit codes and output formats, run in-process through
// main() and once as the built binary (to prove the bundle and its shebang work).

import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ROOT, runCli } from "./helpers";

const EXAMPLE = path.join(ROOT, "examples/support");

const run = runCli;

function tempDir(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "statecraft-cli-"));
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

const BROKEN = `agent a {
  instructions: "hi"
  temperature: 3
  tools: [nope]
}
`;

describe("statecraft check", () => {
  it("exits 0 and prints nothing on stdout for the example project", async () => {
    const r = await run(["check", EXAMPLE]);
    assert.equal(r.code, 0, r.out + r.err);
    assert.equal(r.out, "");
    assert.match(r.err, /^8 files checked: 0 errors, 0 warnings\n$/);
  });

  it("prints path:line:col: severity code: message, 1-based, and exits 1 on errors", async () => {
    const dir = tempDir({ "a.agent": BROKEN });
    const r = await run(["check", "a.agent"], dir);
    assert.equal(r.code, 1);
    assert.deepEqual(r.out.trimEnd().split("\n"), [
      "a.agent:3:16: error out-of-range: 'temperature' must be between 0 and 2; found 3.",
      "a.agent:4:11: error unknown-reference: Unknown tool 'nope': no tool is declared in this file or its imports.",
    ]);
  });

  it("exits 0 when there are only warnings, and shows hints only with --hints", async () => {
    const dir = tempDir({
      "w.agent": `tool t { description: "x" }\nagent a {\n  instructions: "hi"\n  descripton: "typo"\n}\n`,
    });
    const plain = await run(["check", dir]);
    assert.equal(plain.code, 0);
    assert.match(plain.out, /w\.agent:4:3: warning unknown-property: .*did you mean 'description'\?/);
    assert.doesNotMatch(plain.out, /unused-declaration/);
    const hints = await run(["check", "--hints", dir]);
    assert.match(hints.out, /w\.agent:1:6: hint unused-declaration: tool 't' is not used/);
  });

  it("prints JSON with --format json", async () => {
    const dir = tempDir({ "a.agent": BROKEN });
    const r = await run(["check", "--format", "json", dir]);
    assert.equal(r.code, 1);
    const parsed = JSON.parse(r.out) as {
      path: string;
      line: number;
      column: number;
      code: string;
      severity: string;
    }[];
    assert.deepEqual(
      parsed.map((d) => [d.line, d.column, d.severity, d.code]),
      [
        [3, 16, "error", "out-of-range"],
        [4, 11, "error", "unknown-reference"],
      ],
    );
  });

  it("walks folders, skipping node_modules and dot-folders", async () => {
    const dir = tempDir({
      "ok.agent": `agent a { instructions: "hi" }\n`,
      "node_modules/x/bad.agent": BROKEN,
      ".hidden/bad.agent": BROKEN,
      "sub/also.agent": `agent b { instructions: "hi" }\n`,
    });
    const r = await run(["check", dir]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.err, /^2 files checked/);
  });

  it("gives a one-line error and exit 2 for a missing path, an unknown option or a bad format", async () => {
    for (const args of [
      ["check", "does-not-exist"],
      ["check", "--bogus"],
      ["check", "--format", "xml", EXAMPLE],
    ]) {
      const r = await run(args);
      assert.equal(r.code, 2, args.join(" "));
      assert.equal(r.err.trimEnd().split("\n").length, 1, r.err);
      assert.match(r.err, /^statecraft check: /);
      assert.doesNotMatch(r.err, /\n\s+at /);
    }
  });

  it("reads the datasets of evals: a bad line is an error at DATASET:LINE:COL naming the field (exit 1)", async () => {
    const agent = `agent a { instructions: "hi" }\neval e {\n  agent: a\n  dataset: file("cases/support.jsonl")\n}\n`;
    const good = `{"name": "one", "input": "hi"}\n`;
    const dir = tempDir({
      "e.agent": agent,
      "cases/support.jsonl": `${good}{"name": "two", "imput": "hi"}\n`,
    });
    const r = await run(["check", "e.agent"], dir);
    assert.equal(r.code, 1, r.out + r.err);
    assert.deepEqual(r.out.trimEnd().split("\n"), [
      `${path.join("cases", "support.jsonl")}:2:17: error dataset-line: Line 2 is not a valid case: unknown field 'imput': a case has name, input, user, expected, goal, expect, judge, script.`,
    ]);
    assert.match(r.err, /^1 file checked: 1 error, 0 warnings\n$/);
    fs.writeFileSync(path.join(dir, "cases/support.jsonl"), good);
    const fixed = await run(["check", "e.agent"], dir);
    assert.equal(fixed.code, 0, fixed.out + fixed.err);
    fs.rmSync(path.join(dir, "cases/support.jsonl"));
    const missing = await run(["check", "e.agent"], dir);
    assert.equal(missing.code, 1);
    assert.match(
      missing.out,
      /^e\.agent:4:17: error dataset-line: Cannot read the dataset 'cases\/support\.jsonl'/,
    );
  });

  it("rejects an unknown command with exit 2", async () => {
    const r = await run(["frobnicate"]);
    assert.equal(r.code, 2);
    assert.match(r.err, /unknown command 'frobnicate'/);
  });
});

describe("statecraft fmt", () => {
  it("--check lists unformatted files and exits 1 without writing; fmt rewrites them", async () => {
    const messy = `agent a{\n    instructions:"hi"\n}\n`;
    const dir = tempDir({ "m.agent": messy, "ok.agent": `agent b {\n  instructions: "hi"\n}\n` });
    const check = await run(["fmt", "--check", dir], dir);
    assert.equal(check.code, 1);
    assert.equal(check.out, "m.agent\n");
    assert.equal(fs.readFileSync(path.join(dir, "m.agent"), "utf8"), messy);
    const write = await run(["fmt", dir], dir);
    assert.equal(write.code, 0);
    assert.equal(fs.readFileSync(path.join(dir, "m.agent"), "utf8"), `agent a {\n  instructions: "hi"\n}\n`);
    assert.equal((await run(["fmt", "--check", dir], dir)).code, 0);
  });

  it("refuses to format a file with syntax errors (exit 2) and leaves it alone", async () => {
    const dir = tempDir({ "b.agent": `agent a {\n  instructions: \n` });
    const r = await run(["fmt", dir], dir);
    assert.equal(r.code, 2);
    assert.match(r.err, /b\.agent: not formatted: /);
    assert.equal(fs.readFileSync(path.join(dir, "b.agent"), "utf8"), `agent a {\n  instructions: \n`);
  });

  it("the example project is formatted", async () => {
    assert.equal((await run(["fmt", "--check", EXAMPLE])).code, 0);
  });
});

describe("statecraft compile", () => {
  it("prints the compiled definition with a stable hash", async () => {
    const r = await run(["compile", path.join(EXAMPLE, "main.agent"), "--agent", "support"]);
    assert.equal(r.code, 0, r.err);
    const def = JSON.parse(r.out) as {
      agent: string;
      hash: string;
      agents: Record<string, unknown>;
      tools: Record<string, unknown>;
    };
    assert.equal(def.agent, "support");
    assert.match(def.hash, /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual(Object.keys(def.agents).sort(), ["billing", "support"]);
    assert.ok("refund" in def.tools);
    const again = await run(["compile", path.join(EXAMPLE, "main.agent"), "--agent", "support"]);
    assert.equal(again.out, r.out);
  });

  it("exits 1 with diagnostics when the file has errors, and 2 for an unknown agent", async () => {
    const dir = tempDir({ "a.agent": BROKEN });
    const r = await run(["compile", "a.agent", "--agent", "a"], dir);
    assert.equal(r.code, 1);
    assert.match(r.err, /a\.agent:3:16: error out-of-range/);
    const unknown = await run(["compile", path.join(EXAMPLE, "main.agent"), "--agent", "nobody"]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /No agent 'nobody'.*agents: /);
  });
});

describe("the built binary", () => {
  it("runs check through its shebang and exits with the right code", () => {
    const bin = path.join(ROOT, "dist/cli.js");
    assert.ok(fs.existsSync(bin), "dist/cli.js is built by npm test before mocha runs");
    const dir = tempDir({ "a.agent": BROKEN });
    fs.chmodSync(bin, 0o755);
    const r = spawnSync(bin, ["check", dir], { encoding: "utf8" });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stdout, /error out-of-range/);
  });
});
