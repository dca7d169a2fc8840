import { createHash } from 'node:crypto';
import {
  FieldPath,
  FieldValue,
  Timestamp,
  type DocumentReference,
  type DocumentSnapshot,
  type Firestore,
  type Query,
  type QueryDocumentSnapshot,
  type Transaction,
} from '@google-cloud/firestore';
import { EventStatus, type DocumentVersion, type EventOutcome, type RunSummary, type StoredDocument } from '../core/event.js';
import type { Instant } from '../core/instant.js';
import { PageRoom } from '../core/page-room.js';
import type { HeldLease, OutboxPage, OutboxStore, PageCursor, RecordReport, Unsubscribe } from '../core/ports.js';
import { keysHeldByReshard } from '../core/reshard.js';
import { shardOf } from '../core/shard.js';
import type { SweepPlan } from '../core/stray-sweep.js';
import { LeaseLostError } from '../errors.js';
import { toPlain } from './firestore-values.js';

/** Firestore's limit on writes in one commit. */
export const MAX_WRITES_PER_COMMIT = 500;
const MS_PER_DAY = 86_400_000;
/** Bound on each scan for strays, so a large outbox cannot make the sweep expensive. */
const MAX_STRAY_SCAN_PAGES = 10;
/**
 * Events of the previous SHARD_COUNT read per query while resharding, to hold their keys (docs/deploy.md,
 * "Resharding"): a run reads every one of them, a page at a time, so only the keys stay in memory.
 */
export const OLD_COUNT_PAGE_SIZE = 5_000;
/** gRPC codes of a failed precondition: the document changed (FAILED_PRECONDITION) or was deleted (NOT_FOUND). */
const FAILED_PRECONDITION = 9;
const NOT_FOUND = 5;

/** Where one relay deployment reads and writes. */
export interface FirestoreOutboxStoreOptions {
  readonly outboxCollection: string;
  readonly auditCollection: string;
  readonly parkedKeysCollection: string;
  /** The run lease's document: every commit first checks that its token is still the run's. */
  readonly leaseRef: DocumentReference;
  /**
   * Only events of this shard are fetched, when the outbox is split into more than one. `previousCount` is set
   * while resharding: events stamped with it hold back later events of their key in other shards (reshard.ts).
   */
  readonly shard: { readonly index: number; readonly count: number; readonly previousCount?: number | undefined };
  /** Delivered events get `expireAt` this far ahead, for a Firestore TTL policy; 0 sets none. */
  readonly deliveredRetentionDays: number;
  /** Milliseconds since the epoch, for expireAt. */
  readonly now?: () => number;
}

/**
 * The outbox on Firestore: pending events oldest first, outcomes in transactions that check the run's lease and
 * write each document only while it is the version the run read, parked keys, one audit document per run.
 */
export class FirestoreOutboxStore implements OutboxStore {
  private readonly now: () => number;
  /** Where the last scan for status-less documents stopped, so a large collection is covered over several sweeps. */
  private missingStatusScanAfter: QueryDocumentSnapshot | undefined;
  /** How many the count that began that scan found, less those found since. */
  private missingStatusLeft = 0;

