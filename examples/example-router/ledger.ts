import { FieldValue, type CollectionReference, type DocumentReference, type Firestore, type Transaction } from '@google-cloud/firestore';
import { z } from 'zod';
import { ApplyOnceOutcome, FirestoreBusinessKeys, InvalidInboxRecordError, type ApplyOnceResult } from 'outbound-event-handler/inbox';
import { ExampleEventType, type ExampleEvent } from './example-event.js';

/** Business-key scopes of the example: a charge and a void of one billingId are tracked apart. */
export const LedgerScope = {
  Charge: 'charge',
  Void: 'void',
} as const;

/** Why a charge was declined; recorded as the business key's failure reason. */
export const DeclineReason = {
  InsufficientFunds: 'insufficient_funds',
  Voided: 'voided',
} as const;

/** One account as readLedger returns it: the balance and the journal that explains it, oldest first. */
export interface LedgerAccount {
  readonly balance: number;
  /** How many entries were posted; each event that moved money adds one, so per-account order can be checked. */
  readonly sequence: number;
  readonly entries: readonly LedgerEntry[];
}

/** One posting: the event that caused it and the signed amount in cents. */
export interface LedgerEntry {
  readonly sequence: number;
  readonly eventId: string;
  readonly type: string;
  readonly delta: number;
}

/** What applying one event answers: the HTTP body, and whether it was a business-key duplicate (logged at INFO). */
export interface LedgerAnswer {
  readonly body: Readonly<Record<string, unknown>>;
  readonly duplicateKey: { readonly scope: string; readonly key: string } | undefined;
}

const ENTRIES = 'entries';
const storedAccount = z.object({ balance: z.number().int(), sequence: z.number().int().nonnegative() });
const chargeValue = z.object({ accountId: z.string(), amount: z.number().int() });

interface LoadedAccount {
  readonly id: string;
  readonly ref: DocumentReference;
  readonly balance: number;
  readonly sequence: number;
}

/**
 * The example's state: accounts in `ledgerCollection` (one document per accountId, with a journal of entries
 * below it) and charge/void records in a business-key collection. Every method runs inside the inbox's
 * transaction and reads everything before it writes.
 */
export class ExampleLedger {
  private readonly accounts: CollectionReference;
  private readonly keys: FirestoreBusinessKeys;

  constructor(firestore: Firestore, options: { readonly ledgerCollection: string; readonly businessKeyCollection: string }) {
    this.accounts = firestore.collection(options.ledgerCollection);
    this.keys = new FirestoreBusinessKeys(firestore, { collection: options.businessKeyCollection });
  }

  /** Applies one validated event; the inbox has already made sure this message id was not applied before. */
  async apply(transaction: Transaction, event: ExampleEvent): Promise<LedgerAnswer> {
    switch (event.type) {
      case ExampleEventType.AccountCredited:
      case ExampleEventType.AccountDebited: {
        const { accountId, amount } = event.data;
        const account = await this.load(transaction, accountId);
        const delta = event.type === ExampleEventType.AccountCredited ? amount : -amount;
        const posted = this.post(transaction, account, event, delta);
        return { body: { applied: true, eventId: event.id, accountId, ...posted }, duplicateKey: undefined };
      }
      case ExampleEventType.BillingCharged:
        return this.charge(transaction, event);
      case ExampleEventType.BillingVoided:
        return this.void(transaction, event);
    }
  }

  /** Debits once per billingId (whatever message carries it); declined when the balance is short or the billing was voided. */
  private async charge(
    transaction: Transaction,
    event: Extract<ExampleEvent, { type: 'com.example.billing.charged' }>,
  ): Promise<LedgerAnswer> {
    const { billingId, accountId, amount, attempt } = event.data;
    const key = { scope: LedgerScope.Charge, key: billingId };
    const result = await this.keys.applyOnce(transaction, { ...key, attempt, messageId: event.id }, async (tx) => {
      const voided = await this.keys.read(tx, LedgerScope.Void, billingId);
      const account = await this.load(tx, accountId);
      if (voided !== undefined) return { outcome: 'failed', reason: DeclineReason.Voided };
      if (account.balance < amount) return { outcome: 'failed', reason: DeclineReason.InsufficientFunds };
      return { outcome: 'applied', value: { accountId, amount, ...this.post(tx, account, event, -amount, billingId) } };
    });
    return answer(result, key, { billingId }, 'already_charged');
  }

