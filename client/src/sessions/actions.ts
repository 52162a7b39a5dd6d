// The Session Explorer's command table: open and compare snapshots, compare
// sessions, the context window view, and the session actions (replay, fork,
// export as test, open the raw log, delete). Each command takes a tree node,
// or a {sessionId, ...} object from another command or a test, or nothing
// (then it asks). Work that takes time runs the CLI with progress and can be
// cancelled.

import * as os from "node:os";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import * as vscode from "vscode";
import type { Backends, BackendInfo } from "../run/backends";
import type { Cli } from "../run/cli";
import { ContextWindowPanel } from "./contextWindowPanel";
import { exportTest } from "./exportTest";
import type { SessionModel } from "./model";
import { isSnapshotKind, SNAPSHOT_KINDS, type NodeData, type SnapshotKind } from "./nodes";
import { describeDivergence, firstDivergence } from "./render";
import { snapshotUri } from "./snapshots";
import type { SessionRef, SessionStore } from "./store";

export interface ActionDeps {
  store: SessionStore;
  cli: Cli;
  backends: Backends;
  log: vscode.LogOutputChannel;
  extensionUri: vscode.Uri;
  /** Re-reads every source now (after an action that adds or removes sessions). */
  rescan(): Promise<void>;
}

/** What commands accept besides a tree node: a session (and turn), with answers to skip the prompts. */
interface Target {
  sourceId?: string;
  sessionId: string;
  turn?: number;
  which?: SnapshotKind;
  /** Replay: exact or live; live: the backend. */
  mode?: "exact" | "live";
  backend?: string;
  /** Live replay: run the tools for real (--live-tools) instead of answering them from the recording. */
  liveTools?: boolean;
  /** Fork: the message, the local model's scripted reply, the approval answer. */
  input?: string;
  reply?: string;
  approve?: "all" | "none";
  /** Compare sessions: the other one. */
  otherSessionId?: string;
  /** Export to OpenTelemetry: the collector. */
  endpoint?: string;
}

type Resolved = SessionRef & { turn?: number; which?: SnapshotKind; options: Target };

type Handler = (deps: ActionDeps, arg: unknown, all?: unknown) => unknown;

export const COMMANDS: Record<string, Handler> = {
  "statecraft.sessions.refresh": (deps) => deps.rescan(),
  "statecraft.sessions.openSnapshot": async (deps, arg) => {
    const r = await resolve(deps, arg, "Open the snapshot of which session?");
    const turn = r.turn ?? (await pickTurn(deps, r));
    const uri = snapshotUri({ ...r, turn }, r.which ?? "context");
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc, { preview: true });
    return doc.uri.toString();
  },
  "statecraft.sessions.openEvent": async (_deps, arg) => {
    const node = arg as Extract<NodeData, { kind: "event" }>;
    if (node?.kind !== "event") throw new Error("Open Event works on an event in the Session Explorer");
    const doc = await vscode.workspace.openTextDocument(snapshotUri(node, "event"));
    await vscode.window.showTextDocument(doc, { preview: true });
  },
  "statecraft.sessions.compareWithPreviousTurn": async (deps, arg) => {
    const r = await resolve(deps, arg, "Compare a turn of which session?");
    const model = await mustModel(deps, r);
    const turn = r.turn ?? (await pickTurn(deps, r));
    const prev = model.previousTurn(turn);
    if (!prev)
      throw new Error(`turn ${turn} is the first turn of session ${model.id}: there is no previous turn`);
    const which = r.which ?? "context";
    const left = snapshotUri({ ...r, turn: prev.turn }, which);
    const right = snapshotUri({ ...r, turn }, which);
    await vscode.commands.executeCommand(
      "vscode.diff",
      left,
      right,
      `${SNAPSHOT_KINDS[which].label}: turn ${prev.turn} ↔ turn ${turn} (${model.id})`,
    );
    return { left: left.toString(), right: right.toString() };
  },
  "statecraft.sessions.compareSessions": async (deps, arg, all) => {
    const selected = Array.isArray(all)
      ? all.filter((n): n is NodeData => (n as NodeData)?.kind === "session")
      : [];
    const a =
      selected.length === 2
        ? await resolve(deps, selected[0])
        : await resolve(deps, arg, "Compare which session…");
    const b =
      selected.length === 2
        ? await resolve(deps, selected[1])
        : a.options.otherSessionId
          ? await resolve(deps, { sessionId: a.options.otherSessionId })
          : await resolve(deps, undefined, `…with which session? (first: ${a.sessionId})`, a.sessionId);
    const [ma, mb] = [await mustModel(deps, a), await mustModel(deps, b)];
    const message = describeDivergence(ma, mb);
    await vscode.commands.executeCommand(
      "vscode.diff",
      snapshotUri(a, "session"),
      snapshotUri(b, "session"),
      `Sessions: ${ma.id} ↔ ${mb.id}`,
    );
    void vscode.window.showInformationMessage(message);
    deps.log.info(message);
    return { message, divergence: firstDivergence(ma, mb) };
  },
  "statecraft.sessions.showContextWindow": async (deps, arg) => {
    const r = await resolve(deps, arg, "Show the context window of which session?");
    return ContextWindowPanel.show(deps.extensionUri, deps.store, r);
  },
  "statecraft.sessions.openLog": async (deps, arg) => {
    const r = await resolve(deps, arg, "Open the log of which session?");
    const source = deps.store.source(r.sourceId);
    const file = source?.kind === "folder" ? source.fileOf(r.sessionId) : undefined;
    const doc = await vscode.workspace.openTextDocument(file ? vscode.Uri.file(file) : snapshotUri(r, "log"));
    await vscode.window.showTextDocument(doc, { preview: false });
    return doc.uri.toString();
  },
  "statecraft.sessions.delete": async (deps, arg) => {
    const r = await resolve(deps, arg, "Delete which session?");
    const source = deps.store.source(r.sourceId)!;
    const where = source.kind === "folder" ? "its log file" : `runtime ${source.label}`;
    const answer = await vscode.window.showWarningMessage(
      `Delete session ${r.sessionId}? This removes ${where} and cannot be undone.`,
      { modal: true },
      "Delete",
    );
    if (answer !== "Delete") return false;
    if (source.kind === "folder") {
      const file = source.fileOf(r.sessionId);
      if (file) await vscode.workspace.fs.delete(vscode.Uri.file(file));
    } else await source.client.deleteSession(r.sessionId);
    await deps.rescan();
    return true;
  },
  "statecraft.sessions.replay": (deps, arg) => replay(deps, arg),
  "statecraft.sessions.fork": (deps, arg) => fork(deps, arg),
  "statecraft.sessions.exportTest": (deps, arg) => exportAsTest(deps, arg),
  "statecraft.sessions.exportOtel": (deps, arg) => exportOtel(deps, arg),
};