  constructor(
    private readonly firestore: Firestore,
    private readonly options: FirestoreOutboxStoreOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  private get outbox() {
    return this.firestore.collection(this.options.outboxCollection);
  }

  private get sharded(): boolean {
    return this.shardsHoldingEvents > 1;
  }

  /** Shards that may hold pending events: while resharding, those of both counts. */
  private get shardsHoldingEvents(): number {
    return Math.max(this.options.shard.count, this.options.shard.previousCount ?? 0);
  }

  /** The run's pending query, before its order: pending events of the shard. */
  private get pendingOfShard(): Query {
    const query: Query = this.outbox.where('status', '==', EventStatus.Pending);
    return this.sharded ? query.where('shard', '==', this.options.shard.index) : query;
  }

  async fetchPending(limit: number, after: PageCursor | undefined, maxBytes: number): Promise<OutboxPage> {
    let query = this.pendingOfShard.orderBy('createdAt').orderBy(FieldPath.documentId()).limit(limit);
    if (after !== undefined) query = query.startAfter(after as unknown as QueryDocumentSnapshot);
    const documents: StoredDocument[] = [];
    const room = new PageRoom(maxBytes);
    let last: QueryDocumentSnapshot | undefined;
    // Streamed, so a page of large documents ends where the run's room does. The stream is still read to its end
    // (one left unread would hold its call open), and the documents past the cut are dropped as they arrive.
    for await (const doc of query.stream() as AsyncIterable<QueryDocumentSnapshot>) {
      if (room.cut) continue;
      const stored = toStoredDocument(doc);
      if (!room.take(stored)) continue;
      documents.push(stored);
      last = doc;
    }
    return {
      documents,
      next: (room.cut || documents.length === limit) && last !== undefined ? (last as unknown as PageCursor) : undefined,
      last: last as unknown as PageCursor | undefined,
      largestDocumentBytes: room.largestDocumentBytes,
    };
  }

  /**
   * Listens to the newest pending event of the shard only: a commit of a new event changes it, so the run is
   * woken, while the listener holds one document and costs one read per change, whatever the backlog.
   */
  watchPending(onChange: () => void, onError: (error: unknown) => void): Unsubscribe {
    const newest = this.pendingOfShard.orderBy('createdAt', 'desc').limit(1);
    return newest.onSnapshot(() => onChange(), onError);
  }

  async fetchStrays(limit: number, plan: SweepPlan): Promise<readonly StoredDocument[]> {
    // Strays may have no shard field at all, so only shard 0 looks for them.
    if (this.options.shard.index !== 0) return [];
    const known = Object.values(EventStatus);
    // Looked for at once, so the sweep costs the run one round trip, not two; the scan for documents without a
    // status (only with plan.wholeOutbox, or while a scan goes on) comes after, as it moves a cursor past what it returns.
    const [unknownStatus, nullStatus, outside] = await Promise.all([
      this.outbox.where('status', 'not-in', known).limit(limit).get(),
      // not-in matches neither a null status nor a missing one.
      this.outbox.where('status', '==', null).limit(limit).get(),
      this.pendingOutsideTheQuery(limit),
    ]);
    const strays = [...unknownStatus.docs, ...nullStatus.docs].slice(0, limit).map(toStoredDocument);
    const found = outside.slice(0, limit - strays.length);
    found.push(...(await this.withoutStatus(limit - strays.length - found.length, plan.wholeOutbox)));
    if (found.length > 0) {
      const full = await this.firestore.getAll(...found);
      for (const doc of full) if (doc.exists) strays.push(toStoredDocument(doc));
    }
    return strays;
  }

  /**
   * Pending events the oldest-first query skips: a filter or orderBy on a field leaves out documents without
   * it. Two counts tell whether any exist (some pending events lack createdAt, or with shards a valid shard),
   * and only then is the pending set scanned by id.
   */
  private async pendingOutsideTheQuery(limit: number): Promise<DocumentReference[]> {
    if (limit <= 0) return [];
    const shardCount = this.shardsHoldingEvents;
    const pending = this.outbox.where('status', '==', EventStatus.Pending);
    const [all, dated, sharded] = await Promise.all([
      pending.count().get(),
      pending.orderBy('createdAt').count().get(),
      this.sharded ? pending.where('shard', '>=', 0).where('shard', '<', shardCount).count().get() : undefined,
    ]);
    const total = countOf(all);
    const missing = total - countOf(dated) + (sharded === undefined ? 0 : total - countOf(sharded));
    if (missing <= 0) return [];
    return this.scan(pending.select('createdAt', 'shard'), limit, missing, undefined, (doc) => {
      const shard = toPlain(doc.get('shard'));
      const outOfShard = this.sharded && !(Number.isInteger(shard) && (shard as number) >= 0 && (shard as number) < shardCount);
      return doc.get('createdAt') === undefined || outOfShard;
    }).then((scan) => scan.found);
  }

  /**
   * Documents with no status field at all: no query can select them, so the count of all documents is compared
   * with the count of those with a status (about one read per 1000 documents, delivered events included), only
   * when the sweep plan says so (stray-sweep.ts), and the collection is scanned by id, a few pages per sweep,
   * from where the last one stopped, only while some are missing.
   */
  private async withoutStatus(limit: number, countFirst: boolean): Promise<DocumentReference[]> {
    if (limit <= 0 || (!countFirst && this.missingStatusScanAfter === undefined)) return [];
    if (countFirst) {
      const [all, withStatus] = await Promise.all([this.outbox.count().get(), this.outbox.orderBy('status').count().get()]);
      this.missingStatusLeft = countOf(all) - countOf(withStatus);
      this.missingStatusScanAfter = undefined;
    }
    if (this.missingStatusLeft <= 0) return [];
    const scan = await this.scan(
      this.outbox.select('status'),
      limit,
      this.missingStatusLeft,
      this.missingStatusScanAfter,
      (doc) => doc.get('status') === undefined,
    );
    this.missingStatusScanAfter = scan.after;
    this.missingStatusLeft = scan.after === undefined ? 0 : this.missingStatusLeft - scan.found.length;
    return scan.found;
  }

  /** Pages through `query` by document id, keeping what `matches`, until `missing` are found or the page bound is hit. */
  private async scan(
    query: Query,
    limit: number,
    missing: number,
    startAfter: QueryDocumentSnapshot | undefined,
    matches: (doc: QueryDocumentSnapshot) => boolean,
  ): Promise<{ found: DocumentReference[]; after: QueryDocumentSnapshot | undefined }> {
    const found: DocumentReference[] = [];
    let after = startAfter;
    for (let page = 0; found.length < Math.min(limit, missing) && page < MAX_STRAY_SCAN_PAGES; page += 1) {
      let pageQuery = query.orderBy(FieldPath.documentId()).limit(limit);
      if (after !== undefined) pageQuery = pageQuery.startAfter(after);
      const snapshot = await pageQuery.get();
      for (const doc of snapshot.docs) if (found.length < limit && matches(doc)) found.push(doc.ref);
      after = snapshot.docs.at(-1);
      if (snapshot.size < limit) return { found, after: undefined };
    }
    return { found, after };
  }

  /**
   * Every parked key, whatever shard it was parked in: after a reshard a key's events may sit in another shard
   * than its parked-key document names, and must stay parked there. While resharding, the keys reshard.ts holds
   * back in this shard are added.
   */
  async fetchParkedKeys(): Promise<ReadonlySet<string>> {
    const [parked, held] = await Promise.all([
      this.firestore.collection(this.options.parkedKeysCollection).select('orderingKey').get(),
      this.keysHeldByReshard(),
    ]);
    const keys = new Set<string>(held);
    for (const doc of parked.docs) {
      const key: unknown = doc.get('orderingKey');
      if (typeof key === 'string') keys.add(key);
    }
    return keys;
  }

  /**
   * Keys with an event of the previous SHARD_COUNT pending in another shard (reshard.ts); none when not resharding.
   * Every such event is read (one read each, only `orderingKey`, `shard` and `createdAt`), in pages in document
   * order: a key left out would let its later events overtake its old ones.
   */
  private async keysHeldByReshard(): Promise<ReadonlySet<string>> {
    const { previousCount, index } = this.options.shard;
    const held = new Set<string>();
    if (previousCount === undefined) return held;
    const query = this.outbox
      .where('status', '==', EventStatus.Pending)
      .where('shardCount', '==', previousCount)
      .select('orderingKey', 'shard', 'createdAt')
      .limit(OLD_COUNT_PAGE_SIZE);
    for (let after: QueryDocumentSnapshot | undefined; ;) {
      const snapshot = await (after === undefined ? query : query.startAfter(after)).get();
      const old = snapshot.docs.map((doc) => ({
        orderingKey: toPlain(doc.get('orderingKey')),
        shard: toPlain(doc.get('shard')),
        // As the page query orders by it: any createdAt value is paged, only a missing one is a stray.
        dated: doc.get('createdAt') !== undefined,
      }));
      for (const key of keysHeldByReshard(index, this.shardsHoldingEvents, old)) held.add(key);
      if (snapshot.size < OLD_COUNT_PAGE_SIZE) return held;
      after = snapshot.docs[snapshot.size - 1];
    }
  }

  async recordOutcomes(outcomes: readonly EventOutcome[], lease: HeldLease): Promise<RecordReport> {
    const stale: string[] = [];
    // The lease check is one read in each transaction; a parked key is one more write.
    for (let start = 0; start < outcomes.length;) {
      const chunk: EventOutcome[] = [];
      let writes = 0;
      for (; start < outcomes.length && writes + writesFor(outcomes[start] as EventOutcome) <= MAX_WRITES_PER_COMMIT; start += 1) {
        const outcome = outcomes[start] as EventOutcome;
        chunk.push(outcome);
        writes += writesFor(outcome);
      }
      stale.push(...(await this.commit(chunk, lease)));
    }
    return { stale };
  }

  /**
   * One commit, preconditioned on the version each document had when the run read it. When any document changed
   * meanwhile (deleted, or re-created under its id), the commit fails as a whole: the documents are then read in
   * a transaction and only the unchanged ones written; the rest are stale, except those that already show the
   * outcome (an earlier commit of this run that landed after its deadline).
   */
  private async commit(chunk: readonly EventOutcome[], lease: HeldLease): Promise<string[]> {
    const refs = chunk.map((outcome) => this.outbox.doc(outcome.eventId));
    try {
      await this.firestore.runTransaction(async (tx) => {
        const parked = await this.readGuards(tx, chunk, lease);
        chunk.forEach((outcome, i) =>
          tx.update(refs[i] as DocumentReference, this.fieldsFor(outcome), { lastUpdateTime: fromVersion(outcome.version) }),
        );
        this.park(tx, chunk, parked);
      });
      return [];
    } catch (error) {
      if (!isPreconditionFailure(error)) throw error;
    }
    return this.firestore.runTransaction(async (tx) => {
      const parked = await this.readGuards(tx, chunk, lease);
      const current = await tx.getAll(...refs);
      const stale: string[] = [];
      const fresh: EventOutcome[] = [];
      chunk.forEach((outcome, i) => {
        const doc = current[i] as DocumentSnapshot;
        if (doc.exists && doc.updateTime?.isEqual(fromVersion(outcome.version)) === true) fresh.push(outcome);
        else if (!showsOutcome(doc, outcome)) stale.push(outcome.eventId);
      });
      for (const outcome of fresh) tx.update(this.outbox.doc(outcome.eventId), this.fieldsFor(outcome));
      this.park(tx, fresh, parked);
      return stale;
    });
  }

  /** Reads first (Firestore's rule for transactions): the lease, and the parked-key documents this chunk may create. */
  private async readGuards(tx: Transaction, chunk: readonly EventOutcome[], lease: HeldLease): Promise<ReadonlySet<string>> {
    const keys = [
      ...new Set(chunk.flatMap((outcome) => (outcome.kind === 'dead_letter' && outcome.parkKey !== undefined ? [outcome.parkKey] : []))),
    ];
    const [current, ...parks] = await tx.getAll(this.options.leaseRef, ...keys.map((key) => this.parkedKeyRef(key)));
    if (current?.get('token') !== lease.token) throw new LeaseLostError(this.options.leaseRef.path, lease.token);
    return new Set(keys.filter((_, i) => parks[i]?.exists === true));
  }

  /**
   * A key parks behind its first dead letter and remembers every later one (`deadLetters`): it stays parked
   * while any of them remains, so redriving the first cannot let the key's later events pass another.
   */
  private park(tx: Transaction, outcomes: readonly EventOutcome[], alreadyParked: ReadonlySet<string>): void {
    const parking = new Map<string, Extract<EventOutcome, { kind: 'dead_letter' }>[]>();
    for (const outcome of outcomes) {
      if (outcome.kind !== 'dead_letter' || outcome.parkKey === undefined) continue;
      parking.set(outcome.parkKey, [...(parking.get(outcome.parkKey) ?? []), outcome]);
    }
    for (const [key, deadLetters] of parking) {
      const ids = deadLetters.map((outcome) => outcome.eventId);
      const [first] = deadLetters;
      if (alreadyParked.has(key)) tx.update(this.parkedKeyRef(key), { deadLetters: FieldValue.arrayUnion(...ids) });
      else if (first !== undefined)
        tx.set(this.parkedKeyRef(key), {
          orderingKey: key,
          eventId: first.eventId,
          deadLetters: ids,
          reason: first.reason,
          parkedAt: FieldValue.serverTimestamp(),
          shard: shardOf(key, this.options.shard.count),
        });
    }
  }

  private parkedKeyRef(key: string): DocumentReference {
    return this.firestore.collection(this.options.parkedKeysCollection).doc(parkedKeyDocumentId(key));
  }

  private fieldsFor(outcome: EventOutcome): Record<string, unknown> {
    const fields = outcomeFields(outcome);
    return outcome.kind === 'delivered' ? { ...fields, ...this.expiry() } : fields;
  }

  /** `expireAt` for a TTL policy on delivered events and run audits; dead letters and pending events get none. */
  private expiry(): { expireAt?: Timestamp } {
    const days = this.options.deliveredRetentionDays;
    return days > 0 ? { expireAt: Timestamp.fromMillis(this.now() + days * MS_PER_DAY) } : {};
  }

  async writeAudit(summary: RunSummary): Promise<void> {
    await this.firestore
      .collection(this.options.auditCollection)
      .doc(summary.runId)
      .set({ ...summary, finishedAt: FieldValue.serverTimestamp(), ...this.expiry() });
  }
}

/**
 * Every dead letter holding a parked key, the one it parked behind first: `eventId` and `deadLetters` (a key
 * parked before `deadLetters` existed has `eventId` only).
 */
export function parkedDeadLetters(parked: { get(field: string): unknown }): string[] {
  const first: unknown = parked.get('eventId');
  const later: unknown = parked.get('deadLetters');
  const ids = [first, ...(Array.isArray(later) ? (later as unknown[]) : [])].filter((id): id is string => typeof id === 'string');
  return [...new Set(ids)];
}

/** The document id of a parked key: keys may hold "/" or be longer than an id may be. */
export function parkedKeyDocumentId(orderingKey: string): string {
  return createHash('sha256').update(orderingKey).digest('hex');
}

/** The fields one outcome writes. */
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
        nextAttemptAt: outcome.nextAttemptAt === undefined ? FieldValue.delete() : toTimestamp(outcome.nextAttemptAt),
      };
    case 'dead_letter':
      return {
        status: EventStatus.DeadLetter,
        deadLetteredAt: now,
        deadLetterReason: outcome.reason,
        attempts: outcome.attempts,
        postAttempts: outcome.postAttempts,
        nextAttemptAt: FieldValue.delete(),
        ...(outcome.postAttempts > 0 ? { lastError: outcome.reason, lastAttemptAt: now } : {}),
      };
  }
}

