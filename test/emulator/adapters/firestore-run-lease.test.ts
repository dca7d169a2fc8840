import { randomBytes } from 'node:crypto';
import type { DocumentReference, Firestore } from '@google-cloud/firestore';
import { FirestoreRunLease } from '../../../src/adapters/firestore-run-lease.js';
import type { LeaseAttempt } from '../../../src/core/ports.js';
import { emulatorFirestore } from '../../support/outbox-fixtures.js';

const TTL_MS = 2_000;
/** What LeaseKeeper waits between renewals: a third of the TTL. */
const RENEWAL_INTERVAL_MS = Math.floor(TTL_MS / 3);
/** What a loaded 2-core machine may add to the emulator's round trips; a skewed expiry would be minutes late. */
const SLACK_MS = 15_000;
const TWO_MINUTES_MS = 120_000;
const FIVE_MINUTES_MS = 300_000;

let db: Firestore;

beforeAll(() => {
  db = emulatorFirestore();
});
afterAll(async () => {
  await db.terminate();
});

/** One instance's lease on a fresh shard document, with its clock off by `skewMs` (negative: behind). */
function instance(ref: DocumentReference, skewMs: number): FirestoreRunLease {
  return new FirestoreRunLease(db, ref, () => Date.now() + skewMs);
}

function freshLeaseDoc(): DocumentReference {
  return db.collection(`leases_${randomBytes(5).toString('hex')}`).doc('outbox.shard-0-of-1');
}

/** Tries to acquire until it succeeds or `withinMs` passes; answers how long it took, or undefined. */
async function acquiredWithin(lease: FirestoreRunLease, withinMs: number): Promise<number | undefined> {
  const startedAt = performance.now();
  while (performance.now() - startedAt < withinMs) {
    const attempt: LeaseAttempt = await lease.acquire('right-time', TTL_MS);
    if (attempt.acquired) return performance.now() - startedAt;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return undefined;
}

describe('Adapter: FirestoreRunLease, with clocks that disagree', () => {
  it('does not let an instance with the right time take the live lease of one whose clock is 2 minutes behind', async () => {
    const ref = freshLeaseDoc();
    const behind = instance(ref, -TWO_MINUTES_MS);
    const held = await behind.acquire('behind', 30_000);

    const attempt = await instance(ref, 0).acquire('right-time', 30_000);

    expect(held.acquired).toBe(true);
    expect(attempt).toMatchObject({ acquired: false, owner: 'behind' });
  });

  it('does not let an instance whose clock is 2 minutes ahead take the live lease of one with the right time', async () => {
    const ref = freshLeaseDoc();
    const held = await instance(ref, 0).acquire('right-time', 30_000);

    const attempt = await instance(ref, TWO_MINUTES_MS).acquire('ahead', 30_000);

    expect(held.acquired).toBe(true);
    expect(attempt).toMatchObject({ acquired: false, owner: 'right-time' });
  });

  it('keeps a renewed lease of an instance 2 minutes behind its own, past the TTL it was first taken for', async () => {
    const ref = freshLeaseDoc();
    const behind = instance(ref, -TWO_MINUTES_MS);
    const held = await behind.acquire('behind', TTL_MS);
    if (!held.acquired) throw new Error('the first acquire must succeed');
    let lease = held.lease;
    const until = performance.now() + TTL_MS * 2;
    const attempts: LeaseAttempt[] = [];

    while (performance.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, RENEWAL_INTERVAL_MS / 2));
      lease = await behind.renew(lease, TTL_MS);
      attempts.push(await instance(ref, 0).acquire('right-time', TTL_MS));
    }

    expect(attempts.length).toBeGreaterThan(0);
    expect(attempts.filter((attempt) => attempt.acquired)).toEqual([]);
  });

  it('frees the shard of a crashed instance whose clock was 5 minutes ahead within the TTL plus one renewal interval', async () => {
    const ref = freshLeaseDoc();
    const ahead = instance(ref, FIVE_MINUTES_MS);
    const held = await ahead.acquire('ahead', TTL_MS);
    if (!held.acquired) throw new Error('the first acquire must succeed');
    await ahead.renew(held.lease, TTL_MS);
    // The instance dies here: nothing renews the lease again.

    const tookMs = await acquiredWithin(instance(ref, 0), TTL_MS + RENEWAL_INTERVAL_MS + SLACK_MS);

    expect(tookMs).toBeDefined();
    process.stderr.write(
      `run lease: a crashed instance 5 min ahead left the shard free ${Math.round(tookMs ?? -1)} ms after its last renewal\n`,
    );
  }, 60_000);

  it('tells a run that finds the lease held how long it has left by Firestore, in its own clock', async () => {
    const ref = freshLeaseDoc();
    await instance(ref, 0).acquire('right-time', 30_000);

    const attempt = await instance(ref, -TWO_MINUTES_MS).acquire('behind', 30_000);

    if (attempt.acquired) throw new Error('the lease is held');
    const leftMs = attempt.expiresAtMs - (Date.now() - TWO_MINUTES_MS);
    expect(leftMs).toBeGreaterThan(0);
    expect(leftMs).toBeLessThanOrEqual(30_000 + SLACK_MS);
  });
});
