import { FieldValue, Timestamp, type Firestore } from '@google-cloud/firestore';
import { toPlain } from '../../../src/adapters/firestore-values.js';
import type { StoredDocument } from '../../../src/core/event.js';
import { shardOf } from '../../../src/core/shard.js';
import { validateEvent } from '../../../src/core/validate-event.js';
import { createOutbox, InvalidEventError, OutboxOptionsError, type NewEvent, type OutboxOptions } from '../../../src/producer/index.js';
import { createFirestore } from '../../../src/adapters/firestore-client.js';
import { purgeDelivered } from '../../../src/cli/commands/purge.js';
import { FirestoreInbox } from '../../../src/inbox/index.js';
import { emulatorFirestore, readAll, uniqueCollections } from '../../support/outbox-fixtures.js';

/** gRPC ALREADY_EXISTS; GrpcStatus is not a named export Jest's ESM interop can see in the CJS package. */
const ALREADY_EXISTS = 6;

let db: Firestore;
let outboxCollection: string;
let businessCollection: string;

beforeAll(() => {
  db = emulatorFirestore();
});
afterAll(async () => {
  await db.terminate();
});
beforeEach(() => {
  const collections = uniqueCollections();
  outboxCollection = collections.outbox;
  businessCollection = `orders_${collections.outbox}`;
});

function outbox(options: Partial<OutboxOptions> = {}) {
  return createOutbox(db, { collection: outboxCollection, shardCount: 8, ...options });
}

const orderCreated: NewEvent = { type: 'com.example.order.created', data: { orderId: 42, total: 9.5 }, orderingKey: 'order-42' };

