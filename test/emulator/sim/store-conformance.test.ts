import { Timestamp } from '@google-cloud/firestore';
import { FirestoreOutboxStore } from '../../../src/adapters/firestore-outbox-store.js';
import { FirestoreRunLease } from '../../../src/adapters/firestore-run-lease.js';
import { redriveEvent } from '../../../src/cli/commands/redrive.js';
import { releaseKeys } from '../../../src/cli/commands/release-key.js';
import type { EventOutcome, StoredDocument } from '../../../src/core/event.js';
import { Instant } from '../../../src/core/instant.js';
import type { HeldLease, OutboxPage, OutboxStore, PageCursor, RunLease } from '../../../src/core/ports.js';
import { SimFirestore, SimOutboxStore, SimRunLease } from '../../sim/world/sim-firestore.js';
import { SimClock, SimScheduler, settle } from '../../sim/world/sim-scheduler.js';
import { useOutboxFixture } from '../../support/outbox-fixtures.js';

/**
 * The simulation's Firestore (test/sim/world/sim-firestore.ts) against the real one: the same operations through
 * the relay's ports and the operator's commands, on the emulator and on the model, must come to the same
 * observations, so the simulation cannot drift from Firestore unnoticed (issue 20, item 6).
 */

/** One Firestore as the operations see it. */
interface Backend {
  readonly store: OutboxStore;
  readonly lease: RunLease;
  /** A producer's write: a pending event. */
  put(id: string, createdAtMs: number, fields: Record<string, unknown>): Promise<void>;
  status(id: string): Promise<unknown>;
  redrive(id: string): Promise<void>;
  releaseKey(key: string): Promise<void>;
  /** Waits for the work, letting the backend answer it (the model's scheduler completes its I/O). */
  readonly answer: <T>(work: Promise<T>) => Promise<T>;
  /** Lets listeners hear what was written (the emulator's arrive on their own). */
  heard(count: () => number, atLeast: number): Promise<void>;
}

function modelBackend(): Backend {
  const scheduler = new SimScheduler(Date.UTC(2026, 0, 1));
  const db = new SimFirestore(scheduler, { recordedDelivered: () => undefined, recordedDeadLetter: () => undefined });
  const clock = new SimClock(scheduler, 'conformance', 0);
  const drain = async (): Promise<void> => {
    for (;;) {
      await settle();
      if (scheduler.pending.length === 0) return;
      scheduler.complete(0, 'ok');
    }
  };
  return {
    store: new SimOutboxStore(db, 'conformance'),
    lease: new SimRunLease(db, 'conformance', clock),
    put: (id, createdAtMs, fields) =>
      Promise.resolve(db.put(id, { ...fields, createdAt: Instant.fromMillis(createdAtMs), status: 'pending' })),
    status: (id) => Promise.resolve(db.documents.get(id)?.fields.status),
    redrive: (id) => Promise.resolve(void db.redrive(id)),
    releaseKey: (key) => Promise.resolve(void db.releaseKey(key)),
    answer: async (work) => {
      const outcome = work.then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      );
      await drain();
      const settled = await outcome;
      if ('error' in settled) throw settled.error;
      return settled.value;
    },
    heard: () => drain(),
  };
}

