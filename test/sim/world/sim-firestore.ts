import type { EventOutcome, RunSummary, StoredDocument } from '../../../src/core/event.js';
import { Instant } from '../../../src/core/instant.js';
import type {
  HeldLease,
  LeaseAttempt,
  LeaseWakeUps,
  OutboxPage,
  OutboxStore,
  PageCursor,
  RecordReport,
  RunLease,
  Unsubscribe,
  WakeAttempt,
} from '../../../src/core/ports.js';
import { keysHeldByReshard } from '../../../src/core/reshard.js';
import { LeaseLostError } from '../../../src/errors.js';
import { pendingPage, storedDocument } from '../../support/pending-query.js';
import type { SimClock, SimScheduler } from './sim-scheduler.js';

/** One document: its fields and its update time (the version a precondition names). */
export interface SimDocument {
  fields: Record<string, unknown>;
  version: number;
}

interface LeaseDoc {
  owner: string;
  token: string;
  /** By the store's clock. */
  expiresAt: number;
  following?: () => void;
  handoverAsked?: boolean;
  /** Push: a kick left a wake-up for the holder. */
  woken?: boolean;
  /** Push: the holder, done lingering, closed the lease; a kick now waits for it to be free. */
  closing?: boolean;
}

/** What the world is told as the store changes, for the invariants. */
export interface StoreObserver {
  recordedDelivered(eventId: string): void;
  recordedDeadLetter(eventId: string): void;
}

/**
 * The shard a store or lease of a sharded world serves (`<outbox>.shard-<i>`), and the count a relay with
 * PREVIOUS_SHARD_COUNT is leaving; unset in a world of one shard, whose queries read the whole outbox.
 */
export interface SimShard {
  readonly index: number;
  readonly previousCount?: number;
  /** The shards the relay drains (the larger count while resharding): an event naming none of them is a stray. */
  readonly drained: number;
}

/** Firestore as the relay uses it, kept in memory: documents with update times, parked keys, the run leases. */
export class SimFirestore {
  readonly documents = new Map<string, SimDocument>();
  /** Parked keys: every dead letter holding each, earliest first. */
  readonly parked = new Map<string, string[]>();
  /** Each shard's lease document (shard 0 alone in a world of one shard). */
  readonly leases = new Map<number, LeaseDoc>();
  readonly audits: RunSummary[] = [];
  private versions = 0;
  private tokens = 0;
  private readonly listeners = new Set<{ owner: string; onChange: () => void }>();
  /** Push: the lingering runs watching the lease for wake-ups. */
  private readonly wakeWatchers = new Set<{ owner: string; onChange: () => void }>();

  constructor(
    readonly scheduler: SimScheduler,
    private readonly observer: StoreObserver,
  ) {}

  /** A committed write: a new update time, and every listener told (through the scheduler, after the commit). */
  put(id: string, fields: Record<string, unknown>): void {
    this.versions += 1;
    this.documents.set(id, { fields, version: this.versions });
    if (fields.status === 'pending') for (const listener of this.listeners) this.notify(listener);
  }

  delete(id: string): void {
    this.documents.delete(id);
  }

  /** Push: the lingering runs' watchers of wake-ups. */
  wakeWatching(): readonly { owner: string; onChange: () => void }[] {
    return [...this.wakeWatchers];
  }

  /** Push: a lingering run watches the lease for wake-ups (told through the scheduler, like any listener). */
  watchWakeUps(owner: string, onChange: () => void): Unsubscribe {
    const watcher = { owner, onChange };
    this.wakeWatchers.add(watcher);
    return () => this.wakeWatchers.delete(watcher);
  }

  /** Tells a watcher of the lease, through the scheduler, after the commit. */
  tell(watcher: { owner: string; onChange: () => void }, label: string): void {
    void this.scheduler
      .io(
        watcher.owner,
        label,
        () => (this.wakeWatchers.has(watcher) ? watcher.onChange() : undefined),
        () => new SimFirestoreError(label),
        false,
      )
      .catch(() => undefined);
  }

  private notify(listener: { owner: string; onChange: () => void }): void {
    void this.scheduler
      .io(
        listener.owner,
        'listener: pending changed',
        () => (this.listeners.has(listener) ? listener.onChange() : undefined),
        () => new SimFirestoreError('listener'),
        false,
      )
      .catch(() => undefined);
  }

  listen(owner: string, onChange: () => void): Unsubscribe {
    const listener = { owner, onChange };
    this.listeners.add(listener);
    this.notify(listener);
    return () => this.listeners.delete(listener);
  }

  /** A crash closes the instance's listeners with it. */
  dropOwner(owner: string): void {
    for (const listener of [...this.listeners]) if (listener.owner === owner) this.listeners.delete(listener);
    for (const watcher of [...this.wakeWatchers]) if (watcher.owner === owner) this.wakeWatchers.delete(watcher);
  }

