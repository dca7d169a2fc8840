import { Timestamp, type Firestore } from '@google-cloud/firestore';
import request from 'supertest';
import { shardOf } from '../../../src/core/shard.js';
import { cliEnv, runInProcess } from '../../support/cli-runner.js';
import { closeServedHandlers, memoryLogger, relayEnv, serveHandler } from '../../support/function-server.js';
import { startLoopbackRouter, type LoopbackRouter } from '../../support/loopback-router.js';
import { emulatorFirestore, readAll, uniqueCollections } from '../../support/outbox-fixtures.js';

let db: Firestore;
let router: LoopbackRouter;
let collections: { outbox: string; audit: string };

beforeAll(() => {
  db = emulatorFirestore();
});
afterAll(async () => {
  await closeServedHandlers();
  await db.terminate();
});
beforeEach(async () => {
  collections = uniqueCollections();
  router = await startLoopbackRouter();
});
afterEach(async () => {
  await router.close();
});

/** A key that lands in a shard other than 0 of four. */
const KEY = ['order-1', 'order-2', 'order-3', 'order-4'].find((key) => shardOf(key, 4) !== 0) ?? 'order-1';
const SHARD = shardOf(KEY, 4);

describe('Command: redrive in a sharded outbox', () => {
  it('keeps the event in its shard when the shell has no SHARD_COUNT, says so, and its key keeps its order', async () => {
    const outbox = db.collection(collections.outbox);
    const event = { type: 't', data: {}, orderingKey: KEY, shard: SHARD };
    await outbox
      .doc('k-1')
      .set({ ...event, createdAt: Timestamp.fromMillis(Date.UTC(2026, 0, 1)), status: 'dead_letter', deadLetterReason: 'x' });
    await outbox.doc('k-2').set({ ...event, createdAt: Timestamp.fromMillis(Date.UTC(2026, 0, 1) + 1), status: 'pending' });

    const redrive = await runInProcess(['redrive', 'k-1'], cliEnv(collections.outbox));
    const response = await request(
      serveHandler({
        env: relayEnv(router.url, collections, { SHARD_COUNT: '4', SHARD_INDEX: String(SHARD), KEY_AFTER_DEAD_LETTER: 'continue' }),
        logger: memoryLogger(),
      }),
    ).post('/');

    expect(router.acceptedIds()).toEqual(['k-1', 'k-2']);
    expect(redrive.code).toBe(0);
    expect(redrive.stdout).toContain(`kept in shard ${SHARD}; SHARD_COUNT=1 here would put it in shard 0`);
    expect((await readAll(db, collections.outbox)).get('k-1')).toMatchObject({ shard: SHARD });
    expect(response.body).toMatchObject({ delivered: 2 });
  });
});