/** Registers every command of the table; failures are shown and logged, not thrown at the user. */
export function registerActions(context: vscode.ExtensionContext, deps: ActionDeps): void {
  for (const [id, handle] of Object.entries(COMMANDS)) {
    context.subscriptions.push(
      vscode.commands.registerCommand(id, async (arg?: unknown, all?: unknown) => {
        try {
          return await handle(deps, arg, all);
        } catch (err) {
          if (err instanceof Cancelled) return undefined;
          const message = err instanceof Error ? err.message : String(err);
          deps.log.error(`${id}: ${message}`);
          void vscode.window.showErrorMessage(`Statecraft: ${message}`);
          return undefined;
        }
      }),
    );
  }
}

/** The user dismissed a prompt: the command ends quietly. */
class Cancelled extends Error {}

function asked<T>(value: T | undefined): T {
  if (value === undefined) throw new Cancelled();
  return value;
}

/** A node, a Target or nothing (then a quick pick of every session) as a session reference. */
async function resolve(deps: ActionDeps, arg: unknown, prompt?: string, exclude?: string): Promise<Resolved> {
  const a = arg as Partial<NodeData & Target> | undefined;
  if (a && typeof a.sessionId === "string") {
    const sourceId = a.sourceId ?? findSource(deps, a.sessionId);
    if (!sourceId) throw new Error(`no session ${a.sessionId} in the Session Explorer`);
    return {
      sourceId,
      sessionId: a.sessionId,
      turn: typeof a.turn === "number" ? a.turn : undefined,
      which: isSnapshotKind(a.which) ? a.which : undefined,
      options: a as Target,
    };
  }
  const items = deps.store
    .all()
    .flatMap((s) =>
      s.kind === "folder"
        ? s.sessions().map((m) => ({
            sourceId: s.id,
            sessionId: m.id,
            label: m.start?.agent ?? m.id,
            description: `${m.id} · ${m.status} · ${s.label}`,
          }))
        : s.summaries.map((m) => ({
            sourceId: s.id,
            sessionId: m.id,
            label: m.agent,
            description: `${m.id} · ${m.status} · ${s.label}`,
          })),
    )
    .filter((i) => i.sessionId !== exclude);
  if (!items.length)
    throw new Error("there are no recorded sessions yet: run an agent first (Statecraft: Run Agent)");
  const pick = asked(
    await vscode.window.showQuickPick(items, { placeHolder: prompt, matchOnDescription: true }),
  );
  return { sourceId: pick.sourceId, sessionId: pick.sessionId, options: { sessionId: pick.sessionId } };
}

