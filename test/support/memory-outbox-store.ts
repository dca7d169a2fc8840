import type { EventOutcome, RunSummary, StoredDocument } from '../../src/core/event.js';
import { Instant } from '../../src/core/instant.js';
import type {
  HeldLease,
  LeaseAttempt,
  OutboxPage,
  OutboxStore,
  PageCursor,
  LeaseWakeUps,
  RecordReport,
  RunLease,
  Unsubscribe,
  WakeAttempt,
} from '../../src/core/ports.js';
import { LeaseLostError } from '../../src/errors.js';
import { pendingPage } from './pending-query.js';

interface Stored {
  fields: Record<string, unknown>;
  version: number;
}

/** The project's own store interface over a Map: for core rules that need no Firestore. */
export class MemoryOutboxStore implements OutboxStore {
  readonly documents = new Map<string, Stored>();
  readonly commits: EventOutcome[][] = [];
  readonly audits: RunSummary[] = [];
  /** Parked keys: each with the dead letter it parks behind (its earliest). */
  readonly parked = new Map<string, string>();
  /** Every dead letter holding each parked key, earliest first; the key stays parked while any remains. */
  readonly parkedDeadLetters = new Map<string, string[]>();
  /** Every page read: what the relay asked for, and what it got. */
  readonly pageReads: { limit: number; maxBytes: number; documents: number; bytes: number }[] = [];
  private versions = 0;
  private readonly watchers = new Set<() => void>();

  constructor(readonly lease: MemoryRunLease = new MemoryRunLease()) {}

  /** Adds `count` pending events `evt-0000`…, one millisecond apart. */
  seed(count: number, fields: (i: number) => Record<string, unknown> = () => ({})): string[] {
    const ids: string[] = [];
    for (let i = 0; i < count; i += 1) {
      const id = `evt-${String(i).padStart(4, '0')}`;
      ids.push(id);
      this.put(id, {
        type: 'order.created',
        data: { i },
        createdAt: Instant.fromMillis(Date.UTC(2026, 0, 1) + i),
        status: 'pending',
        ...fields(i),
      });
    }
    return ids;
  }

  /** Writes a document as a producer would, giving it a new version. */
  put(id: string, fields: Record<string, unknown>): void {
    this.versions += 1;
    this.documents.set(id, { fields, version: this.versions });
    // Like a real-time listener: told soon after the write, never inside it.
    for (const watcher of this.watchers) queueMicrotask(watcher);
  }

  watchPending(onChange: () => void): Unsubscribe {
    this.watchers.add(onChange);
    queueMicrotask(onChange);
    return () => this.watchers.delete(onChange);
  }

  /** Real-time listeners open now. */
  get watching(): number {
    return this.watchers.size;
  }

  fields(id: string): Record<string, unknown> | undefined {
    return this.documents.get(id)?.fields;
  }

  fetchPending(limit: number, after: PageCursor | undefined, maxBytes = Number.POSITIVE_INFINITY): Promise<OutboxPage> {
    const { bytes, ...page } = pendingPage(this.documents, limit, after, maxBytes);
    this.pageReads.push({ limit, maxBytes, documents: page.documents.length, bytes });
    return Promise.resolve(page);
  }

  fetchStrays(): Promise<readonly StoredDocument[]> {
    return Promise.resolve([]);
  }

  fetchParkedKeys(): Promise<ReadonlySet<string>> {
    return Promise.resolve(new Set(this.parked.keys()));
  }

  recordOutcomes(outcomes: readonly EventOutcome[], lease: HeldLease): Promise<RecordReport> {
    if (!this.lease.holds(lease)) return Promise.reject(new LeaseLostError('memory-lease', lease.token));
    this.commits.push([...outcomes]);
    const stale: string[] = [];
    for (const outcome of outcomes) {
      const current = this.documents.get(outcome.eventId);
      if (current === undefined || current.version !== (outcome.version as unknown as number)) {
        stale.push(outcome.eventId);
        continue;
      }
      const fields: Record<string, unknown> = { ...current.fields, postAttempts: outcome.postAttempts };
      if (outcome.kind === 'delivered') fields.status = 'delivered';
      if (outcome.kind === 'dead_letter') {
        Object.assign(fields, { status: 'dead_letter', deadLetterReason: outcome.reason, attempts: outcome.attempts });
        if (outcome.parkKey !== undefined) this.park(outcome.parkKey, outcome.eventId);
      }
      if (outcome.kind === 'failed')
        Object.assign(fields, {
          attempts: outcome.attempts,
          lastError: outcome.error,
          lastAttemptAt: Instant.fromMillis(this.lease.now()),
          nextAttemptAt: outcome.nextAttemptAt,
        });
      this.put(outcome.eventId, fields);
    }
    return Promise.resolve({ stale });
  }

  /** The Firestore store's rule: a key parks behind its first dead letter and remembers every later one. */
  private park(key: string, eventId: string): void {
    if (!this.parked.has(key)) this.parked.set(key, eventId);
    const held = this.parkedDeadLetters.get(key) ?? [];
    if (!held.includes(eventId)) held.push(eventId);
    this.parkedDeadLetters.set(key, held);
  }

