// One way to open a recorded session on this machine: a new session id, its
// log under <workspace>/.statecraft/sessions/, a pool of the definition's MCP
// servers, the memory store and `AgentSession.start`, with one close that ends
// and releases all of them. `statecraft run`, the test runner and the debugger
// open their sessions here; the backend is the caller's.

import * as path from "node:path";
import { AgentSession, type EngineOptions } from "./engine";
import type { SessionEvent } from "../protocol/events";
import { McpPool } from "./mcp";
import { FileMemoryStore, type MemoryStore } from "./memoryStore";
import { newSessionId, SessionLogWriter, sessionsDir } from "./sessionLog";
import type { McpCaller } from "./tools";

export interface OpenSessionOptions extends Omit<
  EngineOptions,
  "sink" | "sessionId" | "memoryStore" | "mcp"
> {
  /** The log goes to <workspace>/.statecraft/sessions/<id>.jsonl. */
  workspace: string;
  /** The run's environment: what env(...) reads (vars, tool and MCP env) and the secrets kept out of the log. */
  env: NodeJS.ProcessEnv;
  /** Memory that outlives sessions: by default the workspace's, under .statecraft/memory. */
  memoryStore?: MemoryStore;
  /** Calls MCP tools: by default a pool of the definition's servers, closed with the session. */
  mcp?: McpCaller;
  /** Told of every event as it is written (the CLI's activity lines). */
  listener?: (event: SessionEvent) => void;
}

export interface OpenedSession {
  session: AgentSession;
  sessionId: string;
  /** The session log. */
  file: string;
  /**
   * Ends the session with `status` (unless it has ended), closes its log and
   * stops its MCP servers and closes its connections. Only the first call does anything.
   */
  close(status?: "ok" | "failed" | "stopped", reason?: string): Promise<void>;
}

export async function openSession(options: OpenSessionOptions): Promise<OpenedSession> {
  const { workspace, env, memoryStore, mcp, listener, ...engine } = options;
  const sessionId = newSessionId();
  const pool =
    !mcp && Object.keys(engine.definition.mcpServers).length
      ? new McpPool(engine.definition.mcpServers, engine.baseDir, env)
      : undefined;
  const writer = new SessionLogWriter(path.join(sessionsDir(workspace), `${sessionId}.jsonl`), listener);
  let session: AgentSession | undefined;
  const release = async () => {
    writer.close();
    await Promise.all([pool?.close(), session?.release()]);
  };
  let started: AgentSession;
  try {
    started = session = await AgentSession.start({
      ...engine,
      env,
      sink: writer,
      sessionId,
      memoryStore: memoryStore ?? new FileMemoryStore(path.join(workspace, ".statecraft", "memory")),
      mcp: mcp ?? pool?.call,
    });
  } catch (err) {
    await release();
    throw err;
  }
  let closing: Promise<void> | undefined;
  return {
    session: started,
    sessionId,
    file: writer.file,
    close: (status = "ok", reason) =>
      (closing ??= (async () => {
        try {
          await started.end(status, reason);
        } finally {
          await release();
        }
      })()),
  };
}
