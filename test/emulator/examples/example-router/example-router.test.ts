import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { Firestore } from '@google-cloud/firestore';
import { http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import request from 'supertest';
import { encodeEvent } from '../../../../src/adapters/cloudevents-encoding.js';
import type { OutboxEvent } from '../../../../src/core/event.js';
import { Instant } from '../../../../src/core/instant.js';
import { toJsonText } from '../../../../src/core/json-text.js';
import { createExampleRouter, readLedger, type ExampleRouterOptions } from '../../../../examples/example-router/example-router.js';
import { memoryLogger } from '../../../support/function-server.js';
import { emulatorFirestore } from '../../../support/outbox-fixtures.js';

const CREDITED = 'com.example.account.credited';
const DEBITED = 'com.example.account.debited';
const CHARGED = 'com.example.billing.charged';
const VOIDED = 'com.example.billing.voided';

let db: Firestore;

beforeAll(() => {
  db = emulatorFirestore();
});
afterAll(async () => {
  await db.terminate();
});

/** Registers a fresh router over fresh collections and returns its real Express server, as Cloud Functions serves it. */
function serveRouter() {
  const suffix = randomBytes(5).toString('hex');
  const logger = memoryLogger();
  const options: ExampleRouterOptions = {
    firestore: db,
    ledgerCollection: `ledger_${suffix}`,
    inboxCollection: `inbox_${suffix}`,
    consumer: 'example-ledger',
    logger,
  };
  const name = `exampleRouter_${suffix}`;
  http(name, createExampleRouter(options));
  return { server: getTestServer(name), logger, ledger: () => readLedger(db, options.ledgerCollection), options };
}

interface Delivery {
  readonly id: string;
  readonly type: string;
  readonly data: unknown;
  readonly attempt?: number;
}

/** The request exactly as the relay encodes it: binary-mode CloudEvent, idempotency-key, x-delivery-attempt. */
function encoded({ id, type, data, attempt = 1 }: Delivery) {
  const event: OutboxEvent = {
    id,
    type,
    body: toJsonText(data),
    bodyBytes: 0,
    createdAt: Instant.fromMillis(Date.UTC(2026, 0, 1)),
    source: '/tests',
    subject: undefined,
    orderingKey: undefined,
    attempts: 0,
    postAttempts: 0,
    nextAttemptAt: undefined,
    traceparent: undefined,
    tracestate: undefined,
    version: undefined as unknown as OutboxEvent['version'],
  };
  return encodeEvent(event, attempt, '/tests');
}

function deliver(server: Server, delivery: Delivery, headers: Record<string, string | undefined> = {}) {
  const { headers: sent, body } = encoded(delivery);
  const merged = Object.fromEntries(
    Object.entries({ ...sent, ...headers }).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  return request(server).post('/').set(merged).send(body);
}

describe('createExampleRouter', () => {
  describe('credits and debits', () => {
    it('credits an account and answers 200 with the new balance', async () => {
      const { server, ledger } = serveRouter();

      const response = await deliver(server, { id: 'evt-1', type: CREDITED, data: { accountId: 'acc-1', amount: 1_250 } });

      expect(response.status).toBe(200);
      expect(response.body).toEqual({ applied: true, eventId: 'evt-1', accountId: 'acc-1', balance: 1_250, sequence: 1 });
      expect((await ledger())['acc-1']).toMatchObject({ balance: 1_250, sequence: 1 });
    });

    it('changes the balance once when the same credit is POSTed twice, answering the second {"duplicate": true}', async () => {
      const { server, ledger } = serveRouter();
      const credit = { id: 'evt-1', type: CREDITED, data: { accountId: 'acc-1', amount: 1_250 } };
      await deliver(server, credit);

      const redelivery = await deliver(server, { ...credit, attempt: 2 });

      expect(redelivery.status).toBe(200);
      expect(redelivery.body).toEqual({ duplicate: true, eventId: 'evt-1' });
      expect((await ledger())['acc-1']).toMatchObject({ balance: 1_250, sequence: 1 });
    });

    it('changes the balance once when the same debit is POSTed 10 times concurrently', async () => {
      const { server, ledger } = serveRouter();
      const debit = { id: 'evt-1', type: DEBITED, data: { accountId: 'acc-1', amount: 300 } };

      const responses = await Promise.all(Array.from({ length: 10 }, () => deliver(server, debit)));

      expect(responses.map((r) => r.status)).toEqual(Array.from({ length: 10 }, () => 200));
      expect(responses.filter((r) => r.body.applied === true)).toHaveLength(1);
      expect(responses.filter((r) => r.body.duplicate === true)).toHaveLength(9);
      expect((await ledger())['acc-1']).toMatchObject({ balance: -300, sequence: 1 });
    });

    it('posts one journal entry per event, in the order the events of an account arrive, and ignores a late redelivery', async () => {
      const { server, ledger } = serveRouter();
      const events = [
        { id: 'evt-1', type: CREDITED, data: { accountId: 'acc-1', amount: 1_000 } },
        { id: 'evt-2', type: DEBITED, data: { accountId: 'acc-1', amount: 400 } },
        { id: 'evt-3', type: CREDITED, data: { accountId: 'acc-1', amount: 50 } },
      ];
      for (const event of events) await deliver(server, event).expect(200);

      await deliver(server, { ...events[0]!, attempt: 2 }).expect(200);

      expect((await ledger())['acc-1']).toEqual({
        balance: 650,
        sequence: 3,
        entries: [
          { sequence: 1, eventId: 'evt-1', type: CREDITED, delta: 1_000 },
          { sequence: 2, eventId: 'evt-2', type: DEBITED, delta: -400 },
          { sequence: 3, eventId: 'evt-3', type: CREDITED, delta: 50 },
        ],
      });
    });
  });

  describe('charges and voids', () => {
    it('debits a charge once when its billingId arrives under two message ids', async () => {
      const { server, ledger } = serveRouter();
      await deliver(server, { id: 'evt-1', type: CREDITED, data: { accountId: 'acc-1', amount: 10_000 } });
      const charge = { billingId: 'bill-7', accountId: 'acc-1', amount: 2_500 };

      const first = await deliver(server, { id: 'evt-2', type: CHARGED, data: charge });
      const second = await deliver(server, { id: 'evt-3', type: CHARGED, data: charge });

      expect(first.body).toMatchObject({ applied: true, billingId: 'bill-7', balance: 7_500 });
      expect(second.status).toBe(200);
      expect(second.body).toEqual({ applied: false, duplicate: true, billingId: 'bill-7', reason: 'already_charged' });
      expect((await ledger())['acc-1']).toMatchObject({ balance: 7_500, sequence: 2 });
    });

    it('declines a charge the balance cannot cover, refuses its replay, and charges a retry with a higher attempt', async () => {
      const { server, ledger } = serveRouter();
      const charge = { billingId: 'bill-7', accountId: 'acc-1', amount: 2_500 };
      const declined = await deliver(server, { id: 'evt-1', type: CHARGED, data: charge });
      await deliver(server, { id: 'evt-2', type: CREDITED, data: { accountId: 'acc-1', amount: 5_000 } });
      const replay = await deliver(server, { id: 'evt-3', type: CHARGED, data: charge });

      const retry = await deliver(server, { id: 'evt-4', type: CHARGED, data: { ...charge, attempt: 2 } });

      expect(declined.body).toEqual({ applied: false, billingId: 'bill-7', reason: 'insufficient_funds', attempt: 1 });
      expect(replay.body).toMatchObject({ applied: false, duplicate: true, reason: 'insufficient_funds', retryWithAttempt: 2 });
      expect(retry.body).toMatchObject({ applied: true, billingId: 'bill-7', balance: 2_500 });
      expect((await ledger())['acc-1']?.balance).toBe(2_500);
    });

    it('refunds a voided charge once even when the void arrives twice under different message ids', async () => {
      const { server, ledger } = serveRouter();
      await deliver(server, { id: 'evt-1', type: CREDITED, data: { accountId: 'acc-1', amount: 10_000 } });
      await deliver(server, { id: 'evt-2', type: CHARGED, data: { billingId: 'bill-7', accountId: 'acc-1', amount: 2_500 } });

      const first = await deliver(server, { id: 'evt-3', type: VOIDED, data: { billingId: 'bill-7' } });
      const second = await deliver(server, { id: 'evt-4', type: VOIDED, data: { billingId: 'bill-7' } });

      expect(first.body).toMatchObject({ applied: true, billingId: 'bill-7', refunded: 2_500, balance: 10_000 });
      expect(second.body).toEqual({ applied: false, duplicate: true, billingId: 'bill-7', reason: 'already_voided' });
      expect((await ledger())['acc-1']).toMatchObject({ balance: 10_000, sequence: 3 });
    });

    it('declines a charge whose billingId was voided before it arrived', async () => {
      const { server, ledger } = serveRouter();
      await deliver(server, { id: 'evt-1', type: CREDITED, data: { accountId: 'acc-1', amount: 10_000 } });
      await deliver(server, { id: 'evt-2', type: VOIDED, data: { billingId: 'bill-7' } });

      const charge = await deliver(server, {
        id: 'evt-3',
        type: CHARGED,
        data: { billingId: 'bill-7', accountId: 'acc-1', amount: 2_500 },
      });

      expect(charge.body).toMatchObject({ applied: false, reason: 'voided' });
      expect((await ledger())['acc-1']?.balance).toBe(10_000);
    });
  });

  describe('malformed events', () => {
    const credit = { id: 'evt-1', type: CREDITED, data: { accountId: 'acc-1', amount: 100 } };

    it.each([
      ['ce-id is missing', credit, { 'ce-id': undefined }, 400, 'malformed_cloudevent'],
      ['ce-specversion is not 1.0', credit, { 'ce-specversion': '0.3' }, 400, 'malformed_cloudevent'],
      ['the body is not JSON', credit, { 'content-type': 'text/plain' }, 400, 'malformed_data'],
      ['ce-type is unknown', { ...credit, type: 'com.example.account.frozen' }, {}, 422, 'unsupported_type'],
      ['the amount is not integer cents', { ...credit, data: { accountId: 'acc-1', amount: 1.5 } }, {}, 422, 'invalid_data'],
      ['the amount is negative', { ...credit, data: { accountId: 'acc-1', amount: -100 } }, {}, 422, 'invalid_data'],
      ['the accountId is missing', { ...credit, data: { amount: 100 } }, {}, 422, 'invalid_data'],
      ['the accountId contains "/"', { ...credit, data: { accountId: 'acc/1', amount: 100 } }, {}, 422, 'invalid_data'],
      ['a charge has no billingId', { ...credit, type: CHARGED, data: { accountId: 'acc-1', amount: 100 } }, {}, 422, 'invalid_data'],
    ])('answers 4xx and changes nothing when %s', async (_label, delivery, headers, status, error) => {
      const { server, ledger, options } = serveRouter();

      const response = await deliver(server, delivery, headers);

      expect(response.status).toBe(status);
      expect(response.body).toMatchObject({ error });
      expect(await ledger()).toEqual({});
      expect((await db.collection(options.inboxCollection).get()).empty).toBe(true);
    });

    it('names the invalid field without echoing its value', async () => {
      const { server, logger } = serveRouter();

      const response = await deliver(server, { ...credit, data: { accountId: 'acc-1', amount: 'card-4111-1111' } });

      expect(response.body.message).toContain('amount');
      expect(JSON.stringify(response.body)).not.toContain('card-4111');
      expect(JSON.stringify(logger.entries)).not.toContain('card-4111');
    });
  });

  describe('HTTP contract', () => {
    it('answers 405 with Allow: POST to a GET', async () => {
      const { server } = serveRouter();

      const response = await request(server).get('/');

      expect(response.status).toBe(405);
      expect(response.headers.allow).toBe('POST');
    });

    it('answers 500 when the ledger cannot be updated, so the relay retries, and applies the redelivery once repaired', async () => {
      const { server, ledger, options } = serveRouter();
      const account = db.collection(options.ledgerCollection).doc('acc-1');
      await account.set({ balance: 'corrupted', sequence: 0 });
      const credit = { id: 'evt-1', type: CREDITED, data: { accountId: 'acc-1', amount: 100 } };
      const failed = await deliver(server, credit);
      await account.set({ balance: 0, sequence: 0 });

      const redelivery = await deliver(server, { ...credit, attempt: 2 });

      expect(failed.status).toBe(500);
      expect(failed.body).toMatchObject({ error: 'internal', eventId: 'evt-1' });
      expect(redelivery.status).toBe(200);
      expect((await ledger())['acc-1']?.balance).toBe(100);
    });

    it('logs a redelivered event at INFO with the consumer and event id, and never the payload', async () => {
      const { server, logger } = serveRouter();
      const credit = { id: 'evt-1', type: CREDITED, data: { accountId: 'acc-secret-42', amount: 100 } };
      await deliver(server, credit);

      await deliver(server, { ...credit, attempt: 2 });

      expect(logger.entries).toContainEqual({
        severity: 'INFO',
        message: 'duplicate message skipped',
        fields: { consumer: 'example-ledger', messageId: 'evt-1' },
      });
      expect(JSON.stringify(logger.entries)).not.toContain('acc-secret-42');
    });
  });
});
