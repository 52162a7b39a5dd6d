// Group commit: the events that many sessions' turns commit at the same
// moment go to the database together, in one statement (one transaction, one
// flush of the write-ahead log), instead of one round trip and one flush each.
// A commit waits only while earlier batches are in flight (no timer): alone,
// it goes at once; under load, everything that queued meanwhile goes next.

import type { Queryable } from "./db";
import { commitBatch, LostLeaseError, type CommitOptions } from "./store";

interface Pending {
  o: CommitOptions;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export interface GroupCommitStats {
  /** Batches committed, and the parts (one session's events each) they held. */
  batches: number;
  parts: number;
}

export class GroupCommitter {
  private readonly queue: Pending[] = [];
  private inFlight = 0;
  readonly stats: GroupCommitStats = { batches: 0, parts: 0 };

  constructor(
    private readonly q: Queryable,
    private readonly o: {
      /** Batches in flight at once (each on its own connection with a pool). */
      concurrency: number;
      /** Parts per batch at most. */
      maxBatch: number;
    },
  ) {}

  /**
   * Resolves once the part is committed (then, and only then, may its events be streamed);
   * LostLeaseError when its session's lease was lost, the database's error when it failed.
   */
  commit(o: CommitOptions): Promise<void> {
    if (!o.events.length) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.queue.push({ o, resolve, reject });
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

  /**
   * The next batch, first come first served: the oldest parts, skipping (for the next batch, still
   * ahead of every later one) a part whose session or memory row an earlier part of this batch
   * writes, since one statement cannot write a row twice.
   */
  private take(): Pending[] {
    const batch: Pending[] = [];
    const sids = new Set<number>();
    const rows = new Set<string>();
    for (let i = 0; i < this.queue.length && batch.length < this.o.maxBatch;) {
      const p = this.queue[i];
      const keys = (p.o.memory ?? []).map((m) => `${m.actor}\0${m.memory}\0${m.owner}`);
      if (sids.has(p.o.sid) || keys.some((k) => rows.has(k))) {
        i++;
        continue;
      }
      sids.add(p.o.sid);
      for (const k of keys) rows.add(k);
      batch.push(p);
      this.queue.splice(i, 1);
    }
    return batch;
  }

  private async run(batch: Pending[]): Promise<void> {
    let committed: Set<number>;
    try {
      committed = await commitBatch(
        this.q,
        batch.map((p) => p.o),
      );
    } catch (err) {
      if (batch.length === 1) {
        batch[0].reject(err);
        return;
      }
      // One part's fault must not fail the others: each goes again alone, so only its own fails.
      await Promise.all(batch.map((p) => this.run([p])));
      return;
    }
    this.stats.batches++;
    this.stats.parts += batch.length;
    for (const p of batch) {
      if (committed.has(p.o.sid)) p.resolve();
      else p.reject(new LostLeaseError());
    }
  }
}
