import { randomUUID } from 'node:crypto';
import {
  Timestamp,
  type CollectionReference,
  type DocumentReference,
  type DocumentSnapshot,
  type Firestore,
  type Transaction,
} from '@google-cloud/firestore';
import { z } from 'zod';
import { createCloudLogger } from '../adapters/cloud-logger.js';
import type { Logger } from '../core/ports.js';
import { remainingMs } from '../core/term.js';
import { InboxLeaseLostError, InboxStoreError, InvalidInboxArgumentError, InvalidInboxRecordError, OutboxError } from '../errors.js';
import { assertDurationMs, assertId, assertNamespace } from './arguments.js';
import { whileRenewing } from './claim-keeper.js';
import { recordDocumentId } from './document-id.js';

/** Long enough for one handler to finish; a consumer that crashed holds a message no longer than this. */
export const DEFAULT_INBOX_IN_PROGRESS_TTL_MS = 5 * 60_000;
/** Longer than the relay could still redeliver an event; duplicates older than this are no longer recognised. */
export const DEFAULT_INBOX_RETENTION_MS = 30 * 24 * 60 * 60_000;
/** Firestore's own default; under contention each retry rereads, so late duplicates see the first commit. */
export const DEFAULT_INBOX_TRANSACTION_ATTEMPTS = 5;

/** The states an inbox record passes through; a TTL policy on `expireAt` deletes either. */
export const InboxRecordStatus = {
  InProgress: 'in_progress',
  Processed: 'processed',
} as const;
export type InboxRecordStatus = (typeof InboxRecordStatus)[keyof typeof InboxRecordStatus];

/** What the inbox answered for one delivery; only `started` and `applied` mean "this attempt does the work". */
export const InboxOutcome = {
  Started: 'started',
  Applied: 'applied',
  Duplicate: 'duplicate',
  InProgress: 'in_progress',
} as const;
export type InboxOutcome = (typeof InboxOutcome)[keyof typeof InboxOutcome];

/** Settings of one consumer's inbox; several consumers may share a collection, their records never meet. */
export interface InboxOptions {
  /** Collection of inbox records; put a Firestore TTL policy on its `expireAt` field. */
  readonly collection: string;
  /** Who processes the messages (e.g. "ledger"); the same message id is tracked separately per consumer. No ":" or "/". */
  readonly consumer: string;
  /** How long a tryStart claim lasts unless renewed (keepClaim); after it a crashed consumer's message can be taken over. */
  readonly inProgressTtlMs: number;
  /** How long records are kept (`expireAt`); must exceed the sender's redelivery window and inProgressTtlMs. */
  readonly retentionMs: number;
  /**
   * For tests only: stands in for Firestore's clock (milliseconds since the epoch), so claim expiry is tested
   * without waiting. Unset, every time the inbox writes or compares is Firestore's, read in the transaction
   * (its readTime): a consumer whose own clock is minutes off neither takes over a live claim nor holds a dead one.
   */
  readonly clock?: () => number;
  /** Duplicates and takeovers are logged here; defaults to one JSON line per entry on stdout. */
  readonly logger?: Logger;
  /** Transaction attempts under contention; defaults to DEFAULT_INBOX_TRANSACTION_ATTEMPTS. */
  readonly maxTransactionAttempts?: number;
}

/** The answer of tryStart: do the work only when `started`, and finish with markProcessed or release. */
export type TryStartResult =
  | {
      readonly status: typeof InboxOutcome.Started;
      /** Proves to markProcessed, renew and release that this attempt still holds the message. */
      readonly token: string;
      /** When the claim lapses by Firestore's clock unless renewed (keepClaim renews it while the work runs). */
      readonly until: Date;
      /** True when an expired lease of an earlier attempt (probably crashed) was taken over. */
      readonly tookOver: boolean;
    }
  | { readonly status: typeof InboxOutcome.Duplicate; readonly processedAt: Date }
  | { readonly status: typeof InboxOutcome.InProgress; readonly until: Date };

/** The answer of process: the effect's value when this call applied it, otherwise why it did not run. */
export type ProcessResult<T> =
  | { readonly status: typeof InboxOutcome.Applied; readonly value: T; readonly processedAt: Date }
  | { readonly status: typeof InboxOutcome.Duplicate; readonly processedAt: Date }
  | { readonly status: typeof InboxOutcome.InProgress; readonly until: Date };

