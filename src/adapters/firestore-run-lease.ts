import { randomUUID } from 'node:crypto';
import { FieldValue, Timestamp, type DocumentReference, type DocumentSnapshot, type Firestore } from '@google-cloud/firestore';
import type { HeldLease, LeaseAttempt, LeaseWakeUps, RunLease, Unsubscribe, WakeAttempt } from '../core/ports.js';
import { remainingMs } from '../core/term.js';
import { systemClock } from './system-clock.js';
import { LeaseLostError } from '../errors.js';

/** gRPC codes of the preconditions this lease relies on. */
const ALREADY_EXISTS = 6;
const FAILED_PRECONDITION = 9;
const NOT_FOUND = 5;

/**
 * At most one run delivers from an outbox (shard) at a time: the lease is one Firestore document. Every change is
 * a single write with a precondition (create when absent, otherwise only the version last seen), never a
 * read-then-write transaction: two instances acquiring at once cannot deadlock, and the usual acquire is one RPC.
 *
 * Whether a lease has lapsed is decided by Firestore's clock alone: each take and renewal stamps `renewedAt`
 * with a server timestamp next to `ttlMs`, and a run that finds the lease held compares that with the read's
 * own time (readTime). An instance whose clock is minutes off neither takes a live lease nor holds a dead one
 * for longer. The `now` passed in (the process's monotonic clock) only dates the lease for its own keeper:
 * `expiresAtMs` counts from before the write was sent, so it ends no later than the lease does in Firestore.
 */
export class FirestoreRunLease implements RunLease, LeaseWakeUps {
  /** The document version each held lease last wrote, so the next write can be conditioned on it. */
  private readonly versions = new WeakMap<HeldLease, Timestamp>();

  constructor(
    private readonly firestore: Firestore,
    /** The lease's document, one per outbox shard. */
    readonly ref: DocumentReference,
    private readonly now: () => number = () => systemClock.now(),
  ) {}

  async acquire(owner: string, ttlMs: number, retried = false): Promise<LeaseAttempt> {
    const sentAtMs = this.now();
    const lease: HeldLease = { token: randomUUID(), expiresAtMs: sentAtMs + ttlMs };
    const fields = { owner, token: lease.token, ttlMs, acquiredAt: FieldValue.serverTimestamp(), renewedAt: FieldValue.serverTimestamp() };
    try {
      // Released leases are deleted, so this is the usual case: one write, refused if another run holds one.
      return this.held(lease, (await this.ref.create(fields)).writeTime);
    } catch (error) {
      if (codeOf(error) !== ALREADY_EXISTS) throw error;
    }
    const current = await this.ref.get();
    // Released between the two calls: try the create once more.
    if (!current.exists && !retried) return this.acquire(owner, ttlMs, true);
    const left = leftOf(current);
    if (left > 0) return { acquired: false, owner: String(current.get('owner')), expiresAtMs: this.now() + left };
    // Lapsed by Firestore's clock (its run crashed): take it over, unless another run does so first.
    try {
      const result = await this.ref.update(
        { ...fields, takenOverFrom: String(current.get('owner')), ...NOT_FOLLOWING, ...NO_WAKE_UP, ...NOT_CLOSING, ...LEGACY_EXPIRY },
        { lastUpdateTime: versionOf(current) },
      );
      return this.held(lease, result.writeTime);
    } catch (error) {
      if (codeOf(error) !== FAILED_PRECONDITION && codeOf(error) !== NOT_FOUND) throw error;
      const winner = await this.ref.get();
      return { acquired: false, owner: String(winner.get('owner') ?? 'unknown'), expiresAtMs: this.now() + leftOf(winner) };
    }
  }

  async renew(lease: HeldLease, ttlMs: number): Promise<HeldLease> {
    const renewed: HeldLease = { token: lease.token, expiresAtMs: this.now() + ttlMs };
    const fields = { ttlMs, renewedAt: FieldValue.serverTimestamp() };
    this.versions.set(renewed, await this.update(lease, fields));
    return renewed;
  }