/** A dead letter with a parked key is two writes. */
function writesFor(outcome: EventOutcome): number {
  return outcome.kind === 'dead_letter' && outcome.parkKey !== undefined ? 2 : 1;
}

/** Whether a changed document already carries this outcome: a commit of this run that landed late, not a stale event. */
function showsOutcome(doc: DocumentSnapshot, outcome: EventOutcome): boolean {
  if (!doc.exists || toPlain(doc.get('postAttempts')) !== outcome.postAttempts) return false;
  const status: unknown = doc.get('status');
  if (outcome.kind === 'delivered') return status === EventStatus.Delivered;
  if (outcome.kind === 'dead_letter') return status === EventStatus.DeadLetter;
  return status === EventStatus.Pending && toPlain(doc.get('attempts')) === outcome.attempts;
}

/** An aggregation's count; a bigint when the client reads exact integers. */
function countOf(snapshot: { data(): { count: number | bigint } }): number {
  return Number(snapshot.data().count);
}

function isPreconditionFailure(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === FAILED_PRECONDITION || code === NOT_FOUND;
}

function toStoredDocument(doc: DocumentSnapshot): StoredDocument {
  return { id: doc.id, fields: toPlain(doc.data() ?? {}) as StoredDocument['fields'], version: toVersion(doc.updateTime) };
}

function toVersion(updateTime: Timestamp | undefined): DocumentVersion {
  return updateTime as unknown as DocumentVersion;
}

function fromVersion(version: DocumentVersion): Timestamp {
  return version as unknown as Timestamp;
}

function toTimestamp(instant: Instant): Timestamp {
  return new Timestamp(instant.seconds, instant.nanos);
}