/** A state change that commits together with the processed mark; reads first, then writes (Firestore's rule). */
export type InboxEffect<T> = (transaction: Transaction) => Promise<T>;

const timestamp = z.instanceof(Timestamp);
const storedRecord = z.discriminatedUnion('status', [
  z.object({ status: z.literal(InboxRecordStatus.Processed), processedAt: timestamp }),
  z.object({ status: z.literal(InboxRecordStatus.InProgress), leaseToken: z.string(), leaseUntil: timestamp }),
]);
type StoredRecord = z.infer<typeof storedRecord>;
type Skipped = Exclude<TryStartResult, { readonly status: typeof InboxOutcome.Started }>;

/**
 * The consumer side of at-least-once delivery: one Firestore record per (consumer, message id) turns the
 * relay's redeliveries into harmless duplicates.
 *
 * Prefer `process`: the processed mark and the consumer's own writes commit in ONE transaction, so under
 * concurrent duplicate deliveries exactly one applies the effect. Use `tryStart` / `keepClaim` /
 * `markProcessed` / `release` only for work that cannot live in a Firestore transaction (e.g. calling an
 * external API), and give that API the message id as its idempotency key: a claim can still be lost.
 *
 * Claims are dated and compared by Firestore's clock (the transaction's readTime), never the consumer's own.
 */
export class FirestoreInbox {
  private readonly collection: CollectionReference;
  private readonly consumer: string;
  private readonly inProgressTtlMs: number;
  private readonly retentionMs: number;
  private readonly clock: (() => number) | undefined;
  private readonly logger: Logger;
  private readonly maxAttempts: number;

  constructor(
    private readonly firestore: Firestore,
    options: InboxOptions,
  ) {
    assertNamespace('consumer', options.consumer);
    assertDurationMs('inProgressTtlMs', options.inProgressTtlMs);
    assertDurationMs('retentionMs', options.retentionMs);
    if (options.retentionMs < options.inProgressTtlMs) {
      throw new InvalidInboxArgumentError('retentionMs', `must be at least inProgressTtlMs (${options.inProgressTtlMs})`);
    }
    const maxAttempts = options.maxTransactionAttempts ?? DEFAULT_INBOX_TRANSACTION_ATTEMPTS;
    if (!Number.isSafeInteger(maxAttempts) || maxAttempts < 1) {
      throw new InvalidInboxArgumentError('maxTransactionAttempts', 'must be a positive integer');
    }
    this.collection = firestore.collection(options.collection);
    this.consumer = options.consumer;
    this.inProgressTtlMs = options.inProgressTtlMs;
    this.retentionMs = options.retentionMs;
    this.clock = options.clock;
    this.logger = options.logger ?? createCloudLogger();
    this.maxAttempts = maxAttempts;
  }

  /**
   * Applies `effect` at most once per message id, in the same Firestore transaction that marks the message
   * processed. A processed message answers `duplicate` without running the effect; a message another attempt
   * holds through a live tryStart lease answers `in_progress` (an expired one is taken over).
   *
   * Rules for the effect, because it runs inside `runTransaction`:
   * - do every `transaction.get` before the first write (Firestore refuses reads after writes);
   * - write only through `transaction`, and cause no other side effect: on contention Firestore runs the
   *   whole function again, and only the attempt that commits counts;
   * - throw to reject the message: nothing is recorded, so a redelivery applies it again. The thrown
   *   value reaches the caller unchanged; a failure of the inbox itself becomes an InboxStoreError.
   */
  async process<T>(messageId: string, effect: InboxEffect<T>): Promise<ProcessResult<T>> {
    assertId('messageId', messageId);
    const ref = this.ref(messageId);
    let thrownByEffect: { readonly error: unknown } | undefined;
    const { result, tookOver } = await this.transact(
      messageId,
      async (transaction): Promise<{ readonly result: ProcessResult<T>; readonly tookOver: boolean }> => {
        thrownByEffect = undefined;
        const snapshot = await transaction.get(ref);
        const now = this.now(snapshot);
        const record = readRecord(ref, snapshot);
        const skipped = this.skip(record, now);
        if (skipped !== undefined) return { result: skipped, tookOver: false };
        let value: T;
        try {
          value = await effect(transaction);
        } catch (error) {
          thrownByEffect = { error };
          throw error;
        }
        transaction.set(ref, this.processedFields(messageId, now));
        return { result: { status: InboxOutcome.Applied, value, processedAt: new Date(now) }, tookOver: record !== undefined };
      },
      (error) => thrownByEffect !== undefined && thrownByEffect.error === error,
    );
    this.report(messageId, result, tookOver);
    return result;
  }