  async follow(lease: HeldLease, onHandover: () => void): Promise<Unsubscribe> {
    this.versions.set(lease, await this.update(lease, { followingSince: FieldValue.serverTimestamp() }));
    let told = false;
    // A listener on the lease document tells the follower within a round trip, not at its next renewal.
    return this.ref.onSnapshot(
      (snapshot) => {
        if (told || !snapshot.exists || snapshot.get('token') !== lease.token || snapshot.get('handoverRequestedAt') === undefined) return;
        told = true;
        onHandover();
      },
      // A listener that fails leaves the follower to FOLLOW_MS; its renewals still watch the lease.
      () => undefined,
    );
  }

  async requestHandover(requester: string, retried = false): Promise<boolean> {
    const current = await this.ref.get();
    if (!current.exists || leftOf(current) === 0 || current.get('followingSince') === undefined) return false;
    if (current.get('handoverRequestedAt') !== undefined) return true;
    try {
      await this.ref.update(
        { handoverRequestedAt: FieldValue.serverTimestamp(), handoverRequestedBy: requester },
        { lastUpdateTime: versionOf(current) },
      );
      return true;
    } catch (error) {
      if (codeOf(error) !== FAILED_PRECONDITION && codeOf(error) !== NOT_FOUND) throw error;
      // The follower renewed or released meanwhile: look again, once.
      return retried ? false : this.requestHandover(requester, true);
    }
  }

  async wake(requester: string): Promise<WakeAttempt> {
    for (let attempt = 0; attempt < CONTENDED_ATTEMPTS; attempt += 1) {
      const current = await this.ref.get();
      if (!current.exists || leftOf(current) === 0) return { kind: 'free' };
      const owner = String(current.get('owner'));
      if (current.get('closingAt') !== undefined) return { kind: 'closing', owner };
      // One wake-up not yet cleared covers every kick after it: the holder reads on when it closes, after this read.
      if (current.get('wakeRequestedAt') !== undefined) return { kind: 'woken', owner };
      try {
        await this.ref.update(
          { wakeRequestedAt: FieldValue.serverTimestamp(), wakeRequestedBy: requester },
          { lastUpdateTime: versionOf(current) },
        );
        return { kind: 'woken', owner };
      } catch (error) {
        if (codeOf(error) !== FAILED_PRECONDITION && codeOf(error) !== NOT_FOUND) throw error;
        // Renewed, closed or released meanwhile: look again.
      }
    }
    return { kind: 'free' };
  }

  async close(lease: HeldLease): Promise<'closed' | 'woken'> {
    for (let attempt = 0; attempt < CONTENDED_ATTEMPTS; attempt += 1) {
      // Read first: a renewal of ours that raced a wake-up may have written over it, so our last version proves nothing.
      const current = await this.ref.get();
      if (!current.exists || current.get('token') !== lease.token) throw new LeaseLostError(this.ref.path, lease.token);
      const woken = current.get('wakeRequestedAt') !== undefined;
      try {
        const result = await this.ref.update(woken ? NO_WAKE_UP : { closingAt: FieldValue.serverTimestamp() }, {
          lastUpdateTime: versionOf(current),
        });
        this.versions.set(lease, result.writeTime);
        return woken ? 'woken' : 'closed';
      } catch (error) {
        if (codeOf(error) !== FAILED_PRECONDITION && codeOf(error) !== NOT_FOUND) throw error;
      }
    }
    // Kicks keep landing: read on once more, then try again.
    return 'woken';
  }

  watch(onWake: () => void, onError: (error: unknown) => void): Unsubscribe {
    let seen: unknown;
    return this.ref.onSnapshot((snapshot) => {
      const at: unknown = snapshot.exists ? snapshot.get('wakeRequestedAt') : undefined;
      if (at instanceof Timestamp && !(seen instanceof Timestamp && seen.isEqual(at))) onWake();
      seen = at;
    }, onError);
  }

