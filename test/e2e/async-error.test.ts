import type { Firestore } from '@google-cloud/firestore';
import { pathToFileURL } from 'node:url';
import path from 'node:path';
import { UNCAUGHT_EXCEPTION_EXIT_CODE } from '../../src/function/exit-after-uncaught-exception.js';
import { serveFunction, type ServedFunction } from '../../tools/local/functions-framework-process.js';
import { relayEnv } from '../support/function-server.js';
import { startLoopbackRouter, type LoopbackRouter } from '../support/loopback-router.js';
import { emulatorFirestore, idsWithStatus, seedEvents, uniqueCollections } from '../support/outbox-fixtures.js';
import { PROJECT_ROOT } from '../support/project-root.js';

const PRELOAD = pathToFileURL(path.join(PROJECT_ROOT, 'test', 'support', 'async-error-preload.ts')).href;
const EVENTS = 120;

/**
 * src/index.ts serves the function as the Functions Framework serves any function: each request in its domain,
 * the framework's own process handlers in place. An uncaught exception in a run must still leave every event the
 * router acknowledged recorded and the lease released, answer 500 (Scheduler retries), then end the process, as
 * Node's documentation says a process must after an uncaught exception (Cloud Run starts another).
 */
describe('outboundEventHandler served by npm start, after an uncaught exception', () => {
  let db: Firestore;
  let router: LoopbackRouter;
  const served: ServedFunction[] = [];
  const output: string[] = [];

  beforeAll(() => {
    db = emulatorFirestore();
  });
  afterAll(async () => {
    await Promise.all(served.map((fn) => fn.stop('SIGKILL')));
    await router.close();
    await db.terminate();
  });

  it('answers 500, records what the router acknowledged, frees the lease and exits; the next process delivers the rest', async () => {
    // Slow enough answers that the run is still delivering when the error is thrown at the 41st event's POST.
    router = await startLoopbackRouter(() => ({ respond: 200, body: '{"ok":true}', delayMs: 20 }));
    const collections = uniqueCollections();
    const ids = await seedEvents(db, collections.outbox, EVENTS);
    const env = {
      PATH: process.env.PATH,
      METADATA_SERVER_DETECTION: 'none',
      ...relayEnv(router.url, collections, { DELIVERY_CONCURRENCY: '4' }),
    };
    const crashing = await serveFunction({
      projectRoot: PROJECT_ROOT,
      target: 'outboundEventHandler',
      env: { ...env, NODE_OPTIONS: `--import ${PRELOAD}`, INJECT_ASYNC_ERROR_EVENT_ID: 'evt-0040' },
      onOutput: (line) => output.push(line),
    });
    served.push(crashing);

    const first = await fetch(crashing.url, { method: 'POST' });
    await first.text();
    const exitCode = await crashing.exited;
    const recorded = await idsWithStatus(db, collections.outbox, 'delivered');
    const acknowledged = [...new Set(router.acceptedIds())].sort();
    const next = await serveFunction({ projectRoot: PROJECT_ROOT, target: 'outboundEventHandler', env });
    served.push(next);
    const second = await fetch(next.url, { method: 'POST' });
    const secondBody = (await second.json()) as { delivered?: number; stoppedBy?: string };

    expect(first.status).toBe(500);
    expect(exitCode).toBe(UNCAUGHT_EXCEPTION_EXIT_CODE);
    // Flushed before the exit: every event the router acknowledged is recorded, and the run stopped early.
    expect(recorded).toEqual(acknowledged);
    expect(recorded.length).toBeGreaterThanOrEqual(40);
    expect(recorded.length).toBeLessThan(EVENTS);
    // The lease was released: the next process's run is not skipped, and it delivers the rest.
    expect(second.status).toBe(200);
    expect(secondBody).toMatchObject({ stoppedBy: 'drained', delivered: EVENTS - recorded.length });
    expect(await idsWithStatus(db, collections.outbox, 'delivered')).toEqual(ids);
    const logged = output.map((line) => (line.startsWith('{') ? (JSON.parse(line) as Record<string, unknown>) : {}));
    expect(logged).toContainEqual(expect.objectContaining({ severity: 'ERROR', event: 'uncaughtException' }));
  }, 120_000);
});
