// One stateful session seen from the client: turns go to the runtime
// service, and every event streamed back is written, as received (the
// service's seq and ts), to `.statecraft/sessions/<id>.jsonl` of the
// workspace, so that `statecraft sessions`, replay, the Session Explorer and
// tests read a stateful session exactly like a local one. The only addition
// is `runtime.endpoint` on session.start: where the state lives.

import * as path from "node:path";
import type { CompiledDefinition, Json } from "../language/compile";
import type { EvalCheck, EvalSessionTag, SessionEvent, TurnEndEvent, UserInfo } from "../protocol/events";
import { SessionLogWriter, sessionsDir } from "../runtime/sessionLog";
import type { WireScriptStep } from "../protocol/runtimeService";
import { newStatefulSessionId, type StatefulClient, type TurnOutcome } from "./stateful";

export interface RemoteApprovalRequest {
  callId: string;
  tool: string;
  input: Json;
  reason: string;
}

export interface RemoteSessionOptions {
  client: StatefulClient;
  definition: CompiledDefinition;
  workspace: string;
  /** Where the state lives, recorded on session.start (a URL, agentcore:<ARN>, embedded:<dir>). */
  runtimeEndpoint: string;
  sessionId?: string;
  user?: UserInfo;
  source?: string;
  /** all / none answer every approval on the service; ask (the default) calls `approver`. */
  approve?: "all" | "none" | "ask";
  /** Answers an approval the service waits for; without one, approvals are refused. */
  approver?: (request: RemoteApprovalRequest) => Promise<boolean>;
  /** Every event as it is mirrored. */
  listener?: (event: SessionEvent) => void;
  onText?: (delta: string) => void;
  /** The eval case run this session is: sent with the first turn, recorded in session.start. */
  eval?: EvalSessionTag;
}

export interface RemoteTurn {
  turn: number;
  status: "ok" | "failed" | "stopped" | "interrupted";
  reason?: string;
  reply: string;
  /** Bytes of the request body this turn sent. */
  bytesSent: number;
}

export class RemoteSession {
  readonly sessionId: string;
  readonly file: string;
  private writer: SessionLogWriter | undefined;
  /** The last seq mirrored. */
  lastSeq = 0;
  /** The last turn the service numbered. */
  turn = 0;
  /** True once the service holds the session (its session.start came back). */
  created = false;
  private ended = false;
  private readonly toolInputs = new Map<string, Json>();
  private approvalError: Error | undefined;

  constructor(readonly o: RemoteSessionOptions) {
    this.sessionId = o.sessionId ?? newStatefulSessionId();
    this.file = path.join(sessionsDir(o.workspace), `${this.sessionId}.jsonl`);
  }

  get client(): StatefulClient {
    return this.o.client;
  }

  /** The events mirrored so far (as written to the file). */
  readonly events: SessionEvent[] = [];

  /** Writes one event of the service into the local log (once; in seq order). */
  private async mirror(event: SessionEvent): Promise<void> {
    if (event.seq <= this.lastSeq) return;
    if (event.seq > this.lastSeq + 1 && this.created) {
      // A gap (a lost frame): fetch what is missing first, so the log stays complete.
      const missing = await this.client.events(this.sessionId, this.lastSeq, event.seq - this.lastSeq - 1);
      for (const e of missing.events) if (e.seq < event.seq) this.write(e);
    }
    this.write(event);
  }

  private write(event: SessionEvent): void {
    if (event.seq <= this.lastSeq) return;
    let e = event;
    if (e.type === "session.start") {
      this.created = true;
      e = { ...e, runtime: { endpoint: this.o.runtimeEndpoint } };
    }
    this.writer ??= new SessionLogWriter(this.file, this.o.listener);
    this.events.push(this.writer.appendRecorded(e));
    this.lastSeq = e.seq;
    if ("turn" in e && typeof e.turn === "number") this.turn = Math.max(this.turn, e.turn);
  }

  private async onEvent(event: SessionEvent): Promise<void> {
    await this.mirror(event);
    if (event.type === "tool.call") this.toolInputs.set(event.callId, event.input);
    if (
      event.type === "policy.decision" &&
      event.decision === "approval" &&
      (this.o.approve ?? "ask") === "ask"
    ) {
      const request = {
        callId: event.callId,
        tool: event.tool,
        input: this.toolInputs.get(event.callId) ?? null,
        reason: event.reason ?? "",
      };
      const approved = this.o.approver ? await this.o.approver(request) : false;
      try {
        await this.client.approve(this.sessionId, event.callId, approved);
      } catch (err) {
        // The stream says what became of the turn (a cut, the service's timeout); keep reading it.
        this.approvalError = err as Error;
      }
    }
  }

