import { randomUUID } from 'node:crypto';
import { Timestamp, type DocumentReference, type Firestore } from '@google-cloud/firestore';

/** A lease this run holds; its token guards every write the run makes. */
export interface HeldLease {
  readonly ref: DocumentReference;
  readonly token: string;
  readonly expiresAt: Date;
}

/** What acquiring found: the lease is ours now, or another run holds it until `expiresAt`. */
export type LeaseAttempt =
  | { readonly acquired: true; readonly lease: HeldLease }
  | { readonly acquired: false; readonly owner: string; readonly expiresAt: Date };

/**
 * At most one run delivers from an outbox (shard) at a time: the lease is one Firestore document taken in a
 * transaction, with an expiry longer than the function timeout so a crashed run's lease is taken over later.
 */
export class FirestoreRunLease {
  private readonly ref: DocumentReference;

  constructor(
    private readonly firestore: Firestore,
    collection: string,
    leaseId: string,
    private readonly now: () => number = Date.now,
  ) {
    this.ref = firestore.collection(collection).doc(leaseId);
  }

  /** Takes the lease unless an unexpired one is held by another run. */
  async acquire(owner: string, ttlMs: number): Promise<LeaseAttempt> {
    return this.firestore.runTransaction(async (tx) => {
      const current = await tx.get(this.ref);
      const expiresAt = current.get('expiresAt') as unknown;
      const nowMs = this.now();
      if (current.exists && expiresAt instanceof Timestamp && expiresAt.toMillis() > nowMs) {
        return { acquired: false, owner: String(current.get('owner')), expiresAt: expiresAt.toDate() } as const;
      }
      const lease = { ref: this.ref, token: randomUUID(), expiresAt: new Date(nowMs + ttlMs) };
      tx.set(this.ref, {
        owner,
        token: lease.token,
        acquiredAt: Timestamp.fromMillis(nowMs),
        expiresAt: Timestamp.fromDate(lease.expiresAt),
        ...(current.exists ? { takenOverFrom: String(current.get('owner')) } : {}),
      });
      return { acquired: true, lease } as const;
    });
  }

  /** Frees the lease for the next run, only if it is still this run's. */
  async release(lease: HeldLease): Promise<void> {
    await this.firestore.runTransaction(async (tx) => {
      const current = await tx.get(this.ref);
      if (current.get('token') === lease.token) tx.delete(this.ref);
    });
  }
}
