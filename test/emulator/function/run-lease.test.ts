import { Timestamp } from '@google-cloud/firestore';
import request from 'supertest';
import { outboxCollections } from '../../../src/config.js';
import { memoryLogger, relayEnv, serveHandler } from '../../support/function-server.js';
import { idsWithStatus, seedEvents } from '../../support/outbox-fixtures.js';
import { useRelayFixture } from '../../support/relay-fixture.js';

const fx = useRelayFixture();

const leaseDoc = () => fx.db.collection(outboxCollections(fx.collections.outbox).leaseCollection).doc(`${fx.collections.outbox}.shard-0`);
const serve = (overrides: Record<string, string> = {}) =>
  serveHandler({ env: relayEnv(fx.router.url, fx.collections, overrides), logger: memoryLogger() });

/** Resolves once the router has received `count` requests. */
async function routerReceived(count: number): Promise<void> {
  while (fx.router.received.length < count) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('Run lease', () => {
  it('answers 200 "lease-held" without POSTing when another run is delivering', async () => {
    await seedEvents(fx.db, fx.collections.outbox, 3);
    fx.router.script = () => ({ respond: 200, delayMs: 400 });
    const server = serve({ DELIVERY_CONCURRENCY: '1' });

    const first = request(server)
      .post('/')
      .then((r) => r);
    await routerReceived(1);
    const second = await request(server).post('/');

    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ skipped: 'lease-held' });
    expect((await first).body).toMatchObject({ delivered: 3 });
    expect(fx.router.received).toHaveLength(3);
  });

  it('releases the lease when the run ends, so the next run delivers', async () => {
    await seedEvents(fx.db, fx.collections.outbox, 1);
    const server = serve();

    await request(server).post('/').expect(200);
    await seedEvents(fx.db, fx.collections.outbox, 2, { baseMs: Date.UTC(2026, 1, 1) });
    const next = await request(server).post('/');

    expect((await leaseDoc().get()).exists).toBe(false);
    expect(next.body).toMatchObject({ delivered: 2 });
  });

  it('takes over a lease that has expired', async () => {
    await seedEvents(fx.db, fx.collections.outbox, 2);
    await leaseDoc().set({ owner: 'crashed-run', token: 'old', expiresAt: Timestamp.fromMillis(Date.now() - 1000) });

    const response = await request(serve()).post('/');

    expect(response.body).toMatchObject({ delivered: 2 });
  });

  it('does not take a lease that has not expired yet', async () => {
    await seedEvents(fx.db, fx.collections.outbox, 2);
    await leaseDoc().set({ owner: 'live-run', token: 'theirs', expiresAt: Timestamp.fromMillis(Date.now() + 60_000) });

    const response = await request(serve()).post('/');

    expect(response.body).toMatchObject({ skipped: 'lease-held', heldBy: 'live-run' });
    expect(fx.router.received).toHaveLength(0);
  });

  it('records nothing once another run has taken its lease, stops starting POSTs, and answers 200 saying so', async () => {
    await seedEvents(fx.db, fx.collections.outbox, 4);
    fx.router.script = () => ({ respond: 200, delayMs: 150 });
    const server = serve({ DELIVERY_CONCURRENCY: '1' });

    const run = request(server)
      .post('/')
      .then((r) => r);
    await routerReceived(1);
    await leaseDoc().set({ owner: 'newer-run', token: 'newer', expiresAt: Timestamp.fromMillis(Date.now() + 60_000) });
    const response = await run;

    // The POSTs succeeded: a 500 would only make Scheduler POST them again.
    expect(response.status).toBe(200);
    expect(response.body.unrecorded).toBe(response.body.delivered);
    expect(await idsWithStatus(fx.db, fx.collections.outbox, 'delivered')).toEqual([]);
    expect((await leaseDoc().get()).get('token')).toBe('newer');
  });
});
