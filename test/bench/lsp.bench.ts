// Language server benchmarks over the real protocol (issue: editor latency):
// the built server (dist/server.js) indexes a generated 50-file, 10,000-line
// workspace from disk; then completion, hover and definition are timed at
// varied positions in its 2,000-line f0.agent, an edit is timed until the
// publishDiagnostics that reflects it arrives, and the server process's RSS
// is read from /proc. Like the other suites it prints figures, never fails on
// time; a feature the server does not register is reported as "n/a".

import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import {
  createProtocolConnection,
  DidChangeTextDocumentNotification,
  DidOpenTextDocumentNotification,
  ErrorCodes,
  ExitNotification,
  InitializedNotification,
  InitializeRequest,
  PublishDiagnosticsNotification,
  ShutdownRequest,
  StreamMessageReader,
  StreamMessageWriter,
  type ClientCapabilities,
  type Diagnostic,
  type Position,
  type ProtocolConnection,
} from "vscode-languageserver-protocol/node";
import { fmt, printTable, stats, type Row, type Stats } from "./harness";
import { generateWorkspace } from "./workspace";

const BIG = "f0.agent";
const SAMPLES = 100; // per position kind, after WARMUP
const WARMUP = 25;
const EDIT_SAMPLES = 60;
const EDIT_WARMUP = 10;

/** What an editor like VS Code announces for the features measured here (diagnostics are pushed). */
const CAPABILITIES: ClientCapabilities = {
  textDocument: {
    publishDiagnostics: { relatedInformation: true, tagSupport: { valueSet: [1, 2] } },
    synchronization: { didSave: true },
    completion: {
      completionItem: { snippetSupport: true, documentationFormat: ["markdown", "plaintext"] },
      contextSupport: true,
    },
    hover: { contentFormat: ["markdown", "plaintext"] },
    definition: { linkSupport: true },
  },
};

/** dist/server.js whether this runs bundled (dist/bench.js) or from source. */
function serverPath(): string {
  const candidates = [
    path.resolve(__dirname, "server.js"),
    path.resolve(__dirname, "../../dist/server.js"),
    path.resolve(process.cwd(), "dist/server.js"),
  ];
  const found = candidates.find((c) => fs.existsSync(c));
  if (!found) throw new Error(`dist/server.js not found (tried ${candidates.join(", ")}): npm run build`);
  return found;
}

const now = (): bigint => process.hrtime.bigint();
const ms = (from: bigint, to: bigint): number => Number(to - from) / 1e6;

/**
 * A minimal LSP client like test/lsp/harness.ts's TestClient, which cannot be
 * used as is here: its server path is relative to its own source file (wrong
 * once bundled into dist/bench.js) and it keeps the server process private
 * (this suite needs its pid for /proc). Waiters receive the arrival time of
 * the notification, so that timings do not include promise scheduling.
 */
class BenchClient {
  readonly dir: string;
  readonly proc: ChildProcess;
  readonly connection: ProtocolConnection;
  private readonly versions = new Map<string, number>();
  private readonly waiters: {
    uri: string;
    pred: (d: Diagnostic[]) => boolean;
    resolve: (r: { at: bigint; diagnostics: Diagnostic[] }) => void;
    reject: (err: Error) => void;
  }[] = [];
  stderr = "";