  /** Refunds what the charge of this billingId debited, once; a void before any charge refunds nothing and declines that charge later. */
  private async void(
    transaction: Transaction,
    event: Extract<ExampleEvent, { type: 'com.example.billing.voided' }>,
  ): Promise<LedgerAnswer> {
    const { billingId } = event.data;
    const key = { scope: LedgerScope.Void, key: billingId };
    const result = await this.keys.applyOnce(transaction, { ...key, messageId: event.id }, async (tx) => {
      const charge = await this.keys.read(tx, LedgerScope.Charge, billingId);
      if (charge?.status !== 'applied') return { outcome: 'applied', value: { refunded: 0 } };
      const charged = chargeValue.parse(charge.value);
      const account = await this.load(tx, charged.accountId);
      return {
        outcome: 'applied',
        value: { refunded: charged.amount, accountId: charged.accountId, ...this.post(tx, account, event, charged.amount, billingId) },
      };
    });
    return answer(result, key, { billingId }, 'already_voided');
  }

  private async load(transaction: Transaction, accountId: string): Promise<LoadedAccount> {
    const ref = this.accounts.doc(accountId);
    const snapshot = await transaction.get(ref);
    if (!snapshot.exists) return { id: accountId, ref, balance: 0, sequence: 0 };
    const parsed = storedAccount.safeParse(snapshot.data());
    if (!parsed.success) throw new InvalidInboxRecordError(ref.path, 'an account needs an integer balance and sequence');
    return { id: accountId, ref, ...parsed.data };
  }

  /** Writes the new balance and one journal entry; the entry id is the sequence, so replays cannot interleave unseen. */
  private post(
    transaction: Transaction,
    account: LoadedAccount,
    event: ExampleEvent,
    delta: number,
    billingId?: string,
  ): { balance: number; sequence: number } {
    const balance = account.balance + delta;
    const sequence = account.sequence + 1;
    const postedAt = FieldValue.serverTimestamp();
    transaction.set(account.ref, { accountId: account.id, balance, sequence, lastEventId: event.id, updatedAt: postedAt });
    transaction.set(account.ref.collection(ENTRIES).doc(String(sequence).padStart(12, '0')), {
      sequence,
      eventId: event.id,
      type: event.type,
      delta,
      ...(billingId === undefined ? {} : { billingId }),
      postedAt,
    });
    return { balance, sequence };
  }
}

/** Every account with its journal, for tests and the local demo; one query per account, so not for large ledgers. */
export async function readLedger(firestore: Firestore, ledgerCollection: string): Promise<Record<string, LedgerAccount>> {
  const accounts = await firestore.collection(ledgerCollection).get();
  const ledger: Record<string, LedgerAccount> = {};
  for (const account of accounts.docs) {
    const entries = await account.ref.collection(ENTRIES).orderBy('sequence').get();
    ledger[account.id] = {
      balance: Number(account.get('balance')),
      sequence: Number(account.get('sequence')),
      entries: entries.docs.map((entry) => ({
        sequence: Number(entry.get('sequence')),
        eventId: String(entry.get('eventId')),
        type: String(entry.get('type')),
        delta: Number(entry.get('delta')),
      })),
    };
  }
  return ledger;
}

/** The HTTP body for a keyed effect: applied, declined now, or a repeat of a decided billingId (a duplicate for the relay too). */
function answer<T extends object>(
  result: ApplyOnceResult<T>,
  key: { readonly scope: string; readonly key: string },
  ids: Readonly<Record<string, string>>,
  alreadyReason: string,
): LedgerAnswer {
  switch (result.status) {
    case ApplyOnceOutcome.Applied:
      return { body: { applied: true, ...ids, ...result.value }, duplicateKey: undefined };
    case ApplyOnceOutcome.Failed:
      return { body: { applied: false, ...ids, reason: result.reason, attempt: result.attempt }, duplicateKey: undefined };
    case ApplyOnceOutcome.AlreadyApplied:
      return { body: { applied: false, duplicate: true, ...ids, reason: alreadyReason }, duplicateKey: key };
    case ApplyOnceOutcome.AlreadyFailed:
      return {
        body: {
          applied: false,
          duplicate: true,
          ...ids,
          reason: result.record.reason,
          attempt: result.record.attempt,
          retryWithAttempt: result.nextAttempt,
        },
        duplicateKey: key,
      };
  }
}