function emulatorBackend(fx: ReturnType<typeof useOutboxFixture>): Backend {
  const outbox = fx.db.collection(fx.outbox);
  const parkedKeysCollection = `${fx.outbox}_parked`;
  const leaseRef = fx.db.collection(`${fx.outbox}_lease`).doc('shard-0');
  const config = { outboxCollection: fx.outbox, parkedKeysCollection, maxRedrives: 3 };
  return {
    store: new FirestoreOutboxStore(fx.db, {
      outboxCollection: fx.outbox,
      auditCollection: `${fx.outbox}_runs`,
      parkedKeysCollection,
      leaseRef,
      shard: { index: 0, count: 1 },
      deliveredRetentionDays: 0,
    }),
    lease: new FirestoreRunLease(fx.db, leaseRef),
    put: async (id, createdAtMs, fields) => {
      await outbox.doc(id).set({ ...fields, createdAt: Timestamp.fromMillis(createdAtMs), status: 'pending' });
    },
    status: async (id) => (await outbox.doc(id).get()).get('status') as unknown,
    redrive: async (id) => {
      await redriveEvent(fx.db, config, id);
    },
    releaseKey: async (key) => {
      await releaseKeys(fx.db, config, [key]);
    },
    answer: (work) => work,
    heard: async (count, atLeast) => {
      // The listener's notice arrives on its own; waited for, not timed (the spec's timeout bounds a lost one).
      while (count() < atLeast) await new Promise((resolve) => setTimeout(resolve, 20));
    },
  };
}

const BASE_MS = Date.UTC(2026, 0, 1);

/** The operations, one after another; what each came to goes into the observations. */
async function observe(backend: Backend): Promise<Record<string, unknown>> {
  const seen: Record<string, unknown> = {};
  const { store, lease, answer } = backend;
  // Query order: createdAt, then id; ties within one createdAt kept apart only by id.
  await backend.put('e-b', BASE_MS + 10, { type: 't', data: 1, orderingKey: 'k', sequence: 1 });
  await backend.put('e-a', BASE_MS + 10, { type: 't', data: 2, orderingKey: 'k', sequence: 0 });
  await backend.put('e-c', BASE_MS + 5, { type: 't', data: 3, orderingKey: 'k' });
  await backend.put('e-d', BASE_MS + 20, { type: 't', data: 4 });
  await backend.put('e-e', BASE_MS + 20, { type: 't', data: 5 });
  const pages: string[][] = [];
  let cursor: PageCursor | undefined;
  do {
    const page = await answer(store.fetchPending(2, cursor, Number.POSITIVE_INFINITY));
    pages.push(page.documents.map((document) => document.id));
    cursor = page.next;
  } while (cursor !== undefined);
  seen.pagesOfTwo = pages;

  // The lease: one holder; another is told who holds it.
  const first = await answer(lease.acquire('run-a', 60_000));
  const second = await answer(lease.acquire('run-b', 60_000));
  seen.leases = [first.acquired, second.acquired ? 'acquired' : second.owner];
  if (!first.acquired) throw new Error('the first acquire must succeed');
  const held = first.lease;

  // Outcomes only onto the version read, only under the lease; dead letters park their key, each remembered.
  const read = await answer(store.fetchPending(100, undefined, Number.POSITIVE_INFINITY));
  const version = (id: string): StoredDocument['version'] => {
    const found = read.documents.find((document) => document.id === id);
    if (found === undefined) throw new Error(`${id} was not read`);
    return found.version;
  };
  const deadLetter = (id: string): EventOutcome => ({
    kind: 'dead_letter',
    eventId: id,
    version: version(id),
    reason: 'HTTP 400',
    attempts: 1,
    postAttempts: 1,
    parkKey: 'k',
  });
  const delivered = (id: string): EventOutcome => ({ kind: 'delivered', eventId: id, version: version(id), postAttempts: 1 });
  seen.firstRecord = (await answer(store.recordOutcomes([delivered('e-d'), deadLetter('e-c')], held))).stale;
  seen.secondDeadLetter = (await answer(store.recordOutcomes([deadLetter('e-a')], held))).stale;
  seen.staleVersion = (await answer(store.recordOutcomes([delivered('e-d')], held))).stale;
  // A transaction conflict: two commits for one version, at once; exactly one lands.
  const racing = await answer(
    Promise.all([store.recordOutcomes([delivered('e-e')], held), store.recordOutcomes([delivered('e-e')], held)]),
  );
  seen.racingStale = racing.map((report) => report.stale.length).sort();
  seen.statuses = await Promise.all(['e-a', 'e-b', 'e-c', 'e-d', 'e-e'].map((id) => backend.status(id)));
  seen.parkedAfterDeadLetters = [...(await answer(store.fetchParkedKeys()))];
  await backend.redrive('e-c');
  seen.parkedAfterFirstRedrive = [...(await answer(store.fetchParkedKeys()))];
  await backend.redrive('e-a');
  seen.parkedAfterSecondRedrive = [...(await answer(store.fetchParkedKeys()))];
  seen.pendingAfterRedrives = (await answer(store.fetchPending(100, undefined, Number.POSITIVE_INFINITY))).documents.map((d) => d.id);

  // A run whose lease was taken writes nothing.
  const foreign: HeldLease = { token: 'not-the-lease', expiresAtMs: held.expiresAtMs };
  seen.foreignLease = await answer(store.recordOutcomes([delivered('e-b')], foreign)).then(
    () => 'written',
    (error: unknown) => (error instanceof Error ? error.name : String(error)),
  );
  await answer(lease.release(held));
  const after = await answer(lease.acquire('run-b', 60_000));
  seen.afterRelease = after.acquired;

  // The listener: told once at the start, and again after a pending event is committed.
  let told = 0;
  const stop = store.watchPending(
    () => (told += 1),
    () => undefined,
  );
  await backend.heard(() => told, 1);
  const atStart = told;
  await backend.put('e-f', BASE_MS + 30, { type: 't', data: 6 });
  await backend.heard(() => told, atStart + 1);
  stop();
  seen.listener = { toldAtStart: atStart >= 1, toldAfterWrite: told > atStart };
  // release-key frees a key parked behind a dead letter that stays one.
  if (after.acquired) {
    const page: OutboxPage = await answer(store.fetchPending(100, undefined, Number.POSITIVE_INFINITY));
    const b = page.documents.find((d) => d.id === 'e-b');
    if (b !== undefined)
      await answer(
        store.recordOutcomes(
          [{ kind: 'dead_letter', eventId: 'e-b', version: b.version, reason: 'x', attempts: 1, postAttempts: 1, parkKey: 'k' }],
          after.lease,
        ),
      );
  }
  seen.parkedBeforeRelease = [...(await answer(store.fetchParkedKeys()))];
  await backend.releaseKey('k');
  seen.parkedAfterRelease = [...(await answer(store.fetchParkedKeys()))];
  seen.releasedStillDeadLetter = await backend.status('e-b');
  return seen;
}

