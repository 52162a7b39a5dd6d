// Language core benchmarks (issue: foundation): a full check of a generated
// 50-file, 10,000-line workspace, re-validation of one 2,000-line file after
// an edit, parse throughput, and heap. Baselines measured in the same run:
// the scanner alone and V8's JSON.parse over the same number of bytes.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { checkCommand } from "../../server/cli/check";
import { parse } from "../../server/language/parse";
import { Program, type FileSystem } from "../../server/language/program";
import { tokenize } from "../../server/language/tokenize";
import { analyzeFile, checkFiles } from "../../server/language/validate";
import { fmt, gc, measure, printTable } from "./harness";
import { generateWorkspace } from "./workspace";

const ROOT = "/bench-ws";

function memFs(files: Map<string, string>): FileSystem {
  const abs = new Map([...files].map(([k, v]) => [path.join(ROOT, k), v]));
  return { readFile: (p) => abs.get(p), exists: (p) => abs.has(p) };
}

export function runLanguageBench(): Record<string, number> {
  const ws = generateWorkspace(50, 10_000, 2_000);
  const files = memFs(ws.files);
  const roots = [...ws.files.keys()].map((k) => path.join(ROOT, k));
  const big = path.join(ROOT, "f0.agent");
  const bigText = ws.files.get("f0.agent") ?? "";

  // Sanity: the generated workspace is valid, so the benchmark measures real work on real input.
  const sanity = new Program(files);
  for (const r of roots) sanity.load(r);
  const problems = checkFiles(sanity, roots).filter(
    (d) => d.severity === "error" || d.severity === "warning",
  );
  if (problems.length)
    throw new Error(`generated workspace has ${problems.length} problems, first: ${problems[0].message}`);

  const full = measure(() => {
    const program = new Program(files);
    for (const r of roots) program.load(r);
    checkFiles(program, roots);
  }, 30);

  // Re-validation after an edit: the language server's path for one changed file.
  const program = new Program(files);
  for (const r of roots) program.load(r);
  checkFiles(program, roots);
  let flip = false;
  const revalidate = measure(() => {
    flip = !flip;
    program.update(big, flip ? bigText + "\n" : bigText);
    analyzeFile(program, big);
  }, 50);

  const texts = [...ws.files.values()];
  const parseAll = measure(() => {
    for (const t of texts) parse(t, "/x.agent");
  }, 30);
  const scanAll = measure(() => {
    for (const t of texts) tokenize(t);
  }, 30);
  // JSON.parse over the same number of bytes: V8's native parser as a yardstick.
  const json = JSON.stringify(texts.map((t) => t.split("\n")));
  const jsonBytes = Buffer.byteLength(json);
  const jsonParse = measure(() => {
    JSON.parse(json);
  }, 30);

  gc();
  const before = process.memoryUsage().heapUsed;
  const held = new Program(files);
  for (const r of roots) held.load(r);
  checkFiles(held, roots);
  gc();
  const heapMb = (process.memoryUsage().heapUsed - before) / 1024 / 1024;
  const mb = ws.bytes / 1024 / 1024;

  printTable(
    `Language core: ${ws.files.size} files, ${ws.lines} lines, ${(ws.bytes / 1024).toFixed(0)} KiB (median of samples)`,
    [
      { name: "full check (parse, resolve, validate)", value: `${fmt(full.median)} ms`, target: "< 100 ms" },
      {
        name: "re-validate one 2,000-line file",
        value: `${fmt(revalidate.median)} ms (p95 ${fmt(revalidate.p95)})`,
        target: "< 15 ms",
      },
      { name: "parse throughput", value: `${(mb / (parseAll.median / 1000)).toFixed(1)} MB/s` },
      { name: "scanner alone (baseline)", value: `${(mb / (scanAll.median / 1000)).toFixed(1)} MB/s` },
      {
        name: "JSON.parse, same bytes (baseline)",
        value: `${(jsonBytes / 1024 / 1024 / (jsonParse.median / 1000)).toFixed(1)} MB/s`,
      },
      {
        name: "parse time / JSON.parse time per byte",
        value: `${(parseAll.median / mb / (jsonParse.median / (jsonBytes / 1024 / 1024))).toFixed(1)}x`,
      },
      { name: "heap held by the checked program", value: `${heapMb.toFixed(1)} MB` },
    ],
  );
  return {
    fullCheckMs: full.median,
    revalidateMs: revalidate.median,
    revalidateP95Ms: revalidate.p95,
    parseMBps: mb / (parseAll.median / 1000),
    heapMB: heapMb,
  };
}

/**
 * `statecraft check --hints` on files of N unused tools (each one an `unused-declaration` hint),
 * against `check` without hints on the same file: the hints must cost time linear in their number.
 */
/** `statecraft check` without --connect never awaits anything: measured as the synchronous call it is. */
function checkSync(args: string[], io: Parameters<typeof checkCommand>[1]): number {
  const code = checkCommand(args, io);
  if (typeof code !== "number") throw new Error("check without --connect returned a promise");
  return code;
}

export function runHintsBench(): Record<string, number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "statecraft-bench-hints-"));
  const io = { cwd: dir, env: {}, stdout: () => {}, stderr: () => {} };
  const rows = [];
  const out: Record<string, number> = {};
  try {
    for (const n of [2_500, 10_000]) {
      const file = path.join(dir, `unused${n}.agent`);
      const tools = Array.from({ length: n }, (_, i) => `tool t${i} {\n  description: "d"\n}\n`);
      fs.writeFileSync(file, tools.join(""));
      let hints = 0;
      const count = { ...io, stdout: (t: string) => (hints += t.split("\n").length - 1) };
      checkSync(["--hints", file], count);
      if (hints !== n) throw new Error(`expected ${n} hints, got ${hints}`);
      const withHints = measure(() => checkSync(["--hints", file], io), 5, 1);
      const without = measure(() => checkSync([file], io), 5, 1);
      rows.push(
        {
          name: `check --hints, ${n.toLocaleString("en")} unused tools`,
          value: `${fmt(withHints.median)} ms`,
        },
        { name: `check, same file (baseline)`, value: `${fmt(without.median)} ms` },
      );
      out[`hints${n}Ms`] = withHints.median;
      out[`noHints${n}Ms`] = without.median;
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  printTable("check --hints: one unused-declaration hint per tool (median of 5)", rows);
  return out;
}
