import type { EventOutcome, OutboxEvent, RunSummary, StoredDocument } from './event.js';

/** Where a page of pending events ends; only the store that made it can read it. */
export interface PageCursor {
  readonly __pageCursor: unique symbol;
}

/** One page of pending events, oldest first. */
export interface OutboxPage {
  readonly documents: readonly StoredDocument[];
  /** Set when the page was full, so more pending events may follow. */
  readonly next: PageCursor | undefined;
}

/** The outbox as the relay needs it; Firestore is one adapter, tests may bring their own. */
export interface OutboxStore {
  /** Pending events, oldest first, after the cursor of the previous page. */
  fetchPending(limit: number, after: PageCursor | undefined): Promise<OutboxPage>;
  /**
   * Documents the oldest-first query can never return, so they would wait forever: a status other than the
   * known ones, or a pending event without a createdAt. At most `limit`; the relay dead-letters them.
   */
  fetchStrays(limit: number): Promise<readonly StoredDocument[]>;
  /** Records outcomes atomically per commit (at most 500 writes each); rejects if any commit failed. */
  recordOutcomes(outcomes: readonly EventOutcome[]): Promise<void>;
  /** The run's last write; failing here must not fail the run. */
  writeAudit(summary: RunSummary): Promise<void>;
}

/** What the router answered to one POST, before anyone judged it. */
export type RouterResponse =
  | { readonly kind: 'response'; readonly status: number; readonly body: string; readonly retryAfter: string | undefined }
  | { readonly kind: 'timeout'; readonly timeoutMs: number }
  | { readonly kind: 'network'; readonly code: string | undefined; readonly message: string }
  /** The relay cancelled the POST (shutting down): whether the router took it is unknown. */
  | { readonly kind: 'aborted' };

/** Sends one event to the object router; never throws for an HTTP status, only describes what happened. */
export interface RouterClient {
  /** `cancel` aborts the POST in flight (on shutdown); the answer is then `aborted`. */
  post(event: OutboxEvent, deliveryAttempt: number, cancel: AbortSignal): Promise<RouterResponse>;
}

/** Time, passed in so budgets and backoff are testable without waiting. */
export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export type Severity = 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR';

/** Structured logging: ids, counts and durations only, never payloads. */
export interface Logger {
  log(severity: Severity, message: string, fields?: Readonly<Record<string, unknown>>): void;
}
