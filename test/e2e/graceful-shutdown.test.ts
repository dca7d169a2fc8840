import { FieldValue, type Firestore } from '@google-cloud/firestore';
import { DEFAULT_LEASE_TTL_MS } from '../../src/config.js';
import { serveFunction, type ServedFunction } from '../../tools/local/functions-framework-process.js';
import { relayEnv } from '../support/function-server.js';
import { PROJECT_ROOT } from '../support/project-root.js';
import { startLoopbackRouter, type LoopbackRouter } from '../support/loopback-router.js';
import { emulatorFirestore, idsWithStatus, seedEvents, uniqueCollections } from '../support/outbox-fixtures.js';

/** Cloud Run sends SIGKILL this long after SIGTERM. */
const CLOUD_RUN_GRACE_MS = 10_000;
const EVENTS = 60;

/**
 * The function served by the Functions Framework CLI, signalled as Cloud Run signals it: SIGTERM mid-run, or
 * SIGKILL (a crash). With the default settings, nothing acknowledged is lost and the shard is not held for long.
 */
describe('Shutting down the served function', () => {
  let db: Firestore;
  let router: LoopbackRouter;
  let collections: { outbox: string; audit: string };
  const served: ServedFunction[] = [];

  const serve = async (overrides: Record<string, string> = {}): Promise<ServedFunction> => {
    const env = {
      PATH: process.env.PATH,
      METADATA_SERVER_DETECTION: 'none',
      ...relayEnv(router.url, collections, { DELIVERY_CONCURRENCY: '2', LOG_LEVEL: 'ERROR', ...overrides }),
    };
    // The defaults Cloud Run would run with: FIRESTORE_TIMEOUT_MS (and so the lease) unset.
    for (const name of ['FIRESTORE_TIMEOUT_MS']) delete (env as Record<string, unknown>)[name];
    const fn = await serveFunction({ projectRoot: PROJECT_ROOT, target: 'outboundEventHandler', env });
    served.push(fn);
    return fn;
  };
  const routerReceived = async (count: number): Promise<void> => {
    while (router.received.length < count) await new Promise((resolve) => setTimeout(resolve, 20));
  };

  beforeAll(() => {
    db = emulatorFirestore();
  });
  afterAll(async () => {
    await db.terminate();
  });
  beforeEach(async () => {
    router = await startLoopbackRouter(() => ({ respond: 200, delayMs: 200 }));
    collections = uniqueCollections();
    await seedEvents(db, collections.outbox, EVENTS);
  });
  afterEach(async () => {
    await Promise.all(served.splice(0).map((fn) => fn.stop('SIGKILL')));
    await router.close();
  });

  it('on SIGTERM: answers the run in flight, records every event the router acknowledged, frees the lease, exits within 10 s', async () => {
    const fn = await serve();
    const run = fetch(fn.url, { method: 'POST' }).then(async (response) => ({
      status: response.status,
      body: (await response.json()) as Record<string, unknown>,
    }));
    await routerReceived(6);

    const signalledAt = Date.now();
    const exited = fn.stop('SIGTERM');
    const answer = await run;
    await exited;
    const exitedAfterMs = Date.now() - signalledAt;

    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ stoppedBy: 'shutdown', unrecorded: 0 });
    expect(exitedAfterMs).toBeLessThan(CLOUD_RUN_GRACE_MS);
    const delivered = await idsWithStatus(db, collections.outbox, 'delivered');
    expect(delivered).toEqual([...new Set(router.acceptedIds())].sort());
    expect(delivered.length).toBeGreaterThan(0);
    expect(delivered.length).toBeLessThan(EVENTS);
    // A run in a new process takes the lease at once and delivers the rest.
    const next = await (await fetch((await serve()).url, { method: 'POST' })).json();
    expect(next).toMatchObject({ stoppedBy: 'drained', delivered: EVENTS - delivered.length });
    process.stderr.write(
      `graceful-shutdown: exited ${exitedAfterMs} ms after SIGTERM; ${delivered.length} acknowledged, ${delivered.length} recorded; the next process took the lease at once\n`,
    );
  }, 120_000);

  it('on SIGTERM while following new events (FOLLOW_MS): answers, records every acknowledged event, frees the lease, exits within 10 s', async () => {
    const fn = await serve({ FOLLOW_MS: '60000' });
    const run = fetch(fn.url, { method: 'POST' }).then(async (response) => ({
      status: response.status,
      body: (await response.json()) as Record<string, unknown>,
    }));
    await routerReceived(EVENTS);
    // Drained: these arrive while the run follows.
    const batch = db.batch();
    for (let i = 0; i < 20; i += 1) {
      batch.set(db.collection(collections.outbox).doc(`live-${String(i).padStart(2, '0')}`), {
        type: 'order.created',
        data: { i },
        createdAt: FieldValue.serverTimestamp(),
        sequence: i,
        status: 'pending',
      });
    }
    await batch.commit();
    await routerReceived(EVENTS + 4);

    const signalledAt = Date.now();
    const exited = fn.stop('SIGTERM');
    const answer = await run;
    await exited;
    const exitedAfterMs = Date.now() - signalledAt;

    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ stoppedBy: 'shutdown', unrecorded: 0 });
    expect(exitedAfterMs).toBeLessThan(CLOUD_RUN_GRACE_MS);
    const delivered = await idsWithStatus(db, collections.outbox, 'delivered');
    expect(delivered).toEqual([...new Set(router.acceptedIds())].sort());
    expect(router.acceptedIds()).toHaveLength(new Set(router.acceptedIds()).size);
    const next = await (await fetch((await serve()).url, { method: 'POST' })).json();
    expect(next).toMatchObject({ stoppedBy: 'drained', hasMore: false });
  }, 120_000);

  it('after SIGKILL: the shard is drained again by a run that starts within 60 s (the lease is short and was renewed)', async () => {
    const fn = await serve();
    void fetch(fn.url, { method: 'POST' }).catch(() => undefined);
    await routerReceived(4);

    await fn.stop('SIGKILL');
    const killedAt = Date.now();
    const replacement = await serve();
    let answer: Record<string, unknown>;
    for (;;) {
      answer = (await (await fetch(replacement.url, { method: 'POST' })).json()) as Record<string, unknown>;
      if (answer.skipped === undefined) break;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    const tookOverAfterMs = Date.now() - killedAt;

    expect(DEFAULT_LEASE_TTL_MS).toBeLessThan(60_000);
    expect(tookOverAfterMs).toBeLessThan(60_000);
    expect(answer).toMatchObject({ stoppedBy: 'drained' });
    expect(await idsWithStatus(db, collections.outbox, 'pending')).toEqual([]);
    process.stderr.write(`graceful-shutdown: after SIGKILL a new process drained the shard ${tookOverAfterMs} ms later\n`);
  }, 120_000);
});
