import type { Instant } from './instant.js';

/** The lifecycle of an outbox document; producers write `pending`, only the relay writes the others. */
export const EventStatus = {
  Pending: 'pending',
  Delivered: 'delivered',
  DeadLetter: 'dead_letter',
} as const;
export type EventStatus = (typeof EventStatus)[keyof typeof EventStatus];

/** The version of a document as the store read it; only the store that made it can read it. */
export interface DocumentVersion {
  readonly __documentVersion: unique symbol;
}

/**
 * An outbox document as the store read it, nothing checked yet: Firestore Timestamps are Instants, integers
 * beyond 2^53 bigints, bytes Uint8Arrays; everything else plain values.
 */
export interface StoredDocument {
  readonly id: string;
  readonly fields: Readonly<Record<string, unknown>>;
  /** An outcome is recorded only while the document is still this version (not deleted, not re-created). */
  readonly version: DocumentVersion;
}

/** A validated event, ready to POST. */
export interface OutboxEvent {
  readonly id: string;
  readonly type: string;
  /** The data as the JSON text every POST of it sends, made once when the event is read. */
  readonly body: string;
  /** UTF-8 bytes of `body`: what the run's memory budget counts. */
  readonly bodyBytes: number;
  readonly createdAt: Instant;
  readonly source: string | undefined;
  readonly subject: string | undefined;
  readonly orderingKey: string | undefined;
  /** Failed attempts charged to the event so far; at MAX_ATTEMPTS it is dead-lettered. */
  readonly attempts: number;
  /** POSTs recorded so far (across runs); the next POST is number postAttempts + 1. */
  readonly postAttempts: number;
  /** Not to be attempted before this (backoff after a failure, or the router's Retry-After). */
  readonly nextAttemptAt: Instant | undefined;
  /** W3C trace context of the producer's request, when it stored one: each delivery continues that trace. */
  readonly traceparent: string | undefined;
  readonly tracestate: string | undefined;
  readonly version: DocumentVersion;
}

/** What a run decided for one event; the store records these in batched writes. Counts are absolute, not deltas. */
export type EventOutcome =
  | { readonly kind: 'delivered'; readonly eventId: string; readonly version: DocumentVersion; readonly postAttempts: number }
  | {
      readonly kind: 'failed';
      readonly eventId: string;
      readonly version: DocumentVersion;
      readonly error: string;
      readonly attempts: number;
      readonly postAttempts: number;
      /** Unset: the next run may try again at once. */
      readonly nextAttemptAt: Instant | undefined;
    }
  | {
      readonly kind: 'dead_letter';
      readonly eventId: string;
      readonly version: DocumentVersion;
      readonly reason: string;
      readonly attempts: number;
      readonly postAttempts: number;
      /** Set when the later events of this orderingKey must wait for the dead letter (parked key). */
      readonly parkKey: string | undefined;
    };

/** The JSON summary a run answers with and writes as its audit record. */
export interface RunSummary {
  readonly runId: string;
  /** Why the run stopped early, or `drained` when it delivered everything it could. */
  readonly stoppedBy: string;
  readonly fetched: number;
  readonly delivered: number;
  readonly deadLettered: number;
  /** Events that failed and stay pending (charged or not), to be retried by a later run. */
  readonly failed: number;
  /** Events not attempted this run: on backoff, behind a parked key, or behind an earlier event of their key. */
  readonly waiting: number;
  /** Outcomes decided but not recorded (Firestore failed or timed out): those events are POSTed again later. */
  readonly unrecorded: number;
  /** Outcomes not recorded because the document changed or vanished while in flight (re-created: sent again). */
  readonly stale: number;
  readonly hasMore: boolean;
  readonly auditFailed: boolean;
  readonly durationMs: number;
  /** A run over several shards (shard-runs.ts): what became of each shard it tried. */
  readonly shards?: readonly ShardOutcome[];
}

/** One shard of a run over several: its run's stop reason or failure cause, `lease-held` or `lease_unavailable`. */
export interface ShardOutcome {
  readonly shard: number;
  readonly outcome: string;
  readonly delivered?: number;
  readonly heldBy?: string;
}
