// Every code block of README.md and docs/*.md works as shown: `.agent`
// blocks pass `statecraft check`, and the `statecraft` commands of `sh`
// blocks use real commands and flags (parsed with the CLI's own flag
// tables); those that can run offline are run on a copy of the examples.
//
// Marks, an HTML comment on the line before a fence (keep them rare):
//   <!-- check in DIR -->        the block is checked as a file of a copy of DIR
//                                (so that its imports resolve)
//   <!-- fragment: REASON -->    the block is a piece of a file by design: not checked
//   <!-- same as FILE -->         a JSON block shows FILE: it must hold the same value

import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { COMMAND_FLAGS } from "../../server/cli/main";
import { ROOT, runCli } from "./helpers";

interface Block {
  /** `file:line` of the opening fence. */
  where: string;
  lang: string;
  text: string;
  mark?: string;
}

export function codeBlocks(file: string): Block[] {
  const lines = fs.readFileSync(file, "utf8").split(/\r?\n/);
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(\S*)\s*$/.exec(lines[i]);
    if (!open) continue;
    let j = i + 1;
    while (j < lines.length && !/^\s*```\s*$/.test(lines[j])) j++;
    let k = i - 1;
    while (k >= 0 && lines[k].trim() === "") k--;
    const mark = k >= 0 ? /^<!--\s*(.*?)\s*-->$/.exec(lines[k].trim())?.[1] : undefined;
    blocks.push({
      where: `${path.relative(ROOT, file)}:${i + 1}`,
      lang: open[2],
      text: lines.slice(i + 1, j).join("\n") + "\n",
      mark,
    });
    i = j;
  }
  return blocks;
}

const DECLARATION =
  /^\s*(import\s+"|(backend|type|tool|context|memory|agent|mcp|test|eval)\s+("[^"]*"|[A-Za-z_]\w*)\s*\{)/m;

function isAgentBlock(b: Block): boolean {
  return (b.lang === "" || b.lang === "agent") && DECLARATION.test(b.text);
}

/** Shell words of a block: continuation lines joined, comments dropped, split into commands at `&&`, `;` and `|`. */
export function shellCommands(text: string): string[][] {
  const commands: string[][] = [];
  for (const line of text.replace(/\\\n/g, " ").split("\n")) {
    let words: string[] = [];
    let word: string | undefined;
    for (let i = 0; i < line.length; i++) {
      const c = line[i];
      if (c === '"' || c === "'") {
        const end = line.indexOf(c, i + 1);
        if (end < 0) throw new Error(`unclosed quote in: ${line}`);
        word = (word ?? "") + line.slice(i + 1, end);
        i = end;
      } else if (/\s/.test(c)) {
        if (word !== undefined) words.push(word);
        word = undefined;
      } else if (c === "#" && word === undefined) {
        break;
      } else if (c === ";" || c === "|" || (c === "&" && line[i + 1] === "&")) {
        if (word !== undefined) words.push(word);
        word = undefined;
        if (words.length) commands.push(words);
        words = [];
        if (line[i + 1] === c) i++;
      } else word = (word ?? "") + c;
    }
    if (word !== undefined) words.push(word);
    if (words.length) commands.push(words);
  }
  return commands;
}

interface CliCommand {
  env: Record<string, string>;
  args: string[];
}

/** `[VAR=value...] statecraft ARGS` or `node dist/cli.js ARGS`; undefined for any other program. */
function cliCommand(words: string[]): CliCommand | undefined {
  const env: Record<string, string> = {};
  let i = 0;
  for (; i < words.length && /^[A-Z_][A-Z0-9_]*=/.test(words[i]); i++) {
    const eq = words[i].indexOf("=");
    env[words[i].slice(0, eq)] = words[i].slice(eq + 1);
  }
  if (words[i] === "statecraft") return { env, args: words.slice(i + 1) };
  if (words[i] === "node" && words[i + 1] === "dist/cli.js") return { env, args: words.slice(i + 2) };
  return undefined;
}

/** Commands that need a network, a server or an editor on the other end are only parsed. */
function runsOffline(args: string[]): boolean {
  // export sends to a collector, and names a recorded session.
  if (["serve", "lsp", "dap", "export"].includes(args[0])) return false;
  const backend = args.indexOf("--backend");
  return backend < 0 || args[backend + 1] === "dev";
}

const DOCS = [
  path.join(ROOT, "README.md"),
  ...fs
    .readdirSync(path.join(ROOT, "docs"))
    .filter((f) => f.endsWith(".md"))
    .map((f) => path.join(ROOT, "docs", f)),
];

describe("code blocks of README.md and docs/", () => {
  const all = DOCS.flatMap(codeBlocks);
  let tmp: string;

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "statecraft-docs-"));
    // The commands of the docs run from the repository root: a copy of its examples (and a
    // package.json, so that the copy is the project whose .statecraft they write).
    fs.cpSync(path.join(ROOT, "examples"), path.join(tmp, "examples"), { recursive: true });
    fs.writeFileSync(path.join(tmp, "package.json"), "{}\n");
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("finds the blocks (the extraction itself works)", () => {
    assert.ok(all.filter(isAgentBlock).length >= 5, "agent blocks");
    assert.ok(all.filter((b) => b.lang === "sh").length >= 2, "sh blocks");
    assert.deepEqual(
      shellCommands('A=1 node dist/cli.js run x \\\n  --input "a b" # c\nnpm ci && npm start'),
      [
        ["A=1", "node", "dist/cli.js", "run", "x", "--input", "a b"],
        ["npm", "ci"],
        ["npm", "start"],
      ],
    );
  });

  it("marks name a reason or a folder that exists", () => {
    for (const b of all.filter((x) => x.mark !== undefined)) {
      const m = b.mark!;
      if (m.startsWith("fragment:"))
        assert.ok(m.slice(9).trim().length > 0, `${b.where}: a fragment says why`);
      else if (m.startsWith("check in "))
        assert.ok(fs.existsSync(path.join(ROOT, m.slice(9).trim())), b.where);
    }
  });

  for (const block of all.filter(isAgentBlock)) {
    it(`${block.where} checks`, async () => {
      if (block.mark?.startsWith("fragment:")) return;
      let dir = path.join(tmp, "blocks", block.where.replace(/[/:.]/g, "_"));
      if (block.mark?.startsWith("check in ")) {
        const from = path.join(ROOT, block.mark.slice(9).trim());
        dir = path.join(dir, path.basename(from));
        fs.cpSync(from, dir, { recursive: true });
      } else fs.mkdirSync(dir, { recursive: true });
      const file = path.join(dir, "doc-block.agent");
      fs.writeFileSync(file, block.text);
      const r = await runCli(["check", file], tmp);
      assert.equal(r.code, 0, `${block.where}:\n${block.text}\n${r.out}${r.err}`);
      assert.doesNotMatch(r.out, /doc-block\.agent:\d+:\d+: (error|warning)/, `${block.where}:\n${r.out}`);
    });
  }

  for (const block of all.filter((b) => b.mark?.startsWith("same as "))) {
    it(`${block.where} shows ${block.mark!.slice(8)} as it is`, () => {
      const file = path.join(ROOT, block.mark!.slice(8).trim());
      assert.deepEqual(JSON.parse(block.text), JSON.parse(fs.readFileSync(file, "utf8")), block.where);
    });
  }

  for (const block of all.filter((b) => b.lang === "sh")) {
    for (const words of shellCommands(block.text)) {
      const cli = cliCommand(words);
      if (!cli) continue;
      const shown = words.join(" ");
      it(`${block.where}: ${shown}`, async () => {
        const [name, ...rest] = cli.args;
        // A subcommand with flags of its own (`eval list`) is parsed with them.
        const sub = COMMAND_FLAGS[`${name} ${rest[0]}`];
        const flags = sub ?? COMMAND_FLAGS[name];
        assert.ok(flags, `${block.where}: unknown command '${name}' in: ${shown}`);
        assert.doesNotThrow(
          () =>
            parseArgs({
              args: sub ? rest.slice(1) : rest,
              options: flags,
              allowPositionals: true,
              strict: true,
            }),
          `${block.where}: ${shown}`,
        );
        if (!runsOffline(cli.args)) return;
        const r = await runCli(cli.args, tmp);
        assert.equal(r.code, 0, `${block.where}: ${shown}\n${r.out}${r.err}`);
      });
    }
  }
});
