import type { HeldLease, LeaseAttempt, RunLease, Unsubscribe } from './ports.js';

/**
 * Push on commit: how a kick reaches the run of its own instance without a Firestore call. The doorbell is armed
 * while a run of this instance holds the shard's lease; a kick that rings it is folded into that run, which reads
 * on (linger.ts). A ring before the run listens (while it still drains) is kept for it.
 */
export class Doorbell {
  /** The token of the lease this instance's run holds, while kicks may fold into it. */
  private heldToken: string | undefined;
  /** Off while the lingering run closes its lease: a kick then takes the path of any other instance. */
  private open = false;
  private listener: (() => void) | undefined;
  private rungUnheard = false;

  /** A run of this instance took the lease: kicks fold into it from now. */
  arm(lease: HeldLease): void {
    this.heldToken = lease.token;
    this.open = true;
    this.rungUnheard = false;
  }

  /** That run let go of the lease (or lost it). */
  disarm(lease: HeldLease): void {
    if (this.heldToken !== lease.token) return;
    this.heldToken = undefined;
    this.open = false;
    this.listener = undefined;
  }

  /** True when a run of this instance holds the lease and takes kicks; the kick is then its. */
  ring(): boolean {
    if (this.heldToken === undefined || !this.open) return false;
    if (this.listener === undefined) this.rungUnheard = true;
    else this.listener();
    return true;
  }

  /** The lingering run listens; a ring it missed while draining is told at once. */
  listen(onRing: () => void): Unsubscribe {
    this.listener = onRing;
    if (this.rungUnheard) {
      this.rungUnheard = false;
      onRing();
    }
    return () => {
      if (this.listener === onRing) this.listener = undefined;
    };
  }

  /** Stops taking kicks before the run closes its lease: from now a kick takes the path of any other instance. */
  shut(): void {
    this.open = false;
  }

  /** Takes kicks again: the close found a wake-up, so the run reads on. */
  reopen(): void {
    if (this.heldToken !== undefined) this.open = true;
  }
}

/** The lease as a run of a push deployment sees it: taking it arms the doorbell, releasing it disarms it. */
export function armingDoorbell(lease: RunLease, doorbell: Doorbell): RunLease {
  return {
    acquire: async (owner: string, ttlMs: number): Promise<LeaseAttempt> => {
      const attempt = await lease.acquire(owner, ttlMs);
      if (attempt.acquired) doorbell.arm(attempt.lease);
      return attempt;
    },
    renew: (held, ttlMs) => lease.renew(held, ttlMs),
    release: async (held) => {
      doorbell.disarm(held);
      await lease.release(held);
    },
    follow: (held, onHandover) => lease.follow(held, onHandover),
    requestHandover: (requester) => lease.requestHandover(requester),
  };
}
