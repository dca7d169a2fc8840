import {
  DocumentReference,
  FieldPath,
  FieldValue,
  GeoPoint,
  Timestamp,
  type Firestore,
  type QueryDocumentSnapshot,
} from '@google-cloud/firestore';
import { Instant } from '../core/instant.js';
import { EventStatus, type EventOutcome, type RunSummary, type StoredDocument } from '../core/event.js';
import type { OutboxPage, OutboxStore, PageCursor } from '../core/ports.js';
import { LeaseLostError } from '../errors.js';
import type { HeldLease } from './firestore-run-lease.js';

/** Firestore's limit on writes in one commit. */
export const MAX_WRITES_PER_COMMIT = 500;
const MS_PER_DAY = 86_400_000;
/** Bound on the scan for pending events without createdAt, so a large backlog cannot make it expensive. */
const MAX_STRAY_SCAN_PAGES = 10;

/** Where one relay deployment reads and writes. */
export interface FirestoreOutboxStoreOptions {
  readonly outboxCollection: string;
  readonly auditCollection: string;
  /** Only events of this shard are fetched, when the outbox is split into more than one. */
  readonly shard?: { readonly index: number; readonly count: number };
  /** Delivered events get `expireAt` this far ahead, for a Firestore TTL policy; 0 or unset sets none. */
  readonly deliveredRetentionDays?: number;
  /** Every commit first checks that this lease is still ours, so a run that lost it cannot overwrite newer progress. */
  readonly lease?: HeldLease;
}

/** The outbox on Firestore: pending events oldest first, outcomes in batched commits, one audit document per run. */
export class FirestoreOutboxStore implements OutboxStore {
  constructor(
    private readonly firestore: Firestore,
    private readonly options: FirestoreOutboxStoreOptions,
  ) {}

  async fetchPending(limit: number, after: PageCursor | undefined): Promise<OutboxPage> {
    let query = this.firestore.collection(this.options.outboxCollection).where('status', '==', EventStatus.Pending);
    const { shard } = this.options;
    if (shard !== undefined && shard.count > 1) query = query.where('shard', '==', shard.index);
    query = query.orderBy('createdAt').orderBy(FieldPath.documentId()).limit(limit);
    if (after !== undefined) query = query.startAfter(fromCursor(after));
    const snapshot = await query.get();
    const documents = snapshot.docs.map(toStoredDocument);
    const last = snapshot.docs.at(-1);
    return { documents, next: snapshot.size === limit && last !== undefined ? toCursor(last) : undefined };
  }

  async fetchStrays(limit: number): Promise<readonly StoredDocument[]> {
    // Strays may have no shard field at all, so only shard 0 looks for them.
    if ((this.options.shard?.index ?? 0) !== 0) return [];
    const collection = this.firestore.collection(this.options.outboxCollection);
    const known = Object.values(EventStatus);
    const unknownStatus = await collection.where('status', 'not-in', known).limit(limit).get();
    const strays = unknownStatus.docs.map(toStoredDocument);
    // A filter or orderBy on a field skips documents without it: the counts differ only when some pending
    // events lack createdAt, or (with shards) a shard this deployment's jobs drain.
    const shardCount = this.options.shard?.count ?? 1;
    const pending = collection.where('status', '==', EventStatus.Pending);
    const [all, dated, sharded] = await Promise.all([
      pending.count().get(),
      pending.orderBy('createdAt').count().get(),
      shardCount > 1 ? pending.where('shard', '>=', 0).where('shard', '<', shardCount).count().get() : undefined,
    ]);
    const total = all.data().count;
    let missing = total - dated.data().count + (sharded === undefined ? 0 : total - sharded.data().count);
    const found: DocumentReference[] = [];
    let after: QueryDocumentSnapshot | undefined;
    for (let page = 0; missing > 0 && strays.length + found.length < limit && page < MAX_STRAY_SCAN_PAGES; page += 1) {
      let scan = pending.orderBy(FieldPath.documentId()).select('createdAt', 'shard').limit(limit);
      if (after !== undefined) scan = scan.startAfter(after);
      const snapshot = await scan.get();
      for (const doc of snapshot.docs) {
        if (strays.length + found.length >= limit) break;
        const shard: unknown = doc.get('shard');
        const outOfShard = shardCount > 1 && !(Number.isInteger(shard) && (shard as number) >= 0 && (shard as number) < shardCount);
        if (doc.get('createdAt') === undefined || outOfShard) {
          found.push(doc.ref);
          missing -= 1;
        }
      }
      after = snapshot.docs.at(-1);
      if (snapshot.size < limit) break;
    }
    if (found.length > 0) {
      const full = await this.firestore.getAll(...found);
      for (const doc of full) if (doc.exists) strays.push({ id: doc.id, fields: toPlain(doc.data()) as StoredDocument['fields'] });
    }
    return strays;
  }

