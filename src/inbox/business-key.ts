import { Timestamp, type CollectionReference, type DocumentReference, type Firestore, type Transaction } from '@google-cloud/firestore';
import { z } from 'zod';
import { InvalidInboxArgumentError, InvalidInboxRecordError } from '../errors.js';
import { assertDurationMs, assertId, assertNamespace } from './arguments.js';
import { recordDocumentId } from './document-id.js';

/** What a business key's record says happened to it; `applied` is final, `failed` may be retried by a higher attempt. */
export const BusinessKeyStatus = {
  Applied: 'applied',
  Failed: 'failed',
} as const;
export type BusinessKeyStatus = (typeof BusinessKeyStatus)[keyof typeof BusinessKeyStatus];

/** What one applyOnce call did; only `applied` and `failed` mean the effect ran in this transaction. */
export const ApplyOnceOutcome = {
  Applied: 'applied',
  Failed: 'failed',
  AlreadyApplied: 'already_applied',
  AlreadyFailed: 'already_failed',
} as const;
export type ApplyOnceOutcome = (typeof ApplyOnceOutcome)[keyof typeof ApplyOnceOutcome];

/** The business identity of an effect, e.g. `{ scope: 'charge', key: billingId }`, whatever message carries it. */
export interface BusinessKey {
  /** The kind of effect (e.g. "charge", "void"); keys of different scopes never meet. No ":" or "/". */
  readonly scope: string;
  /** The business id (e.g. a billingId); any non-empty string. */
  readonly key: string;
  /**
   * The producer's retry marker for this key, from 1 (the default). Only a request with a higher attempt than
   * the recorded failure runs the effect again. Never the transport's x-delivery-attempt: a redelivery must
   * carry the same attempt, or it would retry a declined charge by itself.
   */
  readonly attempt?: number;
  /** The message that carried the request, kept on the record so an audit can trace who applied the key. */
  readonly messageId?: string;
}

/** How the effect ended: `failed` is a business refusal (declined card) that is recorded, not thrown. */
export type BusinessEffectResult<T> =
  | { readonly outcome: typeof BusinessKeyStatus.Applied; readonly value: T }
  | { readonly outcome: typeof BusinessKeyStatus.Failed; readonly reason: string };

/** A business key's record as stored; `value` is whatever the applying effect returned, to be checked by the reader. */
export type BusinessKeyRecord =
  | (RecordCommon & { readonly status: typeof BusinessKeyStatus.Applied; readonly value: unknown })
  | (RecordCommon & { readonly status: typeof BusinessKeyStatus.Failed; readonly reason: string });

interface RecordCommon {
  readonly scope: string;
  readonly key: string;
  readonly attempt: number;
  readonly messageId: string | undefined;
  readonly updatedAt: Date;
}

/** The answer of applyOnce; the `already_*` answers carry the record that decided it. */
export type ApplyOnceResult<T> =
  | { readonly status: typeof ApplyOnceOutcome.Applied; readonly value: T; readonly attempt: number }
  | { readonly status: typeof ApplyOnceOutcome.Failed; readonly reason: string; readonly attempt: number }
  | {
      readonly status: typeof ApplyOnceOutcome.AlreadyApplied;
      readonly record: Extract<BusinessKeyRecord, { status: typeof BusinessKeyStatus.Applied }>;
    }
  | {
      readonly status: typeof ApplyOnceOutcome.AlreadyFailed;
      readonly record: Extract<BusinessKeyRecord, { status: typeof BusinessKeyStatus.Failed }>;
      /** The attempt a deliberate retry must carry to run the effect again. */
      readonly nextAttempt: number;
    };

/** Where business-key records live; without retentionMs they are kept forever, which is what "never twice" needs. */
export interface BusinessKeyOptions {
  readonly collection: string;
  /** When set, records carry `expireAt` for a Firestore TTL policy; a key older than this could apply again. */
  readonly retentionMs?: number;
  /** Milliseconds since the epoch; injectable for tests. Defaults to Date.now. */
  readonly clock?: () => number;
}

const timestamp = z.instanceof(Timestamp);
const recordCommon = {
  scope: z.string(),
  key: z.string(),
  attempt: z.number().int().positive(),
  messageId: z.string().optional(),
  updatedAt: timestamp,
};
const storedRecord = z.discriminatedUnion('status', [
  z.object({ ...recordCommon, status: z.literal(BusinessKeyStatus.Applied), value: z.unknown() }),
  z.object({ ...recordCommon, status: z.literal(BusinessKeyStatus.Failed), reason: z.string() }),
]);

