import { FieldValue, type Firestore } from '@google-cloud/firestore';
import request from 'supertest';
import { createFirestore } from '../../src/adapters/firestore-client.js';
import type { OutboxStore, RunLease } from '../../src/core/ports.js';
import { freeLoopbackPort, startFirestoreEmulator, type RunningEmulator } from '../../tools/local/firestore-emulator.js';
import { serveFunction } from '../../tools/local/functions-framework-process.js';
import { closeServedHandlers, memoryLogger, relayEnv, serveHandler } from '../support/function-server.js';
import { PROJECT_ROOT } from '../support/project-root.js';
import { startLoopbackRouter, type LoopbackRouter } from '../support/loopback-router.js';
import { seedEvents, uniqueCollections } from '../support/outbox-fixtures.js';

/**
 * Firestore hanging at each boundary of a run: an emulator of this spec's own is frozen (SIGSTOP of its process
 * group) at the moment the run makes the call, through a wrapper that only decides when; the call itself goes
 * to the frozen emulator and hangs for real. Every Firestore call is bounded by FIRESTORE_TIMEOUT_MS.
 */
const FIRESTORE_TIMEOUT_MS = 1_000;
/** Generous for a loaded 2-core machine; without the bounds the answer would take minutes or never come. */
const ANSWER_WITHIN_MS = 15_000;
const EVENTS = 12;

let emulator: RunningEmulator;
let db: Firestore;
let router: LoopbackRouter;
let collections: { outbox: string; audit: string };
let frozen = false;
/** The Firestore client prefers FIRESTORE_EMULATOR_HOST from the process environment over its settings. */
const sharedEmulatorHost = process.env.FIRESTORE_EMULATOR_HOST;
const useEmulatorAt = (host: string | undefined): void => {
  if (host === undefined) delete process.env.FIRESTORE_EMULATOR_HOST;
  else process.env.FIRESTORE_EMULATOR_HOST = host;
};

const freeze = (): void => {
  if (frozen) return;
  frozen = true;
  process.kill(-emulator.pid, 'SIGSTOP');
};
const thaw = (): void => {
  if (!frozen) return;
  frozen = false;
  process.kill(-emulator.pid, 'SIGCONT');
};

beforeAll(async () => {
  emulator = await startFirestoreEmulator();
  useEmulatorAt(emulator.host);
  db = createFirestore({ projectId: process.env.GOOGLE_CLOUD_PROJECT, firestoreEmulatorHost: emulator.host });
}, 90_000);

afterAll(async () => {
  thaw();
  await closeServedHandlers();
  await db.terminate();
  await emulator.stop();
  useEmulatorAt(sharedEmulatorHost);
});

beforeEach(async () => {
  router = await startLoopbackRouter();
  collections = uniqueCollections();
  await seedEvents(db, collections.outbox, EVENTS);
});

afterEach(async () => {
  thaw();
  useEmulatorAt(emulator.host);
  await router.close();
});

type Seams = { wrapStore?: (store: OutboxStore) => OutboxStore; wrapLease?: (lease: RunLease) => RunLease };

/** One run served by the Functions Framework against this spec's emulator; resolves with the answer and its time. */
async function run(seams: Seams, overrides: Record<string, string> = {}) {
  const env = {
    ...relayEnv(router.url, collections, {
      FIRESTORE_TIMEOUT_MS: String(FIRESTORE_TIMEOUT_MS),
      BATCH_SIZE: '4',
      DELIVERY_CONCURRENCY: '2',
    }),
    FIRESTORE_EMULATOR_HOST: emulator.host,
    ...overrides,
  };
  const started = Date.now();
  const response = await request(serveHandler({ env, logger: memoryLogger(), ...seams })).post('/');
  return { response, ms: Date.now() - started };
}

/** Store calls pass through; `at` decides, per call, whether to freeze Firestore just before it. */
function freezeStoreAt(at: { fetch?: (n: number) => boolean; record?: (n: number) => boolean; audit?: boolean }) {
  let fetches = 0;
  let records = 0;
  return (store: OutboxStore): OutboxStore => ({
    fetchPending: (limit, after, maxBytes) => {
      fetches += 1;
      if (at.fetch?.(fetches) === true) freeze();
      return store.fetchPending(limit, after, maxBytes);
    },
    fetchStrays: (limit, plan) => store.fetchStrays(limit, plan),
    fetchParkedKeys: () => store.fetchParkedKeys(),
    watchPending: (onChange, onError) => store.watchPending(onChange, onError),
    recordOutcomes: (outcomes, lease) => {
      records += 1;
      if (at.record?.(records) === true) freeze();
      return store.recordOutcomes(outcomes, lease);
    },
    writeAudit: (summary) => {
      if (at.audit === true) freeze();
      return store.writeAudit(summary);
    },
  });
}

