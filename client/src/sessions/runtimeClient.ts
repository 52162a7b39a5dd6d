// A stateful runtime's sessions over its REST protocol (docs/runtime-service.md;
// the messages are server/protocol/runtimeService.ts): list, events (paged),
// fork and delete. Plain `fetch`, no `vscode`: the token comes from the
// caller (SecretStorage in the editor).

import type { SessionEvent } from "../../../server/protocol/events";
import type { SessionSummary } from "../../../server/protocol/runtimeService";

export interface RuntimeConfig {
  name: string;
  url: string;
}

export type RuntimeSessionSummary = SessionSummary;

/** A runtime that answered with an error, or did not answer: the message says which and what to do. */
export class RuntimeError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

const PAGE = 1000;

export class RuntimeClient {
  constructor(
    readonly config: RuntimeConfig,
    private readonly token: string | undefined,
    private readonly timeoutMs = 10_000,
  ) {}

  async listSessions(): Promise<RuntimeSessionSummary[]> {
    const body = (await this.request("GET", "/sessions")) as { sessions?: RuntimeSessionSummary[] };
    if (!Array.isArray(body.sessions))
      throw new RuntimeError(`${this.config.name}: GET /sessions did not return {"sessions": [...]}`);
    return body.sessions;
  }

  /** Every event of a session, page by page. */
  async events(id: string, signal?: AbortSignal): Promise<SessionEvent[]> {
    const out: SessionEvent[] = [];
    let after: number | null = 0;
    while (after !== null) {
      const page = (await this.request(
        "GET",
        `/sessions/${encodeURIComponent(id)}/events?after=${after}&limit=${PAGE}`,
        undefined,
        signal,
      )) as { events?: SessionEvent[]; next?: number | null };
      if (!Array.isArray(page.events))
        throw new RuntimeError(`${this.config.name}: the events of ${id} are not {"events": [...]}`);
      out.push(...page.events);
      after = page.next ?? null;
    }
    return out;
  }

  async fork(id: string, turn: number): Promise<string> {
    const body = (await this.request("POST", `/sessions/${encodeURIComponent(id)}/fork`, { turn })) as {
      sessionId?: string;
    };
    if (typeof body.sessionId !== "string")
      throw new RuntimeError(`${this.config.name}: the fork of ${id} returned no sessionId`);
    return body.sessionId;
  }

  async deleteSession(id: string): Promise<void> {
    await this.request("DELETE", `/sessions/${encodeURIComponent(id)}`);
  }

  private async request(
    method: string,
    route: string,
    body?: unknown,
    signal?: AbortSignal,
  ): Promise<unknown> {
    const url = new URL(
      route.replace(/^\//, ""),
      this.config.url.endsWith("/") ? this.config.url : `${this.config.url}/`,
    );
    const timeout = AbortSignal.timeout(this.timeoutMs);
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: {
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
          ...(body !== undefined ? { "content-type": "application/json" } : {}),
        },
        body: body !== undefined ? JSON.stringify(body) : undefined,
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (err) {
      const why = timeout.aborted ? `no answer after ${this.timeoutMs / 1000}s` : (err as Error).message;
      throw new RuntimeError(
        `runtime ${this.config.name} (${this.config.url}) cannot be reached: ${why}. Is it running? (Statecraft: Start Local Runtime, or fix statecraft.runtimes)`,
      );
    }
    if (response.status === 204) return {};
    const text = await response.text();
    let data: unknown;
    try {
      data = text ? JSON.parse(text) : {};
    } catch {
      throw new RuntimeError(
        `runtime ${this.config.name}: ${method} ${route} answered ${response.status} with non-JSON`,
        response.status,
      );
    }
    if (!response.ok) {
      const message = (data as { error?: { message?: string } }).error?.message ?? text;
      const hint =
        response.status === 401
          ? ` Set its token with "Statecraft: Set API Key" (secret statecraft.runtime.${this.config.name}).`
          : "";
      throw new RuntimeError(
        `runtime ${this.config.name}: ${method} ${route}: ${response.status} ${message}.${hint}`,
        response.status,
      );
    }
    return data;
  }
}