describe('Producer API: createOutbox', () => {
  describe('Method: enqueue in a transaction', () => {
    it('commits the event together with the business write, pending, with a server createdAt and its ordering key’s shard', async () => {
      const order = db.collection(businessCollection).doc('order-42');

      const eventId = await db.runTransaction(async (tx) => {
        const cart = await tx.get(db.collection(businessCollection).doc('cart-42'));
        tx.create(order, { total: 9.5, fromCart: cart.exists, placedAt: FieldValue.serverTimestamp() });
        return outbox().enqueue(tx, orderCreated);
      });

      const stored = await db.collection(outboxCollection).doc(eventId).get();
      expect(stored.data()).toEqual({
        type: 'com.example.order.created',
        data: { orderId: 42, total: 9.5 },
        orderingKey: 'order-42',
        sequence: 1,
        status: 'pending',
        shard: shardOf('order-42', 8),
        shardCount: 8,
        createdAt: expect.any(Timestamp),
      });
      const business = await order.get();
      expect(business.exists).toBe(true);
      // Both server timestamps of one commit resolve to the same commit time.
      expect((stored.get('createdAt') as Timestamp).isEqual(business.get('placedAt') as Timestamp)).toBe(true);
    });

    it('leaves no event behind when the transaction throws after the enqueue', async () => {
      const order = db.collection(businessCollection).doc('order-42');

      const committed = db.runTransaction(async (tx) => {
        const cart = await tx.get(db.collection(businessCollection).doc('cart-42'));
        tx.create(order, { total: 9.5, fromCart: cart.exists });
        outbox().enqueue(tx, orderCreated);
        throw new Error('payment declined');
      });

      await expect(committed).rejects.toThrow('payment declined');
      expect((await readAll(db, outboxCollection)).size).toBe(0);
      expect((await order.get()).exists).toBe(false);
    });
  });

  describe('Method: enqueue in a batch', () => {
    it('commits the event with the batch', async () => {
      const batch = db.batch();
      batch.set(db.collection(businessCollection).doc('order-7'), { total: 3 });

      const eventId = outbox().enqueue(batch, { type: 'com.example.order.created', data: { orderId: 7 } });
      const notYet = await db.collection(outboxCollection).doc(eventId).get();
      await batch.commit();

      expect(notYet.exists).toBe(false);
      const stored = await db.collection(outboxCollection).doc(eventId).get();
      expect(stored.data()).toMatchObject({ type: 'com.example.order.created', data: { orderId: 7 }, status: 'pending' });
    });

    it('gives each event without an id a distinct Firestore id and takes its shard from that id', async () => {
      const batch = db.batch();

      const ids = [0, 1, 2].map((orderId) => outbox().enqueue(batch, { type: 'com.example.order.created', data: { orderId } }));
      await batch.commit();

      expect(new Set(ids).size).toBe(3);
      const stored = await readAll(db, outboxCollection);
      for (const id of ids) expect(stored.get(id)?.shard).toBe(shardOf(id, 8));
    });

    it('writes events the relay accepts as they are', async () => {
      const batch = db.batch();
      const id = outbox({ defaultSource: '/shop/orders' }).enqueue(batch, { ...orderCreated, subject: 'orders/42' });
      await batch.commit();

      const snapshot = await db.collection(outboxCollection).doc(id).get();
      const event = validateEvent(
        {
          id,
          fields: toPlain(snapshot.data()) as StoredDocument['fields'],
          version: snapshot.updateTime as unknown as StoredDocument['version'],
        },
        { maxPayloadBytes: 512 * 1024, shardCount: 8 },
      );

      expect(event).toMatchObject({
        id,
        type: 'com.example.order.created',
        source: '/shop/orders',
        subject: 'orders/42',
        orderingKey: 'order-42',
        attempts: 0,
      });
    });
  });

  describe('Event fields', () => {
    it('uses the outbox’s defaultSource when the event brings none, and the event’s own source otherwise', async () => {
      const producer = outbox({ defaultSource: '/shop' });
      const batch = db.batch();

      const plain = producer.enqueue(batch, { type: 'com.example.a', data: null });
      const own = producer.enqueue(batch, { type: 'com.example.b', data: null, source: 'https://shop.example.com/orders' });
      await batch.commit();

      const stored = await readAll(db, outboxCollection);
      expect(stored.get(plain)?.source).toBe('/shop');
      expect(stored.get(own)?.source).toBe('https://shop.example.com/orders');
    });

    it('writes no source, subject or orderingKey field when none is given', async () => {
      const batch = db.batch();

      const id = createOutbox(db, { collection: outboxCollection, shardCount: 1 }).enqueue(batch, { type: 'com.example.a', data: [] });
      await batch.commit();

      const stored = (await readAll(db, outboxCollection)).get(id);
      expect(Object.keys(stored ?? {}).sort()).toEqual(['createdAt', 'data', 'sequence', 'shard', 'shardCount', 'status', 'type']);
      expect(stored?.shard).toBe(0);
    });

    it('numbers the events of one commit in enqueue order (sequence), natural ids included', async () => {
      const batch = db.batch();
      const producer = outbox();

      const ids = ['z-created', 'a-paid', 'm-shipped'].map((id) => producer.enqueue(batch, { ...orderCreated, id }));
      await batch.commit();

      const stored = await readAll(db, outboxCollection);
      expect(ids.map((id) => stored.get(id)?.sequence)).toEqual([1, 2, 3]);
    });

    it('keeps every digit of a 64-bit integer in data', async () => {
      const batch = db.batch();

      const id = outbox().enqueue(batch, { ...orderCreated, data: { ledgerId: 9_007_199_254_740_993n } });
      await batch.commit();

      const exact = createFirestore(
        { projectId: process.env.GOOGLE_CLOUD_PROJECT, firestoreEmulatorHost: process.env.FIRESTORE_EMULATOR_HOST },
        { exactIntegers: true },
      );
      const snapshot = await exact.collection(outboxCollection).doc(id).get();
      await exact.terminate();
      expect(snapshot.get('data.ledgerId')).toBe(9_007_199_254_740_993n);
    });

    it('stores data as the JSON the router will receive', async () => {
      const batch = db.batch();

      const id = outbox().enqueue(batch, {
        type: 'com.example.order.paid',
        data: { paidAt: new Date('2026-02-03T04:05:06.000Z'), note: undefined, lines: [{ sku: 'a' }] },
      });
      await batch.commit();

      const stored = (await readAll(db, outboxCollection)).get(id);
      expect(stored?.data).toEqual({ paidAt: '2026-02-03T04:05:06.000Z', lines: [{ sku: 'a' }] });
    });
  });

  describe('Natural idempotency', () => {
    it('writes the caller’s id, and a second enqueue of that id fails its commit without touching the first event', async () => {
      const producer = outbox();
      const order = db.collection(businessCollection).doc('order-42');
      const placeOrder = (total: number) =>
        db.runTransaction(async (tx) => {
          const existing = await tx.get(order);
          tx.set(order, { total, revision: existing.exists ? 2 : 1 });
          return producer.enqueue(tx, { ...orderCreated, data: { orderId: 42, total }, id: 'order-42-created' });
        });
      const first = await placeOrder(9.5);

      const second = placeOrder(99);

      await expect(second).rejects.toMatchObject({ code: ALREADY_EXISTS });
      expect(first).toBe('order-42-created');
      const stored = await readAll(db, outboxCollection);
      expect([...stored.keys()]).toEqual(['order-42-created']);
      expect(stored.get('order-42-created')?.data).toEqual({ orderId: 42, total: 9.5 });
      expect((await order.get()).data()).toEqual({ total: 9.5, revision: 1 });
    });
    it('accepts a natural id again once its document was purged, as producer.md says, and only the consumer’s inbox still tells it is a repeat', async () => {
      const producer = outbox();
      const enqueueCreated = () =>
        db.runTransaction((tx) => Promise.resolve(producer.enqueue(tx, { ...orderCreated, id: 'order-42-created' })));
      const inbox = new FirestoreInbox(db, {
        collection: `inbox_${outboxCollection}`,
        consumer: 'orders',
        inProgressTtlMs: 60_000,
        retentionMs: 30 * 24 * 3_600_000,
        logger: { log: () => undefined },
      });
      await enqueueCreated();
      const firstDelivery = await inbox.process('order-42-created', () => Promise.resolve('applied'));
      await db
        .collection(outboxCollection)
        .doc('order-42-created')
        .update({ status: 'delivered', deliveredAt: Timestamp.fromMillis(Date.now() - 60_000) });
      await purgeDelivered(db, { outboxCollection }, new Date());

      const again = await enqueueCreated();
      const secondDelivery = await inbox.process('order-42-created', () => Promise.resolve('applied'));

      expect(again).toBe('order-42-created');
      expect((await db.collection(outboxCollection).doc('order-42-created').get()).get('status')).toBe('pending');
      expect(firstDelivery.status).toBe('applied');
      expect(secondDelivery.status).toBe('duplicate');
    });
  });

  describe('Validation', () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const tooDeep = Array.from({ length: 21 }).reduce<unknown>((inner) => ({ inner }), 'leaf');

    it.each<[string, Record<string, unknown>, string]>([
      ['an empty type', { type: '' }, 'type'],
      ['a type that is not a string', { type: 42 }, 'type'],
      ['a type with spaces', { type: 'order created' }, 'type'],
      ['a type starting with a dot', { type: '.order' }, 'type'],
      ['missing data', { data: undefined }, 'data'],
      ['circular data', { data: circular }, 'data'],
      ['a BigInt beyond 64 bits in data', { data: { amount: 2n ** 64n } }, 'data'],
      ['bytes in data', { data: { raw: Buffer.from('abc') } }, 'data'],
      ['a Map in data', { data: { lines: new Map([['a', 1]]) } }, 'data'],
      ['a class instance in data', { data: { at: new URL('https://example.com') } }, 'data'],
      ['a function inside data', { data: { total: 1, compute: () => 1 } }, 'data'],
      ['an id with a space', { id: 'order 42' }, 'id'],
      ['an id outside ASCII', { id: 'commande-42-créée' }, 'id'],
      ['NaN in data', { data: { total: Number.NaN } }, 'data'],
      ['a function as data', { data: () => 1 }, 'data'],
      ['an array directly inside an array', { data: { matrix: [[1, 2]] } }, 'data'],
      ['data nested deeper than Firestore stores', { data: tooDeep }, 'data'],
      ['an empty orderingKey', { orderingKey: '' }, 'orderingKey'],
      ['an orderingKey that is not a string', { orderingKey: 42 }, 'orderingKey'],
      ['an empty subject', { subject: '' }, 'subject'],
      ['a subject with a line break', { subject: 'orders/42\r\nx-injected: 1' }, 'subject'],
      ['an empty source', { source: '' }, 'source'],
      ['a source that is not a URI reference', { source: 'shop orders' }, 'source'],
      ['an empty id', { id: '' }, 'id'],
      ['an id with a slash', { id: 'orders/42' }, 'id'],
      ['a reserved id', { id: '__42__' }, 'id'],
    ])('refuses %s, naming the field, and writes nothing', async (_case, change, field) => {
      const batch = db.batch();

      const enqueue = () => outbox().enqueue(batch, { ...orderCreated, ...change });

      expect(enqueue).toThrow(InvalidEventError);
      expect(enqueue).toThrow(expect.objectContaining({ field, message: expect.stringContaining(`Cannot enqueue the event: ${field} `) }));
      await batch.commit();
      expect((await readAll(db, outboxCollection)).size).toBe(0);
    });

    it('accepts data nested exactly as deep as Firestore stores', async () => {
      const deepest = Array.from({ length: 20 }).reduce<unknown>((inner) => ({ inner }), 'leaf');
      const batch = db.batch();

      const id = outbox().enqueue(batch, { ...orderCreated, data: deepest });
      await batch.commit();

      expect((await readAll(db, outboxCollection)).get(id)?.data).toEqual(deepest);
    });

    it('accepts data of exactly maxPayloadBytes of JSON and refuses one byte more', () => {
      const producer = outbox({ maxPayloadBytes: 20 });
      const fits = 'x'.repeat(18); // 18 characters plus two quotes

      const accepted = () => producer.enqueue(db.batch(), { ...orderCreated, data: fits });
      const refused = () => producer.enqueue(db.batch(), { ...orderCreated, data: `${fits}y` });

      expect(accepted).not.toThrow();
      expect(refused).toThrow(
        expect.objectContaining({ field: 'data', message: expect.stringContaining('21 bytes of JSON, over the 20-byte limit') }),
      );
    });

    it('accepts the 512 KiB default and refuses more', () => {
      const producer = outbox();
      const quote = 2;

      const accepted = () => producer.enqueue(db.batch(), { ...orderCreated, data: 'x'.repeat(512 * 1024 - quote) });
      const refused = () => producer.enqueue(db.batch(), { ...orderCreated, data: 'x'.repeat(512 * 1024 - quote + 1) });

      expect(accepted).not.toThrow();
      expect(refused).toThrow(InvalidEventError);
    });

    it.each<[string, Partial<OutboxOptions>, string]>([
      ['a collection path instead of an id', { collection: 'tenants/t1/outbox' }, 'collection'],
      ['an empty collection', { collection: '' }, 'collection'],
      ['a shardCount of 0', { shardCount: 0 }, 'shardCount'],
      ['a fractional shardCount', { shardCount: 1.5 }, 'shardCount'],
      ['a shardCount over 64', { shardCount: 65 }, 'shardCount'],
      ['a defaultSource that is not a URI reference', { defaultSource: 'shop orders' }, 'defaultSource'],
      ['a maxPayloadBytes over Firestore’s document size', { maxPayloadBytes: 2 * 1024 * 1024 }, 'maxPayloadBytes'],
    ])('refuses to create an outbox with %s, naming the option', (_case, change, option) => {
      const create = () => createOutbox(db, { collection: outboxCollection, shardCount: 1, ...change });

      expect(create).toThrow(OutboxOptionsError);
      expect(create).toThrow(expect.objectContaining({ option }));
    });
  });
});
