import { randomBytes } from 'node:crypto';
import { Timestamp, type Firestore, type Transaction } from '@google-cloud/firestore';
import {
  FirestoreBusinessKeys,
  FirestoreInbox,
  InvalidInboxArgumentError,
  recordDocumentId,
  type BusinessEffectResult,
  type BusinessKeyOptions,
} from '../../../src/inbox/index.js';
import { memoryLogger } from '../../support/function-server.js';
import { emulatorFirestore } from '../../support/outbox-fixtures.js';

const T0 = Date.UTC(2026, 0, 1);

let db: Firestore;

beforeAll(() => {
  db = emulatorFirestore();
});
afterAll(async () => {
  await db.terminate();
});

interface Charge {
  readonly messageId: string;
  readonly billingId: string;
  readonly amount: number;
  readonly attempt?: number;
}

/**
 * A small accounting consumer: an account with a balance, charges keyed by billingId (declined when the balance
 * is short), and voids that refund what the charge took. Every message goes through the inbox first.
 */
async function setup(options: Partial<BusinessKeyOptions> = {}, openingBalance = 10_000) {
  const suffix = randomBytes(5).toString('hex');
  const collection = `keys_${suffix}`;
  const keys = new FirestoreBusinessKeys(db, { collection, clock: () => T0, ...options });
  const inbox = new FirestoreInbox(db, {
    collection: `inbox_${suffix}`,
    consumer: 'accounting',
    inProgressTtlMs: 60_000,
    retentionMs: 86_400_000,
    logger: memoryLogger(),
  });
  const account = db.collection(`accounts_${suffix}`).doc('acc-1');
  await account.set({ balance: openingBalance });
  let effectRuns = 0;

  const debit = async (tx: Transaction, amount: number): Promise<BusinessEffectResult<{ amount: number }>> => {
    effectRuns += 1;
    const balance = Number((await tx.get(account)).get('balance'));
    if (balance < amount) return { outcome: 'failed', reason: 'card_declined' };
    tx.update(account, { balance: balance - amount });
    return { outcome: 'applied', value: { amount } };
  };
  const charge = ({ messageId, billingId, amount, attempt }: Charge) =>
    inbox.process(messageId, (tx) =>
      keys.applyOnce(tx, { scope: 'charge', key: billingId, attempt, messageId }, (inner) => debit(inner, amount)),
    );
  const voidCharge = (messageId: string, billingId: string) =>
    inbox.process(messageId, (tx) =>
      keys.applyOnce(tx, { scope: 'void', key: billingId, messageId }, async (inner) => {
        const charged = await keys.read(inner, 'charge', billingId);
        if (charged?.status !== 'applied') return { outcome: 'applied', value: { refunded: 0 } };
        const { amount } = charged.value as { amount: number };
        const balance = Number((await inner.get(account)).get('balance'));
        inner.update(account, { balance: balance + amount });
        return { outcome: 'applied', value: { refunded: amount } };
      }),
    );
  const balance = async () => Number((await account.get()).get('balance'));
  const record = (scope: string, key: string) => db.collection(collection).doc(recordDocumentId(scope, key));
  return { keys, inbox, account, charge, voidCharge, balance, record, effectRuns: () => effectRuns };
}

/** The applyOnce answer inside an inbox answer, failing the test if the inbox did not apply the message. */
function applied<T>(result: { status: string; value?: T }): T {
  if (result.status !== 'applied' || result.value === undefined)
    throw new Error(`expected the inbox to apply the message, got ${result.status}`);
  return result.value;
}