  /**
   * Claims a message for work outside Firestore: creates an in-progress record with a lease, or takes over
   * one whose lease expired, so a crashed consumer cannot block a message forever. Finish with
   * markProcessed (in the transaction that records the work's result) or release (when the work failed).
   */
  async tryStart(messageId: string): Promise<TryStartResult> {
    assertId('messageId', messageId);
    const ref = this.ref(messageId);
    const result = await this.transact(
      messageId,
      async (transaction): Promise<TryStartResult> => {
        const snapshot = await transaction.get(ref);
        const now = this.now(snapshot);
        const record = readRecord(ref, snapshot);
        const skipped = this.skip(record, now);
        if (skipped !== undefined) return skipped;
        const token = randomUUID();
        transaction.set(ref, this.inProgressFields(messageId, token, now));
        return { status: InboxOutcome.Started, token, until: new Date(now + this.inProgressTtlMs), tookOver: record !== undefined };
      },
      () => false,
    );
    this.report(messageId, result, result.status === InboxOutcome.Started && result.tookOver);
    return result;
  }

  /**
   * Marks a started message processed inside the caller's own transaction, so the consumer's state change
   * and the mark commit together. Throws InboxLeaseLostError (rolling the transaction back) unless `token`
   * still holds a live claim: a handler that outlived its claim cannot mark the message, even when no other
   * attempt took it over yet, as one may be running the effect already (renew the claim: keepClaim).
   * It reads the inbox record: call it before the transaction's first write. Firestore errors are not
   * wrapped here, so the caller's runTransaction can still retry on contention.
   */
  async markProcessed(transaction: Transaction, messageId: string, token: string): Promise<void> {
    assertId('messageId', messageId);
    const ref = this.ref(messageId);
    const snapshot = await transaction.get(ref);
    const now = this.now(snapshot);
    this.assertHeld(messageId, readRecord(ref, snapshot), token, now);
    transaction.set(ref, this.processedFields(messageId, now));
  }

  /**
   * Extends a started message's claim to inProgressTtlMs from now (Firestore's clock) and answers the new end.
   * Throws InboxLeaseLostError when `token` no longer holds a live claim. keepClaim calls it for you.
   */
  async renew(messageId: string, token: string): Promise<Date> {
    assertId('messageId', messageId);
    const ref = this.ref(messageId);
    return this.transact(
      messageId,
      async (transaction) => {
        const snapshot = await transaction.get(ref);
        const now = this.now(snapshot);
        this.assertHeld(messageId, readRecord(ref, snapshot), token, now);
        transaction.update(ref, { leaseUntil: Timestamp.fromMillis(now + this.inProgressTtlMs) });
        return new Date(now + this.inProgressTtlMs);
      },
      () => false,
    );
  }

  /**
   * Runs `work` (the external effect) while renewing the claim every third of inProgressTtlMs, so a handler
   * slower than the TTL keeps the message. `signal` aborts when the claim is lost (taken over after renewals
   * failed for a whole TTL): stop the work then; markProcessed would refuse it anyway. Give the external call
   * the message id as its own idempotency key, since a lost claim means another attempt may make it too.
   */
  async keepClaim<T>(messageId: string, token: string, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    assertId('messageId', messageId);
    return whileRenewing(() => this.renew(messageId, token), Math.max(1, Math.floor(this.inProgressTtlMs / 3)), work);
  }

  /** Gives a started message back after a failed attempt, so a redelivery can start at once; false if the token no longer holds it. */
  async release(messageId: string, token: string): Promise<boolean> {
    assertId('messageId', messageId);
    const ref = this.ref(messageId);
    const released = await this.transact(
      messageId,
      async (transaction) => {
        const record = readRecord(ref, await transaction.get(ref));
        if (record?.status !== InboxRecordStatus.InProgress || record.leaseToken !== token) return false;
        transaction.delete(ref);
        return true;
      },
      () => false,
    );
    this.logger.log('DEBUG', released ? 'inbox lease released' : 'inbox lease not held; nothing released', {
      consumer: this.consumer,
      messageId,
    });
    return released;
  }

