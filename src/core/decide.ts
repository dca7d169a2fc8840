import { backoffDelayMs, type BackoffRange } from './backoff.js';
import type { EventOutcome, OutboxEvent } from './event.js';
import { Instant } from './instant.js';

/** What one event's delivery in this run came to, before anyone judged whose fault a failure was. */
export type DeliveryResult =
  | { readonly kind: 'delivered'; readonly posts: number }
  /** An answer retrying will not change (a 4xx other than 401/403/408/425/429). */
  | { readonly kind: 'rejected'; readonly reason: string; readonly posts: number }
  /** Not taken this time (5xx, 408/425/429, 401/403, 3xx, timeout, connection error). */
  | { readonly kind: 'failed'; readonly reason: string; readonly posts: number; readonly retryAfterMs: number | undefined }
  /** The run, not the router, ended it (shutting down, circuit open, checkpoint failed) before any verdict. */
  | { readonly kind: 'interrupted'; readonly reason: string; readonly posts: number }
  /** The document can never be delivered as written; nothing was sent. */
  | { readonly kind: 'malformed'; readonly reason: string };

/** Whose fault a failure was: the breaker's answer, given when the run knows it (see RouterHealth). */
export type Fault = 'event' | 'router';

/** The settings that decide an event's fate. */
export interface FatePolicy {
  readonly maxAttempts: number;
  /** REDELIVERY_MIN_DELAY_MS / REDELIVERY_MAX_DELAY_MS: how long a failed event waits before its next attempt. */
  readonly redelivery: BackoffRange;
  /** KEY_AFTER_DEAD_LETTER=park: later events of the key wait until the dead letter is redriven or the key released. */
  readonly parkKeyOnDeadLetter: boolean;
}

/** What becomes of the event, and whether the later events of its orderingKey must wait for the rest of the run. */
export interface Decision {
  /** What to record; undefined when there is nothing worth a write. */
  readonly outcome: EventOutcome | undefined;
  readonly holdsKey: boolean;
  /** Counted as a failed delivery of the run (answered 500 so Scheduler retries). */
  readonly failedDelivery: boolean;
}

/**
 * The one rule for an event's fate after an attempt (result × fault → outcome), read as a table:
 *
 * | result      | fault  | outcome                                                           | key held |
 * |-------------|--------|-------------------------------------------------------------------|----------|
 * | delivered   | —      | delivered                                                         | no       |
 * | malformed   | —      | dead letter (attempts unchanged)                                  | if parked|
 * | rejected    | event  | dead letter, attempt charged                                      | if parked|
 * | failed      | event  | attempt charged, next attempt after backoff (≥ Retry-After);      | yes      |
 * |             |        | dead letter once MAX_ATTEMPTS are charged                         |          |
 * | rejected or | router | nothing charged; lastError kept; Retry-After honoured             | yes      |
 * | failed      |        |                                                                   |          |
 * | interrupted | —      | nothing charged; POSTs sent are counted so attempt numbers rise   | yes      |
 */
export function decide(
  event: EventRecord,
  result: DeliveryResult,
  fault: Fault,
  policy: FatePolicy,
  nowMs: number,
  random: number,
): Decision {
  const { id: eventId, version } = event;
  const posts = 'posts' in result ? result.posts : 0;
  const postAttempts = event.postAttempts + posts;
  const charged = event.attempts + 1;
  const park = policy.parkKeyOnDeadLetter ? event.orderingKey : undefined;
  const deadLetter = (reason: string, attempts: number): Decision => ({
    outcome: { kind: 'dead_letter', eventId, version, reason, attempts, postAttempts, parkKey: park },
    holdsKey: park !== undefined,
    failedDelivery: false,
  });
  const failed = (error: string, attempts: number, nextAttemptAt: Instant | undefined, failedDelivery: boolean): Decision => ({
    outcome: { kind: 'failed', eventId, version, error, attempts, postAttempts, nextAttemptAt },
    holdsKey: true,
    failedDelivery,
  });

  switch (result.kind) {
    case 'delivered':
      return { outcome: { kind: 'delivered', eventId, version, postAttempts }, holdsKey: false, failedDelivery: false };
    case 'malformed':
      return deadLetter(`malformed: ${result.reason}`, event.attempts);
    case 'interrupted':
      return posts === 0
        ? { outcome: undefined, holdsKey: true, failedDelivery: false }
        : failed(result.reason, event.attempts, event.nextAttemptAt, false);
    case 'rejected':
      if (fault === 'router') return failed(`${result.reason} (the router was failing: not charged)`, event.attempts, undefined, true);
      return deadLetter(`rejected by the router: ${result.reason}`, charged);
    case 'failed': {
      const retryAfter = result.retryAfterMs === undefined ? undefined : Instant.fromMillis(nowMs + result.retryAfterMs);
      if (fault === 'router') return failed(`${result.reason} (the router was failing: not charged)`, event.attempts, retryAfter, true);
      // Dead-lettered, it will not be retried: no reason for a 500 (which exists to make Scheduler retry).
      if (charged >= policy.maxAttempts) return deadLetter(`max attempts exceeded (${policy.maxAttempts}): ${result.reason}`, charged);
      const waitMs = Math.max(backoffDelayMs(charged, policy.redelivery, random), result.retryAfterMs ?? 0);
      return failed(result.reason, charged, waitMs === 0 ? undefined : Instant.fromMillis(nowMs + waitMs), true);
    }
  }
}

/** What decide() reads of an event; a document that failed validation provides it too, so it can be dead-lettered. */
export type EventRecord = Pick<OutboxEvent, 'id' | 'version' | 'orderingKey' | 'attempts' | 'postAttempts' | 'nextAttemptAt'>;

/** Why an event is not attempted in this run; every one of them holds back the later events of its key. */
export type Admission = { readonly kind: 'attempt' } | { readonly kind: 'wait'; readonly reason: 'backoff' | 'key-parked' | 'key-held' };

/**
 * Whether an event may be attempted now: its key is neither parked nor held earlier in this run, and its backoff
 * is over. A malformed event is admitted by the same rule before it is dead-lettered, so it never parks its key
 * ahead of the key's earlier events.
 */
export function admit(
  event: Pick<EventRecord, 'orderingKey' | 'nextAttemptAt'>,
  run: { readonly parkedKeys: ReadonlySet<string>; readonly heldKeys: ReadonlySet<string> },
  nowMs: number,
): Admission {
  const key = event.orderingKey;
  if (key !== undefined && run.parkedKeys.has(key)) return { kind: 'wait', reason: 'key-parked' };
  if (key !== undefined && run.heldKeys.has(key)) return { kind: 'wait', reason: 'key-held' };
  if (event.nextAttemptAt !== undefined && event.nextAttemptAt.toMillis() > nowMs) return { kind: 'wait', reason: 'backoff' };
  return { kind: 'attempt' };
}