const fx = useOutboxFixture();

describe("the simulation's Firestore against the emulator", () => {
  it('comes to the same observations: query order, preconditions, a transaction conflict, parked keys, the lease, the listener', async () => {
    const model = await observe(modelBackend());

    const real = await observe(emulatorBackend(fx));

    expect(model).toEqual(real);
    // And the observations say what the relay counts on, so two backends agreeing on nonsense cannot pass.
    expect(real).toMatchObject({
      pagesOfTwo: [['e-c', 'e-a'], ['e-b', 'e-d'], ['e-e']],
      leases: [true, 'run-a'],
      // Already showing the outcome is not stale (a late commit of the run's own); the model once said otherwise.
      staleVersion: [],
      racingStale: [0, 0],
      parkedAfterFirstRedrive: ['k'],
      parkedAfterSecondRedrive: [],
      foreignLease: 'LeaseLostError',
      listener: { toldAtStart: true, toldAfterWrite: true },
      parkedAfterRelease: [],
      releasedStillDeadLetter: 'dead_letter',
    });
  });
});

/** Shard `index` of a store drained under SHARD_COUNT 2, or while resharding 2 → 4: the model's and the emulator's. */
function shardedStores(index: number, previousCount?: number) {
  const count = previousCount === undefined ? 2 : 4;
  const drained = Math.max(count, previousCount ?? 0);
  const scheduler = new SimScheduler(Date.UTC(2026, 0, 1));
  const db = new SimFirestore(scheduler, { recordedDelivered: () => undefined, recordedDeadLetter: () => undefined });
  const shard = previousCount === undefined ? { index, drained } : { index, previousCount, drained };
  const model = new SimOutboxStore(db, 'conformance', shard);
  const real = new FirestoreOutboxStore(fx.db, {
    outboxCollection: fx.outbox,
    auditCollection: `${fx.outbox}_runs`,
    parkedKeysCollection: `${fx.outbox}_parked`,
    leaseRef: fx.db.collection(`${fx.outbox}_lease`).doc(`shard-${index}`),
    shard: previousCount === undefined ? { index, count } : { index, count, previousCount },
    deliveredRetentionDays: 0,
  });
  /** The same pending document in both. */
  const put = async (id: string, fields: Record<string, unknown>, createdAtMs?: number): Promise<void> => {
    const dated = createdAtMs === undefined ? {} : { createdAt: Instant.fromMillis(createdAtMs) };
    db.put(id, { type: 't', data: 1, status: 'pending', ...fields, ...dated });
    const createdAt = createdAtMs === undefined ? {} : { createdAt: Timestamp.fromMillis(createdAtMs) };
    await fx.db
      .collection(fx.outbox)
      .doc(id)
      .set({ type: 't', data: 1, status: 'pending', ...fields, ...createdAt });
  };
  /** The model's answer, its I/O completed. */
  const fromModel = async <T>(work: Promise<T>): Promise<T> => {
    for (;;) {
      await settle();
      if (scheduler.pending.length === 0) return work;
      scheduler.complete(0, 'ok');
    }
  };
  return { model, real, put, fromModel };
}