  /** Shard 0's lease: the one lease of a world of one shard. */
  get lease(): LeaseDoc | undefined {
    return this.leases.get(0);
  }

  // ── Queries, as Firestore answers the relay's ─────────────────────────────────────────────────────────

  /** The oldest-first page query; a shard's run reads only the events stamped with its shard. */
  page(limit: number, after: PageCursor | undefined, maxBytes: number, shard?: SimShard): OutboxPage {
    if (shard === undefined) return pendingPage(this.documents, limit, after, maxBytes);
    const own = new Map([...this.documents].filter(([, d]) => d.fields.shard === shard.index));
    return pendingPage(own, limit, after, maxBytes);
  }

  /**
   * Every parked key, whatever shard parked it, and while resharding the keys reshard.ts holds back in `shard`:
   * those with an event of the previous count still pending in another shard (the Firestore store's rule).
   */
  parkedKeys(shard?: SimShard): Set<string> {
    const keys = new Set(this.parked.keys());
    if (shard?.previousCount === undefined) return keys;
    const old = [...this.documents.values()]
      .filter((d) => d.fields.status === 'pending' && d.fields.shardCount === shard.previousCount)
      .map((d) => ({ orderingKey: d.fields.orderingKey, shard: d.fields.shard, dated: d.fields.createdAt instanceof Instant }));
    for (const key of keysHeldByReshard(shard.index, shard.drained, old)) keys.add(key);
    return keys;
  }

  /**
   * Documents no page returns, as the Firestore store's sweep finds them: an unknown status, or pending without a
   * createdAt or, with more than one shard drained (`drained`), without a shard the relay drains.
   */
  strays(limit: number, drained?: number): StoredDocument[] {
    return [...this.documents.entries()]
      .filter(([, d]) => {
        const status = d.fields.status;
        if (status !== 'pending') return status !== 'delivered' && status !== 'dead_letter';
        const shard = d.fields.shard;
        const outOfShard =
          drained !== undefined && drained > 1 && !(Number.isInteger(shard) && (shard as number) >= 0 && (shard as number) < drained);
        return !(d.fields.createdAt instanceof Instant) || outOfShard;
      })
      .slice(0, limit)
      .map(([id, d]) => storedDocument(id, d));
  }

  /** The store's transaction: the lease token first, then each outcome only onto the version the run read. */
  record(outcomes: readonly EventOutcome[], lease: HeldLease, shard = 0): RecordReport {
    if (this.leases.get(shard)?.token !== lease.token) throw new LeaseLostError('sim-lease', lease.token);
    const stale: string[] = [];
    for (const outcome of outcomes) {
      const current = this.documents.get(outcome.eventId);
      if (current === undefined || current.version !== (outcome.version as unknown as number)) {
        // As the Firestore store: not stale when the document already shows this outcome (a commit that landed late).
        if (!showsOutcome(current, outcome)) stale.push(outcome.eventId);
        continue;
      }
      const nowAt = Instant.fromMillis(this.scheduler.now());
      const fields: Record<string, unknown> = { ...current.fields, postAttempts: outcome.postAttempts };
      if (outcome.kind === 'delivered') Object.assign(fields, { status: 'delivered', deliveredAt: nowAt });
      if (outcome.kind === 'dead_letter') {
        Object.assign(fields, {
          status: 'dead_letter',
          deadLetterReason: outcome.reason,
          attempts: outcome.attempts,
          deadLetteredAt: nowAt,
        });
        if (outcome.parkKey !== undefined) this.park(outcome.parkKey, outcome.eventId);
      }
      // As the Firestore store: a failure is stamped with the store's time (the relay tries such keys last).
      if (outcome.kind === 'failed')
        Object.assign(fields, {
          attempts: outcome.attempts,
          lastError: outcome.error,
          lastAttemptAt: nowAt,
          nextAttemptAt: outcome.nextAttemptAt,
        });
      this.put(outcome.eventId, fields);
      if (outcome.kind === 'delivered') this.observer.recordedDelivered(outcome.eventId);
      if (outcome.kind === 'dead_letter') this.observer.recordedDeadLetter(outcome.eventId);
    }
    return { stale };
  }

  /** A key parks behind its first dead letter and remembers every later one. */
  private park(key: string, eventId: string): void {
    const held = this.parked.get(key) ?? [];
    if (!held.includes(eventId)) held.push(eventId);
    this.parked.set(key, held);
  }

  // ── Operator commands, each one transaction (src/cli/commands) ────────────────────────────────────────

