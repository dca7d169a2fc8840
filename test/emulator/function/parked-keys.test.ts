import request from 'supertest';
import { outboxCollections } from '../../../src/config.js';
import { redriveEvent } from '../../../src/cli/commands/redrive.js';
import { memoryLogger, relayEnv, serveHandler } from '../../support/function-server.js';
import { idsWithStatus, readAll, seedEvents } from '../../support/outbox-fixtures.js';
import { useRelayFixture } from '../../support/relay-fixture.js';

const fx = useRelayFixture();

describe('Order per key across a dead letter', () => {
  const parked = () => outboxCollections(fx.collections.outbox).parkedKeysCollection;
  const server = () =>
    serveHandler({
      env: relayEnv(fx.router.url, fx.collections, { DELIVERY_CONCURRENCY: '4' }),
      logger: memoryLogger(),
    });

  it('parks the key of a dead letter; after its redrive, the dead letter goes first and the rest of its key after it', async () => {
    // Key "k": evt-0000, evt-0002, evt-0004, evt-0006; the others have keys of their own.
    await seedEvents(fx.db, fx.collections.outbox, 8, { orderingKey: (i) => (i % 2 === 0 ? 'k' : `own-${i}`) });
    let broken = true;
    fx.router.script = (req) => (broken && req.eventId === 'evt-0002' ? { respond: 422, body: 'unknown sku' } : { respond: 200 });
    const relay = server();

    const first = await request(relay).post('/');
    const second = await request(relay).post('/');
    broken = false;
    const redriven = await redriveEvent(
      fx.db,
      { outboxCollection: fx.collections.outbox, maxRedrives: 3, parkedKeysCollection: parked() },
      'evt-0002',
    );
    const third = await request(relay).post('/');

    expect(first.body).toMatchObject({ delivered: 5, deadLettered: 1, waiting: 2 });
    expect(second.body).toMatchObject({ delivered: 0, waiting: 2 });
    expect(redriven).toMatchObject({ outcome: 'redriven' });
    expect(third.body).toMatchObject({ delivered: 3, waiting: 0 });
    const ofKey = fx.router.acceptedIds().filter((id) => Number(id.slice(-1)) % 2 === 0);
    expect(ofKey).toEqual(['evt-0000', 'evt-0002', 'evt-0004', 'evt-0006']);
    expect((await fx.db.collection(parked()).get()).size).toBe(0);
  });

  it('goes on with the key when KEY_AFTER_DEAD_LETTER=continue', async () => {
    await seedEvents(fx.db, fx.collections.outbox, 4, { orderingKey: () => 'k' });
    fx.router.script = (req) => (req.eventId === 'evt-0001' ? { respond: 422 } : { respond: 200 });

    const response = await request(
      serveHandler({
        env: relayEnv(fx.router.url, fx.collections, { KEY_AFTER_DEAD_LETTER: 'continue' }),
        logger: memoryLogger(),
      }),
    ).post('/');

    expect(response.body).toMatchObject({ delivered: 3, deadLettered: 1 });
    expect((await readAll(fx.db, fx.collections.outbox)).get('evt-0001')).toMatchObject({ status: 'dead_letter' });
    expect(await idsWithStatus(fx.db, fx.collections.outbox, 'pending')).toEqual([]);
  });
});
