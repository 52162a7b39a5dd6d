// Helpers for the runtime tests: compile an agent from `.agent` source text
// (through the real parser, validator and compiler), start a session on the
// scripted local backend with everything injectable, filter recorded events,
// and make throwaway folders, tool scripts and HTTP servers.

import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { LocalBackend } from "../../server/backends/local";
import type { ScriptStep } from "../../server/runtime/model";
import { compileAgent, isCompileError, type CompiledDefinition } from "../../server/language/compile";
import type { DiagnosticCode } from "../../server/language/diagnostics";
import { checkFiles } from "../../server/language/validate";
import { AgentSession, type EngineOptions } from "../../server/runtime/engine";
import type { EventType, SessionEvent } from "../../server/protocol/events";
import { InMemoryStore } from "../../server/runtime/memoryStore";
import { MemorySink } from "../../server/runtime/sessionLog";
import { loadSources, wsPath } from "../unit/helpers/memfs";

export type Files = Record<string, string>;

/** Joins lines with newlines (source text without template-literal indentation games). */
export const lines = (...l: string[]): string => l.join("\n") + "\n";

export interface CompileOptions {
  /** The agent to compile: default the first `agent NAME` in the root file. */
  agent?: string;
  /** The root file among `files`: default `main.agent`. */
  root?: string;
  /** Error codes the test expects and accepts (e.g. `missing-scope` to exercise the run-time scope check). */
  allowErrors?: DiagnosticCode[];
}

/**
 * Compiles one agent from source: `source` is the text of `main.agent` or a map of in-memory files
 * (relative to /ws). The sources must validate without errors other than `allowErrors`.
 */
export function compileSource(source: string | Files, options: CompileOptions = {}): CompiledDefinition {
  const files = typeof source === "string" ? { "main.agent": source } : source;
  const root = options.root ?? "main.agent";
  const program = loadSources(files, [root]);
  const errors = checkFiles(program, [wsPath(root)]).filter(
    (d) => d.severity === "error" && !options.allowErrors?.includes(d.code),
  );
  assert.deepEqual(
    errors.map((d) => `${path.basename(d.path)}: ${d.code}: ${d.message}`),
    [],
    "the test's agent source validates",
  );
  const agent = options.agent ?? /^\s*agent\s+([A-Za-z_]\w*)/m.exec(files[root])?.[1];
  assert.ok(agent, "the source declares an agent");
  const result = compileAgent(program, wsPath(root), agent);
  if (isCompileError(result)) assert.fail(result.message);
  return result;
}

export interface Harness {
  session: AgentSession;
  backend: LocalBackend;
  /** Every event recorded so far (the sink's array: it grows as the session runs). */
  events: SessionEvent[];
  /** Text deltas streamed to onText. */
  streamed: string[];
  /** Queues scripted model steps. */
  script(...steps: ScriptStep[]): void;
}

export interface HarnessOptions extends Partial<Omit<EngineOptions, "definition" | "backend">> {
  backend?: LocalBackend;
  /** Steps queued before the session starts. */
  script?: ScriptStep[];
}

/** Starts a session of `definition` on the local backend, with defaults for everything a test leaves out. */
export async function startSession(
  definition: CompiledDefinition,
  options: HarnessOptions = {},
): Promise<Harness> {
  const backend = options.backend ?? new LocalBackend();
  if (options.script) backend.enqueue(...options.script);
  const sink = options.sink ?? new MemorySink();
  const streamed: string[] = [];
  const session = await AgentSession.start({
    baseDir: os.tmpdir(),
    backendName: "local",
    sessionId: "s-test",
    user: { id: "u1", name: "Ada" },
    memoryStore: new InMemoryStore(),
    trusted: true,
    onText: (d) => streamed.push(d),
    ...options,
    definition,
    backend,
    sink,
  });
  const events = (sink as { events?: SessionEvent[] }).events;
  assert.ok(events, "the sink keeps its events");
  return { session, backend, events, streamed, script: (...steps) => backend.enqueue(...steps) };
}