  /** As `outbox-ops redrive` does: the dead letter is pending again, and its key freed once no dead letter holds it. */
  redrive(id: string): void {
    const stored = this.documents.get(id);
    if (stored?.fields.status !== 'dead_letter') throw new Error(`${id} is not a dead letter`);
    this.put(id, { ...stored.fields, status: 'pending', attempts: 0 });
    const key = stored.fields.orderingKey;
    if (typeof key !== 'string') return;
    const held = (this.parkedDeadLetters.get(key) ?? [this.parked.get(key)]).filter((other) => other !== undefined && other !== id);
    if (held.length === 0) {
      this.parked.delete(key);
      this.parkedDeadLetters.delete(key);
    } else {
      this.parked.set(key, held[0] as string);
      this.parkedDeadLetters.set(key, held as string[]);
    }
  }

  writeAudit(summary: RunSummary): Promise<void> {
    this.audits.push(summary);
    return Promise.resolve();
  }

  idsWithStatus(status: string): string[] {
    return [...this.documents.entries()]
      .filter(([, d]) => d.fields.status === status)
      .map(([id]) => id)
      .sort();
  }
}

/** The run lease in memory, with its clock passed in; push's wake-ups and close as the Firestore lease keeps them. */
export class MemoryRunLease implements RunLease, LeaseWakeUps {
  private held:
    | {
        owner: string;
        token: string;
        expiresAtMs: number;
        following?: () => void;
        handoverAsked?: boolean;
        woken?: boolean;
        closing?: boolean;
      }
    | undefined;
  /** Calls made to the lease document, as Firestore would bill them (push specs count them). */
  calls = 0;
  private readonly wakeWatchers = new Set<() => void>();
  private tokens = 0;
  /** Who asked a follower to hand over, in order. */
  readonly handoverRequests: string[] = [];

  /** The store's own time (Firestore's, not a run's): leases expire and attempts are stamped by it. */
  constructor(readonly now: () => number = Date.now) {}

  holds(lease: HeldLease): boolean {
    return this.held?.token === lease.token;
  }

  acquire(owner: string, ttlMs: number): Promise<LeaseAttempt> {
    this.calls += 1;
    const nowMs = this.now();
    if (this.held !== undefined && this.held.expiresAtMs > nowMs)
      return Promise.resolve({ acquired: false, owner: this.held.owner, expiresAtMs: this.held.expiresAtMs });
    this.tokens += 1;
    this.held = { owner, token: `token-${this.tokens}`, expiresAtMs: nowMs + ttlMs };
    return Promise.resolve({ acquired: true, lease: { token: this.held.token, expiresAtMs: this.held.expiresAtMs } });
  }

  renew(lease: HeldLease, ttlMs: number): Promise<HeldLease> {
    this.calls += 1;
    if (this.held?.token !== lease.token) return Promise.reject(new LeaseLostError('memory-lease', lease.token));
    this.held.expiresAtMs = this.now() + ttlMs;
    return Promise.resolve({ token: lease.token, expiresAtMs: this.held.expiresAtMs });
  }

  release(lease: HeldLease): Promise<void> {
    this.calls += 1;
    if (this.held?.token === lease.token) this.held = undefined;
    return Promise.resolve();
  }

  follow(lease: HeldLease, onHandover: () => void): Promise<Unsubscribe> {
    const held = this.held;
    if (held?.token !== lease.token) return Promise.reject(new LeaseLostError('memory-lease', lease.token));
    held.following = onHandover;
    return Promise.resolve(() => {
      if (held.following === onHandover) delete held.following;
    });
  }

  requestHandover(requester: string): Promise<boolean> {
    const held = this.held;
    if (held === undefined || held.expiresAtMs <= this.now() || held.following === undefined) return Promise.resolve(false);
    this.handoverRequests.push(requester);
    if (held.handoverAsked !== true) {
      held.handoverAsked = true;
      queueMicrotask(held.following);
    }
    return Promise.resolve(true);
  }

  wake(): Promise<WakeAttempt> {
    this.calls += 1;
    const held = this.held;
    if (held === undefined || held.expiresAtMs <= this.now()) return Promise.resolve({ kind: 'free' });
    if (held.closing === true) return Promise.resolve({ kind: 'closing', owner: held.owner });
    if (held.woken !== true) {
      held.woken = true;
      for (const watcher of this.wakeWatchers) queueMicrotask(watcher);
    }
    return Promise.resolve({ kind: 'woken', owner: held.owner });
  }

  close(lease: HeldLease): Promise<'closed' | 'woken'> {
    this.calls += 1;
    const held = this.held;
    if (held?.token !== lease.token) return Promise.reject(new LeaseLostError('memory-lease', lease.token));
    if (held.woken === true) {
      held.woken = false;
      return Promise.resolve('woken');
    }
    held.closing = true;
    return Promise.resolve('closed');
  }

  watch(onWake: () => void): Unsubscribe {
    const watcher = (): void => onWake();
    this.wakeWatchers.add(watcher);
    return () => this.wakeWatchers.delete(watcher);
  }

  /** Another run takes the lease (as after this run's lease expired). */
  takeOver(owner: string, ttlMs: number): void {
    this.tokens += 1;
    this.held = { owner, token: `token-${this.tokens}`, expiresAtMs: this.now() + ttlMs };
  }
}