function findSource(deps: ActionDeps, sessionId: string): string | undefined {
  return deps.store.all().find((s) => (s.kind === "folder" ? s.session(sessionId) : s.summary(sessionId)))
    ?.id;
}

async function mustModel(deps: ActionDeps, ref: SessionRef): Promise<SessionModel> {
  const model = await deps.store.model(ref);
  if (!model) throw new Error(`session ${ref.sessionId} is no longer in the Session Explorer`);
  return model;
}

async function pickTurn(deps: ActionDeps, ref: SessionRef): Promise<number> {
  const model = await mustModel(deps, ref);
  if (!model.turns.length) throw new Error(`session ${model.id} has no turns`);
  const pick = asked(
    await vscode.window.showQuickPick(
      model.turns.map((t) => ({ label: `Turn ${t.turn}`, description: t.input, turn: t.turn })),
      { placeHolder: `Which turn of ${model.id}?` },
    ),
  );
  return pick.turn;
}

/** The workspace folder a session belongs to: its source's folder, else the first one. */
function workspaceOf(deps: ActionDeps, ref: SessionRef): string {
  const source = deps.store.source(ref.sourceId);
  if (source?.kind === "folder") return source.root;
  const first = vscode.workspace.workspaceFolders?.[0];
  if (!first) throw new Error("open the folder of the agent's project first");
  return first.uri.fsPath;
}

/** A session's log as a file the CLI can read: the file itself, or a runtime session's events copied out. */
async function logFile(deps: ActionDeps, ref: SessionRef): Promise<string> {
  const source = deps.store.source(ref.sourceId);
  if (source?.kind === "folder") {
    const file = source.fileOf(ref.sessionId);
    if (file) return file;
  }
  const model = await mustModel(deps, ref);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "statecraft-session-"));
  const file = path.join(dir, `${model.id}.jsonl`);
  await fs.writeFile(file, model.events.map((e) => JSON.stringify(e)).join("\n") + "\n");
  return file;
}

/** The agent file a session ran, as recorded (relative to its workspace). */
async function agentFile(deps: ActionDeps, ref: SessionRef, model: SessionModel): Promise<vscode.Uri> {
  const source = model.start?.source;
  if (source) {
    const uri = vscode.Uri.file(path.resolve(workspaceOf(deps, ref), source));
    try {
      await vscode.workspace.fs.stat(uri);
      return uri;
    } catch {
      deps.log.warn(`the session's agent file ${source} is not in the workspace`);
    }
  }
  const picked = await vscode.window.showOpenDialog({
    canSelectMany: false,
    filters: { Agent: ["agent"] },
    title: `Session ${model.id} does not say which .agent file it ran (or it moved): pick it`,
  });
  return asked(picked?.[0]);
}

async function pickBackend(
  deps: ActionDeps,
  file: vscode.Uri,
  given: string | undefined,
  current?: string,
): Promise<BackendInfo> {
  const info = await deps.backends.info(file);
  if (!info.backends.length) throw new Error(`${path.basename(file.fsPath)} declares no backend`);
  if (given) {
    const b = info.backends.find((x) => x.name === given);
    if (!b)
      throw new Error(
        `no backend '${given}' in ${path.basename(file.fsPath)}: ${info.backends.map((x) => x.name).join(", ")}`,
      );
    return b;
  }
  const pick = asked(
    await vscode.window.showQuickPick(
      info.backends.map((b) => ({
        label: b.name,
        description: `${b.kind} · ${b.provider}${b.model ? ` ${b.model}` : ""}${b.name === current ? " · recorded on this one" : ""}`,
        b,
      })),
      { placeHolder: "Run on which backend?" },
    ),
  );
  return pick.b;
}

