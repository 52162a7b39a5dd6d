// The terminal side of a session, shared by `statecraft run` on either kind
// of backend (run.ts, remote.ts), fork and replay: where inputs and approval
// answers come from, and tool activity printed to stderr.

import * as readline from "node:readline";
import type { SessionEvent } from "../protocol/events";
import type { ApprovalRequest } from "../runtime/engine";
import type { CliIO } from "./io";

/** Where a session's inputs and approval answers come from: --input values, a chat on stdin, or a terminal. */
export interface Conversation {
  approver: (req: Pick<ApprovalRequest, "tool" | "input">) => Promise<boolean>;
  /** The next input, undefined at the end. */
  next: () => Promise<string | undefined>;
  /** Echoes the input to stderr when it came from neither a terminal nor a chat. */
  echo: (input: string) => void;
  close: () => void;
}

export interface ConversationOptions {
  /** --input values; without them the inputs come from stdin. */
  inputs?: string[];
  /** --approve all | none; without it approvals are asked. */
  approve?: string;
  /** Stdin is a chat (the editor's terminal): prompt with `you> ` before each input, without a TTY (`--chat`). */
  chat?: boolean;
}

export function conversation(io: CliIO, o: ConversationOptions): Conversation {
  const interactive = process.stdin.isTTY === true && !o.inputs;
  const rl = o.inputs ? undefined : readline.createInterface({ input: process.stdin, terminal: interactive });
  const lines = rl?.[Symbol.asyncIterator]();
  const approver = async (req: Pick<ApprovalRequest, "tool" | "input">): Promise<boolean> => {
    if (o.approve) return o.approve === "all";
    if (o.chat && lines) {
      // A turn is running, so the next line of the chat is the answer.
      io.stderr(`Approve ${req.tool} ${JSON.stringify(req.input)}? [y/N] `);
      const r = await lines.next();
      return !r.done && /^y(es)?$/i.test(r.value.trim());
    }
    if (!interactive || !rl) {
      io.stderr(
        `approval needed for ${req.tool} ${JSON.stringify(req.input)}: refused (no terminal; pass --approve all to allow)\n`,
      );
      return false;
    }
    const answer = await new Promise<string>((resolve) =>
      rl.question(`Approve ${req.tool} ${JSON.stringify(req.input)}? [y/N] `, resolve),
    );
    return /^y(es)?$/i.test(answer.trim());
  };
  const queue = o.inputs ? [...o.inputs] : undefined;
  const next = async (): Promise<string | undefined> => {
    if (queue) return queue.shift();
    if (interactive || o.chat) io.stderr("you> ");
    const r = await lines!.next();
    return r.done ? undefined : r.value;
  };
  const echo = (input: string) => {
    if (!interactive && !o.chat) io.stderr(`> ${input}\n`);
  };
  return { approver, next, echo, close: () => rl?.close() };
}

/** Tool activity goes to stderr as it happens, so stdout holds only the replies. */
export function activityPrinter(io: CliIO): (e: SessionEvent) => void {
  return (e) => {
    if (e.type === "tool.call") io.stderr(`  -> ${e.tool} ${JSON.stringify(e.input)}\n`);
    else if (e.type === "tool.result" && !e.ok) io.stderr(`  <- ${e.tool} failed: ${e.error}\n`);
    else if (e.type === "policy.decision" && e.decision === "deny")
      io.stderr(`  <- ${e.tool} denied: ${e.reason}\n`);
    else if (e.type === "approval")
      io.stderr(`  <- ${e.tool} ${e.approved ? "approved" : "not approved"} by ${e.by}\n`);
    else if (e.type === "handoff") io.stderr(`  -> handed off from ${e.from} to ${e.to}\n`);
  };
}