/**
 * Idempotency by business key, for effects that must happen once per business id even when the id arrives
 * under different message ids (the inbox only dedupes by message id). One record per (scope, key) is read and
 * written inside the caller's transaction, so the effect and its record commit together.
 *
 * The rule for a failed effect: the effect returns `{ outcome: 'failed', reason }` for a business refusal (a
 * declined card, insufficient funds); that is recorded as `failed` with its attempt number and committed with
 * the effect's other writes. A later request for the same key runs the effect again ONLY if it carries a higher
 * `attempt` than the recorded one (a deliberate retry, e.g. after the customer updated the card); a redelivery
 * or another message with the same or a lower attempt is answered `already_failed` without running the
 * effect. An `applied` key is final: no attempt runs it again. An effect that throws records nothing (the
 * transaction rolls back), so throw for transient faults and let the message be redelivered.
 *
 * It does not log: it runs inside the caller's transaction, which may retry; log the answer after the commit.
 */
export class FirestoreBusinessKeys {
  private readonly collection: CollectionReference;
  private readonly retentionMs: number | undefined;
  private readonly clock: () => number;

  constructor(firestore: Firestore, options: BusinessKeyOptions) {
    if (options.retentionMs !== undefined) assertDurationMs('retentionMs', options.retentionMs);
    this.collection = firestore.collection(options.collection);
    this.retentionMs = options.retentionMs;
    this.clock = options.clock ?? Date.now;
  }

  /**
   * Runs `effect` unless the key was already applied, or failed at the same or a higher attempt. It reads the
   * key's record first, so call it before the transaction's first write; the effect itself must read before
   * it writes, and must write only through the transaction (it may run again when Firestore retries).
   */
  async applyOnce<T>(
    transaction: Transaction,
    businessKey: BusinessKey,
    effect: (transaction: Transaction) => Promise<BusinessEffectResult<T>>,
  ): Promise<ApplyOnceResult<T>> {
    const attempt = businessKey.attempt ?? 1;
    if (!Number.isSafeInteger(attempt) || attempt < 1) throw new InvalidInboxArgumentError('attempt', 'must be a positive integer');
    const record = await this.read(transaction, businessKey.scope, businessKey.key);
    if (record?.status === BusinessKeyStatus.Applied) return { status: ApplyOnceOutcome.AlreadyApplied, record };
    if (record?.status === BusinessKeyStatus.Failed && attempt <= record.attempt) {
      return { status: ApplyOnceOutcome.AlreadyFailed, record, nextAttempt: record.attempt + 1 };
    }
    const result = await effect(transaction);
    const outcome =
      result.outcome === BusinessKeyStatus.Applied
        ? { status: BusinessKeyStatus.Applied, value: result.value === undefined ? null : result.value }
        : { status: BusinessKeyStatus.Failed, reason: result.reason };
    transaction.set(this.ref(businessKey.scope, businessKey.key), this.fields(businessKey, attempt, outcome));
    return result.outcome === BusinessKeyStatus.Applied
      ? { status: ApplyOnceOutcome.Applied, value: result.value, attempt }
      : { status: ApplyOnceOutcome.Failed, reason: result.reason, attempt };
  }

  /** The key's record inside a transaction, e.g. so a void can find what the charge debited; a read, so before any write. */
  async read(transaction: Transaction, scope: string, key: string): Promise<BusinessKeyRecord | undefined> {
    const ref = this.ref(scope, key);
    const snapshot = await transaction.get(ref);
    if (!snapshot.exists) return undefined;
    const parsed = storedRecord.safeParse(snapshot.data());
    if (!parsed.success) throw new InvalidInboxRecordError(ref.path, z.prettifyError(parsed.error).replace(/\s+/g, ' '));
    const { updatedAt, messageId, ...rest } = parsed.data;
    return { ...rest, messageId, updatedAt: updatedAt.toDate() };
  }

  private ref(scope: string, key: string): DocumentReference {
    assertNamespace('scope', scope);
    assertId('key', key);
    return this.collection.doc(recordDocumentId(scope, key));
  }

  private fields(businessKey: BusinessKey, attempt: number, outcome: Record<string, unknown>): Record<string, unknown> {
    const now = this.clock();
    return {
      scope: businessKey.scope,
      key: businessKey.key,
      attempt,
      ...(businessKey.messageId === undefined ? {} : { messageId: businessKey.messageId }),
      ...outcome,
      updatedAt: Timestamp.fromMillis(now),
      ...(this.retentionMs === undefined ? {} : { expireAt: Timestamp.fromMillis(now + this.retentionMs) }),
    };
  }
}