  /** outbox-ops redrive: pending again with attempts 0; its key freed once no dead letter holds it. */
  redrive(id: string): boolean {
    const current = this.documents.get(id);
    if (current?.fields.status !== 'dead_letter') return false;
    const fields: Record<string, unknown> = {
      ...current.fields,
      status: 'pending',
      attempts: 0,
      redriveCount: Number(current.fields.redriveCount ?? 0) + 1,
    };
    delete fields.nextAttemptAt;
    delete fields.deadLetterReason;
    delete fields.deadLetteredAt;
    this.put(id, fields);
    const key = current.fields.orderingKey;
    if (typeof key === 'string') {
      const holding = this.parked.get(key) ?? [];
      const others = holding.filter((other) => other !== id);
      if (holding.includes(id)) {
        if (others.length === 0) this.parked.delete(key);
        else this.parked.set(key, others);
      }
    }
    return true;
  }

  /** outbox-ops release-key: the key's later events go on; its dead letters stay. */
  releaseKey(key: string): boolean {
    return this.parked.delete(key);
  }

  /** outbox-ops purge: delivered events delivered before `beforeMs` are deleted. */
  purge(beforeMs: number): string[] {
    const gone: string[] = [];
    for (const [id, d] of this.documents) {
      const at = d.fields.deliveredAt;
      if (d.fields.status === 'delivered' && at instanceof Instant && at.toMillis() < beforeMs) gone.push(id);
    }
    for (const id of gone) this.delete(id);
    return gone;
  }

  // ── The run lease, by the store's clock ───────────────────────────────────────────────────────────────

  acquireLease(owner: string, ttlMs: number, callerSentAt: number, callerNow: () => number, shard = 0): LeaseAttempt {
    const nowMs = this.scheduler.now();
    const held = this.leases.get(shard);
    if (held !== undefined && held.expiresAt > nowMs)
      return { acquired: false, owner: held.owner, expiresAtMs: callerNow() + (held.expiresAt - nowMs) };
    this.tokens += 1;
    const taken = { owner, token: `token-${this.tokens}`, expiresAt: nowMs + ttlMs };
    this.leases.set(shard, taken);
    return { acquired: true, lease: { token: taken.token, expiresAtMs: callerSentAt + ttlMs } };
  }

  renewLease(lease: HeldLease, ttlMs: number, callerSentAt: number, shard = 0): HeldLease {
    const held = this.leases.get(shard);
    if (held?.token !== lease.token) throw new LeaseLostError('sim-lease', lease.token);
    held.expiresAt = this.scheduler.now() + ttlMs;
    return { token: lease.token, expiresAtMs: callerSentAt + ttlMs };
  }

  releaseLease(lease: HeldLease, shard = 0): void {
    if (this.leases.get(shard)?.token === lease.token) this.leases.delete(shard);
  }

  followLease(lease: HeldLease, onHandover: () => void, shard = 0): Unsubscribe {
    const held = this.leases.get(shard);
    if (held?.token !== lease.token) throw new LeaseLostError('sim-lease', lease.token);
    held.following = onHandover;
    return () => {
      if (held.following === onHandover) delete held.following;
    };
  }

  requestHandover(owner: string, shard = 0): boolean {
    const held = this.leases.get(shard);
    if (held === undefined || held.expiresAt <= this.scheduler.now() || held.following === undefined) return false;
    if (held.handoverAsked !== true) {
      held.handoverAsked = true;
      const following = held.following;
      void this.scheduler
        .io(
          owner,
          'lease: handover asked',
          () => following(),
          () => new SimFirestoreError('handover'),
          false,
        )
        .catch(() => undefined);
    }
    return true;
  }
}

/** Push's wake-ups on the lease document, as the Firestore lease keeps them (firestore-run-lease.ts). */
export class SimWakeUps {
  constructor(private readonly db: SimFirestore) {}

  wake(): WakeAttempt {
    const held = this.db.lease;
    if (held === undefined || held.expiresAt <= this.db.scheduler.now()) return { kind: 'free' };
    if (held.closing === true) return { kind: 'closing', owner: held.owner };
    if (held.woken !== true) {
      held.woken = true;
      for (const watcher of this.db.wakeWatching()) this.db.tell(watcher, 'lease: wake-up seen');
    }
    return { kind: 'woken', owner: held.owner };
  }

  close(lease: HeldLease): 'closed' | 'woken' {
    const held = this.db.lease;
    if (held?.token !== lease.token) throw new LeaseLostError('sim-lease', lease.token);
    if (held.woken === true) {
      held.woken = false;
      return 'woken';
    }
    held.closing = true;
    return 'closed';
  }
}

