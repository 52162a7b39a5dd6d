// Group commit: what many sessions' turns ask of the database at the same
// moment goes in one statement (one round trip, one transaction, one flush of
// the write-ahead log) instead of one each: the events they commit, and the
// turn leases they take. A request waits only while earlier batches are in
// flight (no timer): alone, it goes at once; under load, everything that
// queued meanwhile goes next, oldest first.

import type { Queryable } from "./db";
import {
  claimTurns,
  commitBatch,
  createSessions,
  LostLeaseError,
  type CommitOptions,
  type LightSessionRow,
  type NewSession,
} from "./store";

interface Pending<I, O> {
  item: I;
  keys: string[];
  resolve: (out: O) => void;
  reject: (err: unknown) => void;
}

export interface BatchStats {
  /** Batches run, and the requests they held. */
  batches: number;
  items: number;
}

/**
 * Runs requests in batches, first come first served. `keys` names the rows a request writes: a
 * request whose row an earlier request of the batch writes waits for the next batch (still ahead
 * of every later request), since one statement cannot write a row twice.
 */
export class Batcher<I, O> {
  private readonly queue: Pending<I, O>[] = [];
  private inFlight = 0;
  readonly stats: BatchStats = { batches: 0, items: 0 };

  constructor(
    private readonly o: {
      /** Batches in flight at once (each on its own connection with a pool). */
      concurrency: number;
      /** Requests per batch at most. */
      maxBatch: number;
      keys: (item: I) => string[];
      /** One result per item, in order; throws when the whole batch failed. */
      run: (items: I[]) => Promise<O[]>;
    },
  ) {}

  submit(item: I): Promise<O> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, keys: this.o.keys(item), resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.o.concurrency && this.queue.length) {
      const batch = this.take();
      this.inFlight++;
      void this.run(batch).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private take(): Pending<I, O>[] {
    const batch: Pending<I, O>[] = [];
    const taken = new Set<string>();
    for (let i = 0; i < this.queue.length && batch.length < this.o.maxBatch;) {
      const p = this.queue[i];
      if (p.keys.some((k) => taken.has(k))) {
        i++;
        continue;
      }
      for (const k of p.keys) taken.add(k);
      batch.push(p);
      this.queue.splice(i, 1);
    }
    return batch;
  }

  private async run(batch: Pending<I, O>[]): Promise<void> {
    let out: O[];
    try {
      out = await this.o.run(batch.map((p) => p.item));
    } catch (err) {
      if (batch.length === 1) {
        batch[0].reject(err);
        return;
      }
      // One request's fault must not fail the others: each goes again alone, so only its own fails.
      await Promise.all(batch.map((p) => this.run([p])));
      return;
    }
    this.stats.batches++;
    this.stats.items += batch.length;
    batch.forEach((p, i) => p.resolve(out[i]));
  }
}

/** Commits of many sessions' events, batched (store.ts commitBatch: each fenced by its lease). */
export class GroupCommitter {
  private readonly batcher: Batcher<CommitOptions, boolean>;

  constructor(q: Queryable, o: { concurrency: number; maxBatch: number }) {
    this.batcher = new Batcher({
      ...o,
      keys: (c) => [`s${c.sid}`, ...(c.memory ?? []).map((m) => `m${m.actor}\0${m.memory}\0${m.owner}`)],
      run: async (parts) => {
        const committed = await commitBatch(q, parts);
        return parts.map((p) => committed.has(p.sid));
      },
    });
  }

  get stats(): BatchStats {
    return this.batcher.stats;
  }

  /**
   * Resolves once the events are committed (then, and only then, may they be streamed);
   * LostLeaseError when the session's lease was lost, the database's error when it failed.
   */
  async commit(o: CommitOptions): Promise<void> {
    if (!o.events.length) return;
    if (!(await this.batcher.submit(o))) throw new LostLeaseError();
  }
}

/** Turn leases of many sessions taken in one statement (store.ts claimTurns). */
export class GroupClaimer {
  private readonly batcher: Batcher<{ actor: string; id: string }, LightSessionRow | undefined>;

  constructor(q: Queryable, owner: string, leaseMs: number, o: { concurrency: number; maxBatch: number }) {
    this.batcher = new Batcher({
      ...o,
      keys: (r) => [`${r.actor}\0${r.id}`],
      run: (requests) => claimTurns(q, requests, owner, leaseMs),
    });
  }

  get stats(): BatchStats {
    return this.batcher.stats;
  }

  /** The session row with its lease taken; undefined when the session is missing or another holds its lease. */
  claim(actor: string, id: string): Promise<LightSessionRow | undefined> {
    return this.batcher.submit({ actor, id });
  }
}

/** New sessions of many first turns created in one statement (store.ts createSessions). */
export class GroupCreator {
  private readonly batcher: Batcher<NewSession, LightSessionRow | undefined>;

  constructor(q: Queryable, owner: string, leaseMs: number, o: { concurrency: number; maxBatch: number }) {
    this.batcher = new Batcher({
      ...o,
      keys: (r) => [`${r.actor}\0${r.id}`],
      run: (requests) => createSessions(q, requests, owner, leaseMs),
    });
  }

  /** The new session's row with its lease taken; undefined when a session of that name exists. */
  create(session: NewSession): Promise<LightSessionRow | undefined> {
    return this.batcher.submit(session);
  }
}
