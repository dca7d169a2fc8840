import type { Firestore } from '@google-cloud/firestore';
import { pathToFileURL } from 'node:url';
import path from 'node:path';
import { serveFunction, type ServedFunction } from '../../tools/local/functions-framework-process.js';
import { relayEnv } from '../support/function-server.js';
import { startLoopbackRouter, type LoopbackRouter } from '../support/loopback-router.js';
import { emulatorFirestore, idsWithStatus, seedEvents, uniqueCollections } from '../support/outbox-fixtures.js';
import { PROJECT_ROOT } from '../support/project-root.js';

const PRELOAD = pathToFileURL(path.join(PROJECT_ROOT, 'test', 'support', 'async-error-preload.ts')).href;
const EVENTS = 120;

/**
 * src/index.ts serves the function without the Functions Framework's per-request domain; an error that escapes
 * every promise chain must still end the run with its outcomes recorded and a 500, and the process must live on.
 */
describe('outboundEventHandler served by npm start, when an error escapes every promise chain', () => {
  let db: Firestore;
  let router: LoopbackRouter;
  let served: ServedFunction | undefined;
  const output: string[] = [];

  beforeAll(() => {
    db = emulatorFirestore();
  });
  afterAll(async () => {
    await served?.stop();
    await router.close();
    await db.terminate();
  });

  it('ends the run with a 500, records what the router acknowledged, and serves the next run', async () => {
    // Slow enough answers that the run is still delivering when the error is thrown at the 41st event's POST.
    router = await startLoopbackRouter(() => ({ respond: 200, body: '{"ok":true}', delayMs: 20 }));
    const collections = uniqueCollections();
    const ids = await seedEvents(db, collections.outbox, EVENTS);
    served = await serveFunction({
      projectRoot: PROJECT_ROOT,
      target: 'outboundEventHandler',
      env: {
        PATH: process.env.PATH,
        METADATA_SERVER_DETECTION: 'none',
        NODE_OPTIONS: `--import ${PRELOAD}`,
        INJECT_ASYNC_ERROR_EVENT_ID: 'evt-0040',
        ...relayEnv(router.url, collections, { DELIVERY_CONCURRENCY: '4' }),
      },
      onOutput: (line) => output.push(line),
    });

    const first = await fetch(served.url, { method: 'POST' });
    const firstBody = (await first.json()) as { error?: string; delivered?: number; hasMore?: boolean };
    const deliveredAfterFirst = await idsWithStatus(db, collections.outbox, 'delivered');
    const second = await fetch(served.url, { method: 'POST' });
    const secondBody = (await second.json()) as { delivered?: number };

    expect(first.status).toBe(500);
    expect(firstBody).toMatchObject({ error: 'internal' });
    // Flushed: every event the answer counts as delivered is recorded so, and the run stopped early.
    expect(deliveredAfterFirst).toHaveLength(firstBody.delivered ?? -1);
    expect(firstBody.delivered).toBeGreaterThanOrEqual(40);
    expect(firstBody.delivered).toBeLessThan(EVENTS);
    // The same process (its lease released) delivers the rest.
    expect(second.status).toBe(200);
    expect((firstBody.delivered ?? 0) + (secondBody.delivered ?? 0)).toBe(EVENTS);
    expect(await idsWithStatus(db, collections.outbox, 'delivered')).toEqual(ids);
    const logged = output.map((line) => (line.startsWith('{') ? (JSON.parse(line) as Record<string, unknown>) : {}));
    expect(logged).toContainEqual(expect.objectContaining({ severity: 'ERROR', event: 'uncaughtException' }));
  });
});