describe('Class: FirestoreBusinessKeys', () => {
  describe('Method: applyOnce', () => {
    it('charges a billing id once even when it arrives under two message ids', async () => {
      const { charge, balance } = await setup();

      const first = applied(await charge({ messageId: 'msg-1', billingId: 'bill-7', amount: 2_500 }));
      const second = applied(await charge({ messageId: 'msg-2', billingId: 'bill-7', amount: 2_500 }));

      expect(first).toEqual({ status: 'applied', value: { amount: 2_500 }, attempt: 1 });
      expect(second.status).toBe('already_applied');
      expect(await balance()).toBe(7_500);
    });

    it('answers a repeated billing id with the record of the charge that applied it', async () => {
      const { charge } = await setup();
      await charge({ messageId: 'msg-1', billingId: 'bill-7', amount: 2_500 });

      const repeat = applied(await charge({ messageId: 'msg-2', billingId: 'bill-7', amount: 2_500 }));

      expect(repeat).toEqual({
        status: 'already_applied',
        record: {
          scope: 'charge',
          key: 'bill-7',
          status: 'applied',
          attempt: 1,
          messageId: 'msg-1',
          value: { amount: 2_500 },
          updatedAt: new Date(T0),
        },
      });
    });

    it('charges once when one billing id arrives under 10 message ids concurrently', async () => {
      const { charge, balance } = await setup();

      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => charge({ messageId: `msg-${i}`, billingId: 'bill-7', amount: 1_000 })),
      );

      const statuses = results.map((r) => applied(r).status);
      expect(statuses.filter((s) => s === 'applied')).toHaveLength(1);
      expect(statuses.filter((s) => s === 'already_applied')).toHaveLength(9);
      expect(await balance()).toBe(9_000);
    });

    it('lets a void arrive twice harmlessly: the charge is refunded once', async () => {
      const { charge, voidCharge, balance } = await setup();
      await charge({ messageId: 'msg-1', billingId: 'bill-7', amount: 2_500 });

      const first = applied(await voidCharge('msg-2', 'bill-7'));
      const second = applied(await voidCharge('msg-3', 'bill-7'));

      expect(first).toMatchObject({ status: 'applied', value: { refunded: 2_500 } });
      expect(second).toMatchObject({ status: 'already_applied' });
      expect(await balance()).toBe(10_000);
    });

    it('records nothing when the effect throws, so a redelivery runs it', async () => {
      const { keys, record } = await setup();
      const failing = db.runTransaction((tx) =>
        keys.applyOnce(tx, { scope: 'charge', key: 'bill-7' }, () => Promise.reject(new Error('payment gateway unreachable'))),
      );
      await expect(failing).rejects.toThrow('payment gateway unreachable');
      const recordedAfterFailure = (await record('charge', 'bill-7').get()).exists;

      const retry = await db.runTransaction((tx) =>
        keys.applyOnce(tx, { scope: 'charge', key: 'bill-7' }, () => Promise.resolve({ outcome: 'applied', value: null })),
      );

      expect(recordedAfterFailure).toBe(false);
      expect(retry.status).toBe('applied');
    });

    it('keeps scopes apart: a void does not mark the charge of the same billing id', async () => {
      const { charge, voidCharge, record } = await setup();
      await voidCharge('msg-1', 'bill-7');

      const stored = await record('charge', 'bill-7').get();
      const later = applied(await charge({ messageId: 'msg-2', billingId: 'bill-7', amount: 100 }));

      expect(stored.exists).toBe(false);
      expect(later.status).toBe('applied');
    });

    it('sets expireAt only when retentionMs is given, so by default a key is never forgotten', async () => {
      const kept = await setup();
      const expiring = await setup({ retentionMs: 90 * 86_400_000 });

      await kept.charge({ messageId: 'msg-1', billingId: 'bill-7', amount: 100 });
      await expiring.charge({ messageId: 'msg-1', billingId: 'bill-7', amount: 100 });

      expect((await kept.record('charge', 'bill-7').get()).get('expireAt')).toBeUndefined();
      expect((await expiring.record('charge', 'bill-7').get()).get('expireAt')).toEqual(Timestamp.fromMillis(T0 + 90 * 86_400_000));
    });

    it.each([0, -1, 1.5])('throws InvalidInboxArgumentError for attempt %p', async (attempt) => {
      const { keys } = await setup();

      const rejection = db.runTransaction((tx) =>
        keys.applyOnce(tx, { scope: 'charge', key: 'bill-7', attempt }, () => Promise.resolve({ outcome: 'applied', value: 1 })),
      );

      await expect(rejection).rejects.toBeInstanceOf(InvalidInboxArgumentError);
    });
  });

  describe('Rule: a failed charge is final for its attempt; only a higher attempt retries it', () => {
    it('records a declined charge as failed with its reason and attempt, and debits nothing', async () => {
      const { charge, balance, record } = await setup({}, 1_000);

      const declined = applied(await charge({ messageId: 'msg-1', billingId: 'bill-7', amount: 2_500 }));

      expect(declined).toEqual({ status: 'failed', reason: 'card_declined', attempt: 1 });
      expect((await record('charge', 'bill-7').get()).data()).toMatchObject({
        status: 'failed',
        reason: 'card_declined',
        attempt: 1,
        messageId: 'msg-1',
      });
      expect(await balance()).toBe(1_000);
    });

    it('refuses the same billing id under another message id with the same attempt, without running the charge again', async () => {
      const { charge, account, balance, effectRuns } = await setup({}, 1_000);
      await charge({ messageId: 'msg-1', billingId: 'bill-7', amount: 2_500 });
      await account.update({ balance: 5_000 });
      const runsBefore = effectRuns();

      const replay = applied(await charge({ messageId: 'msg-2', billingId: 'bill-7', amount: 2_500 }));

      expect(replay).toMatchObject({
        status: 'already_failed',
        nextAttempt: 2,
        record: { status: 'failed', reason: 'card_declined', attempt: 1 },
      });
      expect(effectRuns()).toBe(runsBefore);
      expect(await balance()).toBe(5_000);
    });

    it('refuses a stale request carrying a lower attempt than the recorded failure', async () => {
      const { charge, account, balance } = await setup({}, 1_000);
      await charge({ messageId: 'msg-1', billingId: 'bill-7', amount: 2_500, attempt: 3 });
      await account.update({ balance: 5_000 });

      const stale = applied(await charge({ messageId: 'msg-2', billingId: 'bill-7', amount: 2_500, attempt: 2 }));

      expect(stale).toMatchObject({ status: 'already_failed', nextAttempt: 4 });
      expect(await balance()).toBe(5_000);
    });

    it('runs a retry that carries a higher attempt, and records it applied when it succeeds', async () => {
      const { charge, account, balance, record } = await setup({}, 1_000);
      await charge({ messageId: 'msg-1', billingId: 'bill-7', amount: 2_500 });
      await account.update({ balance: 5_000 });

      const retry = applied(await charge({ messageId: 'msg-2', billingId: 'bill-7', amount: 2_500, attempt: 2 }));

      expect(retry).toEqual({ status: 'applied', value: { amount: 2_500 }, attempt: 2 });
      expect((await record('charge', 'bill-7').get()).data()).toMatchObject({ status: 'applied', attempt: 2, messageId: 'msg-2' });
      expect(await balance()).toBe(2_500);
    });

    it('records a retry that fails again with its attempt, so the next retry needs a higher one still', async () => {
      const { charge, record } = await setup({}, 1_000);
      await charge({ messageId: 'msg-1', billingId: 'bill-7', amount: 2_500 });
      await charge({ messageId: 'msg-2', billingId: 'bill-7', amount: 2_500, attempt: 2 });

      const sameAttempt = applied(await charge({ messageId: 'msg-3', billingId: 'bill-7', amount: 2_500, attempt: 2 }));

      expect((await record('charge', 'bill-7').get()).data()).toMatchObject({ status: 'failed', attempt: 2, messageId: 'msg-2' });
      expect(sameAttempt).toMatchObject({ status: 'already_failed', nextAttempt: 3 });
    });

    it('never charges an applied billing id again, whatever attempt a request carries', async () => {
      const { charge, balance } = await setup();
      await charge({ messageId: 'msg-1', billingId: 'bill-7', amount: 2_500 });

      const retry = applied(await charge({ messageId: 'msg-2', billingId: 'bill-7', amount: 2_500, attempt: 9 }));

      expect(retry.status).toBe('already_applied');
      expect(await balance()).toBe(7_500);
    });
  });
});
