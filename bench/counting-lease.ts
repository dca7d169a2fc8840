import type { HeldLease, LeaseAttempt, LeaseWakeUps, RunLease, Unsubscribe, WakeAttempt } from '../dist/core/ports.js';

/** Firestore operations on the lease document, as billed in the usual case (firestore-run-lease.ts). */
export interface LeaseCounts {
  readonly reads: number;
  /** Writes, deletes included (a released lease is deleted). */
  readonly writes: number;
}

/**
 * Counts the lease's Firestore operations for the push benchmark, passing every call through unchanged. Each call
 * is charged as firestore-run-lease.ts makes it in the usual case: acquiring a free lease is one create, a held one
 * a refused create and a read; a renewal one conditional update; a release one delete; a wake-up one read and at
 * most one write; a close one read and one write; a listener (watch, follow) one read when it starts and one per
 * change it sees, renewals of the lease included.
 */
export class LeaseCounter {
  private counts: LeaseCounts = { reads: 0, writes: 0 };
  private listeners = 0;

  snapshot(): LeaseCounts {
    return { ...this.counts };
  }

  private add(reads: number, writes: number): void {
    this.counts = { reads: this.counts.reads + reads, writes: this.counts.writes + writes };
  }

  /** The run lease, counted. */
  lease(inner: RunLease): RunLease {
    return {
      acquire: async (owner: string, ttlMs: number): Promise<LeaseAttempt> => {
        const attempt = await inner.acquire(owner, ttlMs);
        if (attempt.acquired) this.add(0, 1);
        else this.add(1, 0);
        return attempt;
      },
      renew: async (held: HeldLease, ttlMs: number): Promise<HeldLease> => {
        const renewed = await inner.renew(held, ttlMs);
        this.add(this.listeners, 1);
        return renewed;
      },
      release: async (held: HeldLease): Promise<void> => {
        await inner.release(held);
        this.add(this.listeners, 1);
      },
      follow: async (held: HeldLease, onHandover: () => void): Promise<Unsubscribe> => {
        this.add(1, 1);
        const stop = await inner.follow(held, onHandover);
        this.listeners += 1;
        return () => {
          this.listeners -= 1;
          stop();
        };
      },
      requestHandover: async (requester: string): Promise<boolean> => {
        const asked = await inner.requestHandover(requester);
        this.add(1 + this.listeners, asked ? 1 : 0);
        return asked;
      },
    };
  }

  /** Push's wake-ups on the same document, counted. */
  wakeUps(inner: LeaseWakeUps): LeaseWakeUps {
    return {
      wake: async (requester: string): Promise<WakeAttempt> => {
        const attempt = await inner.wake(requester);
        this.add(1 + (attempt.kind === 'woken' ? this.listeners : 0), attempt.kind === 'woken' ? 1 : 0);
        return attempt;
      },
      close: async (lease: HeldLease): Promise<'closed' | 'woken'> => {
        const closed = await inner.close(lease);
        this.add(1 + this.listeners, 1);
        return closed;
      },
      watch: (onWake: () => void, onError: (error: unknown) => void): Unsubscribe => {
        this.add(1, 0);
        this.listeners += 1;
        const stop = inner.watch(onWake, onError);
        return () => {
          this.listeners -= 1;
          stop();
        };
      },
    };
  }
}