  constructor(files: Map<string, string>) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "statecraft-lsp-bench-"));
    for (const [name, text] of files) fs.writeFileSync(path.join(this.dir, name), text);
    this.proc = spawn(process.execPath, [serverPath(), "--stdio"], { stdio: ["pipe", "pipe", "pipe"] });
    this.proc.stderr?.on("data", (d: Buffer) => (this.stderr += d.toString()));
    // A crashed server fails the waits instead of hanging the benchmark.
    this.proc.on("exit", (code, signal) => {
      const err = new Error(`the language server exited (${signal ?? code})`);
      for (const w of this.waiters.splice(0)) w.reject(err);
    });
    this.connection = createProtocolConnection(
      new StreamMessageReader(this.proc.stdout!),
      new StreamMessageWriter(this.proc.stdin!),
    );
    this.connection.onNotification(PublishDiagnosticsNotification.type, (p) => {
      const at = now();
      for (const w of [...this.waiters]) {
        if (w.uri === p.uri && w.pred(p.diagnostics)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve({ at, diagnostics: p.diagnostics });
        }
      }
    });
    this.connection.listen();
  }

  get pid(): number {
    if (this.proc.pid === undefined) throw new Error("the language server did not start");
    return this.proc.pid;
  }

  uri(name: string): string {
    return pathToFileURL(name ? path.join(this.dir, name) : this.dir).href;
  }

  /** The next publishDiagnostics of `name` (from now on) whose diagnostics satisfy `pred`. */
  next(
    name: string,
    pred: (d: Diagnostic[]) => boolean = () => true,
  ): Promise<{ at: bigint; diagnostics: Diagnostic[] }> {
    const uri = this.uri(name);
    if (this.proc.exitCode !== null) return Promise.reject(new Error("the language server exited"));
    return new Promise((resolve, reject) => this.waiters.push({ uri, pred, resolve, reject }));
  }

  async initialize(): Promise<void> {
    await this.connection.sendRequest(InitializeRequest.type, {
      processId: process.pid,
      rootUri: this.uri(""),
      workspaceFolders: [{ uri: this.uri(""), name: "ws" }],
      capabilities: CAPABILITIES,
    });
  }

  async initialized(): Promise<void> {
    await this.connection.sendNotification(InitializedNotification.type, {});
  }

  async open(name: string, text: string): Promise<void> {
    this.versions.set(name, 1);
    await this.connection.sendNotification(DidOpenTextDocumentNotification.type, {
      textDocument: { uri: this.uri(name), languageId: "agent", version: 1, text },
    });
  }

  /** An incremental edit, as editors send while typing. */
  async edit(name: string, start: Position, end: Position, text: string): Promise<void> {
    const version = (this.versions.get(name) ?? 1) + 1;
    this.versions.set(name, version);
    await this.connection.sendNotification(DidChangeTextDocumentNotification.type, {
      textDocument: { uri: this.uri(name), version },
      contentChanges: [{ range: { start, end }, text }],
    });
  }

  request<R>(method: string, params: unknown): Promise<R> {
    return this.connection.sendRequest(method, params) as Promise<R>;
  }

  /**
   * Resolves once the server has handled every message sent before it: it
   * answers requests in order, and an unknown method is answered at once.
   */
  async idle(): Promise<void> {
    try {
      await this.connection.sendRequest("statecraft/benchPing", {});
    } catch {
      // MethodNotFound is the expected answer.
    }
  }

  /** VmRSS and VmHWM (peak) of the server process, in MiB. */
  memory(): { rss: number; peak: number } {
    const status = fs.readFileSync(`/proc/${this.pid}/status`, "utf8");
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
    return { rss: kb("VmRSS") / 1024, peak: kb("VmHWM") / 1024 };
  }

  async stop(): Promise<void> {
    try {
      if (this.proc.exitCode === null) {
        await this.connection.sendRequest(ShutdownRequest.type);
        await this.connection.sendNotification(ExitNotification.type);
        await new Promise<void>((resolve) => {
          if (this.proc.exitCode !== null) resolve();
          else this.proc.once("exit", () => resolve());
        });
      }
    } finally {
      if (this.proc.exitCode === null) this.proc.kill();
      this.connection.dispose();
      fs.rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

/** Converts offsets in one text to LSP positions (UTF-16 columns, as the text is ASCII here). */
function positions(text: string): (offset: number) => Position {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1);
  return (offset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo, character: offset - starts[lo] };
  };
}

/** Offsets of every match of `re` (global), shifted to the start of group 1 (or the match end) plus `delta`. */
function offsetsOf(text: string, re: RegExp, where: "group" | "end" | "start", delta = 0): number[] {
  const out: number[] = [];
  for (const m of text.matchAll(re)) {
    const base =
      where === "end" ? m.index + m[0].length : where === "group" ? m.index + m[0].indexOf(m[1]) : m.index;
    out.push(base + delta);
  }
  return out;
}

interface Case {
  method: string;
  label: string;
  positions: Position[];
  /** Extra params (e.g. completion context). */
  extra?: Record<string, unknown>;
  /** Whether a result is what the position should produce (counted, never fatal). */
  ok: (result: unknown) => boolean;
}

interface CaseResult {
  c: Case;
  samples: number[];
  /** Why the case could not be measured ("method not found", an error message). */
  unavailable?: string;
  misses: number;
}

const isEmpty = (r: unknown): boolean =>
  r === null || r === undefined || (Array.isArray(r) && r.length === 0);

function errorText(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  if (code === ErrorCodes.MethodNotFound) return "method not found";
  const message = err instanceof Error ? err.message : String(err);
  return `error: ${message.split("\n")[0].slice(0, 60)}`;
}

/** Round-robin over the cases so that noise (GC in either process) spreads evenly across them. */
async function runCases(client: BenchClient, cases: Case[]): Promise<CaseResult[]> {
  const uri = client.uri(BIG);
  const results: CaseResult[] = cases.map((c) => ({ c, samples: [], misses: 0 }));
  for (let i = 0; i < WARMUP + SAMPLES; i++) {
    for (const r of results) {
      if (r.unavailable) continue;
      const { c } = r;
      const params = { textDocument: { uri }, position: c.positions[i % c.positions.length], ...c.extra };
      const t0 = now();
      let result: unknown;
      try {
        result = await client.request(c.method, params);
      } catch (err) {
        r.unavailable = errorText(err);
        continue;
      }
      const t = ms(t0, now());
      if (i < WARMUP) continue;
      r.samples.push(t);
      if (!c.ok(result)) r.misses++;
    }
  }
  return results;
}

