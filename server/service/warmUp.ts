// Before the service listens, it runs a few hundred scripted turns of a
// built-in agent through its own turn path (session creation, lease claims,
// the engine, group commits, the event stream's frames), inside one database
// transaction that is then rolled back. V8 compiles what runs often, so the
// first turns of real sessions run optimized code against warmed statements
// instead of paying for it together: a burst of 100 first turns took about
// 240 ms cold and 145 ms warm in `npm run bench`. Nothing is kept; a failure
// only costs the warm-up (the caller says so and starts anyway).

import { randomBytes } from "node:crypto";
import type { ServerResponse } from "node:http";
import * as path from "node:path";
import { compileAgent, isCompileError, type CompiledDefinition } from "../language/compile";
import { Program } from "../language/program";
import type { Db, Queryable } from "./db";
import { SseStream } from "./http";
import { RuntimeService } from "./runtimeService";

const SOURCE = `memory notes {
  scope: user
  fields {
    count: integer
  }
}
agent warmup {
  instructions: "Answer {{user.name}} briefly. Count {{memory.count}}."
  memory: notes
}
`;

function warmUpDefinition(): CompiledDefinition {
  const file = path.resolve("/statecraft-warm-up/main.agent");
  const program = new Program({
    readFile: (p) => (path.resolve(p) === file ? SOURCE : undefined),
    exists: (p) => path.resolve(p) === file,
  });
  program.load(file);
  const def = compileAgent(program, file, "warmup");
  if (isCompileError(def)) throw new Error(`the warm-up agent does not compile: ${def.message}`);
  return def;
}

/** A response that keeps nothing but whether the turn ended ok. */
class Discard {
  destroyed = false;
  writableEnded = false;
  headersSent = false;
  status: string | undefined;
  writeHead() {}
  flushHeaders() {}
  cork() {}
  uncork() {}
  write(chunk: string) {
    if (chunk.includes("event: done\n")) this.status = /"status":"(\w+)"/.exec(chunk)?.[1];
    return true;
  }
  end() {}
}

class Rollback extends Error {}

/** One transaction as the whole database of a RuntimeService: one connection, nothing committed. */
function inTransaction(db: Db, q: Queryable): Db {
  return {
    kind: db.kind,
    query: (sql, params, name) => q.query(sql, params, name),
    relaxed: q,
    commitConcurrency: 1,
    eachConnection: (fn) => fn(q, false),
    tx: (fn) => fn(q),
    close: async () => {},
  };
}

/**
 * Runs `sessions` x `turns` scripted turns (a memory write on every other one) concurrently, in a
 * transaction rolled back at the end. Resolves with the turns run; throws when one did not end ok.
 */
export async function warmUp(db: Db, o: { sessions: number; turns: number }): Promise<number> {
  const definition = warmUpDefinition();
  // Names of this warm-up only: instances of a fleet starting together never wait on each other's
  // uncommitted rows (a unique key another open transaction inserted).
  const prefix = `warm-up-${randomBytes(6).toString("hex")}`;
  let ran = 0;
  try {
    await db.tx(async (q) => {
      const service = new RuntimeService({
        db: inTransaction(db, q),
        env: {},
        baseDir: process.cwd(),
        leaseMs: 60_000,
        approvalTimeoutMs: 1_000,
        pollMs: 100,
      });
      await Promise.all(
        Array.from({ length: o.sessions }, async (_, s) => {
          for (let t = 1; t <= o.turns; t++) {
            const res = new Discard();
            const reply = { reply: `Noted, turn ${t}.` };
            await service.turn(
              "statecraft:warm-up",
              `${prefix}-${s}`,
              {
                input: `Turn ${t}, please keep count.`,
                approve: "all",
                script: t % 2 ? [{ call: "remember", input: { field: "count", value: t } }, reply] : [reply],
                ...(t === 1 ? { definition, user: { id: `${prefix}-${s}`, name: "Ada" } } : {}),
              },
              undefined,
              new SseStream(res as unknown as ServerResponse),
            );
            if (res.status !== "ok")
              throw new Error(`warm-up turn ${t} ended ${res.status ?? "without done"}`);
            ran++;
          }
        }),
      );
      throw new Rollback();
    });
  } catch (err) {
    if (!(err instanceof Rollback)) throw err;
  }
  return ran;
}