/** What the router acknowledged, each event at most once within the run, and what Firestore recorded. */
async function afterThaw() {
  thaw();
  const accepted = router.acceptedIds();
  // One query, one snapshot: a commit abandoned at its deadline may still land now, and must not fall between two reads.
  const all = await db.collection(collections.outbox).get();
  const withStatus = (status: string) => all.docs.filter((doc) => doc.get('status') === status).map((doc) => doc.id);
  return {
    accepted,
    delivered: withStatus('delivered'),
    pending: withStatus('pending'),
    postedTwice: accepted.length - new Set(accepted).size,
  };
}

/** Events committed after the drain, while a run follows (FOLLOW_MS), with ids of their own. */
async function commitLive(count: number): Promise<void> {
  const batch = db.batch();
  for (let i = 0; i < count; i += 1) {
    batch.set(db.collection(collections.outbox).doc(`live-${String(i).padStart(2, '0')}`), {
      type: 'order.created',
      data: { i },
      createdAt: FieldValue.serverTimestamp(),
      status: 'pending',
    });
  }
  await batch.commit();
}

describe('Firestore hanging at each boundary of a run', () => {
  it('lease acquire: answers 500 within the bound, POSTing nothing', async () => {
    freeze();

    const { response, ms } = await run({});

    expect(response.status).toBe(500);
    expect(response.body).toMatchObject({ error: 'lease_unavailable' });
    expect(response.body.message).toContain('acquiring the run lease did not finish within 1000 ms');
    expect(ms).toBeLessThan(ANSWER_WITHIN_MS);
    expect(router.received).toHaveLength(0);
  });

  it('first page: answers 500 within the bound, POSTing nothing', async () => {
    const { response, ms } = await run({ wrapStore: freezeStoreAt({ fetch: (n) => n === 1 }) });

    expect(response.status).toBe(500);
    expect(response.body).toMatchObject({ error: 'fetch_failed', delivered: 0 });
    expect(ms).toBeLessThan(ANSWER_WITHIN_MS);
    expect(router.received).toHaveLength(0);
  });

  it('a later page after deliveries: answers 200 within the bound, saying what stays unrecorded', async () => {
    const { response, ms } = await run({ wrapStore: freezeStoreAt({ fetch: (n) => n === 2 }) }, { BATCH_SIZE: '5' });
    const state = await afterThaw();

    expect(response.status).toBe(200);
    expect(response.body.delivered).toBeGreaterThan(0);
    expect(ms).toBeLessThan(ANSWER_WITHIN_MS);
    expect(state.postedTwice).toBe(0);
    // Every acknowledged event is recorded, or counted as unrecorded and still pending: nothing is lost.
    expect(state.delivered.length + response.body.unrecorded).toBeGreaterThanOrEqual(state.accepted.length);
    expect([...state.delivered, ...state.pending].sort()).toHaveLength(EVENTS);
  });

  it('a mid-run checkpoint: starts no new POSTs, answers 200 within the bound, every acknowledged event recorded or pending', async () => {
    // Enough events, slow enough, that the run is still going when the checkpoint's deadline passes.
    await seedEvents(db, collections.outbox, 40);
    router.script = () => ({ respond: 200, delayMs: 300 });

    const { response, ms } = await run({ wrapStore: freezeStoreAt({ record: (n) => n === 2 }) });
    const state = await afterThaw();

    expect(response.status).toBe(200);
    expect(response.body.stoppedBy).toBe('checkpoint_failed');
    expect(ms).toBeLessThan(ANSWER_WITHIN_MS);
    expect(response.body.unrecorded).toBeGreaterThan(0);
    expect(state.postedTwice).toBe(0);
    expect(state.accepted.length).toBeLessThan(40);
    expect(state.delivered.length + response.body.unrecorded).toBeGreaterThanOrEqual(state.accepted.length);
  });

  it('the final flush after every POST succeeded: answers 200, not 500, within the bound; the events stay pending', async () => {
    const { response, ms } = await run({ wrapStore: freezeStoreAt({ record: () => true }) }, { BATCH_SIZE: '100' });
    const state = await afterThaw();

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ delivered: EVENTS, unrecorded: EVENTS });
    expect(ms).toBeLessThan(ANSWER_WITHIN_MS);
    expect(state.postedTwice).toBe(0);
    expect(state.accepted).toHaveLength(EVENTS);
  });

  it('the audit: answers 200 within the bound with every delivery recorded', async () => {
    const { response, ms } = await run({ wrapStore: freezeStoreAt({ audit: true }) });
    const state = await afterThaw();

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ delivered: EVENTS, auditFailed: true, unrecorded: 0 });
    expect(ms).toBeLessThan(ANSWER_WITHIN_MS);
    expect(state.delivered).toHaveLength(EVENTS);
  });

  it('the lease release: answers 200 within the bound with every delivery recorded', async () => {
    const wrapLease = (lease: RunLease): RunLease => ({
      acquire: (owner, ttl) => lease.acquire(owner, ttl),
      renew: (held, ttl) => lease.renew(held, ttl),
      follow: (held, onHandover) => lease.follow(held, onHandover),
      requestHandover: (requester) => lease.requestHandover(requester),
      release: (held) => {
        freeze();
        return lease.release(held);
      },
    });

    const { response, ms } = await run({ wrapLease });
    const state = await afterThaw();

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ delivered: EVENTS, unrecorded: 0 });
    expect(ms).toBeLessThan(ANSWER_WITHIN_MS);
    expect(state.delivered).toHaveLength(EVENTS);
  });

  it('while following new events (FOLLOW_MS): stops, answers 200 within the bound, nothing POSTed twice, nothing lost', async () => {
    const following = run({}, { FOLLOW_MS: '20000', RUN_BUDGET_MS: '30000' });
    while (router.received.length < EVENTS) await new Promise((resolve) => setTimeout(resolve, 20));
    await commitLive(4);
    while (router.received.length < EVENTS + 4) await new Promise((resolve) => setTimeout(resolve, 20));
    const frozenAt = Date.now();
    freeze();

    const { response } = await following;
    const answeredMs = Date.now() - frozenAt;
    const state = await afterThaw();

    expect(response.status).toBe(200);
    // Renewals time out (the lease is expiring) or a checkpoint does, whichever comes first: as in a normal run.
    expect(['lease_expiring', 'checkpoint_failed']).toContain(response.body.stoppedBy);
    expect(answeredMs).toBeLessThan(ANSWER_WITHIN_MS);
    expect(state.postedTwice).toBe(0);
    expect(state.delivered.length + response.body.unrecorded).toBeGreaterThanOrEqual(state.accepted.length);
    expect([...state.delivered, ...state.pending]).toHaveLength(EVENTS + 4);
  });
});

describe('Firestore unreachable', () => {
  // A process of its own: a client pointed at a closed port keeps retrying in the background, which only
  // ending the process stops (as Cloud Run ends an instance); in this process it would keep Jest from exiting.
  it('answers 500 naming what failed within 60 s when nothing listens on its port, POSTing nothing', async () => {
    const closed = `127.0.0.1:${await freeLoopbackPort()}`;
    const env = {
      PATH: process.env.PATH,
      METADATA_SERVER_DETECTION: 'none',
      ...relayEnv(router.url, collections),
      FIRESTORE_EMULATOR_HOST: closed,
    };
    const fn = await serveFunction({ projectRoot: PROJECT_ROOT, target: 'outboundEventHandler', env });
    try {
      const started = Date.now();
      const response = await fetch(fn.url, { method: 'POST' });
      const ms = Date.now() - started;
      const body = (await response.json()) as Record<string, unknown>;

      expect(response.status).toBe(500);
      expect(body).toMatchObject({ error: 'lease_unavailable' });
      expect(String(body.message)).toContain('acquiring the run lease');
      expect(ms).toBeLessThan(60_000);
      expect(router.received).toHaveLength(0);
    } finally {
      await fn.stop('SIGKILL');
    }
  }, 90_000);
});
