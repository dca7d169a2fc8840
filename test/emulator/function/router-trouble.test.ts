import { Timestamp } from '@google-cloud/firestore';
import request from 'supertest';
import { memoryLogger, relayEnv, serveHandler } from '../../support/function-server.js';
import { startIdleDroppingProxy, type DropMode, type IdleDroppingProxy } from '../../support/idle-dropping-proxy.js';
import { idsWithStatus, seedEvents } from '../../support/outbox-fixtures.js';
import { useRelayFixture } from '../../support/relay-fixture.js';

const fx = useRelayFixture();

/** Pending events named `${prefix}-N`, newer than any seeded before. */
async function addEvents(prefix: string, count: number): Promise<void> {
  const batch = fx.db.batch();
  for (let i = 0; i < count; i += 1)
    batch.set(fx.db.collection(fx.collections.outbox).doc(`${prefix}-${i}`), {
      type: 'order.created',
      data: { i },
      createdAt: Timestamp.now(),
      status: 'pending',
    });
  await batch.commit();
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 20));
}

describe('The router’s trouble is not the events’', () => {
  it('delivers the rest when a crashed consumer’s claims refuse the 6 oldest events with Retry-After (defaults)', async () => {
    await seedEvents(fx.db, fx.collections.outbox, 106);
    const claimed = new Set(['evt-0000', 'evt-0001', 'evt-0002', 'evt-0003', 'evt-0004', 'evt-0005']);
    fx.router.script = (req) => (claimed.has(req.eventId) ? { respond: 503, headers: { 'retry-after': '5' } } : { respond: 200 });
    const server = serveHandler({ env: relayEnv(fx.router.url, fx.collections), logger: memoryLogger() });

    const response = await request(server).post('/');

    expect(response.status).toBe(500);
    expect(response.body).toMatchObject({ error: 'delivery_failed', delivered: 100, failed: 6, deadLettered: 0 });
    expect(await idsWithStatus(fx.db, fx.collections.outbox, 'pending')).toEqual([...claimed]);
  });

  describe('behind a middlebox that drops idle connections', () => {
    let proxy: IdleDroppingProxy | undefined;
    afterEach(async () => {
      await proxy?.close();
      proxy = undefined;
    });

    const runsThrough = async (mode: DropMode, middleboxIdleMs: number, env: Record<string, string>) => {
      proxy = await startIdleDroppingProxy(fx.router.url, middleboxIdleMs, mode);
      const server = serveHandler({ env: relayEnv(proxy.url, fx.collections, env), logger: memoryLogger() });
      await addEvents('first', 20);
      const first = await request(server).post('/');
      // Every connection of the first run is gone, whoever closed it, before the next run.
      const opened = proxy;
      await until(() => opened.dropped + opened.closedByClient === opened.connections);
      await addEvents('second', 20);
      const second = await request(server).post('/');
      return { first, second, proxy: opened };
    };

    it('sends a POST reset on a reused connection again on a new one: the next run delivers, no router_failing', async () => {
      const { first, second, proxy: used } = await runsThrough('reset', 300, { ROUTER_SOCKET_IDLE_MS: '600000' });

      expect(first.body).toMatchObject({ delivered: 20 });
      expect(used.dropped).toBeGreaterThan(0);
      expect(second.status).toBe(200);
      expect(second.body).toMatchObject({ delivered: 20, failed: 0 });
    });

    it('closes connections idle for ROUTER_SOCKET_IDLE_MS, before a middlebox drops them without a word', async () => {
      const {
        first,
        second,
        proxy: used,
      } = await runsThrough('blackhole', 1_500, { ROUTER_SOCKET_IDLE_MS: '200', POST_TIMEOUT_MS: '3000' });

      expect(first.body).toMatchObject({ delivered: 20 });
      expect(used.dropped).toBe(0);
      expect(second.status).toBe(200);
      expect(second.body).toMatchObject({ delivered: 20, failed: 0 });
    });
  });
});
