import type { EventOutcome, OutboxEvent, RunSummary, StoredDocument } from './event.js';
import type { SweepPlan } from './stray-sweep.js';

/** Where a page of pending events ends; only the store that made it can read it. */
export interface PageCursor {
  readonly __pageCursor: unique symbol;
}

/** One page of pending events, oldest first (createdAt, then id). */
export interface OutboxPage {
  readonly documents: readonly StoredDocument[];
  /** Set when the page was full, so more pending events may follow. */
  readonly next: PageCursor | undefined;
  /** Where the page ended, full or not (unset when empty): a run following the outbox reads on from there. */
  readonly last?: PageCursor | undefined;
  /** approximateSize of the page's largest document (0 when empty): the relay sizes the next page by it. */
  readonly largestDocumentBytes: number;
}

/** Ends a listener. */
export type Unsubscribe = () => void;

/** What recording outcomes came to; the rest were written. */
export interface RecordReport {
  /** Events whose document was deleted or replaced since it was read: their outcome was not written. */
  readonly stale: readonly string[];
}

/** The outbox as the relay needs it; Firestore is one adapter, tests bring an in-memory one. */
export interface OutboxStore {
  /**
   * Pending events, oldest first, after the cursor of the previous page: at most `limit`, and past the first,
   * only while their approximateSize adds up to at most `maxBytes`; the page ends before the first one that
   * would not fit (its `next` then set), so a page brings about the room the run has, not more.
   */
  fetchPending(limit: number, after: PageCursor | undefined, maxBytes: number): Promise<OutboxPage>;
  /**
   * Documents the oldest-first query can never return, so they would wait forever: no usable status, a
   * pending event without a createdAt, or one outside every shard. At most `limit`; the relay dead-letters them.
   * Documents without a status are looked for only with `plan.wholeOutbox` (it counts every document), or while
   * a scan for them begun then goes on.
   */
  fetchStrays(limit: number, plan: SweepPlan): Promise<readonly StoredDocument[]>;
  /** Ordering keys whose later events wait for a dead letter to be redriven or the key released. */
  fetchParkedKeys(): Promise<ReadonlySet<string>>;
  /**
   * Records outcomes in commits of at most 500 writes, each only while `lease` is still the run's and each
   * document is still the version the run read; rejects if a commit failed (LeaseLostError when taken over).
   */
  recordOutcomes(outcomes: readonly EventOutcome[], lease: HeldLease): Promise<RecordReport>;
  /** The run's last write; failing here must not fail the run. */
  writeAudit(summary: RunSummary): Promise<void>;
  /**
   * A real-time listener for a following run (FOLLOW_MS): calls `onChange` once at the start and whenever a
   * pending event of the shard may have been committed since. It only wakes the run, which then reads the new
   * events as pages; `onError` reports a listener that ended on its own.
   */
  watchPending(onChange: () => void, onError: (error: unknown) => void): Unsubscribe;
}

/** A lease the run holds; its token guards every write the run makes. */
export interface HeldLease {
  readonly token: string;
  /**
   * When the lease ends by this process's Clock: counted from before the write that took or renewed it was sent,
   * so never later than the lease ends by Firestore's clock, which alone decides when another run may take it.
   */
  readonly expiresAtMs: number;
}

/**
 * What acquiring found: the lease is ours now, or another run holds it until `expiresAtMs` (what it has left
 * by Firestore's clock, told in this process's Clock).
 */
export type LeaseAttempt =
  | { readonly acquired: true; readonly lease: HeldLease }
  | { readonly acquired: false; readonly owner: string; readonly expiresAtMs: number };

