import request from 'supertest';
import { createFirestore } from '../../../src/adapters/firestore-client.js';
import { createOutbox } from '../../../src/producer/index.js';
import { cliEnv, runInProcess } from '../../support/cli-runner.js';
import { memoryLogger, relayEnv, serveHandler } from '../../support/function-server.js';
import { idsWithStatus, seedEvents } from '../../support/outbox-fixtures.js';
import { useRelayFixture } from '../../support/relay-fixture.js';

/*
 * A named Firestore database (FIRESTORE_DATABASE) holds the outbox instead of `(default)`: the relay, the CLI
 * and a producer's own client all reach it, and nothing is read from or written to `(default)`.
 */

const DATABASE = 'outbox-named';
const fx = useRelayFixture();
const named = createFirestore({
  projectId: process.env.GOOGLE_CLOUD_PROJECT,
  firestoreEmulatorHost: process.env.FIRESTORE_EMULATOR_HOST,
  firestoreDatabase: DATABASE,
});
afterAll(() => named.terminate());

describe('A named Firestore database (FIRESTORE_DATABASE)', () => {
  it('is where the relay reads, delivers and audits, leaving (default) untouched', async () => {
    const ids = await seedEvents(named, fx.collections.outbox, 3);
    await seedEvents(fx.db, fx.collections.outbox, 2, { baseMs: Date.UTC(2025, 0, 1) });

    const response = await request(
      serveHandler({ env: relayEnv(fx.router.url, fx.collections, { FIRESTORE_DATABASE: DATABASE }), logger: memoryLogger() }),
    ).post('/');

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ fetched: 3, delivered: 3 });
    expect(fx.router.acceptedIds().sort()).toEqual(ids);
    expect(await idsWithStatus(named, fx.collections.outbox, 'delivered')).toEqual(ids);
    expect((await named.collection(fx.collections.audit).get()).size).toBe(1);
    expect(await idsWithStatus(fx.db, fx.collections.outbox, 'pending')).toEqual(['evt-0000', 'evt-0001']);
    expect((await fx.db.collection(fx.collections.audit).get()).size).toBe(0);
  });

  it('is what outbox-ops reads with --database, and with FIRESTORE_DATABASE', async () => {
    await seedEvents(named, fx.collections.outbox, 4);
    await seedEvents(fx.db, fx.collections.outbox, 1);

    const flag = await runInProcess(['status', '--json', '--database', DATABASE], cliEnv(fx.collections.outbox));
    const variable = await runInProcess(['status', '--json'], cliEnv(fx.collections.outbox, { FIRESTORE_DATABASE: DATABASE }));
    const unnamed = await runInProcess(['status', '--json'], cliEnv(fx.collections.outbox));

    expect([flag.code, variable.code, unnamed.code]).toEqual([0, 0, 0]);
    expect(JSON.parse(flag.stdout)).toMatchObject({ counts: { pending: 4 } });
    expect(JSON.parse(variable.stdout)).toMatchObject({ counts: { pending: 4 } });
    expect(JSON.parse(unnamed.stdout)).toMatchObject({ counts: { pending: 1 } });
  });

  it('refuses a database id Firestore would not accept, naming FIRESTORE_DATABASE, before any client is made', async () => {
    const run = await runInProcess(['status', '--database', 'Not_A_Database'], cliEnv(fx.collections.outbox));

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('FIRESTORE_DATABASE');
  });

  it('is where a producer enqueues when its Firestore instance is on that database', async () => {
    const outbox = createOutbox(named, { collection: fx.collections.outbox, shardCount: 1 });

    const batch = named.batch();
    const id = outbox.enqueue(batch, { type: 'com.example.order.created', data: { n: 1 } });
    await batch.commit();

    expect((await named.collection(fx.collections.outbox).doc(id).get()).exists).toBe(true);
    expect((await fx.db.collection(fx.collections.outbox).doc(id).get()).exists).toBe(false);
  });
});
