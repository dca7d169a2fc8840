import { Timestamp } from '@google-cloud/firestore';
import request from 'supertest';
import { outboxCollections } from '../../../src/config.js';
import { parkedKeyDocumentId } from '../../../src/adapters/firestore-outbox-store.js';
import { redriveEvent } from '../../../src/cli/commands/redrive.js';
import type { OutboxStore } from '../../../src/core/ports.js';
import { memoryLogger, relayEnv, serveHandler } from '../../support/function-server.js';
import { useRelayFixture } from '../../support/relay-fixture.js';

const fx = useRelayFixture();

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('A redrive racing the start of a run', () => {
  it("never lets a key's next event go first when the redrive commits between the run's first page and its parked-key read", async () => {
    const parked = outboxCollections(fx.collections.outbox).parkedKeysCollection;
    const outbox = fx.db.collection(fx.collections.outbox);
    const at = (ms: number) => Timestamp.fromMillis(Date.UTC(2026, 0, 1) + ms);
    await outbox
      .doc('k-1')
      .set({ type: 't', data: {}, orderingKey: 'k', createdAt: at(1), status: 'dead_letter', deadLetterReason: 'HTTP 422' });
    await outbox.doc('k-2').set({ type: 't', data: {}, orderingKey: 'k', createdAt: at(2), status: 'pending' });
    await fx.db
      .collection(parked)
      .doc(parkedKeyDocumentId('k'))
      .set({ orderingKey: 'k', eventId: 'k-1', parkedAt: at(3) });
    let redriven: () => void = () => undefined;
    const redrive = new Promise<void>((resolve) => (redriven = resolve));
    let first = true;
    // The operator's redrive commits right after the run's first page was read; the run's parked-key read is slow:
    // it is served once the redrive is in (or after a second, should the run read parked keys first).
    const racing = (store: OutboxStore): OutboxStore => ({
      fetchPending: async (limit, after, maxBytes) => {
        const page = await store.fetchPending(limit, after, maxBytes);
        if (first) {
          first = false;
          await redriveEvent(fx.db, { outboxCollection: fx.collections.outbox, maxRedrives: 3, parkedKeysCollection: parked }, 'k-1');
          redriven();
        }
        return page;
      },
      fetchParkedKeys: () => Promise.race([redrive, sleep(1_000)]).then(() => store.fetchParkedKeys()),
      fetchStrays: (limit, plan) => store.fetchStrays(limit, plan),
      watchPending: (onChange, onError) => store.watchPending(onChange, onError),
      recordOutcomes: (outcomes, lease) => store.recordOutcomes(outcomes, lease),
      writeAudit: (summary) => store.writeAudit(summary),
    });
    const env = relayEnv(fx.router.url, fx.collections);

    const firstRun = await request(serveHandler({ env, logger: memoryLogger(), wrapStore: racing })).post('/');
    const second = await request(serveHandler({ env, logger: memoryLogger() })).post('/');

    expect(fx.router.acceptedIds()).toEqual(['k-1', 'k-2']);
    expect(firstRun.body).toMatchObject({ delivered: 0, waiting: 1 });
    expect(second.body).toMatchObject({ delivered: 2 });
  });
});