/** Runs the CLI with a cancellable progress notification; resolves with its result. */
function withCli(deps: ActionDeps, title: string, args: string[], cwd: string) {
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Statecraft: ${title}`, cancellable: true },
    async (_progress, token) => {
      const result = await deps.cli.run(args, { cwd, token });
      return { ...result, cancelled: token.isCancellationRequested };
    },
  );
}

const lastLines = (text: string, n = 3) => text.trim().split("\n").slice(-n).join(" ");

/**
 * Sends a session to an OpenTelemetry collector as the trace it would have produced
 * (`statecraft export otel`): the endpoint of the command's argument, the setting, the environment,
 * or asked for.
 */
async function exportOtel(deps: ActionDeps, arg: unknown) {
  const r = await resolve(deps, arg, "Export which session to OpenTelemetry?");
  const endpoint =
    r.options.endpoint ||
    vscode.workspace.getConfiguration("statecraft").get<string>("otel.endpoint") ||
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT ||
    asked(
      await vscode.window.showInputBox({
        prompt: "The OpenTelemetry collector (OTLP/HTTP) to send the session's trace to",
        value: "http://localhost:4318",
        ignoreFocusOut: true,
      }),
    );
  const args = ["export", "otel", await logFile(deps, r), "--endpoint", endpoint];
  const result = await withCli(deps, `exporting ${r.sessionId} to ${endpoint}`, args, workspaceOf(deps, r));
  if (result.cancelled) return undefined;
  if (result.code !== 0) throw new Error(lastLines(result.stderr || result.stdout, 1));
  void vscode.window.showInformationMessage(`Statecraft: ${lastLines(result.stderr, 1)}`);
  return { endpoint, message: lastLines(result.stderr, 1) };
}

async function replay(deps: ActionDeps, arg: unknown) {
  const r = await resolve(deps, arg, "Replay which session?");
  const model = await mustModel(deps, r);
  const mode =
    r.options.mode ??
    asked(
      await vscode.window.showQuickPick(
        [
          {
            label: "Exact",
            description:
              "model and tool results from the log; checks the current definition still makes the same requests",
            mode: "exact" as const,
          },
          {
            label: "Live",
            description: "send the recorded inputs again to a backend, as a new session, and compare",
            mode: "live" as const,
          },
        ],
        { placeHolder: `Replay session ${model.id}` },
      ),
    ).mode;
  const workspace = workspaceOf(deps, r);
  const args = ["replay", await logFile(deps, r), "--mode", mode, "--workspace", workspace];
  if (mode === "live") {
    if (!vscode.workspace.isTrusted)
      throw new Error("a live replay runs the agent; trust the workspace first (Manage Workspace Trust)");
    const backend = await pickBackend(
      deps,
      await agentFile(deps, r, model),
      r.options.backend,
      model.start?.backend.name,
    );
    args.push("--backend", backend.name, "--approve", r.options.approve ?? "none");
    // Tools answer from the recording unless asked, so nothing is booked or refunded twice; a runtime
    // service runs the tools itself, so a stateful replay always runs them (the CLI refuses otherwise).
    const liveTools =
      r.options.liveTools ??
      (backend.kind === "stateful" ||
        asked(
          await vscode.window.showQuickPick(
            [
              {
                label: "Tools answer from the recording",
                description: "nothing the tools did (a booking, a refund) is done again",
                live: false,
              },
              {
                label: "Run the tools for real",
                description: "--live-tools: side effects happen again",
                live: true,
              },
            ],
            { placeHolder: `Live replay of ${model.id} on ${backend.name}: the tools` },
          ),
        ).live);
    if (liveTools) args.push("--live-tools");
  }
  const result = await withCli(deps, `${mode} replay of ${model.id}`, args, workspace);
  await deps.rescan();
  if (result.cancelled) return { code: result.code, cancelled: true, output: result.stdout };
  const summary = lastLines(result.stdout) || lastLines(result.stderr);
  const show = result.code === 0 ? vscode.window.showInformationMessage : vscode.window.showWarningMessage;
  void show(`Statecraft: ${summary}`);
  return { code: result.code, output: result.stdout, stderr: result.stderr };
}

async function fork(deps: ActionDeps, arg: unknown) {
  const r = await resolve(deps, arg, "Fork which session?");
  const model = await mustModel(deps, r);
  const turn = r.turn ?? (await pickTurn(deps, r));
  if (!vscode.workspace.isTrusted)
    throw new Error(
      "a fork runs the agent and its tools; trust the workspace first (Manage Workspace Trust)",
    );
  const source = deps.store.source(r.sourceId);
  if (source?.kind === "runtime") {
    // A stateful runtime forks on its side: the new session continues there.
    const id = await source.client.fork(r.sessionId, turn);
    await deps.rescan();
    void vscode.window.showInformationMessage(
      `Statecraft: forked ${r.sessionId} after turn ${turn} as ${id} on ${source.label}`,
    );
    return { sessionId: id };
  }
  const file = await agentFile(deps, r, model);
  const input =
    r.options.input ??
    asked(
      await vscode.window.showInputBox({
        title: `Fork ${model.id} after turn ${turn}`,
        prompt: "The user's next message in the forked session",
        validateInput: (v) => (v.trim() ? undefined : "a message is needed"),
      }),
    );
  const backend = await pickBackend(deps, file, r.options.backend, model.start?.backend.name);
  const workspace = workspaceOf(deps, r);
  const args = [
    "fork",
    await logFile(deps, r),
    "--turn",
    String(turn),
    "--workspace",
    workspace,
    "--backend",
    backend.name,
    "--input",
    input,
  ];
  if (backend.provider === "local") {
    // The local model only plays back: it needs the reply to give.
    const reply =
      r.options.reply ??
      asked(
        await vscode.window.showInputBox({
          title: `${backend.name} is the local backend, which plays back a scripted reply`,
          prompt: "The model's reply in the forked turn",
          validateInput: (v) => (v.trim() ? undefined : "a reply is needed"),
        }),
      );
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "statecraft-fork-"));
    const script = path.join(dir, "script.json");
    await fs.writeFile(script, JSON.stringify([{ reply }]));
    args.push("--script", script);
  }
  const approve =
    r.options.approve ??
    asked(
      await vscode.window.showQuickPick(
        [
          {
            label: "Refuse",
            description: "tool calls that need approval are refused",
            value: "none" as const,
          },
          { label: "Approve all", description: "tool calls that need approval run", value: "all" as const },
        ],
        { placeHolder: "Tool calls that need approval in the fork" },
      ),
    ).value;
  args.push("--approve", approve);
  const result = await withCli(deps, `forking ${model.id} after turn ${turn}`, args, workspace);
  await deps.rescan();
  const created = /session (\S+): /.exec(result.stderr)?.[1];
  if (result.code !== 0 && !result.cancelled)
    void vscode.window.showWarningMessage(`Statecraft: the fork failed: ${lastLines(result.stderr)}`);
  else if (created)
    void vscode.window.showInformationMessage(
      `Statecraft: forked ${model.id} after turn ${turn} as ${created}`,
    );
  return { code: result.code, sessionId: created, stdout: result.stdout, stderr: result.stderr };
}

async function exportAsTest(deps: ActionDeps, arg: unknown) {
  const r = await resolve(deps, arg, "Export which session as a test?");
  const model = await mustModel(deps, r);
  const file = await agentFile(deps, r, model);
  const doc = await vscode.workspace.openTextDocument(file);
  // A declared local backend runs the scripted steps when the session ran elsewhere.
  const localBackend =
    model.start?.backend.provider === "local" ? undefined : await declaredLocal(deps, file);
  const exported = exportTest(model, doc.getText(), { localBackend });
  const end = doc.lineAt(doc.lineCount - 1).range.end;
  const text = doc.getText();
  const lead = text.length === 0 ? "" : text.endsWith("\n\n") ? "" : text.endsWith("\n") ? "\n" : "\n\n";
  const edit = new vscode.WorkspaceEdit();
  edit.insert(file, end, lead + exported.text, {
    label: `Export session ${model.id} as a test`,
    needsConfirmation: false,
  });
  if (!(await vscode.workspace.applyEdit(edit))) throw new Error(`could not edit ${file.fsPath}`);
  await doc.save();
  const editor = await vscode.window.showTextDocument(doc, { preview: false });
  const at = doc.getText().lastIndexOf(`test "${exported.name}"`);
  if (at >= 0) {
    const pos = doc.positionAt(at);
    editor.selection = new vscode.Selection(pos, pos);
    editor.revealRange(new vscode.Range(pos, pos), vscode.TextEditorRevealType.AtTop);
  }
  const notes = exported.notes.length ? ` (${exported.notes.join("; ")})` : "";
  void vscode.window
    .showInformationMessage(
      `Statecraft: exported ${exported.turns} turn${exported.turns === 1 ? "" : "s"} of ${model.id} as test "${exported.name}"${notes}`,
      "Run Test",
    )
    .then((choice) =>
      choice === "Run Test"
        ? vscode.commands.executeCommand("statecraft.runTest", { uri: file.toString(), test: exported.name })
        : undefined,
    );
  return { uri: file.toString(), name: exported.name, turns: exported.turns, notes: exported.notes };
}

async function declaredLocal(deps: ActionDeps, file: vscode.Uri): Promise<string | undefined> {
  try {
    return (await deps.backends.info(file)).backends.find((b) => b.provider === "local")?.name;
  } catch (err) {
    deps.log.warn(`Export as Test: the backends of ${file.fsPath} are unknown: ${(err as Error).message}`);
    return undefined;
  }
}