/** One run at a time per outbox shard; short and renewed while the run lives, so a crash costs seconds. */
export interface RunLease {
  /** Takes the lease unless an unexpired one is held by another run; "unexpired" by the store's clock, not the caller's. */
  acquire(owner: string, ttlMs: number): Promise<LeaseAttempt>;
  /** Extends the lease by `ttlMs` from now; rejects with LeaseLostError when another run holds it. */
  renew(lease: HeldLease, ttlMs: number): Promise<HeldLease>;
  /** Frees the lease for the next run, only if it is still this run's. */
  release(lease: HeldLease): Promise<void>;
  /**
   * Marks the lease as held by a run following new events, and calls `onHandover` once a newer run asks it to
   * finish (requestHandover). Rejects with LeaseLostError when another run holds the lease.
   */
  follow(lease: HeldLease, onHandover: () => void): Promise<Unsubscribe>;
  /**
   * A newer run asks the following run that holds the lease to finish and release it; false when the lease is
   * free, expired, or held by a run that is not following (that one answers by itself).
   */
  requestHandover(requester: string): Promise<boolean>;
}

/** What the router answered to one POST, before anyone judged it. */
export type RouterResponse =
  | { readonly kind: 'response'; readonly status: number; readonly body: string; readonly retryAfter: string | undefined }
  | { readonly kind: 'timeout'; readonly timeoutMs: number }
  | { readonly kind: 'network'; readonly code: string | undefined; readonly message: string }
  /** The relay cancelled the POST (shutting down): whether the router took it is unknown. */
  | { readonly kind: 'aborted' }
  /** Nothing was sent: the relay could not authenticate (no ID token, a signing failure). */
  | { readonly kind: 'not_sent'; readonly reason: string };

/** Sends one event to the object router; never throws for an HTTP status, only describes what happened. */
export interface RouterClient {
  /**
   * `cancel` aborts the POST in flight (on shutdown); the answer is then `aborted`. The event's traceparent and
   * tracestate, when set, go out as the CloudEvents distributed-tracing extension (a tracing decorator may
   * pass the event on with its delivery span's context in their place).
   */
  post(event: OutboxEvent, deliveryAttempt: number, cancel: AbortSignal): Promise<RouterResponse>;
}

/** Time, passed in so budgets, deadlines and backoff are tested without waiting. */
export interface Clock {
  /**
   * Milliseconds since the epoch, never going back: the system adapter counts a monotonic clock from the time
   * the process started, so a stepped wall clock cannot stretch or cut a deadline. Not for comparing with
   * another machine's time: leases and claims lapse by Firestore's clock.
   */
  now(): number;
  /** Resolves after `ms`, or as soon as `signal` aborts (never rejects for that). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export type Severity = 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR';

/** Structured logging: ids, counts and durations only, never payloads. */
export interface Logger {
  log(severity: Severity, message: string, fields?: Readonly<Record<string, unknown>>): void;
}

/** What a kick that finds the lease held by another instance's run achieved (LeaseWakeUps.wake). */
export type WakeAttempt =
  /** A wake-up is on the lease: its holder reads on before it lets go. */
  | { readonly kind: 'woken'; readonly owner: string }
  /** The holder has closed its lease (it is flushing and releasing): take the lease once it is free, and run. */
  | { readonly kind: 'closing'; readonly owner: string }
  /** Nobody holds it any more: run. */
  | { readonly kind: 'free' };

/**
 * Push on commit (PUSH_LINGER_MS): a kick reaching an instance whose own run does not hold the lease leaves a
 * wake-up on the lease document, under the precondition of the version it read; the holder closes the lease under
 * the precondition of the version it read too, so of a wake-up and a close exactly one lands first: either the
 * holder sees the wake-up and reads on, or the kick sees the lease closing and runs once it is free.
 */
export interface LeaseWakeUps {
  /** Leaves a wake-up for the run holding the lease, unless one is there already or the lease is closing or free. */
  wake(requester: string): Promise<WakeAttempt>;
  /**
   * The holder, done lingering: 'woken' when a wake-up was left (it is cleared; read on, then close again),
   * 'closed' when none was (later kicks find the lease closing). Rejects with LeaseLostError when not held.
   */
  close(lease: HeldLease): Promise<'closed' | 'woken'>;
  /** Calls `onWake` when a wake-up lands on the lease while its holder lingers; `onError` when the listener fails. */
  watch(onWake: () => void, onError: (error: unknown) => void): Unsubscribe;
}