/** Whether a document already shows an outcome (the Firestore store's rule of the same name). */
function showsOutcome(current: SimDocument | undefined, outcome: EventOutcome): boolean {
  if (current === undefined || current.fields.postAttempts !== outcome.postAttempts) return false;
  const status = current.fields.status;
  if (outcome.kind === 'delivered') return status === 'delivered';
  if (outcome.kind === 'dead_letter') return status === 'dead_letter';
  return status === 'pending' && current.fields.attempts === outcome.attempts;
}

/** A Firestore call that failed (UNAVAILABLE, a lost answer), as the adapters would reject. */
export class SimFirestoreError extends Error {
  constructor(what: string) {
    super(`simulated Firestore failure: ${what}`);
  }
}

/** The OutboxStore one instance's run sees: every call an I/O the scheduler completes. */
export class SimOutboxStore implements OutboxStore {
  constructor(
    private readonly db: SimFirestore,
    private readonly owner: string,
    private readonly shard?: SimShard,
  ) {}

  private call<T>(label: string, apply: () => T, write: boolean): Promise<T> {
    return this.db.scheduler.io(this.owner, label, apply, () => new SimFirestoreError(label), write);
  }

  fetchPending(limit: number, after: PageCursor | undefined, maxBytes: number): Promise<OutboxPage> {
    return this.call('store: fetchPending', () => this.db.page(limit, after, maxBytes, this.shard), false);
  }

  /** As the Firestore store: strays may have no shard field, so only shard 0 (or the only shard) looks for them. */
  fetchStrays(limit: number): Promise<readonly StoredDocument[]> {
    const looks = this.shard === undefined || this.shard.index === 0;
    return this.call('store: fetchStrays', () => (looks ? this.db.strays(limit, this.shard?.drained) : []), false);
  }

  /** Push: whether a kicked event is still pending (kick-runs.ts reads it before running). */
  isPending(id: string): Promise<boolean> {
    return this.call('store: isPending', () => this.db.documents.get(id)?.fields.status === 'pending', false);
  }

  fetchParkedKeys(): Promise<ReadonlySet<string>> {
    return this.call('store: fetchParkedKeys', () => this.db.parkedKeys(this.shard), false);
  }

  recordOutcomes(outcomes: readonly EventOutcome[], lease: HeldLease): Promise<RecordReport> {
    const batch = [...outcomes];
    const deadLetter = batch.some((outcome) => outcome.kind === 'dead_letter') ? ' with a dead letter' : '';
    return this.call(`store: recordOutcomes ×${batch.length}${deadLetter}`, () => this.db.record(batch, lease, this.shard?.index), true);
  }

  writeAudit(summary: RunSummary): Promise<void> {
    return this.call('store: writeAudit', () => void this.db.audits.push(summary), true);
  }

  watchPending(onChange: () => void): Unsubscribe {
    return this.db.listen(this.owner, onChange);
  }
}

/** The RunLease one instance's run sees, with push's wake-ups on it. */
export class SimRunLease implements RunLease, LeaseWakeUps {
  constructor(
    private readonly db: SimFirestore,
    private readonly owner: string,
    private readonly clock: SimClock,
    /** The shard whose lease this is (push, one shard only, uses shard 0's). */
    private readonly shard = 0,
  ) {}

  private call<T>(label: string, apply: () => T, write: boolean): Promise<T> {
    return this.db.scheduler.io(this.owner, label, apply, () => new SimFirestoreError(label), write);
  }

  acquire(owner: string, ttlMs: number): Promise<LeaseAttempt> {
    const sentAt = this.clock.now();
    return this.call('lease: acquire', () => this.db.acquireLease(owner, ttlMs, sentAt, () => this.clock.now(), this.shard), true);
  }

  renew(lease: HeldLease, ttlMs: number): Promise<HeldLease> {
    const sentAt = this.clock.now();
    return this.call('lease: renew', () => this.db.renewLease(lease, ttlMs, sentAt, this.shard), true);
  }

  release(lease: HeldLease): Promise<void> {
    return this.call('lease: release', () => this.db.releaseLease(lease, this.shard), true);
  }

  follow(lease: HeldLease, onHandover: () => void): Promise<Unsubscribe> {
    return this.call('lease: follow', () => this.db.followLease(lease, onHandover, this.shard), true);
  }

  requestHandover(requester: string): Promise<boolean> {
    return this.call(`lease: requestHandover by ${requester}`, () => this.db.requestHandover(this.owner, this.shard), true);
  }

  wake(requester: string): Promise<WakeAttempt> {
    return this.call(`lease: wake-up by ${requester}`, () => new SimWakeUps(this.db).wake(), true);
  }

  close(lease: HeldLease): Promise<'closed' | 'woken'> {
    return this.call('lease: close', () => new SimWakeUps(this.db).close(lease), true);
  }

  watch(onWake: () => void): Unsubscribe {
    return this.db.watchWakeUps(this.owner, onWake);
  }
}
