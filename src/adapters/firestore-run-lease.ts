import { randomUUID } from 'node:crypto';
import { FieldValue, Timestamp, type DocumentReference, type DocumentSnapshot, type Firestore } from '@google-cloud/firestore';
import type { HeldLease, LeaseAttempt, RunLease, Unsubscribe } from '../core/ports.js';
import { LeaseLostError } from '../errors.js';

/** gRPC codes of the preconditions this lease relies on. */
const ALREADY_EXISTS = 6;
const FAILED_PRECONDITION = 9;
const NOT_FOUND = 5;

/**
 * At most one run delivers from an outbox (shard) at a time: the lease is one Firestore document. Every change is
 * a single write with a precondition (create when absent, otherwise only the version last seen), never a
 * read-then-write transaction: two instances acquiring at once cannot deadlock, and the usual acquire is one RPC.
 */
export class FirestoreRunLease implements RunLease {
  /** The document version each held lease last wrote, so the next write can be conditioned on it. */
  private readonly versions = new WeakMap<HeldLease, Timestamp>();

  constructor(
    private readonly firestore: Firestore,
    /** The lease's document, one per outbox shard. */
    readonly ref: DocumentReference,
    private readonly now: () => number = Date.now,
  ) {}

  async acquire(owner: string, ttlMs: number, retried = false): Promise<LeaseAttempt> {
    const nowMs = this.now();
    const lease: HeldLease = { token: randomUUID(), expiresAtMs: nowMs + ttlMs };
    const fields = {
      owner,
      token: lease.token,
      acquiredAt: Timestamp.fromMillis(nowMs),
      expiresAt: Timestamp.fromMillis(lease.expiresAtMs),
    };
    try {
      // Released leases are deleted, so this is the usual case: one write, refused if another run holds one.
      return this.held(lease, (await this.ref.create(fields)).writeTime);
    } catch (error) {
      if (codeOf(error) !== ALREADY_EXISTS) throw error;
    }
    const current = await this.ref.get();
    const expiresAt: unknown = current.get('expiresAt');
    // Released between the two calls: try the create once more.
    if (!current.exists && !retried) return this.acquire(owner, ttlMs, true);
    if (expiresAt instanceof Timestamp && expiresAt.toMillis() > nowMs) {
      return { acquired: false, owner: String(current.get('owner')), expiresAtMs: expiresAt.toMillis() };
    }
    // Expired (its run crashed): take it over, unless another run does so first.
    try {
      const result = await this.ref.update(
        { ...fields, takenOverFrom: String(current.get('owner')), ...NOT_FOLLOWING },
        { lastUpdateTime: versionOf(current) },
      );
      return this.held(lease, result.writeTime);
    } catch (error) {
      if (codeOf(error) !== FAILED_PRECONDITION && codeOf(error) !== NOT_FOUND) throw error;
      const winner = await this.ref.get();
      return { acquired: false, owner: String(winner.get('owner') ?? 'unknown'), expiresAtMs: millisOf(winner.get('expiresAt')) };
    }
  }

  async renew(lease: HeldLease, ttlMs: number): Promise<HeldLease> {
    const renewed: HeldLease = { token: lease.token, expiresAtMs: this.now() + ttlMs };
    const fields = { expiresAt: Timestamp.fromMillis(renewed.expiresAtMs), renewedAt: Timestamp.fromMillis(this.now()) };
    this.versions.set(renewed, await this.update(lease, fields));
    return renewed;
  }

  async follow(lease: HeldLease, onHandover: () => void): Promise<Unsubscribe> {
    this.versions.set(lease, await this.update(lease, { followingSince: Timestamp.fromMillis(this.now()) }));
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
    if (!current.exists || millisOf(current.get('expiresAt')) <= this.now() || current.get('followingSince') === undefined) return false;
    if (current.get('handoverRequestedAt') !== undefined) return true;
    try {
      await this.ref.update(
        { handoverRequestedAt: Timestamp.fromMillis(this.now()), handoverRequestedBy: requester },
        { lastUpdateTime: versionOf(current) },
      );
      return true;
    } catch (error) {
      if (codeOf(error) !== FAILED_PRECONDITION && codeOf(error) !== NOT_FOUND) throw error;
      // The follower renewed or released meanwhile: look again, once.
      return retried ? false : this.requestHandover(requester, true);
    }
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

/** A lease taken over from a crashed run starts without its follow marks. */
const NOT_FOLLOWING = {
  followingSince: FieldValue.delete(),
  handoverRequestedAt: FieldValue.delete(),
  handoverRequestedBy: FieldValue.delete(),
};

function versionOf(snapshot: DocumentSnapshot): Timestamp {
  if (snapshot.updateTime === undefined) throw new Error(`the lease ${snapshot.ref.path} has no update time`);
  return snapshot.updateTime;
}

function millisOf(value: unknown): number {
  return value instanceof Timestamp ? value.toMillis() : 0;
}

function codeOf(error: unknown): unknown {
  return (error as { code?: unknown } | null)?.code;
}