// ---- events ---------------------------------------------------------------------------------

export type EventOf<T extends EventType> = Extract<SessionEvent, { type: T }>;

/** The event types of a turn in which the model calls one tool and then replies. */
export const ONE_TOOL_TURN: EventType[] = [
  "turn.start",
  "context.snapshot",
  "model.request",
  "model.response",
  "tool.call",
  "policy.decision",
  "tool.result",
  "context.snapshot",
  "model.request",
  "model.response",
  "memory.snapshot",
  "turn.end",
];

/** The events of one turn (turn.start .. turn.end). */
export function turnEvents(events: SessionEvent[], turn: number): SessionEvent[] {
  return events.filter((e) => "turn" in e && e.turn === turn);
}

/** The types of `events`, in order. */
export function typesOf(events: SessionEvent[]): EventType[] {
  return events.map((e) => e.type);
}

/** The events of one type, typed. */
export function ofType<T extends EventType>(events: SessionEvent[], type: T): EventOf<T>[] {
  return events.filter((e): e is EventOf<T> => e.type === type);
}

/** The only event of a type (fails when there is none or more than one). */
export function only<T extends EventType>(events: SessionEvent[], type: T): EventOf<T> {
  const found = ofType(events, type);
  assert.equal(found.length, 1, `exactly one ${type} event; got ${found.length}`);
  return found[0];
}

/** The context snapshot of a turn and step. */
export function snapshot(events: SessionEvent[], turn: number, step = 0): EventOf<"context.snapshot"> {
  const s = ofType(events, "context.snapshot").find((e) => e.turn === turn && e.step === step);
  assert.ok(s, `a context snapshot for turn ${turn} step ${step}`);
  return s;
}

/** The system message of a context snapshot. */
export function systemText(s: EventOf<"context.snapshot">): string {
  const m = s.messages[0];
  assert.equal(m.role, "system");
  return m.content;
}

// ---- the file system, scripts and servers ------------------------------------------------------------

const temps: string[] = [];

/** A fresh folder under the OS temp dir, removed by `removeTempDirs`. */
export function tempDir(prefix = "statecraft-rt-"): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
  temps.push(dir);
  return dir;
}

/**
 * Removes the scratch folders. As a mocha hook it allows two minutes: a
 * loaded machine removes many copies of a 39 MB PGlite database slowly.
 */
export function removeTempDirs(this: Mocha.Context | void): void {
  if (this) this.timeout(120_000);
  for (const d of temps.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

/** Writes `body` to `dir/name` (folders created) and returns the path. */
export function writeFile(dir: string, name: string, body: string): string {
  const file = path.join(dir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, body);
  return file;
}

/** A Node tool script body: reads its JSON input from stdin and runs `body` with `input` in scope. */
export function toolScript(body: string): string {
  return lines(
    `"use strict";`,
    `let raw = "";`,
    `process.stdin.setEncoding("utf8");`,
    `process.stdin.on("data", (c) => (raw += c));`,
    `process.stdin.on("end", () => {`,
    `  const input = JSON.parse(raw);`,
    body,
    `});`,
  );
}

/** Every file under `dir`, recursively. */
export function filesUnder(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => path.join(d.parentPath, d.name));
}

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface TestServer {
  /** http://127.0.0.1:PORT */
  url: string;
  requests: ReceivedRequest[];
  close(): Promise<void>;
}

/** An HTTP server on 127.0.0.1 that records what it receives and answers with `handler`. */
export async function startServer(
  handler: (req: ReceivedRequest, res: http.ServerResponse) => void,
): Promise<TestServer> {
  const requests: ReceivedRequest[] = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => (body += c));
    req.on("end", () => {
      const r = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body };
      requests.push(r);
      handler(r, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Sends a JSON answer. */
export function json(res: http.ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(value));
}
