import type { Firestore } from '@google-cloud/firestore';
import { serveFunction, type ServedFunction } from '../../tools/local/functions-framework-process.js';
import { relayEnv } from '../support/function-server.js';
import { startLoopbackRouter, type LoopbackRouter } from '../support/loopback-router.js';
import { emulatorFirestore, idsWithStatus, seedEvents, uniqueCollections } from '../support/outbox-fixtures.js';
import { PROJECT_ROOT } from '../support/project-root.js';

describe('outboundEventHandler served by the Functions Framework CLI, as `npm start` serves the build', () => {
  let db: Firestore;
  let router: LoopbackRouter;
  let served: ServedFunction | undefined;
  const output: string[] = [];

  beforeAll(() => {
    db = emulatorFirestore();
  });
  afterAll(async () => {
    await db.terminate();
  });
  afterEach(async () => {
    await served?.stop();
    await router.close();
  });

  it('delivers the pending events of a POSTed run and logs JSON lines for Cloud Logging', async () => {
    router = await startLoopbackRouter();
    const collections = uniqueCollections();
    const ids = await seedEvents(db, collections.outbox, 5);
    served = await serveFunction({
      projectRoot: PROJECT_ROOT,
      target: 'outboundEventHandler',
      env: { PATH: process.env.PATH, METADATA_SERVER_DETECTION: 'none', ...relayEnv(router.url, collections) },
      onOutput: (line) => output.push(line),
    });

    const response = await fetch(served.url, { method: 'POST', headers: { 'user-agent': 'Google-Cloud-Scheduler' } });
    const get = await fetch(served.url);

    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ delivered: 5 });
    expect(get.status).toBe(405);
    expect(await idsWithStatus(db, collections.outbox, 'delivered')).toEqual(ids);
    const completed = output
      .map((line) => (line.startsWith('{') ? (JSON.parse(line) as Record<string, unknown>) : {}))
      .find((e) => e.message === 'run finished');
    expect(completed).toMatchObject({ severity: 'INFO', delivered: 5 });
  });

  it('answers every run with 500 naming the variable when ROUTER_URL is missing, and keeps serving', async () => {
    router = await startLoopbackRouter();
    served = await serveFunction({
      projectRoot: PROJECT_ROOT,
      target: 'outboundEventHandler',
      env: { PATH: process.env.PATH, METADATA_SERVER_DETECTION: 'none', FIRESTORE_EMULATOR_HOST: process.env.FIRESTORE_EMULATOR_HOST },
    });

    const first = await fetch(served.url, { method: 'POST' });
    const second = await fetch(served.url, { method: 'POST' });

    expect(first.status).toBe(500);
    expect(await first.json()).toMatchObject({ error: 'configuration', variable: 'ROUTER_URL' });
    expect(second.status).toBe(500);
  });
});
