import { Timestamp, type Firestore } from '@google-cloud/firestore';
import request from 'supertest';
import { FirestoreOutboxStore, OLD_COUNT_PAGE_SIZE } from '../../../src/adapters/firestore-outbox-store.js';
import type { OutboxStore } from '../../../src/core/ports.js';
import { memoryLogger, relayEnv, serveHandler } from '../../support/function-server.js';
import { idsWithStatus } from '../../support/outbox-fixtures.js';
import { useRelayFixture } from '../../support/relay-fixture.js';
import { withOverrides } from '../../support/store-overrides.js';

/*
 * The reads the stray sweep and the page query make on Firestore, bounded: documents without a status are
 * looked for only when the sweep plan counts the whole outbox (or while a scan begun then goes on), and a
 * relay instance's next run reads on past the events its last run left waiting.
 */

const fx = useRelayFixture();

function storeOn(
  db: Firestore,
  outbox: string,
  shard: { readonly index: number; readonly count: number; readonly previousCount?: number } = { index: 0, count: 1 },
): FirestoreOutboxStore {
  return new FirestoreOutboxStore(db, {
    outboxCollection: outbox,
    auditCollection: `${outbox}_runs`,
    parkedKeysCollection: `${outbox}_parked`,
    leaseRef: db.collection(`${outbox}_leases`).doc('lease'),
    shard,
    deliveredRetentionDays: 0,
  });
}

const at = (ms: number) => Timestamp.fromMillis(Date.UTC(2026, 0, 1) + ms);

describe('Class: FirestoreOutboxStore', () => {
  describe('Method: fetchStrays', () => {
    it('finds a document without a status only in a sweep that counts the whole outbox', async () => {
      const outbox = fx.db.collection(fx.collections.outbox);
      await outbox.doc('fine').set({ type: 't', data: {}, createdAt: at(1), status: 'delivered' });
      await outbox.doc('no-status').set({ type: 't', data: {}, createdAt: at(2) });
      const store = storeOn(fx.db, fx.collections.outbox);

      const withoutCount = await store.fetchStrays(200, { wholeOutbox: false });
      const counted = await store.fetchStrays(200, { wholeOutbox: true });

      expect(withoutCount.map((d) => d.id)).toEqual([]);
      expect(counted.map((d) => d.id)).toEqual(['no-status']);
    });

    it('goes on in later sweeps with a scan its count began, without counting again, until the scan ends', async () => {
      const outbox = fx.db.collection(fx.collections.outbox);
      const batch = fx.db.batch();
      // 30 documents with a status sort before the two without: a sweep scans at most 10 pages of `limit` (2).
      for (let i = 0; i < 30; i += 1)
        batch.set(outbox.doc(`a-${String(i).padStart(2, '0')}`), { type: 't', createdAt: at(i), status: 'delivered' });
      batch.set(outbox.doc('z-1'), { type: 't', createdAt: at(40) });
      batch.set(outbox.doc('z-2'), { type: 't', createdAt: at(41) });
      await batch.commit();
      const store = storeOn(fx.db, fx.collections.outbox);

      const first = await store.fetchStrays(2, { wholeOutbox: true });
      const next = await store.fetchStrays(2, { wholeOutbox: false });
      await outbox.doc('z-3').set({ type: 't', createdAt: at(42) });
      const afterTheScan = await store.fetchStrays(2, { wholeOutbox: false });

      expect(first.map((d) => d.id)).toEqual([]);
      expect(next.map((d) => d.id)).toEqual(['z-1', 'z-2']);
      expect(afterTheScan.map((d) => d.id)).toEqual([]);
    });
  });
});

describe('Runs of one relay instance', () => {
  it('read on past the events the last run left waiting, and still deliver a new event of their key after them', async () => {
    const outbox = fx.db.collection(fx.collections.outbox);
    const later = Timestamp.fromMillis(Date.now() + 60 * 60_000);
    await outbox
      .doc('k-1')
      .set({ type: 't', data: {}, orderingKey: 'k', createdAt: at(1), status: 'pending', nextAttemptAt: later, attempts: 1 });
    await outbox.doc('free-1').set({ type: 't', data: {}, createdAt: at(2), status: 'pending' });
    const read: string[][] = [];
    const counting = (store: OutboxStore): OutboxStore =>
      withOverrides(store, {
        fetchPending: async (limit, after, maxBytes) => {
          const page = await store.fetchPending(limit, after, maxBytes);
          read.at(-1)?.push(...page.documents.map((d) => d.id));
          return page;
        },
      });
    // One server, one relay: its runs share the instance's memory, as a deployed instance's do.
    const server = serveHandler({ env: relayEnv(fx.router.url, fx.collections), logger: memoryLogger(), wrapStore: counting });
    read.push([]);
    const first = await request(server).post('/');
    await outbox.doc('k-2').set({ type: 't', data: {}, orderingKey: 'k', createdAt: Timestamp.now(), status: 'pending' });
    await outbox.doc('free-2').set({ type: 't', data: {}, createdAt: Timestamp.now(), status: 'pending' });
    read.push([]);

    const second = await request(server).post('/');

    expect(first.body).toMatchObject({ delivered: 1, waiting: 1 });
    // k-1, not read again, still counts as waiting.
    expect(second.body).toMatchObject({ fetched: 2, delivered: 1, waiting: 2 });
    expect(read).toEqual([
      ['k-1', 'free-1'],
      ['k-2', 'free-2'],
    ]);
    expect(fx.router.acceptedIds()).toEqual(['free-1', 'free-2']);
    expect(await idsWithStatus(fx.db, fx.collections.outbox, 'pending')).toEqual(['k-1', 'k-2']);
  });

  describe('Method: fetchParkedKeys while resharding', () => {
    it('holds the key of every old-count event pending in another shard, also past the first page of them', async () => {
      const outbox = fx.db.collection(fx.collections.outbox);
      // One more old-count event (SHARD_COUNT 2, shard 1) than a page holds; the last in document order has key `late`.
      const count = OLD_COUNT_PAGE_SIZE + 1;
      for (let start = 0; start < count; start += 500) {
        const batch = fx.db.batch();
        for (let i = start; i < Math.min(count, start + 500); i += 1)
          batch.set(outbox.doc(`old-${String(i).padStart(5, '0')}`), {
            type: 't',
            data: {},
            createdAt: at(i),
            status: 'pending',
            shard: 1,
            shardCount: 2,
            orderingKey: i === count - 1 ? 'late' : `k${i}`,
          });
        await batch.commit();
      }

      // Before, a run read at most 5,000 of them and stopped with fetch_failed beyond that.
      const elsewhere = await storeOn(fx.db, fx.collections.outbox, { index: 0, count: 4, previousCount: 2 }).fetchParkedKeys();
      const ownShard = await storeOn(fx.db, fx.collections.outbox, { index: 1, count: 4, previousCount: 2 }).fetchParkedKeys();

      expect(elsewhere.size).toBe(count);
      expect(elsewhere.has('late')).toBe(true);
      expect(ownShard.size).toBe(0);
    });
  });
});
