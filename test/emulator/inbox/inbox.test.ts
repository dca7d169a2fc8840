import { randomBytes } from 'node:crypto';
import { jest } from '@jest/globals';
import type { Config } from '@jest/types';
import { Timestamp, type DocumentReference, type Firestore, type Transaction } from '@google-cloud/firestore';
import {
  FirestoreInbox,
  InboxLeaseLostError,
  InboxStoreError,
  InvalidInboxArgumentError,
  InvalidInboxRecordError,
  recordDocumentId,
  type InboxOptions,
} from '../../../src/inbox/index.js';
import { memoryLogger } from '../../support/function-server.js';
import { emulatorFirestore } from '../../support/outbox-fixtures.js';

const T0 = Date.UTC(2026, 0, 1);
/** What a skewed wall clock leaves real: timers, microtasks and the monotonic clock. */
const EVERYTHING_BUT_DATE: Config.FakeableAPI[] = [
  'Temporal',
  'hrtime',
  'nextTick',
  'performance',
  'queueMicrotask',
  'requestAnimationFrame',
  'cancelAnimationFrame',
  'requestIdleCallback',
  'cancelIdleCallback',
  'setImmediate',
  'clearImmediate',
  'setInterval',
  'clearInterval',
  'setTimeout',
  'clearTimeout',
];
const TTL_MS = 60_000;
const RETENTION_MS = 7 * 24 * 60 * 60_000;

let db: Firestore;

beforeAll(() => {
  db = emulatorFirestore();
});
afterAll(async () => {
  await db.terminate();
});

/** A fresh inbox collection, a counter the effects increment, and a clock the test moves by hand. */
function setup(overrides: Partial<InboxOptions> = {}) {
  const suffix = randomBytes(5).toString('hex');
  const time = { now: T0 };
  const logger = memoryLogger();
  const options: InboxOptions = {
    collection: `inbox_${suffix}`,
    consumer: 'ledger',
    inProgressTtlMs: TTL_MS,
    retentionMs: RETENTION_MS,
    clock: () => time.now,
    logger,
    ...overrides,
  };
  const inbox = new FirestoreInbox(db, options);
  const counter = db.collection(`effects_${suffix}`).doc('counter');
  const record = (messageId: string, consumer = options.consumer) =>
    db.collection(options.collection).doc(recordDocumentId(consumer, messageId));
  return { inbox, counter, record, time, logger, options };
}

/** The consumer's state change: one read, then one write, through the inbox's transaction. */
async function increment(transaction: Transaction, counter: DocumentReference): Promise<number> {
  const snapshot = await transaction.get(counter);
  const count = Number(snapshot.get('count') ?? 0) + 1;
  transaction.set(counter, { count });
  return count;
}

async function countOf(counter: DocumentReference): Promise<number> {
  return Number((await counter.get()).get('count') ?? 0);
}

