import request from 'supertest';
import { parkedKeyDocumentId } from '../../../src/adapters/firestore-outbox-store.js';
import { outboxCollections } from '../../../src/config.js';
import { shardOf } from '../../../src/core/shard.js';
import { createOutbox } from '../../../src/producer/enqueue.js';
import { memoryLogger, relayEnv, serveHandler } from '../../support/function-server.js';
import { idsWithStatus, readAll } from '../../support/outbox-fixtures.js';
import { useRelayFixture } from '../../support/relay-fixture.js';

const fx = useRelayFixture();
const KEYS = 16;
/** Ten runs of the relay over the emulator, on a loaded machine. */
const SLOW = 120_000;
const PARKED_KEY = 'key-parked';

/** Enqueues `perKey` events for each key under `shardCount`, one commit per round so createdAt orders them. */
async function enqueue(shardCount: number, round: string, perKey: number): Promise<Map<string, string[]>> {
  const outbox = createOutbox(fx.db, { collection: fx.collections.outbox, shardCount });
  const byKey = new Map<string, string[]>();
  for (let n = 0; n < perKey; n += 1) {
    const batch = fx.db.batch();
    for (const key of [...Array.from({ length: KEYS }, (_, k) => `key-${k}`), PARKED_KEY]) {
      const id = outbox.enqueue(batch, { id: `${key}.${round}${n}`, type: 'order.changed', data: { n }, orderingKey: key });
      byKey.set(key, [...(byKey.get(key) ?? []), id]);
    }
    await batch.commit();
  }
  return byKey;
}

const parkedCollection = () => outboxCollections(fx.collections.outbox).parkedKeysCollection;

/** A relay deployment: every shard (SHARD_INDEX unset) or one, under a count and, while resharding, the previous one. */
function relay(env: Record<string, string>) {
  return request(
    serveHandler({
      // Small events: one run has room to take every shard.
      env: relayEnv(fx.router.url, fx.collections, { MAX_PAYLOAD_BYTES: '65536', ...env }),
      logger: memoryLogger(),
    }),
  ).post('/');
}

/** What the router accepted, per key, in arrival order. */
function arrivals(): Map<string, string[]> {
  const byKey = new Map<string, string[]>();
  for (const id of fx.router.acceptedIds()) {
    const key = id.slice(0, id.lastIndexOf('.'));
    byKey.set(key, [...(byKey.get(key) ?? []), id]);
  }
  return byKey;
}

async function park(key: string, shardCount: number): Promise<void> {
  await fx.db
    .collection(parkedCollection())
    .doc(parkedKeyDocumentId(key))
    .set({ orderingKey: key, eventId: 'an-old-dead-letter', deadLetters: ['an-old-dead-letter'], shard: shardOf(key, shardCount) });
}

async function reshard(from: number, to: number): Promise<void> {
  const old = await enqueue(from, 'old', 2);
  await park(PARKED_KEY, from);
  // The relay moves first (old and new side by side during its rollout): only old-count events exist yet.
  const [oldRelay, newRelay] = await Promise.all([
    relay({ SHARD_COUNT: String(from), SHARD_INDEX: '0' }),
    relay({ SHARD_COUNT: String(to), PREVIOUS_SHARD_COUNT: String(from), SHARD_INDEX: '0' }),
  ]);
  expect([oldRelay.status, newRelay.status]).toEqual([200, 200]);
  // Then producers switch to the new count; some old-count events are still pending.
  const added = await enqueue(to, 'new', 2);
  // The shards only the new count has run first, then every shard, run after run, until nothing moves.
  for (let shard = Math.min(from, to); shard < Math.max(from, to); shard += 1)
    expect((await relay({ SHARD_COUNT: String(to), PREVIOUS_SHARD_COUNT: String(from), SHARD_INDEX: String(shard) })).status).toBe(200);
  for (let run = 0; run < 4; run += 1)
    expect((await relay({ SHARD_COUNT: String(to), PREVIOUS_SHARD_COUNT: String(from) })).status).toBe(200);

  const delivered = arrivals();
  for (const [key, ids] of old) {
    if (key === PARKED_KEY) continue;
    // Every key's events in enqueue order: the old count's, then the new count's, each once.
    expect([key, delivered.get(key)]).toEqual([key, [...ids, ...(added.get(key) ?? [])]]);
  }
  expect(delivered.get(PARKED_KEY)).toBeUndefined();
  expect(await idsWithStatus(fx.db, fx.collections.outbox, 'dead_letter')).toEqual([]);
  const pending = await idsWithStatus(fx.db, fx.collections.outbox, 'pending');
  expect(pending).toEqual([...(old.get(PARKED_KEY) ?? []), ...(added.get(PARKED_KEY) ?? [])].sort());
  const stored = await readAll(fx.db, fx.collections.outbox);
  expect(stored.get(`${PARKED_KEY}.new0`)).toMatchObject({ shard: shardOf(PARKED_KEY, to), shardCount: to });
}

describe('Resharding online (SHARD_COUNT with PREVIOUS_SHARD_COUNT)', () => {
  it(
    '2 → 4: every key’s old-count events reach the router before its new-count ones; parked keys stay parked; nothing dead-lettered',
    async () => {
      await reshard(2, 4);
    },
    SLOW,
  );

  it(
    'a stray of the previous count (no createdAt) holds no key, not even its own: shard 0’s sweep dead-letters it, so the reshard can end',
    async () => {
      // Written by hand in shard 1 under the old count 2, keyed, without createdAt: no page returns it.
      await fx.db
        .collection(fx.collections.outbox)
        .doc('stray-old')
        .set({
          type: 'order.changed',
          data: { n: 0 },
          status: 'pending',
          orderingKey: 'key-stray',
          shard: 1,
          shardCount: 2,
        });

      const run = await relay({ SHARD_COUNT: '4', PREVIOUS_SHARD_COUNT: '2' });

      expect(run.status).toBe(200);
      expect((await readAll(fx.db, fx.collections.outbox)).get('stray-old')).toMatchObject({
        status: 'dead_letter',
        deadLetterReason: expect.stringContaining('createdAt') as unknown,
      });
    },
    SLOW,
  );

  it(
    '4 → 2: the shards beyond the new count are drained, not dead-lettered, and order per key holds',
    async () => {
      await reshard(4, 2);
    },
    SLOW,
  );
});