  /** Refuses, with the reason, a token that no longer holds a live claim on the message. */
  private assertHeld(messageId: string, record: StoredRecord | undefined, token: string, now: number): void {
    if (record === undefined)
      throw new InboxLeaseLostError(this.consumer, messageId, 'its in-progress record is gone (released or expired)');
    if (record.status === InboxRecordStatus.Processed) throw new InboxLeaseLostError(this.consumer, messageId, 'it was already processed');
    if (record.leaseToken !== token) throw new InboxLeaseLostError(this.consumer, messageId, 'its lease was taken over by another attempt');
    if (remainingMs({ expiresAtMs: record.leaseUntil.toMillis() }, now) === 0) {
      throw new InboxLeaseLostError(this.consumer, messageId, 'its claim lapsed before the work finished (renew it: keepClaim)');
    }
  }

  /** Firestore's time as the transaction's read saw it, the only clock claims are dated and compared by. */
  private now(snapshot: DocumentSnapshot): number {
    return this.clock?.() ?? snapshot.readTime.toMillis();
  }

  /** The answer when the record says this attempt must not run: processed, or held by a live lease. */
  private skip(record: StoredRecord | undefined, now: number): Skipped | undefined {
    if (record?.status === InboxRecordStatus.Processed) return { status: InboxOutcome.Duplicate, processedAt: record.processedAt.toDate() };
    if (record?.status === InboxRecordStatus.InProgress && remainingMs({ expiresAtMs: record.leaseUntil.toMillis() }, now) > 0) {
      return { status: InboxOutcome.InProgress, until: record.leaseUntil.toDate() };
    }
    return undefined;
  }

  /** Runs one transaction; Firestore failures become InboxStoreError, the project's and the effect's own errors pass unchanged. */
  private async transact<R>(
    messageId: string,
    work: (transaction: Transaction) => Promise<R>,
    passThrough: (error: unknown) => boolean,
  ): Promise<R> {
    try {
      return await this.firestore.runTransaction(work, { maxAttempts: this.maxAttempts });
    } catch (error) {
      if (error instanceof OutboxError || passThrough(error)) throw error;
      throw new InboxStoreError(this.consumer, messageId, error);
    }
  }

  /** Logged after the commit, so a transaction that retried logs once; duplicates are expected, hence INFO. */
  private report(messageId: string, result: { readonly status: InboxOutcome }, tookOver: boolean): void {
    const fields = { consumer: this.consumer, messageId };
    if (tookOver) this.logger.log('WARNING', 'expired in-progress lease taken over', fields);
    if (result.status === InboxOutcome.Duplicate) this.logger.log('INFO', 'duplicate message skipped', fields);
    if (result.status === InboxOutcome.InProgress) this.logger.log('INFO', 'message in progress elsewhere', fields);
  }

  private ref(messageId: string): DocumentReference {
    return this.collection.doc(recordDocumentId(this.consumer, messageId));
  }

  private processedFields(messageId: string, now: number): Record<string, unknown> {
    return {
      consumer: this.consumer,
      messageId,
      status: InboxRecordStatus.Processed,
      processedAt: Timestamp.fromMillis(now),
      expireAt: Timestamp.fromMillis(now + this.retentionMs),
    };
  }

  private inProgressFields(messageId: string, token: string, now: number): Record<string, unknown> {
    return {
      consumer: this.consumer,
      messageId,
      status: InboxRecordStatus.InProgress,
      leaseToken: token,
      startedAt: Timestamp.fromMillis(now),
      leaseUntil: Timestamp.fromMillis(now + this.inProgressTtlMs),
      expireAt: Timestamp.fromMillis(now + this.retentionMs),
    };
  }
}

/** The record as this package wrote it, or undefined when there is none; anything else is refused rather than guessed at. */
function readRecord(ref: DocumentReference, snapshot: DocumentSnapshot): StoredRecord | undefined {
  if (!snapshot.exists) return undefined;
  const parsed = storedRecord.safeParse(snapshot.data());
  if (!parsed.success) throw new InvalidInboxRecordError(ref.path, z.prettifyError(parsed.error).replace(/\s+/g, ' '));
  return parsed.data;
}
