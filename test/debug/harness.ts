// Drives the BUILT debug adapter (`node dist/cli.js dap`, run `npm run build`
// first) with @vscode/debugadapter-testsupport's DebugClient, and records every
// stop and output line so that no event is missed between two requests.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DebugClient } from "@vscode/debugadapter-testsupport";
import type { DebugProtocol } from "@vscode/debugprotocol";
import type { SessionEvent } from "../../server/protocol/events";
import { parseLog } from "../../server/runtime/sessionLog";

export const ROOT = path.resolve(__dirname, "../..");
export const FIXTURES = path.join(ROOT, "test", "fixtures", "debug");
export const SHOP = path.join(FIXTURES, "shop.agent");
const noop = (): void => undefined;

/** The 1-based line of the only line of `file` containing `text`. */
export function lineOf(file: string, text: string): number {
  const lines = fs.readFileSync(file, "utf8").split("\n");
  const hits = lines.flatMap((l, i) => (l.includes(text) ? [i + 1] : []));
  if (hits.length !== 1) throw new Error(`'${text}' is on ${hits.length} lines of ${file}, not one`);
  return hits[0];
}

export function tempWorkspace(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "statecraft-debug-"));
}

export function sessionLogs(workspace: string): string[] {
  const dir = path.join(workspace, ".statecraft", "sessions");
  return fs.existsSync(dir) ? fs.readdirSync(dir).map((f) => path.join(dir, f)) : [];
}

export function onlyLog(workspace: string): SessionEvent[] {
  const logs = sessionLogs(workspace);
  if (logs.length !== 1) throw new Error(`expected one session log in ${workspace}, found ${logs.length}`);
  return parseLog(fs.readFileSync(logs[0], "utf8")).events;
}

export interface Bp {
  line: number;
  condition?: string;
  hitCondition?: string;
}

export class Session {
  readonly dc: DebugClient;
  private readonly stops: DebugProtocol.StoppedEvent[] = [];
  private stopWaiters: ((e: DebugProtocol.StoppedEvent) => void)[] = [];
  output = "";
  terminated = false;
  private terminatedWaiters: (() => void)[] = [];

  constructor() {
    this.dc = new DebugClient("sh", path.join(FIXTURES, "dap.sh"), "statecraft", { cwd: ROOT });
    this.dc.defaultTimeout = 15_000;
    this.dc.on("stopped", (e: DebugProtocol.StoppedEvent) => {
      const w = this.stopWaiters.shift();
      if (w) w(e);
      else this.stops.push(e);
    });
    this.dc.on("output", (e: DebugProtocol.OutputEvent) => (this.output += e.body.output));
    this.dc.on("terminated", () => {
      this.terminated = true;
      for (const w of this.terminatedWaiters.splice(0)) w();
    });
  }

  async start(): Promise<void> {
    // The tests drive the built adapter (`node dist/cli.js dap`), as an editor would.
    if (!fs.existsSync(path.join(ROOT, "dist/cli.js")))
      throw new Error("dist/cli.js is missing: run `npm run build` before the debugger tests");
    await this.dc.start();
  }

  /**
   * Disconnects and kills the adapter. An adapter that a test already
   * disconnected may have exited and never answers a second disconnect (the
   * client has no timeout of its own): stop waits for the answer or the
   * `terminated` event, at most 10 s, then kills the process either way.
   */
  async stop(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const capped = new Promise<void>((resolve) => (timer = setTimeout(resolve, 10_000)));
    const ended = this.terminated
      ? Promise.resolve()
      : new Promise<void>((r) => this.terminatedWaiters.push(r));
    await Promise.race([this.dc.disconnectRequest({}).then(noop, noop), ended, capped]);
    clearTimeout(timer);
    // stop() would send a second disconnect and wait for it; stopAdapter (private in the typings) only kills.
    (this.dc as unknown as { stopAdapter(): void }).stopAdapter();
  }

  /**
   * Initializes, launches, sets the breakpoints of each file once the adapter
   * asks for configuration, and finishes configuration. Returns the breakpoints.
   */
  async launch(
    args: Record<string, unknown>,
    breakpoints: Record<string, Bp[]> = {},
  ): Promise<DebugProtocol.Breakpoint[][]> {
    const set: DebugProtocol.Breakpoint[][] = [];
    await Promise.all([
      this.dc.waitForEvent("initialized").then(async () => {
        for (const [file, bps] of Object.entries(breakpoints)) {
          const r = await this.dc.setBreakpointsRequest({ source: { path: file }, breakpoints: bps });
          set.push(r.body.breakpoints);
        }
        await this.dc.configurationDoneRequest();
      }),
      this.dc.launch(args),
    ]);
    return set;
  }

  /** The next stop (already received, or the next to come). */
  nextStop(): Promise<DebugProtocol.StoppedEvent> {
    const e = this.stops.shift();
    if (e) return Promise.resolve(e);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no stop; output so far:\n${this.output}`)),
        this.dc.defaultTimeout,
      );
      this.stopWaiters.push((ev) => {
        clearTimeout(timer);
        resolve(ev);
      });
    });
  }

  async expectStop(reason: string): Promise<DebugProtocol.StackFrame[]> {
    const e = await this.nextStop();
    if (e.body.reason !== reason)
      throw new Error(
        `stopped for '${e.body.reason}' (${e.body.description ?? ""}: ${e.body.text ?? ""}), expected '${reason}'`,
      );
    return this.frames();
  }

  async frames(): Promise<DebugProtocol.StackFrame[]> {
    return (await this.dc.stackTraceRequest({ threadId: 1 })).body.stackFrames;
  }

  waitTerminated(): Promise<void> {
    if (this.terminated) return Promise.resolve();
    return new Promise((resolve) => this.terminatedWaiters.push(resolve));
  }

  async scope(name: string): Promise<DebugProtocol.Variable[] & { ref: number }> {
    const [top] = await this.frames();
    const scopes = (await this.dc.scopesRequest({ frameId: top.id })).body.scopes;
    const s = scopes.find((x) => x.name === name);
    if (!s) throw new Error(`no scope '${name}'; scopes: ${scopes.map((x) => x.name).join(", ")}`);
    const vars = (await this.dc.variablesRequest({ variablesReference: s.variablesReference })).body
      .variables;
    return Object.assign(vars, { ref: s.variablesReference });
  }

  async children(v: DebugProtocol.Variable): Promise<DebugProtocol.Variable[]> {
    return (await this.dc.variablesRequest({ variablesReference: v.variablesReference })).body.variables;
  }

  /** The pending tool call's input fields, and the reference to edit them through. */
  async pendingInput(): Promise<{ fields: Record<string, string>; ref: number }> {
    const scope = await this.scope("Pending tool call");
    const input = scope.find((v) => v.name === "input");
    if (!input) throw new Error(`no input in Pending tool call: ${JSON.stringify(scope)}`);
    const fields = Object.fromEntries((await this.children(input)).map((v) => [v.name, v.value]));
    return { fields, ref: input.variablesReference };
  }

  async repl(expression: string): Promise<DebugProtocol.EvaluateResponse> {
    return this.dc.evaluateRequest({ expression, context: "repl" });
  }
}