describe("the simulation's Firestore against the emulator, sharded", () => {
  it('sweeps the same strays: shard 0 alone, pending events without createdAt or without a shard drained', async () => {
    const zero = shardedStores(0);
    const one = shardedStores(1);
    await zero.put('in-shard-1', { shard: 1 }, BASE_MS);
    await zero.put('no-created-at', { shard: 1, orderingKey: 'k' });
    await zero.put('no-shard', { orderingKey: 'k' }, BASE_MS);
    await zero.put('shard-out-of-range', { shard: 5 }, BASE_MS);
    await zero.put('shard-not-a-number', { shard: '1' }, BASE_MS);
    const plan = { wholeOutbox: false };

    const ids = (documents: readonly StoredDocument[]) => documents.map((document) => document.id).sort();
    const model = [ids(await zero.fromModel(zero.model.fetchStrays(10))), ids(await one.fromModel(one.model.fetchStrays(10)))];
    const real = [ids(await zero.real.fetchStrays(10, plan)), ids(await one.real.fetchStrays(10, plan))];

    expect(model).toEqual(real);
    expect(real).toEqual([['no-created-at', 'no-shard', 'shard-not-a-number', 'shard-out-of-range'], []]);
  });

  it('holds the same keys while resharding 2 → 4: an old-count event elsewhere holds its key, an old-count stray holds none', async () => {
    const zero = shardedStores(0, 2);
    await zero.put('old-elsewhere', { orderingKey: 'held', shard: 1, shardCount: 2 }, BASE_MS);
    await zero.put('old-here', { orderingKey: 'here', shard: 0, shardCount: 2 }, BASE_MS);
    await zero.put('old-stray', { orderingKey: 'stray', shard: 1, shardCount: 2 });
    await zero.put('old-out-of-range', { orderingKey: 'out', shard: 9, shardCount: 2 }, BASE_MS);
    await zero.put('new-elsewhere', { orderingKey: 'new', shard: 3, shardCount: 4 }, BASE_MS);

    const model = [...(await zero.fromModel(zero.model.fetchParkedKeys()))].sort();
    const real = [...(await zero.real.fetchParkedKeys())].sort();

    expect(model).toEqual(real);
    expect(real).toEqual(['held']);
  });
});