describe('Class: FirestoreInbox', () => {
  describe('Method: process', () => {
    it('applies the effect on the first delivery and answers with its value', async () => {
      const { inbox, counter, record } = setup();

      const result = await inbox.process('evt-1', (tx) => increment(tx, counter));

      expect(result).toEqual({ status: 'applied', value: 1, processedAt: new Date(T0) });
      expect(await countOf(counter)).toBe(1);
      expect((await record('evt-1').get()).data()).toMatchObject({ consumer: 'ledger', messageId: 'evt-1', status: 'processed' });
    });

    it('tells a second delivery of the same message id it is a duplicate and does not apply the effect again', async () => {
      const { inbox, counter } = setup();
      await inbox.process('evt-1', (tx) => increment(tx, counter));
      let ran = false;

      const result = await inbox.process('evt-1', async (tx) => {
        ran = true;
        return increment(tx, counter);
      });

      expect(result).toEqual({ status: 'duplicate', processedAt: new Date(T0) });
      expect(ran).toBe(false);
      expect(await countOf(counter)).toBe(1);
    });

    it('applies the effect exactly once when 20 deliveries of one message id arrive concurrently', async () => {
      const { inbox, counter } = setup();

      const results = await Promise.all(Array.from({ length: 20 }, () => inbox.process('evt-1', (tx) => increment(tx, counter))));

      expect(results.filter((r) => r.status === 'applied')).toHaveLength(1);
      expect(results.filter((r) => r.status === 'duplicate')).toHaveLength(19);
      expect(await countOf(counter)).toBe(1);
    });

    it('records nothing when the effect throws, so a redelivery applies it', async () => {
      const { inbox, counter, record } = setup();
      const failing = inbox.process('evt-1', async (tx) => {
        await increment(tx, counter);
        throw new Error('downstream validation failed');
      });
      await expect(failing).rejects.toThrow('downstream validation failed');
      const afterFailure = { exists: (await record('evt-1').get()).exists, count: await countOf(counter) };

      const retry = await inbox.process('evt-1', (tx) => increment(tx, counter));

      expect(afterFailure).toEqual({ exists: false, count: 0 });
      expect(retry.status).toBe('applied');
      expect(await countOf(counter)).toBe(1);
    });

    it("hands the effect's own error to the caller unchanged", async () => {
      const { inbox } = setup();
      const thrown = new RangeError('amount out of range');

      const rejection = inbox.process('evt-1', () => Promise.reject(thrown));

      await expect(rejection).rejects.toBe(thrown);
    });

    it('keeps the records of different consumers apart, so each applies the same message once', async () => {
      const { inbox, counter, options } = setup();
      const other = new FirestoreInbox(db, { ...options, consumer: 'notifications' });
      await inbox.process('evt-1', (tx) => increment(tx, counter));

      const result = await other.process('evt-1', (tx) => increment(tx, counter));

      expect(result.status).toBe('applied');
      expect(await countOf(counter)).toBe(2);
    });

    it('logs a duplicate at INFO with the consumer and message id', async () => {
      const { inbox, counter, logger } = setup();
      await inbox.process('evt-1', (tx) => increment(tx, counter));

      await inbox.process('evt-1', (tx) => increment(tx, counter));

      expect(logger.entries).toContainEqual({
        severity: 'INFO',
        message: 'duplicate message skipped',
        fields: { consumer: 'ledger', messageId: 'evt-1' },
      });
    });

    it('sets expireAt to the processing time plus retentionMs, for a Firestore TTL policy', async () => {
      const { inbox, counter, record } = setup();

      await inbox.process('evt-1', (tx) => increment(tx, counter));

      const stored = await record('evt-1').get();
      expect(stored.get('expireAt')).toEqual(Timestamp.fromMillis(T0 + RETENTION_MS));
      expect(stored.get('processedAt')).toEqual(Timestamp.fromMillis(T0));
    });

    it('answers in_progress without applying while another attempt holds a live tryStart lease', async () => {
      const { inbox, counter } = setup();
      await inbox.tryStart('evt-1');

      const result = await inbox.process('evt-1', (tx) => increment(tx, counter));

      expect(result).toEqual({ status: 'in_progress', until: new Date(T0 + TTL_MS) });
      expect(await countOf(counter)).toBe(0);
    });

    it('applies a message whose tryStart lease expired, since its holder presumably crashed', async () => {
      const { inbox, counter, time } = setup();
      await inbox.tryStart('evt-1');
      time.now = T0 + TTL_MS + 1;

      const result = await inbox.process('evt-1', (tx) => increment(tx, counter));

      expect(result.status).toBe('applied');
      expect(await countOf(counter)).toBe(1);
    });

    it('refuses a record it did not write with InvalidInboxRecordError instead of guessing', async () => {
      const { inbox, counter, record } = setup();
      await record('evt-1').set({ status: 'done-ish' });

      const rejection = inbox.process('evt-1', (tx) => increment(tx, counter));

      await expect(rejection).rejects.toBeInstanceOf(InvalidInboxRecordError);
      expect(await countOf(counter)).toBe(0);
    });

    it('turns a failed commit into InboxStoreError so the caller answers 5xx, and records nothing', async () => {
      const { inbox, counter, record } = setup();
      const oversized = { blob: 'x'.repeat(1_100_000) };

      const rejection = inbox.process('evt-1', async (tx) => {
        await increment(tx, counter);
        tx.set(counter.parent.doc('oversized'), oversized);
      });

      await expect(rejection).rejects.toBeInstanceOf(InboxStoreError);
      expect((await record('evt-1').get()).exists).toBe(false);
      expect(await countOf(counter)).toBe(0);
    });
  });

  describe('Method: tryStart', () => {
    it('starts a message with a lease token and tells a second attempt it is in progress until the lease ends', async () => {
      const { inbox, time } = setup();
      const first = await inbox.tryStart('evt-1');
      time.now = T0 + TTL_MS - 1;

      const second = await inbox.tryStart('evt-1');

      expect(first).toMatchObject({ status: 'started', until: new Date(T0 + TTL_MS), tookOver: false });
      expect(first.status === 'started' && first.token.length > 0).toBe(true);
      expect(second).toEqual({ status: 'in_progress', until: new Date(T0 + TTL_MS) });
    });

    it('takes over an in-progress record whose lease expired, with a new token', async () => {
      const { inbox, time, logger } = setup();
      const crashed = await inbox.tryStart('evt-1');
      time.now = T0 + TTL_MS + 1;

      const takeover = await inbox.tryStart('evt-1');

      expect(takeover).toMatchObject({ status: 'started', tookOver: true, until: new Date(T0 + 2 * TTL_MS + 1) });
      expect(crashed.status === 'started' && takeover.status === 'started' && crashed.token !== takeover.token).toBe(true);
      expect(logger.entries.some((e) => e.severity === 'WARNING' && e.message === 'expired in-progress lease taken over')).toBe(true);
    });

    it('tells an attempt on a processed message it is a duplicate', async () => {
      const { inbox, counter } = setup();
      await inbox.process('evt-1', (tx) => increment(tx, counter));

      const result = await inbox.tryStart('evt-1');

      expect(result).toEqual({ status: 'duplicate', processedAt: new Date(T0) });
    });

    it('starts exactly one of 20 concurrent attempts', async () => {
      const { inbox } = setup();

      const results = await Promise.all(Array.from({ length: 20 }, () => inbox.tryStart('evt-1')));

      expect(results.filter((r) => r.status === 'started')).toHaveLength(1);
      expect(results.filter((r) => r.status === 'in_progress')).toHaveLength(19);
    });

    it('sets expireAt to the start time plus retentionMs', async () => {
      const { inbox, record } = setup();

      await inbox.tryStart('evt-1');

      const stored = await record('evt-1').get();
      expect(stored.get('status')).toBe('in_progress');
      expect(stored.get('expireAt')).toEqual(Timestamp.fromMillis(T0 + RETENTION_MS));
    });
  });

  describe('Method: markProcessed', () => {
    it("commits the processed mark together with the consumer's own writes", async () => {
      const { inbox, counter } = setup();
      const started = await inbox.tryStart('evt-1');
      if (started.status !== 'started') throw new Error(`expected started, got ${started.status}`);

      await db.runTransaction(async (tx) => {
        const snapshot = await tx.get(counter);
        await inbox.markProcessed(tx, 'evt-1', started.token);
        tx.set(counter, { count: Number(snapshot.get('count') ?? 0) + 1 });
      });

      expect(await countOf(counter)).toBe(1);
      expect((await inbox.tryStart('evt-1')).status).toBe('duplicate');
    });

    it("refuses a stale token after a takeover and commits none of that transaction's writes", async () => {
      const { inbox, counter, time } = setup();
      const stale = await inbox.tryStart('evt-1');
      if (stale.status !== 'started') throw new Error(`expected started, got ${stale.status}`);
      time.now = T0 + TTL_MS + 1;
      await inbox.tryStart('evt-1');

      const rejection = db.runTransaction(async (tx) => {
        const snapshot = await tx.get(counter);
        await inbox.markProcessed(tx, 'evt-1', stale.token);
        tx.set(counter, { count: Number(snapshot.get('count') ?? 0) + 1 });
      });

      await expect(rejection).rejects.toBeInstanceOf(InboxLeaseLostError);
      expect(await countOf(counter)).toBe(0);
    });

    it('refuses the token of a claim that lapsed, even when no other attempt took it over, so a handler that outlived its claim cannot mark the message', async () => {
      const { inbox, time, counter } = setup();
      const started = await inbox.tryStart('evt-1');
      if (started.status !== 'started') throw new Error(`expected started, got ${started.status}`);
      time.now = T0 + TTL_MS;

      const rejection = db.runTransaction(async (tx) => {
        const snapshot = await tx.get(counter);
        await inbox.markProcessed(tx, 'evt-1', started.token);
        tx.set(counter, { count: Number(snapshot.get('count') ?? 0) + 1 });
      });

      await expect(rejection).rejects.toThrow(/lapsed/);
      expect(await countOf(counter)).toBe(0);
      expect((await inbox.tryStart('evt-1')).status).toBe('started');
    });
  });

  describe('Method: renew', () => {
    it('extends a live claim to inProgressTtlMs from now, so a redelivery after the first TTL still answers in_progress', async () => {
      const { inbox, time } = setup();
      const started = await inbox.tryStart('evt-1');
      if (started.status !== 'started') throw new Error(`expected started, got ${started.status}`);
      time.now = T0 + TTL_MS - 1;

      const until = await inbox.renew('evt-1', started.token);
      time.now = T0 + TTL_MS + 1;

      expect(until).toEqual(new Date(T0 + 2 * TTL_MS - 1));
      expect(await inbox.tryStart('evt-1')).toEqual({ status: 'in_progress', until: new Date(T0 + 2 * TTL_MS - 1) });
    });

    it('refuses a token whose claim another attempt took over', async () => {
      const { inbox, time } = setup();
      const stale = await inbox.tryStart('evt-1');
      if (stale.status !== 'started') throw new Error(`expected started, got ${stale.status}`);
      time.now = T0 + TTL_MS + 1;
      await inbox.tryStart('evt-1');

      await expect(inbox.renew('evt-1', stale.token)).rejects.toBeInstanceOf(InboxLeaseLostError);
    });

    it('refuses a claim that already lapsed, since another attempt may have started the effect', async () => {
      const { inbox, time } = setup();
      const started = await inbox.tryStart('evt-1');
      if (started.status !== 'started') throw new Error(`expected started, got ${started.status}`);
      time.now = T0 + TTL_MS;

      await expect(inbox.renew('evt-1', started.token)).rejects.toThrow(/lapsed/);
    });
  });

  describe("Method: keepClaim, a handler slower than inProgressTtlMs (Firestore's clock)", () => {
    const SHORT_TTL_MS = 1_500;

    it('keeps the claim while the handler runs, so a redelivery meanwhile answers in_progress and the effect runs once', async () => {
      const { inbox, counter } = setup({ clock: undefined, inProgressTtlMs: SHORT_TTL_MS });
      const started = await inbox.tryStart('evt-1');
      if (started.status !== 'started') throw new Error(`expected started, got ${started.status}`);
      const redeliveries: string[] = [];
      let effects = 0;

      await inbox.keepClaim('evt-1', started.token, async () => {
        effects += 1;
        const until = performance.now() + 3 * SHORT_TTL_MS;
        while (performance.now() < until) {
          await new Promise((resolve) => setTimeout(resolve, SHORT_TTL_MS / 2));
          redeliveries.push((await inbox.tryStart('evt-1')).status);
        }
      });
      await db.runTransaction(async (tx) => {
        const snapshot = await tx.get(counter);
        await inbox.markProcessed(tx, 'evt-1', started.token);
        tx.set(counter, { count: Number(snapshot.get('count') ?? 0) + 1 });
      });

      expect(redeliveries.length).toBeGreaterThan(2);
      expect(redeliveries.filter((status) => status !== 'in_progress')).toEqual([]);
      expect(effects).toBe(1);
      expect(await countOf(counter)).toBe(1);
      expect((await inbox.tryStart('evt-1')).status).toBe('duplicate');
    }, 60_000);

    it('aborts the work once another attempt took the claim over', async () => {
      const { inbox, record } = setup({ clock: undefined, inProgressTtlMs: SHORT_TTL_MS });
      const started = await inbox.tryStart('evt-1');
      if (started.status !== 'started') throw new Error(`expected started, got ${started.status}`);

      const reason = await inbox.keepClaim('evt-1', started.token, async (signal) => {
        await record('evt-1').update({ leaseToken: 'another-attempt' });
        await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
        return signal.reason as unknown;
      });

      expect(reason).toBeInstanceOf(InboxLeaseLostError);
    }, 60_000);

    it('hands back what the work returned and renews nothing once it returned', async () => {
      const { inbox, record } = setup({ clock: undefined, inProgressTtlMs: SHORT_TTL_MS });
      const started = await inbox.tryStart('evt-1');
      if (started.status !== 'started') throw new Error(`expected started, got ${started.status}`);

      const value = await inbox.keepClaim('evt-1', started.token, () => Promise.resolve('receipt-7'));
      const until = (await record('evt-1').get()).get('leaseUntil') as Timestamp;
      await new Promise((resolve) => setTimeout(resolve, SHORT_TTL_MS));

      expect(value).toBe('receipt-7');
      expect((await record('evt-1').get()).get('leaseUntil')).toEqual(until);
    }, 60_000);
  });

  describe("Clocks: claims lapse by Firestore's clock, whatever the consumer's own says", () => {
    afterEach(() => {
      jest.useRealTimers();
    });

    /**
     * Moves this process's wall clock (Date) by `skewMs`, as a consumer on a machine whose clock is off sees it;
     * it keeps running at real speed, and timers stay real.
     */
    const skewWallClock = (skewMs: number): void => {
      jest.useFakeTimers({ now: Date.now() + skewMs, advanceTimers: true, doNotFake: EVERYTHING_BUT_DATE });
    };

    it('does not let a consumer whose clock is 10 minutes ahead take over a live claim', async () => {
      const { inbox, options } = setup({ clock: undefined });
      const holder = await inbox.tryStart('evt-1');
      skewWallClock(10 * 60_000);
      const ahead = new FirestoreInbox(db, options);

      const redelivery = await ahead.tryStart('evt-1');

      expect(holder.status).toBe('started');
      expect(redelivery.status).toBe('in_progress');
    });

    it('does not let a consumer with the right time take over the live claim of one whose clock is 10 minutes behind', async () => {
      const { options } = setup({ clock: undefined });
      skewWallClock(-10 * 60_000);
      const holder = await new FirestoreInbox(db, options).tryStart('evt-1');
      jest.useRealTimers();

      const redelivery = await new FirestoreInbox(db, options).tryStart('evt-1');

      expect(holder.status).toBe('started');
      expect(redelivery.status).toBe('in_progress');
    });

    it('frees the claim of a crashed consumer whose clock was 5 minutes ahead within inProgressTtlMs', async () => {
      const ttlMs = 1_500;
      const { options } = setup({ clock: undefined, inProgressTtlMs: ttlMs });
      skewWallClock(5 * 60_000);
      const crashed = await new FirestoreInbox(db, options).tryStart('evt-1');
      jest.useRealTimers();
      const redeliverer = new FirestoreInbox(db, options);
      const startedAt = performance.now();

      let redelivery = await redeliverer.tryStart('evt-1');
      // Generous for a loaded machine; a claim dated by the crashed consumer's clock would hold for 5 minutes.
      while (redelivery.status !== 'started' && performance.now() - startedAt < ttlMs + 15_000) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        redelivery = await redeliverer.tryStart('evt-1');
      }

      expect(crashed.status).toBe('started');
      expect(redelivery).toMatchObject({ status: 'started', tookOver: true });
    }, 60_000);
  });

  describe('Method: release', () => {
    it('lets a redelivery start at once after a failed attempt', async () => {
      const { inbox } = setup();
      const failed = await inbox.tryStart('evt-1');
      if (failed.status !== 'started') throw new Error(`expected started, got ${failed.status}`);

      const released = await inbox.release('evt-1', failed.token);
      const redelivery = await inbox.tryStart('evt-1');

      expect(released).toBe(true);
      expect(redelivery).toMatchObject({ status: 'started', tookOver: false });
    });

    it('leaves alone a lease another attempt took over', async () => {
      const { inbox, time } = setup();
      const stale = await inbox.tryStart('evt-1');
      if (stale.status !== 'started') throw new Error(`expected started, got ${stale.status}`);
      time.now = T0 + TTL_MS + 1;
      await inbox.tryStart('evt-1');

      const released = await inbox.release('evt-1', stale.token);

      expect(released).toBe(false);
      expect((await inbox.tryStart('evt-1')).status).toBe('in_progress');
    });
  });

  describe('Document ids', () => {
    it('keeps a short, safe message id readable as consumer:messageId', async () => {
      const { inbox, counter, options } = setup();

      await inbox.process('evt-1', (tx) => increment(tx, counter));

      expect((await db.collection(options.collection).doc('ledger:evt-1').get()).exists).toBe(true);
    });

    it.each([
      ['600 characters long', 'ledger', 'x'.repeat(600)],
      ['containing "/"', 'ledger', 'orders/42/created'],
      ['that would read as a reserved __name__', '__audit', 'evt__'],
    ])('hashes a message id %s to a 64-hex-character document id that still dedupes', async (_label, consumer, messageId) => {
      const { inbox, counter, options } = setup({ consumer });

      const first = await inbox.process(messageId, (tx) => increment(tx, counter));
      const second = await inbox.process(messageId, (tx) => increment(tx, counter));

      const stored = await db.collection(options.collection).get();
      expect([first.status, second.status]).toEqual(['applied', 'duplicate']);
      expect(stored.docs.map((doc) => doc.id)).toEqual([expect.stringMatching(/^[0-9a-f]{64}$/)]);
      expect(stored.docs[0]?.data()).toMatchObject({ consumer, messageId });
      expect(await countOf(counter)).toBe(1);
    });
  });

  describe('Constructor', () => {
    it.each([
      [{ consumer: '' }, 'consumer'],
      [{ consumer: 'billing:v2' }, 'consumer'],
      [{ inProgressTtlMs: 0 }, 'inProgressTtlMs'],
      [{ retentionMs: 1.5 }, 'retentionMs'],
      [{ inProgressTtlMs: 10_000, retentionMs: 5_000 }, 'retentionMs'],
    ])('throws InvalidInboxArgumentError naming the option for %j', (overrides, argument) => {
      let thrown: unknown;

      try {
        setup(overrides);
      } catch (error) {
        thrown = error;
      }

      expect(thrown).toBeInstanceOf(InvalidInboxArgumentError);
      expect(thrown).toMatchObject({ argument });
    });

    it('throws InvalidInboxArgumentError for an empty message id before touching Firestore', async () => {
      const { inbox, counter } = setup();

      await expect(inbox.process('', (tx) => increment(tx, counter))).rejects.toBeInstanceOf(InvalidInboxArgumentError);
    });
  });
});
