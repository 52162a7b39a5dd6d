// Run Agent's chat: a terminal backed by a Pseudoterminal that runs `statecraft run ... --chat`.
// Replies stream in as the model writes them; the user types the next message (or answers an
// approval prompt) on the line after `you> `; Ctrl+D ends the session, Ctrl+C stops the run.
// The CLI records the session in .statecraft/sessions/ as it goes, so the Session Explorer shows
// it live.

import type { ChildProcessWithoutNullStreams } from "node:child_process";
import * as vscode from "vscode";

export interface ChatOutcome {
  code: number | null;
  /** The recorded session, as the CLI reported it at the end. */
  sessionId?: string;
  sessionFile?: string;
}

const DIM = "\x1b[2m";
const RED = "\x1b[31m";
const RESET = "\x1b[0m";
const END_GRACE_MS = 5_000;
// The colour codes above, removed from the transcript.
const ANSI_COLOUR = new RegExp(String.raw`\x1b\[[0-9;]*m`, "g");

/** Terminal output needs CRLF; the CLI writes LF. */
const crlf = (text: string) => text.replace(/\r?\n/g, "\r\n");

export class ChatTerminal implements vscode.Pseudoterminal {
  private readonly writeEmitter = new vscode.EventEmitter<string>();
  private readonly closeEmitter = new vscode.EventEmitter<number | void>();
  readonly onDidWrite = this.writeEmitter.event;
  readonly onDidClose = this.closeEmitter.event;

  private child: ChildProcessWithoutNullStreams | undefined;
  private line = "";
  private stderrTail = "";
  private text = "";
  private exited = false;
  private ending = false;
  private promptOpen = false;
  private finish!: (outcome: ChatOutcome) => void;
  /** Settles when the CLI has exited. */
  readonly done: Promise<ChatOutcome> = new Promise((resolve) => (this.finish = resolve));

  constructor(
    private readonly start: () => Promise<ChildProcessWithoutNullStreams>,
    private readonly title: string,
    /** Sent as the first message once the CLI asks for input. */
    private readonly firstMessage: string,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  /** Everything shown so far, without colour codes (for tests and the log). */
  get transcript(): string {
    return this.text;
  }

  open(): void {
    this.show(`${DIM}${this.title}${RESET}\r\n`);
    this.start().then(
      (child) => this.attach(child),
      (err: unknown) => this.fail(`could not start the run: ${(err as Error).message}`),
    );
  }

  private attach(child: ChildProcessWithoutNullStreams): void {
    this.child = child;
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => this.show(this.afterPrompt(crlf(chunk))));
    child.stderr.on("data", (chunk: string) => this.onStderr(chunk));
    child.once("error", (err) => this.fail(`could not start the run: ${err.message}`));
    child.once("close", (code) => {
      this.exited = true;
      const ended = /session (\S+): (.+) \(\d+ turns?\)\s*$/m.exec(this.stderrTail);
      const file = ended?.[2];
      this.show(
        `\r\n${code === 0 ? DIM : RED}[the run ended${code === 0 ? "" : ` with exit code ${code}`}; ` +
          `press any key to close]${RESET}\r\n`,
      );
      this.finish({ code, sessionId: ended?.[1], sessionFile: file });
    });
    // The CLI reads a line at a time, so the first message can be queued right away.
    if (this.firstMessage) this.send(this.firstMessage);
    if (this.ending) child.stdin.end();
  }

  private onStderr(chunk: string): void {
    // Keep the end of stderr: its last line names the recorded session.
    this.stderrTail = (this.stderrTail + chunk).slice(-4_000);
    const prompt = chunk.endsWith("you> ");
    const body = prompt ? chunk.slice(0, -"you> ".length) : chunk;
    if (body) this.show(this.afterPrompt(`${DIM}${crlf(body)}${RESET}`));
    if (prompt) {
      const echo = this.pendingEcho.shift();
      this.show(`\r\nyou> ${echo ?? this.line}`);
      this.promptOpen = echo === undefined;
    }
  }

  /** Output arriving while the prompt waits for the user starts on a line of its own. */
  private afterPrompt(text: string): string {
    if (!this.promptOpen) return text;
    this.promptOpen = false;
    return `\r\n${text}`;
  }

  /** Lines sent for the user (the first message) that the next prompt shows as typed. */
  private readonly pendingEcho: string[] = [];

  /** Sends one message, as if typed. */
  send(message: string): void {
    if (!this.child || this.exited) return;
    this.pendingEcho.push(`${message}\r\n`);
    this.child.stdin.write(`${message.replace(/\r?\n/g, " ")}\n`);
  }

  /** Ends the session: the CLI sees the end of its input and closes the session log. */
  end(): void {
    // Before the terminal opened there is no process yet: it ends as soon as it starts.
    this.ending = true;
    if (this.child && !this.exited) this.child.stdin.end();
  }

  handleInput(data: string): void {
    if (this.exited) {
      this.closeEmitter.fire();
      return;
    }
    for (const ch of data) {
      if (ch === "\r" || ch === "\n") {
        const message = this.line;
        this.line = "";
        this.promptOpen = false;
        this.show("\r\n");
        this.child?.stdin.write(`${message}\n`);
      } else if (ch === "\x7f" || ch === "\b") {
        if (this.line) {
          this.line = this.line.slice(0, -1);
          this.writeEmitter.fire("\b \b");
        }
      } else if (ch === "\x03") {
        this.show(`^C\r\n${DIM}[stopping the run]${RESET}\r\n`);
        this.child?.kill("SIGINT");
      } else if (ch === "\x04") {
        this.show(`\r\n${DIM}[ending the session]${RESET}\r\n`);
        this.end();
      } else if (ch >= " ") {
        this.line += ch;
        this.writeEmitter.fire(ch);
      }
    }
  }

  /** The terminal was closed: end the session, and stop the CLI if it does not end by itself. */
  close(): void {
    if (!this.child || this.exited) return;
    const child = this.child;
    this.end();
    const timer = setTimeout(() => {
      this.log.warn(`the run did not end ${END_GRACE_MS / 1000}s after its terminal closed; stopping it`);
      child.kill("SIGTERM");
    }, END_GRACE_MS);
    child.once("close", () => clearTimeout(timer));
  }

  private show(text: string): void {
    this.text += text.replace(ANSI_COLOUR, "").replace(/\r\n/g, "\n");
    this.writeEmitter.fire(text);
  }

  private fail(message: string): void {
    this.show(`${RED}${message}${RESET}\r\n`);
    this.log.error(message);
    if (!this.exited) {
      this.exited = true;
      this.finish({ code: null });
    }
  }

  dispose(): void {
    this.writeEmitter.dispose();
    this.closeEmitter.dispose();
  }
}
