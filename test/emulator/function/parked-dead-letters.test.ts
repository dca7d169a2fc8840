import request from 'supertest';
import { outboxCollections } from '../../../src/config.js';
import { FirestoreOutboxStore } from '../../../src/adapters/firestore-outbox-store.js';
import { FirestoreRunLease } from '../../../src/adapters/firestore-run-lease.js';
import { redriveEvent } from '../../../src/cli/commands/redrive.js';
import { readOutboxStatus } from '../../../src/cli/commands/status.js';
import type { EventOutcome } from '../../../src/core/event.js';
import { memoryLogger, relayEnv, serveHandler } from '../../support/function-server.js';
import { seedEvents } from '../../support/outbox-fixtures.js';
import { useRelayFixture } from '../../support/relay-fixture.js';

const fx = useRelayFixture();

describe('A key parked behind several dead letters', () => {
  const parked = () => outboxCollections(fx.collections.outbox).parkedKeysCollection;
  const relay = () => serveHandler({ env: relayEnv(fx.router.url, fx.collections), logger: memoryLogger() });

  /** Dead-letters events of key "k" through the relay's own store, each in a commit of its own, as runs record them. */
  async function deadLetter(...ids: string[]): Promise<void> {
    const leaseRef = fx.db.collection(`${fx.collections.outbox}_lease`).doc('shard-0');
    const store = new FirestoreOutboxStore(fx.db, {
      outboxCollection: fx.collections.outbox,
      auditCollection: fx.collections.audit,
      parkedKeysCollection: parked(),
      leaseRef,
      shard: { index: 0, count: 1 },
      deliveredRetentionDays: 0,
    });
    const lease = new FirestoreRunLease(fx.db, leaseRef);
    const attempt = await lease.acquire('test', 60_000);
    if (!attempt.acquired) throw new Error('the test lease is held');
    const page = await store.fetchPending(100, undefined, Number.POSITIVE_INFINITY);
    for (const id of ids) {
      const document = page.documents.find((d) => d.id === id);
      if (document === undefined) throw new Error(`${id} is not pending`);
      const outcome: EventOutcome = {
        kind: 'dead_letter',
        eventId: id,
        version: document.version,
        reason: 'HTTP 422',
        attempts: 1,
        postAttempts: 1,
        parkKey: 'k',
      };
      await store.recordOutcomes([outcome], attempt.lease);
    }
    await lease.release(attempt.lease);
  }

  it('stays parked while any remains: redriving the first leaves its later events behind the next, and status lists each', async () => {
    // Key "k": evt-0000 … evt-0003.
    await seedEvents(fx.db, fx.collections.outbox, 4, { orderingKey: () => 'k' });
    await deadLetter('evt-0000', 'evt-0002');
    const config = { outboxCollection: fx.collections.outbox, parkedKeysCollection: parked(), maxRedrives: 3 };

    const status = await readOutboxStatus(fx.db, config);
    const redriven = await redriveEvent(fx.db, config, 'evt-0000');
    const whileParked = await request(relay()).post('/');
    const redrivenLast = await redriveEvent(fx.db, config, 'evt-0002');
    const released = await request(relay()).post('/');

    expect(whileParked.body).toMatchObject({ delivered: 0, waiting: 3 });
    expect(status.parkedKeys.keys).toEqual([
      expect.objectContaining({ orderingKey: 'k', eventId: 'evt-0000', deadLetters: ['evt-0000', 'evt-0002'] }),
    ]);
    expect(redriven).toMatchObject({ outcome: 'redriven', keyStillParkedBy: ['evt-0002'] });
    expect(redrivenLast).toMatchObject({ outcome: 'redriven' });
    expect(redrivenLast).not.toHaveProperty('keyStillParkedBy');
    expect(released.body).toMatchObject({ delivered: 4, waiting: 0 });
    expect(fx.router.acceptedIds()).toEqual(['evt-0000', 'evt-0001', 'evt-0002', 'evt-0003']);
    expect((await fx.db.collection(parked()).get()).size).toBe(0);
  });
});