  /**
   * Sends one turn: the first carries the definition, the user and the source; later ones only the
   * input (and a script for provider local). Refusals before the stream throw a BackendError; a
   * failure during it returns the turn as failed or interrupted, with every event received kept.
   */
  async send(
    input: string,
    o: { script?: WireScriptStep[]; signal?: AbortSignal } = {},
  ): Promise<RemoteTurn> {
    const first = !this.created;
    const outcome = await this.client.turn(
      this.sessionId,
      {
        input,
        ...(first
          ? {
              definition: this.o.definition,
              user: this.o.user,
              source: this.o.source,
              ...(this.o.eval ? { eval: this.o.eval } : {}),
            }
          : {}),
        ...(o.script ? { script: o.script } : {}),
        ...(this.o.approve && this.o.approve !== "ask" ? { approve: this.o.approve } : {}),
      },
      { onEvent: (e) => this.onEvent(e), onText: this.o.onText, signal: o.signal },
    );
    return this.settle(outcome);
  }

  private async settle(outcome: TurnOutcome): Promise<RemoteTurn> {
    let turn = outcome.turn ?? this.turn;
    let reachable = false;
    if (outcome.cut) {
      const known = this.turn;
      reachable = await this.catchUp(outcome.turn ?? known + 1);
      turn = outcome.turn ?? (this.turn > known ? this.turn : known + 1);
    } else if (outcome.error) await this.sync().catch(() => undefined);
    const end = this.events.find((e): e is TurnEndEvent => e.type === "turn.end" && e.turn === turn);
    const reply = end?.reply ?? "";
    if (end)
      return {
        turn,
        status: end.status,
        reason: end.reason ?? outcome.error?.message,
        reply,
        bytesSent: outcome.bytesSent,
      };
    if (outcome.error) {
      const approval = this.approvalError
        ? ` (answering its approval failed too: ${this.approvalError.message})`
        : "";
      this.approvalError = undefined;
      if (reachable)
        return {
          turn,
          status: "interrupted",
          reason: `${outcome.error.message}${approval}; the turn is still running on the service: its events stay there (statecraft sessions, GET /sessions/${this.sessionId}/events)`,
          reply,
          bytesSent: outcome.bytesSent,
        };
      // Nothing received is lost; the turn is recorded here as interrupted, as the service will record it.
      const reason = this.writer
        ? `${outcome.error.message}${approval}; the events received are kept in ${this.file} and the turn is recorded there as interrupted`
        : `${outcome.error.message}${approval}; no event of the session had arrived, so nothing was recorded`;
      if (this.writer && turn > 0) {
        const started = this.events.find((e) => e.type === "turn.start" && e.turn === turn);
        const local = this.writer.append({
          type: "turn.end",
          turn,
          agent: started?.type === "turn.start" ? started.agent : this.o.definition.agent,
          reply: "",
          messages: [],
          status: "interrupted",
          reason,
          usage: { inputTokens: 0, outputTokens: 0 },
        });
        this.events.push(local);
        this.lastSeq = local.seq;
      }
      return { turn, status: "interrupted", reason, reply, bytesSent: outcome.bytesSent };
    }
    return { turn, status: outcome.status, reply, bytesSent: outcome.bytesSent };
  }

  /**
   * After a cut stream: if the service still answers, waits for the turn to finish there and mirrors
   * its events (nothing is lost, the cut was only the connection's). Returns whether the service is
   * reachable but still running the turn.
   */
  private async catchUp(turn: number): Promise<boolean> {
    for (let attempt = 0, wait = 50; attempt < 40; attempt++, wait = Math.min(wait * 2, 500)) {
      let status: string;
      try {
        status = (await this.client.session(this.sessionId)).status;
        // A first turn cut before its first event may still have created the session.
        this.created = true;
      } catch {
        return false;
      }
      if (status !== "running") {
        await this.sync().catch(() => undefined);
        return false;
      }
      await new Promise((r) => setTimeout(r, wait));
    }
    await this.sync().catch(() => undefined);
    return !this.events.some((e) => e.type === "turn.end" && e.turn === turn);
  }

  /** Mirrors the events the service has after the last one seen; returns how many were added. */
  async sync(): Promise<number> {
    if (!this.created) return 0;
    const before = this.lastSeq;
    for (const e of await this.client.allEvents(this.sessionId, this.lastSeq)) this.write(e);
    return this.lastSeq - before;
  }

  /**
   * Ends the session on the service (it appends session.end, after an eval case run's `scores` as
   * eval.score events) and mirrors what is left.
   */
  async end(scores?: EvalCheck[]): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    try {
      if (this.created) {
        await this.client.end(this.sessionId, scores);
        await this.sync();
      }
    } finally {
      this.close();
    }
  }

  close(): void {
    this.writer?.close();
    this.writer = undefined;
  }
}
