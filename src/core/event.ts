import type { Instant } from './instant.js';

/** The lifecycle of an outbox document; producers write `pending`, only the relay writes the others. */
export const EventStatus = {
  Pending: 'pending',
  Delivered: 'delivered',
  DeadLetter: 'dead_letter',
} as const;
export type EventStatus = (typeof EventStatus)[keyof typeof EventStatus];

/**
 * An outbox document as the store read it, nothing checked yet: Firestore Timestamps are Instants, integers
 * beyond 2^53 bigints, bytes Uint8Arrays; everything else plain values.
 */
export interface StoredDocument {
  readonly id: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

/** A validated event, ready to POST. */
export interface OutboxEvent {
  readonly id: string;
  readonly type: string;
  /** The data as the JSON text every POST of it sends, made once when the event is read. */
  readonly body: string;
  readonly createdAt: Instant;
  readonly source: string | undefined;
  readonly subject: string | undefined;
  readonly orderingKey: string | undefined;
  /** Failed runs recorded so far. */
  readonly attempts: number;
  /** POSTs recorded so far (across runs); the next POST is number postAttempts + 1. */
  readonly postAttempts: number;
}

/** What a run decided for one event; the store records these in batched writes. Counts are absolute, not deltas. */
export type EventOutcome =
  | { readonly kind: 'delivered'; readonly eventId: string; readonly postAttempts: number }
  | {
      readonly kind: 'failed';
      readonly eventId: string;
      readonly error: string;
      readonly attempts: number;
      readonly postAttempts: number;
    }
  | {
      readonly kind: 'dead_letter';
      readonly eventId: string;
      readonly reason: string;
      readonly attempts: number;
      readonly postAttempts: number;
    };

/** The JSON summary a run answers with and writes as its audit record. */
export interface RunSummary {
  readonly runId: string;
  readonly fetched: number;
  readonly delivered: number;
  readonly deadLettered: number;
  readonly failed: number;
  readonly hasMore: boolean;
  readonly auditFailed: boolean;
  readonly durationMs: number;
}
