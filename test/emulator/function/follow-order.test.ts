import { FieldValue, Timestamp } from '@google-cloud/firestore';
import request from 'supertest';
import { memoryLogger, relayEnv, serveHandler } from '../../support/function-server.js';
import { idsWithStatus } from '../../support/outbox-fixtures.js';
import { useRelayFixture } from '../../support/relay-fixture.js';

const fx = useRelayFixture();

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Follow mode (FOLLOW_MS) and per-key order', () => {
  it('delivers events enqueued after a future-dated document while it follows, in order per key, in the same run', async () => {
    const logger = memoryLogger();
    const server = serveHandler({
      env: relayEnv(fx.router.url, fx.collections, { RUN_BUDGET_MS: '30000', FOLLOW_MS: '5000' }),
      logger,
    });
    const outbox = fx.db.collection(fx.collections.outbox);
    const run = request(server)
      .post('/')
      .then((r) => r);
    await sleep(500);

    // Written directly, with a createdAt of its own 8 s ahead of the server's clock.
    await outbox
      .doc('odd-future')
      .set({ type: 't', data: {}, orderingKey: 'other', createdAt: Timestamp.fromMillis(Date.now() + 8_000), status: 'pending' });
    await sleep(300);
    // As the producer API writes them: createdAt is the commit time, so both sort before the odd document.
    for (const id of ['a-1', 'a-2', 'a-3']) {
      await outbox.doc(id).set({ type: 't', data: {}, orderingKey: 'A', createdAt: FieldValue.serverTimestamp(), status: 'pending' });
      await sleep(100);
    }
    const response = await run;

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ stoppedBy: 'drained', delivered: 4 });
    expect(fx.router.acceptedIds().filter((id) => id.startsWith('a-'))).toEqual(['a-1', 'a-2', 'a-3']);
    expect(await idsWithStatus(fx.db, fx.collections.outbox, 'pending')).toEqual([]);
  });
});