  /** One write to the held lease, conditioned on its last version; returns the new version. */
  private async update(lease: HeldLease, fields: Record<string, unknown>): Promise<Timestamp> {
    const write = async (version: Timestamp) => (await this.ref.update(fields, { lastUpdateTime: version })).writeTime;
    try {
      return await write(this.versionFor(lease));
    } catch (error) {
      if (codeOf(error) !== FAILED_PRECONDITION && codeOf(error) !== NOT_FOUND) throw error;
      // Changed since our last write: by another run (lost), by a renewal of ours that timed out yet landed, or
      // by a newer run asking a follower to hand over.
      const current = await this.ref.get();
      if (!current.exists || current.get('token') !== lease.token) throw new LeaseLostError(this.ref.path, lease.token);
      return write(versionOf(current));
    }
  }

  async release(lease: HeldLease): Promise<void> {
    try {
      await this.ref.delete({ lastUpdateTime: this.versionFor(lease) });
    } catch (error) {
      if (codeOf(error) !== FAILED_PRECONDITION && codeOf(error) !== NOT_FOUND) throw error;
      const current = await this.ref.get();
      if (current.exists && current.get('token') === lease.token) await this.ref.delete({ lastUpdateTime: versionOf(current) });
    }
  }

  private held(lease: HeldLease, version: Timestamp): LeaseAttempt {
    this.versions.set(lease, version);
    return { acquired: true, lease };
  }

  private versionFor(lease: HeldLease): Timestamp {
    const version = this.versions.get(lease);
    if (version === undefined) throw new LeaseLostError(this.ref.path, lease.token);
    return version;
  }
}

/** A lease written by an older version carried a wall-clock expiry; a takeover leaves only the server-stamped term. */
const LEGACY_EXPIRY = { expiresAt: FieldValue.delete() };

/** A lease taken over from a crashed run starts without its follow marks. */
const NOT_FOLLOWING = {
  followingSince: FieldValue.delete(),
  handoverRequestedAt: FieldValue.delete(),
  handoverRequestedBy: FieldValue.delete(),
};

/** Push: a wake-up cleared (by the holder reading on, or a takeover). */
const NO_WAKE_UP = { wakeRequestedAt: FieldValue.delete(), wakeRequestedBy: FieldValue.delete() };

/** A lease taken over from a crashed run that was closing it is open again. */
const NOT_CLOSING = { closingAt: FieldValue.delete() };

/** A wake-up or a close retries its read and write this often while other writes keep landing first. */
const CONTENDED_ATTEMPTS = 5;

function versionOf(snapshot: DocumentSnapshot): Timestamp {
  if (snapshot.updateTime === undefined) throw new Error(`the lease ${snapshot.ref.path} has no update time`);
  return snapshot.updateTime;
}

/** What the lease has left by Firestore's clock: its stamped renewal plus its TTL, against the read's own time. */
function leftOf(snapshot: DocumentSnapshot): number {
  if (!snapshot.exists) return 0;
  const ttlMs: unknown = snapshot.get('ttlMs');
  return remainingMs(
    {
      renewedAtMs: millisOf(snapshot.get('renewedAt')),
      // The relay's client reads integers as BigInt (useBigInt), so a TTL comes back as one.
      ttlMs: typeof ttlMs === 'number' || typeof ttlMs === 'bigint' ? Number(ttlMs) : undefined,
      expiresAtMs: millisOf(snapshot.get('expiresAt')),
    },
    snapshot.readTime.toMillis(),
  );
}

function millisOf(value: unknown): number | undefined {
  return value instanceof Timestamp ? value.toMillis() : undefined;
}

function codeOf(error: unknown): unknown {
  return (error as { code?: unknown } | null)?.code;
}
