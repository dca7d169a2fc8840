import { jest } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { FieldValue } from '@google-cloud/firestore';
import { closeServedHandlers, memoryLogger, relayEnv, serveHandler } from '../../support/function-server.js';
import { startLoopbackRouter, type LoopbackRouter } from '../../support/loopback-router.js';
import { idsWithStatus } from '../../support/outbox-fixtures.js';
import { startFunctionsHost, startTriggerEmulator, type TriggerEmulator } from '../../support/trigger-emulator.js';

/**
 * Push on commit with the real thing: a Firestore emulator of its own, started with --functions_emulator, fires the
 * registered Eventarc triggers at the served function (one kick at a time, each waiting for its answer, as the
 * emulator does). No Scheduler run is ever triggered here: whatever arrives, push delivered.
 */
let emulator: TriggerEmulator;
let functions: Awaited<ReturnType<typeof startFunctionsHost>>;
let router: LoopbackRouter;
let collections: { outbox: string; audit: string; leases: string };

const tierEmulatorHost = process.env.FIRESTORE_EMULATOR_HOST;

beforeAll(async () => {
  functions = await startFunctionsHost();
  emulator = await startTriggerEmulator(functions.host);
  // The Firestore client prefers FIRESTORE_EMULATOR_HOST of the process to the host it is given: this file's
  // clients (its own, the function's) all talk to the trigger emulator.
  process.env.FIRESTORE_EMULATOR_HOST = emulator.host;
}, 120_000);

afterAll(async () => {
  await closeServedHandlers();
  await emulator.stop();
  await functions.close();
  process.env.FIRESTORE_EMULATOR_HOST = tierEmulatorHost;
});

beforeEach(async () => {
  router = await startLoopbackRouter();
  const suffix = randomBytes(5).toString('hex');
  collections = { outbox: `outbox_${suffix}`, audit: `runs_${suffix}`, leases: `leases_${suffix}` };
  functions.answered.length = 0;
});

afterEach(async () => {
  await router.close();
});

/** Serves this test's function at the emulator's functions host, with push on. */
let logger: ReturnType<typeof memoryLogger>;
function servePush(overrides: Record<string, string> = {}) {
  logger = memoryLogger();
  functions.target = serveHandler({
    env: relayEnv(router.url, collections, {
      FIRESTORE_EMULATOR_HOST: emulator.host,
      GOOGLE_CLOUD_PROJECT: emulator.project,
      PUSH_LINGER_MS: '1000',
      ...overrides,
    }),
    logger,
  });
}

/** Commits one event as the producer API does: createdAt is the commit time. */
function commit(id: string, orderingKey: string) {
  return emulator.db
    .collection(collections.outbox)
    .doc(id)
    .set({ type: 'order.created', data: { id }, orderingKey, createdAt: FieldValue.serverTimestamp(), status: 'pending' });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits (bounded, generously for a loaded machine) until every kick of `count` events was answered and nothing is pending. */
async function settled(kicksExpected: number, withinMs = 90_000): Promise<void> {
  const until = Date.now() + withinMs;
  while (Date.now() < until) {
    const pending = await idsWithStatus(emulator.db, collections.outbox, 'pending');
    if (pending.length === 0 && functions.answered.length >= kicksExpected) return;
    await sleep(250);
  }
}

async function runs(): Promise<number> {
  return (await emulator.db.collection(collections.audit).get()).size;
}

jest.setTimeout(180_000);

describe('Push on commit through the emulator’s Eventarc trigger', () => {
  it('delivers events as they are committed, in order per key, each once, without a Scheduler run', async () => {
    servePush();
    await emulator.registerTrigger(`kick-${collections.outbox}`, collections.outbox);
    const ids: string[] = [];

    for (let i = 0; i < 40; i += 1) {
      const id = `live-${String(i).padStart(3, '0')}`;
      ids.push(id);
      await commit(id, `key-${i % 4}`);
      await sleep(50);
    }
    await settled(ids.length);

    expect(await idsWithStatus(emulator.db, collections.outbox, 'pending')).toEqual([]);
    expect(router.received.map((r) => r.eventId).sort()).toEqual(ids);
    for (let key = 0; key < 4; key += 1) {
      const order = router.acceptedIds().filter((id) => Number(id.slice(-3)) % 4 === key);
      expect(order).toEqual([...order].sort());
    }
    expect(functions.answered.every((kick) => kick.status === 200)).toBe(true);
    expect(functions.answered.every((kick) => kick.eventType === 'google.cloud.firestore.document.v1.created')).toBe(true);
  });

  it('delivers a burst of 500 events committed within a second by at most 3 runs', async () => {
    servePush();
    await emulator.registerTrigger(`kick-${collections.outbox}`, collections.outbox);

    const commits: Promise<unknown>[] = [];
    for (let i = 0; i < 500; i += 1) {
      commits.push(commit(`burst-${String(i).padStart(3, '0')}`, `key-${i % 10}`));
      if (i % 25 === 24) await sleep(40);
    }
    await Promise.all(commits);
    await settled(500, 240_000);

    expect(await idsWithStatus(emulator.db, collections.outbox, 'pending')).toEqual([]);
    expect(new Set(router.received.map((r) => r.eventId)).size).toBe(500);
    expect(router.received).toHaveLength(500);
    const runCount = await runs();
    process.stderr.write(`push: a burst of 500 events in about a second took ${runCount} run(s) and ${functions.answered.length} kicks\n`);
    expect(runCount).toBeLessThanOrEqual(3);
  }, 300_000);

  it('costs no duplicate POST under a storm of duplicate kicks: five triggers on the outbox, each event kicked five times', async () => {
    servePush();
    for (let t = 0; t < 5; t += 1) await emulator.registerTrigger(`dup-${t}-${collections.outbox}`, collections.outbox);
    const ids: string[] = [];

    for (let i = 0; i < 30; i += 1) {
      const id = `dup-${String(i).padStart(3, '0')}`;
      ids.push(id);
      await commit(id, `key-${i % 3}`);
      await sleep(30);
    }
    await settled(5 * ids.length);

    expect(functions.answered.length).toBeGreaterThanOrEqual(5 * ids.length);
    expect(router.received.map((r) => r.eventId).sort()).toEqual(ids);
    expect(functions.answered.every((kick) => kick.status === 200)).toBe(true);
  });

  it('answers kicks for another collection 200 and starts no run', async () => {
    servePush();
    const other = `other_${randomBytes(4).toString('hex')}`;
    await emulator.registerTrigger(`kick-${other}`, other);

    await emulator.db.collection(other).doc('x').set({ status: 'pending', createdAt: FieldValue.serverTimestamp() });
    const until = Date.now() + 30_000;
    while (functions.answered.length === 0 && Date.now() < until) await sleep(100);

    expect(functions.answered).toEqual([expect.objectContaining({ status: 200, subject: `documents/${other}/x` })]);
    expect(await runs()).toBe(0);
  });
});
