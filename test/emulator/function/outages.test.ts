import request from 'supertest';
import { memoryLogger, relayEnv, serveHandler } from '../../support/function-server.js';
import { idsWithStatus, readAll, seedEvents } from '../../support/outbox-fixtures.js';
import { useRelayFixture } from '../../support/relay-fixture.js';

const fx = useRelayFixture();

describe('Router outages, measured in time', () => {
  it('dead-letters nothing through an outage of many runs, sends a few probing POSTs per run, and drains at the first run after recovery', async () => {
    await seedEvents(fx.db, fx.collections.outbox, 200, { orderingKey: (i) => `key-${i % 20}` });
    let down = true;
    fx.router.script = () => (down ? { respond: 503, body: 'maintenance' } : { respond: 200 });
    // Short backoff, so the many runs of an "hour" fit in a test; MAX_ATTEMPTS as low as it gets to be noticed.
    const server = serveHandler({
      env: relayEnv(fx.router.url, fx.collections, {
        REDELIVERY_MIN_DELAY_MS: '10',
        REDELIVERY_MAX_DELAY_MS: '40',
        MAX_ATTEMPTS: '3',
        POST_RETRIES: '2',
        DELIVERY_CONCURRENCY: '16',
        BREAKER_THRESHOLD: '5',
      }),
      logger: memoryLogger(),
    });

    const postsPerRun: number[] = [];
    const eventsPerRun: number[] = [];
    for (let run = 0; run < 12; run += 1) {
      const before = fx.router.received.length;
      const response = await request(server).post('/');
      expect(response.status).toBe(500);
      expect(response.body.error).toBe('router_failing');
      const sent = fx.router.received.slice(before);
      postsPerRun.push(sent.length);
      eventsPerRun.push(new Set(sent.map((r) => r.eventId)).size);
    }
    down = false;
    const recovered = await request(server).post('/');

    // BREAKER_THRESHOLD probing events per run, each with at most its in-run retries.
    expect(Math.max(...eventsPerRun)).toBeLessThanOrEqual(5);
    expect(Math.max(...postsPerRun)).toBeLessThanOrEqual(5 * 3);
    process.stderr.write(`outage: POSTs per run during the outage ${JSON.stringify(postsPerRun)}\n`);
    expect(await idsWithStatus(fx.db, fx.collections.outbox, 'dead_letter')).toEqual([]);
    expect([...(await readAll(fx.db, fx.collections.outbox)).values()].every((doc) => Number(doc.attempts ?? 0) === 0)).toBe(true);
    expect(recovered.status).toBe(200);
    expect(recovered.body).toMatchObject({ delivered: 200, hasMore: false });
  }, 60_000);
});
