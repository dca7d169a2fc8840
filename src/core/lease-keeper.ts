import { LeaseLostError, describeError } from '../errors.js';
import type { Clock, HeldLease, RunLease } from './ports.js';

/** How the keeper tells the run that it must start no new POSTs. */
export type LeaseTrouble = { readonly kind: 'lost'; readonly error: string } | { readonly kind: 'expiring'; readonly error: string };

/** What the keeper needs. */
export interface LeaseKeeperOptions {
  readonly ttlMs: number;
  /** Each renewal is bounded by this (FIRESTORE_TIMEOUT_MS). */
  readonly callTimeoutMs: number;
  /** Wraps each renewal in the run's deadline. */
  readonly bounded: <T>(work: Promise<T>, what: string) => Promise<T>;
}

/**
 * The heartbeat: renews the run's lease every third of its TTL while the run lives, so a short lease never
 * expires under a live run and a crashed run's lease frees the shard within seconds. When another run took
 * the lease, or renewals keep failing until it is about to lapse, the run is told to stop starting POSTs.
 * It counts only on the run's own Clock (monotonic): the held lease's expiresAtMs is dated from before each
 * renewal was sent, so it never outlasts the lease as Firestore's clock, which alone decides a takeover, sees it.
 * Renewals fall due by that date (a third of the TTL after the last was sent), not by when the keeper started or
 * an answer came: a run over several shards starts a shard's keeper once its other lease attempts are in.
 */
export class LeaseKeeper {
  private readonly stopped = new AbortController();
  private readonly loop: Promise<void>;

  constructor(
    private lease: HeldLease,
    private readonly port: RunLease,
    private readonly clock: Clock,
    private readonly options: LeaseKeeperOptions,
    private readonly onTrouble: (trouble: LeaseTrouble) => void,
  ) {
    this.loop = this.keep();
  }

  /** The lease as last renewed (same token, later expiry). */
  get current(): HeldLease {
    return this.lease;
  }

  /**
   * Ends the heartbeat at once. A renewal still in flight is not waited for: landing after the release it finds
   * no lease to renew (the write needs the document), and landing before it the release sees our token still.
   */
  stop(): void {
    this.stopped.abort();
    this.loop.catch(() => undefined);
  }

  private async keep(): Promise<void> {
    const { signal } = this.stopped;
    const intervalMs = Math.floor(this.options.ttlMs / 3);
    // A third of the TTL after the lease was taken (its expiry less the TTL), however late this keeper started.
    let dueAtMs = this.lease.expiresAtMs - this.options.ttlMs + intervalMs;
    while (!signal.aborted) {
      await this.clock.sleep(Math.max(0, dueAtMs - this.clock.now()), signal);
      if (signal.aborted) return;
      try {
        const renewed = await this.renewBeforeLapse(signal);
        if (signal.aborted) return;
        if (renewed === 'lapsing') {
          this.onTrouble({
            kind: 'expiring',
            error: 'the run lease could not be renewed: no renewal landed before the lease was about to lapse',
          });
          return;
        }
        this.lease = renewed;
        // The next is due a third of the TTL after this one was sent, not after its answer came (a slow Firestore).
        dueAtMs = renewed.expiresAtMs - this.options.ttlMs + intervalMs;
        continue;
      } catch (error) {
        if (error instanceof LeaseLostError) {
          this.onTrouble({ kind: 'lost', error: error.message });
          return;
        }
        // Renewals failed for so long that the next may not land before the lease lapses: another run could take it.
        if (this.clock.now() + intervalMs + this.options.callTimeoutMs >= this.lease.expiresAtMs) {
          this.onTrouble({ kind: 'expiring', error: `the run lease could not be renewed: ${describeError(error)}` });
        }
      }
      dueAtMs = this.clock.now() + intervalMs;
    }
  }

  /**
   * One renewal, unless it is still out when the lease has one Firestore call's bound left: then 'lapsing' (the
   * renewal may land after the lease lapsed, when another run may hold the shard), and the renewal is let go.
   */
  private async renewBeforeLapse(signal: AbortSignal): Promise<HeldLease | 'lapsing'> {
    const renewal = this.options.bounded(this.port.renew(this.lease, this.options.ttlMs), 'renewing the run lease');
    const watch = new AbortController();
    const lapsing = this.clock
      .sleep(Math.max(0, this.lease.expiresAtMs - this.options.callTimeoutMs - this.clock.now()), AbortSignal.any([watch.signal, signal]))
      .then(() => 'lapsing' as const);
    try {
      return await Promise.race([renewal, lapsing]);
    } finally {
      watch.abort();
      renewal.catch(() => undefined);
    }
  }
}