  async recordOutcomes(outcomes: readonly EventOutcome[]): Promise<void> {
    const collection = this.firestore.collection(this.options.outboxCollection);
    const { lease } = this.options;
    // A lease check is one read in the same transaction, so it leaves room for one write less.
    const perCommit = lease === undefined ? MAX_WRITES_PER_COMMIT : MAX_WRITES_PER_COMMIT - 1;
    for (let start = 0; start < outcomes.length; start += perCommit) {
      const chunk = outcomes.slice(start, start + perCommit);
      if (lease === undefined) {
        const batch = this.firestore.batch();
        for (const outcome of chunk) batch.set(collection.doc(outcome.eventId), this.fieldsFor(outcome), { merge: true });
        await batch.commit();
        continue;
      }
      await this.firestore.runTransaction(async (tx) => {
        const current = await tx.get(lease.ref);
        if (current.get('token') !== lease.token) throw new LeaseLostError(lease.ref.path, lease.token);
        for (const outcome of chunk) tx.set(collection.doc(outcome.eventId), this.fieldsFor(outcome), { merge: true });
      });
    }
  }

  private fieldsFor(outcome: EventOutcome): Record<string, unknown> {
    const fields = outcomeFields(outcome);
    return outcome.kind === 'delivered' ? { ...fields, ...this.expiry() } : fields;
  }

  /** `expireAt` for a TTL policy on delivered events and run audits; dead letters and pending events get none. */
  private expiry(): { expireAt?: Timestamp } {
    const days = this.options.deliveredRetentionDays ?? 0;
    return days > 0 ? { expireAt: Timestamp.fromMillis(Date.now() + days * MS_PER_DAY) } : {};
  }

  async writeAudit(summary: RunSummary): Promise<void> {
    await this.firestore
      .collection(this.options.auditCollection)
      .doc(summary.runId)
      .set({ ...summary, finishedAt: FieldValue.serverTimestamp(), ...this.expiry() });
  }
}

/** The fields one outcome writes; merged, so a document a producer deleted meanwhile cannot fail the whole commit. */
function outcomeFields(outcome: EventOutcome): Record<string, unknown> {
  const now = FieldValue.serverTimestamp();
  switch (outcome.kind) {
    case 'delivered':
      return { status: EventStatus.Delivered, deliveredAt: now, postAttempts: outcome.postAttempts };
    case 'failed':
      return {
        attempts: outcome.attempts,
        postAttempts: outcome.postAttempts,
        lastError: outcome.error,
        lastAttemptAt: now,
      };
    case 'dead_letter':
      return {
        status: EventStatus.DeadLetter,
        deadLetteredAt: now,
        deadLetterReason: outcome.reason,
        attempts: outcome.attempts,
        postAttempts: outcome.postAttempts,
        ...(outcome.postAttempts > 0 ? { lastError: outcome.reason, lastAttemptAt: now } : {}),
      };
  }
}

function toStoredDocument(doc: QueryDocumentSnapshot): StoredDocument {
  return { id: doc.id, fields: toPlain(doc.data()) as StoredDocument['fields'] };
}

function toCursor(snapshot: QueryDocumentSnapshot): PageCursor {
  return snapshot as unknown as PageCursor;
}

function fromCursor(cursor: PageCursor): QueryDocumentSnapshot {
  return cursor as unknown as QueryDocumentSnapshot;
}

/** Firestore values as the core reads them: Timestamps become Instants, references their paths. */
export function toPlain(value: unknown): unknown {
  if (value instanceof Timestamp) return Instant.of(value.seconds, value.nanoseconds);
  if (value instanceof DocumentReference) return value.path;
  if (value instanceof GeoPoint) return { latitude: value.latitude, longitude: value.longitude };
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map(toPlain);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, toPlain(inner)]));
  }
  return value;
}