export async function runLspBench(): Promise<Record<string, number>> {
  const ws = generateWorkspace(50, 10_000, 2_000);
  const text = ws.files.get(BIG) ?? "";
  const pos = positions(text);
  const client = new BenchClient(ws.files);
  const out: Record<string, number> = {};
  const rows: Row[] = [];
  const msRow = (name: string, s: Stats, target?: string): Row => ({
    name,
    value: `${fmt(s.median)} ms (p95 ${fmt(s.p95)}, n=${s.samples})`,
    target,
  });
  try {
    // 1. Index: initialize, initialized, the server scans the folder and publishes every file.
    const firstBig = client.next(BIG);
    const t0 = now();
    await client.initialize();
    const tInit = now();
    await client.initialized();
    const first = await firstBig;
    await client.idle();
    const tIdle = now();
    const errors = first.diagnostics.filter((d) => d.severity === 1);
    if (errors.length) throw new Error(`${BIG} has ${errors.length} errors, first: ${errors[0].message}`);
    out.initializeMs = ms(t0, tInit);
    out.indexMs = ms(t0, first.at);
    rows.push(
      { name: "initialize response (includes server start)", value: `${fmt(out.initializeMs)} ms` },
      { name: `index: initialize → first diagnostics of ${BIG}`, value: `${fmt(out.indexMs)} ms` },
      { name: "index: initialize → all 50 files published", value: `${fmt(ms(t0, tIdle))} ms` },
    );

    await client.open(BIG, text);
    await client.idle();
    const afterIndex = client.memory();

    // 2. Requests at varied positions: one position per unit of the file (about 20), cycled.
    const at = (offsets: number[]) => offsets.map(pos);
    const many = (r: unknown) => Array.isArray(r) && r.length > 0;
    const completion: Case[] = [
      {
        method: "textDocument/completion",
        label: "inside `tools: [`",
        positions: at(offsetsOf(text, /tools: \[/g, "end")),
        extra: { context: { triggerKind: 2, triggerCharacter: "[" } },
        ok: many,
      },
      {
        method: "textDocument/completion",
        label: "after `memory.` in a template",
        positions: at(offsetsOf(text, /\{\{memory\./g, "end")),
        extra: { context: { triggerKind: 2, triggerCharacter: "." } },
        ok: many,
      },
      {
        method: "textDocument/completion",
        label: "at a property position",
        positions: at([
          ...offsetsOf(text, /^ {2}(temperature):/gm, "group"),
          ...offsetsOf(text, /^ {2}(timeout_ms):/gm, "group"),
          ...offsetsOf(text, /^ {4}(max_turns):/gm, "group"),
        ]),
        extra: { context: { triggerKind: 1 } },
        ok: many,
      },
      {
        method: "textDocument/completion",
        label: "type after `output: `",
        positions: at(offsetsOf(text, /output: /g, "end")),
        extra: { context: { triggerKind: 1 } },
        ok: many,
      },
    ];
    const hover: Case[] = [
      {
        method: "textDocument/hover",
        label: "on references (type, memory, tool)",
        positions: at([
          ...offsetsOf(text, /output: (\w+)/g, "group", 3),
          ...offsetsOf(text, /memory: (\w+)/g, "group", 3),
          ...offsetsOf(text, /tools: \[(\w+)/g, "group", 3),
        ]),
        ok: (r) => !isEmpty(r),
      },
      {
        method: "textDocument/hover",
        label: "on keywords (agent, policy, deny, expect)",
        positions: at([
          ...offsetsOf(text, /^(agent) /gm, "group", 1),
          ...offsetsOf(text, /^ {2}(policy) \{/gm, "group", 1),
          ...offsetsOf(text, /^ {4}(deny) /gm, "group", 1),
          ...offsetsOf(text, /^ {2}(expect) tool/gm, "group", 1),
        ]),
        ok: (r) => !isEmpty(r),
      },
    ];
    const inCommon = (r: unknown) =>
      Array.isArray(r) &&
      r.some((l: { uri?: string; targetUri?: string }) =>
        (l.targetUri ?? l.uri ?? "").endsWith("/common.agent"),
      );
    const definition: Case[] = [
      {
        method: "textDocument/definition",
        label: "to another file (`backend: dev`, import)",
        positions: at([
          ...offsetsOf(text, /backend: (dev)/g, "group", 1),
          ...offsetsOf(text, /^import "(c)/g, "group", 3),
        ]),
        ok: inCommon,
      },
      {
        method: "textDocument/definition",
        label: "in the same file (type, memory, tool, agent)",
        positions: at([
          ...offsetsOf(text, /output: (\w+)/g, "group", 3),
          ...offsetsOf(text, /memory: (\w+)/g, "group", 3),
          ...offsetsOf(text, /tools: \[\w+, (\w+)/g, "group", 3),
          ...offsetsOf(text, /agent: (\w+)/g, "group", 3),
        ]),
        ok: many,
      },
    ];
    for (const c of [...completion, ...hover, ...definition])
      if (!c.positions.length)
        throw new Error(`no positions for ${c.method} ${c.label}: workspace.ts changed?`);

    const groups: [string, Case[]][] = [
      ["completion", completion],
      ["hover", hover],
      ["definition", definition],
    ];
    const odd: string[] = [];
    for (const [title, cases] of groups) {
      const results = await runCases(client, cases);
      const all = results.flatMap((r) => r.samples);
      const missing = results.filter((r) => r.unavailable);
      if (!all.length) {
        rows.push({
          name: title,
          value: `n/a (${missing[0]?.unavailable ?? "no samples"})`,
          target: "p95 < 10 ms",
        });
        continue;
      }
      const s = stats(all);
      out[`${title}MedianMs`] = s.median;
      out[`${title}P95Ms`] = s.p95;
      rows.push(msRow(`${title} (all positions)`, s, "p95 < 10 ms"));
      for (const r of results) {
        const name = `  ${r.c.label}`;
        if (r.unavailable) rows.push({ name, value: `n/a (${r.unavailable})` });
        else rows.push(msRow(name, stats(r.samples)));
        if (r.misses)
          odd.push(`${title} ${r.c.label}: ${r.misses} of ${r.samples.length} results empty or unexpected`);
      }
    }

    // 3. Diagnostics after an edit: toggle a typo in a type reference (`output: f0_0_order` → `f0_0_orderx`),
    // which creates and then removes an unknown-reference error on that line.
    const typoAt = offsetsOf(text, /output: (\w+)/g, "group")[0];
    const typoEnd = typoAt + (/^\w+/.exec(text.slice(typoAt))?.[0].length ?? 0);
    const typoLine = pos(typoAt).line;
    const endPos = pos(typoEnd);
    const afterTypo = { line: endPos.line, character: endPos.character + 1 };
    const broken = (d: Diagnostic[]) =>
      d.some((x) => x.code === "unknown-reference" && x.range.start.line === typoLine);
    const fixed = (d: Diagnostic[]) => !d.some((x) => x.code === "unknown-reference");
    const edits: number[] = [];
    const settles: number[] = [];
    for (let i = 0; i < EDIT_WARMUP + EDIT_SAMPLES; i++) {
      const breaking = i % 2 === 0;
      const arrived = client.next(BIG, breaking ? broken : fixed);
      const t = now();
      if (breaking) await client.edit(BIG, endPos, endPos, "x");
      else await client.edit(BIG, endPos, afterTypo, "");
      const { at: when } = await arrived;
      // Untimed for the figure above: let the server finish re-publishing the importers before the next edit.
      await client.idle();
      if (i < EDIT_WARMUP) continue;
      edits.push(ms(t, when));
      settles.push(ms(t, now()));
    }
    const e = stats(edits);
    out.diagnosticsMedianMs = e.median;
    out.diagnosticsP95Ms = e.p95;
    rows.push(
      msRow(`edit → diagnostics of ${BIG} published`, e, "p95 < 30 ms"),
      msRow("  edit → server idle (importers re-published)", stats(settles)),
    );

    // 4. Memory of the server process.
    const afterBench = client.memory();
    out.rssAfterIndexMB = afterIndex.rss;
    out.rssAfterBenchMB = afterBench.rss;
    out.peakRssMB = afterBench.peak;
    rows.push(
      { name: "server RSS after indexing (f0 open)", value: `${afterIndex.rss.toFixed(1)} MiB` },
      { name: "server RSS after the benchmark", value: `${afterBench.rss.toFixed(1)} MiB` },
      { name: "server peak RSS (VmHWM)", value: `${afterBench.peak.toFixed(1)} MiB` },
    );

    printTable(
      `Language server over stdio: ${ws.files.size} files, ${ws.lines} lines; requests in ${BIG} ` +
        `(${text.split("\n").length - 1} lines), median (p95)`,
      rows,
    );
    for (const o of odd) console.log(`  note: ${o}`);
    return out;
  } catch (err) {
    if (client.stderr) console.error(client.stderr.slice(-2000));
    throw err;
  } finally {
    await client.stop();
  }
}
