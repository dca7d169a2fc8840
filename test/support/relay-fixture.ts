import type { Firestore } from '@google-cloud/firestore';
import { startLoopbackRouter, type LoopbackRouter, type RouterScript } from './loopback-router.js';
import { closeServedHandlers } from './function-server.js';
import { emulatorFirestore, uniqueCollections } from './outbox-fixtures.js';

/** What a relay spec works with; fresh router and collections for every test. */
export interface RelayFixture {
  db: Firestore;
  router: LoopbackRouter;
  collections: { outbox: string; audit: string };
}

/** Registers the usual hooks: one emulator client per file, a new loopback router and new collections per test. */
export function useRelayFixture(script?: () => RouterScript): RelayFixture {
  const fixture = {} as RelayFixture;
  beforeAll(() => {
    fixture.db = emulatorFirestore();
  });
  afterAll(async () => {
    await closeServedHandlers();
    await fixture.db.terminate();
  });
  beforeEach(async () => {
    fixture.router = await startLoopbackRouter(script?.());
    fixture.collections = uniqueCollections();
  });
  afterEach(async () => {
    await fixture.router.close();
  });
  return fixture;
}
