import { LeaseKeeper, type LeaseTrouble } from '../../../src/core/lease-keeper.js';
import type { HeldLease, LeaseAttempt, RunLease, Unsubscribe } from '../../../src/core/ports.js';
import { LeaseLostError } from '../../../src/errors.js';
import { VirtualClock } from '../../support/virtual-clock.js';

const TTL_MS = 30_000;
const CALL_TIMEOUT_MS = 5_000;
/** Firestore's clock, 2 minutes ahead of the run's: the keeper must never look at it. */
const STORE_SKEW_MS = 120_000;

/**
 * A lease store that keeps time by its own clock (a server's, minutes off the run's), answering renewals as the
 * Firestore adapter does: the held lease ends a TTL after the renewal was sent, by the run's clock.
 */
class SkewedLeaseStore implements RunLease {
  readonly renewedAt: number[] = [];
  storeExpiresAtMs = 0;
  failing: Error | undefined;

  constructor(private readonly clock: VirtualClock) {}

  hanging = false;
  /** How long each renewal takes to answer (a slow but working Firestore). */
  answerAfterMs = 0;

  renew(lease: HeldLease, ttlMs: number): Promise<HeldLease> {
    const sentAtMs = this.clock.now();
    if (this.hanging) return new Promise(() => undefined);
    if (this.failing !== undefined) return Promise.reject(this.failing);
    this.renewedAt.push(sentAtMs);
    this.storeExpiresAtMs = sentAtMs + STORE_SKEW_MS + ttlMs;
    const renewed = { token: lease.token, expiresAtMs: sentAtMs + ttlMs };
    return this.answerAfterMs === 0 ? Promise.resolve(renewed) : this.clock.sleep(this.answerAfterMs).then(() => renewed);
  }
  acquire(): Promise<LeaseAttempt> {
    return Promise.reject(new Error('not used'));
  }
  release(): Promise<void> {
    return Promise.resolve();
  }
  follow(): Promise<Unsubscribe> {
    return Promise.resolve(() => undefined);
  }
  requestHandover(): Promise<boolean> {
    return Promise.resolve(false);
  }
}

/** A keeper for a lease taken `takenAgoMs` before it starts (a run over several shards starts it once every lease attempt is in). */
function keep(clock: VirtualClock, store: SkewedLeaseStore, troubles: LeaseTrouble[], takenAgoMs = 0): LeaseKeeper {
  const lease: HeldLease = { token: 't-1', expiresAtMs: clock.now() - takenAgoMs + TTL_MS };
  return new LeaseKeeper(lease, store, clock, { ttlMs: TTL_MS, callTimeoutMs: CALL_TIMEOUT_MS, bounded: (work) => work }, (trouble) =>
    troubles.push(trouble),
  );
}

describe('Class: LeaseKeeper', () => {
  it('renews every third of the TTL by the run’s own clock, whatever time the store keeps', async () => {
    const clock = new VirtualClock();
    const store = new SkewedLeaseStore(clock);
    const startedAt = clock.now();
    const troubles: LeaseTrouble[] = [];
    const keeper = keep(clock, store, troubles);

    await clock.advance(TTL_MS * 2);
    keeper.stop();

    expect(store.renewedAt.map((at) => at - startedAt)).toEqual([10_000, 20_000, 30_000, 40_000, 50_000, 60_000]);
    expect(keeper.current.expiresAtMs).toBe(startedAt + 60_000 + TTL_MS);
    expect(troubles).toEqual([]);
  });

  it('warns that the lease is expiring when renewals keep failing until the next could land after it lapses, by the run’s clock', async () => {
    const clock = new VirtualClock();
    const store = new SkewedLeaseStore(clock);
    const troubles: LeaseTrouble[] = [];
    const keeper = keep(clock, store, troubles);
    store.failing = new Error('UNAVAILABLE');

    await clock.advance(10_000);
    const afterOneFailure = [...troubles];
    await clock.advance(10_000);
    keeper.stop();

    expect(afterOneFailure).toEqual([]);
    expect(troubles).toEqual([{ kind: 'expiring', error: expect.stringContaining('UNAVAILABLE') as unknown }]);
  });

  it('renews when the lease is due, not a third of the TTL after the keeper started: a lease taken 12 s before is renewed at once', async () => {
    const clock = new VirtualClock();
    const store = new SkewedLeaseStore(clock);
    const startedAt = clock.now();
    const keeper = keep(clock, store, [], 12_000);

    await clock.advance(25_000);
    keeper.stop();

    expect(store.renewedAt.map((at) => at - startedAt)).toEqual([0, 10_000, 20_000]);
  });

  it('stops POSTs one Firestore call before the lease lapses when a renewal hangs, however late the keeper started', async () => {
    const clock = new VirtualClock();
    const store = new SkewedLeaseStore(clock);
    const startedAt = clock.now();
    const troubles: LeaseTrouble[] = [];
    let troubledAt: number | undefined;
    store.hanging = true;
    // Taken 12 s before: it lapses 18 s from now by the run's clock.
    const keeper = new LeaseKeeper(
      { token: 't-1', expiresAtMs: startedAt - 12_000 + TTL_MS },
      store,
      clock,
      { ttlMs: TTL_MS, callTimeoutMs: CALL_TIMEOUT_MS, bounded: (work) => work },
      (trouble) => {
        troubles.push(trouble);
        troubledAt = clock.now() - startedAt;
      },
    );

    await clock.advance(TTL_MS);
    keeper.stop();

    expect(troubles).toEqual([{ kind: 'expiring', error: expect.stringContaining('before the lease was about to lapse') as unknown }]);
    expect(troubledAt).toBe(18_000 - CALL_TIMEOUT_MS);
  });

  it('keeps the lease on a slow but working Firestore: renewals answered 6 s late (the bound is 10 s) are sent every third of the TTL', async () => {
    const clock = new VirtualClock();
    const store = new SkewedLeaseStore(clock);
    const startedAt = clock.now();
    const troubles: LeaseTrouble[] = [];
    store.answerAfterMs = 6_000;
    // The relay's own ratio: the lease lasts three Firestore calls' bounds (LEASE_TTL_PER_FIRESTORE_TIMEOUT).
    const keeper = new LeaseKeeper(
      { token: 't-1', expiresAtMs: startedAt + TTL_MS },
      store,
      clock,
      { ttlMs: TTL_MS, callTimeoutMs: TTL_MS / 3, bounded: (work) => work },
      (trouble) => troubles.push(trouble),
    );

    await clock.advance(TTL_MS * 3);
    keeper.stop();

    expect(troubles).toEqual([]);
    expect(store.renewedAt.map((at) => at - startedAt)).toEqual([10_000, 20_000, 30_000, 40_000, 50_000, 60_000, 70_000, 80_000, 90_000]);
  });

  it('tells the run the lease is lost, once, when another run holds it', async () => {
    const clock = new VirtualClock();
    const store = new SkewedLeaseStore(clock);
    const troubles: LeaseTrouble[] = [];
    const keeper = keep(clock, store, troubles);
    store.failing = new LeaseLostError('leases/outbox.shard-0-of-1', 't-1');

    await clock.advance(TTL_MS * 2);
    keeper.stop();

    expect(troubles).toHaveLength(1);
    expect(troubles[0]?.kind).toBe('lost');
  });
});
