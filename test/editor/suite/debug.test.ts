// The agent debugger inside the real editor: a breakpoint set on a tool's line, a `statecraft`
// debug session started like F5 does, the stop seen through a DebugAdapterTracker, the pending
// call's input read and edited through the session, and the edit found in the session log after
// the run ends. The program is the debugger's own fixture (test/fixtures/debug, reached through
// the extension's folder); the session log goes to a temporary folder.

import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as vscode from "vscode";
import { screenshot } from "./screenshot";
import { EXTENSION_ID } from "./workspace";

interface Stop {
  session: vscode.DebugSession;
  reason: string;
}

/** Resolves with `promise`, or fails with `what` once `ms` have passed. */
function within<T>(promise: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(what())), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

describe("debugger", () => {
  it("stops at a tool breakpoint before the call; the edited input reaches the tool and the log", async () => {
    const extension = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(extension);
    await extension.activate();
    const dir = path.join(extension.extensionPath, "test", "fixtures", "debug");
    const program = path.join(dir, "shop.agent");
    const lines = fs.readFileSync(program, "utf8").split("\n");
    const toolLine = lines.findIndex((l) => l.includes('order_id: string "The order id"'));
    assert.ok(toolLine > 0);
    const workspace = fs.mkdtempSync(path.join(os.tmpdir(), "statecraft-editor-debug-"));

    const seen: string[] = [];
    const stops: Stop[] = [];
    let onStop: ((s: Stop) => void) | undefined;
    const tracker = vscode.debug.registerDebugAdapterTrackerFactory("statecraft", {
      createDebugAdapterTracker: (session) => ({
        onDidSendMessage: (m: {
          type: string;
          event?: string;
          body?: { reason?: string; output?: string };
        }) => {
          if (m.type !== "event") return;
          seen.push(m.event === "output" ? `output ${m.body?.output ?? ""}` : (m.event ?? ""));
          if (m.event === "stopped") {
            const stop = { session, reason: m.body?.reason ?? "" };
            if (onStop) onStop(stop);
            else stops.push(stop);
          }
        },
      }),
    });
    const nextStop = () =>
      within(
        stops.length ? Promise.resolve(stops.shift()!) : new Promise<Stop>((resolve) => (onStop = resolve)),
        30_000,
        () => `no stop; the adapter sent: ${seen.join(" | ")}`,
      ).finally(() => (onStop = undefined));
    const breakpoint = new vscode.SourceBreakpoint(
      new vscode.Location(vscode.Uri.file(program), new vscode.Position(toolLine, 0)),
    );
    vscode.debug.addBreakpoints([breakpoint]);
    try {
      await vscode.window.showTextDocument(vscode.Uri.file(program));
      const ended = new Promise<void>((resolve) => {
        const sub = vscode.debug.onDidTerminateDebugSession((s) => {
          if (s.type !== "statecraft") return;
          sub.dispose();
          resolve();
        });
      });
      const started = await vscode.debug.startDebugging(undefined, {
        type: "statecraft",
        request: "launch",
        name: "Debug shop (editor test)",
        program,
        script: path.join(dir, "lookups.script.json"),
        inputs: ["Where is A1?"],
        cwd: workspace,
      });
      assert.equal(started, true, "the debug session did not start");

      const stop = await nextStop();
      assert.equal(stop.reason, "breakpoint");
      const session = stop.session;
      const trace = (await session.customRequest("stackTrace", { threadId: 1 })) as {
        stackFrames: { id: number; name: string; line: number; source?: { path?: string } }[];
      };
      const top = trace.stackFrames[0];
      assert.match(top.name, /lookup_order about to run/);
      // Behind a remote workbench (code-server) the editor hands the path back as a vscode-remote URI.
      const shown = top.source?.path ?? "";
      assert.equal(shown.includes("://") ? vscode.Uri.parse(shown).path : shown, program);
      const { scopes } = (await session.customRequest("scopes", { frameId: top.id })) as {
        scopes: { name: string; variablesReference: number }[];
      };
      const pending = scopes.find((s) => s.name === "Pending tool call");
      assert.ok(pending, `scopes: ${scopes.map((s) => s.name).join(", ")}`);
      type Vars = { variables: { name: string; value: string; variablesReference: number }[] };
      const inPending = (await session.customRequest("variables", {
        variablesReference: pending.variablesReference,
      })) as Vars;
      const input = inPending.variables.find((v) => v.name === "input");
      assert.ok(input);
      const fields = (await session.customRequest("variables", {
        variablesReference: input.variablesReference,
      })) as Vars;
      assert.deepEqual(
        fields.variables.map((v) => `${v.name}=${v.value}`),
        ['order_id="A1"'],
      );
      await session.customRequest("setVariable", {
        variablesReference: input.variablesReference,
        name: "order_id",
        value: '"A7"',
      });
      // The workbench as a user sees it: stopped on the tool, the call stack and variables in view.
      await vscode.commands.executeCommand("workbench.view.debug");
      await screenshot("debugger");
      await session.customRequest("continue", { threadId: 1 });
      await within(ended, 30_000, () => `the session did not end; the adapter sent: ${seen.join(" | ")}`);

      const logs = fs.readdirSync(path.join(workspace, ".statecraft", "sessions"));
      assert.equal(logs.length, 1);
      const events = fs
        .readFileSync(path.join(workspace, ".statecraft", "sessions", logs[0]), "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      const edit = events.find((e) => e.type === "manual.edit");
      assert.deepEqual(edit && [edit.target, edit.tool, edit.field, edit.before, edit.after, edit.by], [
        "tool.input",
        "lookup_order",
        "order_id",
        "A1",
        "A7",
        "debugger",
      ]);
      const result = events.find((e) => e.type === "tool.result" && e.tool === "lookup_order");
      assert.deepEqual(result?.output, { received: { order_id: "A7" } });
    } finally {
      vscode.debug.removeBreakpoints([breakpoint]);
      tracker.dispose();
      fs.rmSync(workspace, { recursive: true, force: true });
    }
  });
  it("the Debug Agent command (the Debug lens) starts a session of the agent it names", async () => {
    const extension = vscode.extensions.getExtension(EXTENSION_ID)!;
    const dir = path.join(extension.extensionPath, "test", "fixtures", "debug");
    const program = path.join(dir, "shop.agent");
    const workspace = fs.mkdtempSync(path.join(os.tmpdir(), "statecraft-editor-debug-"));
    const started = new Promise<vscode.DebugSession>((resolve) => {
      const sub = vscode.debug.onDidStartDebugSession((s) => {
        if (s.type !== "statecraft") return;
        sub.dispose();
        resolve(s);
      });
    });
    const ended = new Promise<void>((resolve) => {
      const sub = vscode.debug.onDidTerminateDebugSession((s) => {
        if (s.type !== "statecraft") return;
        sub.dispose();
        resolve();
      });
    });
    try {
      const ok = await vscode.commands.executeCommand<boolean>("statecraft.debugAgent", {
        uri: vscode.Uri.file(program).toString(),
        agent: "shop",
        script: path.join(dir, "lookups.script.json"),
        inputs: ["Where is A1?"],
        cwd: workspace,
      });
      assert.equal(ok, true);
      const session = await within(started, 30_000, () => "no statecraft session started");
      assert.equal(session.name, "Debug shop");
      assert.equal(session.configuration.agent, "shop");
      assert.equal(session.configuration.program, program);
      await within(ended, 30_000, () => "the session did not end");
      const logs = fs.readdirSync(path.join(workspace, ".statecraft", "sessions"));
      const events = fs
        .readFileSync(path.join(workspace, ".statecraft", "sessions", logs[0]), "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.deepEqual(
        events.filter((e) => e.type === "tool.call").map((e) => e.tool),
        ["lookup_order", "remember"],
      );
      assert.equal(events.at(-1)?.status, "ok");
    } finally {
      fs.rmSync(workspace, { recursive: true, force: true });
    }
  });
});
