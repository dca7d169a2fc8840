import { Timestamp } from '@google-cloud/firestore';
import { outboxCollections } from '../../../src/config.js';
import { readOutboxStatus } from '../../../src/cli/commands/status.js';
import { seedEvents, useOutboxFixture } from '../../support/outbox-fixtures.js';
import { cliEnv, runInProcess } from '../../support/cli-runner.js';
import { seedDeadLetters, seedDelivered, setStatus } from '../../support/outbox-states.js';

const fx = useOutboxFixture();

const BASE_MS = Date.UTC(2026, 0, 1);
const collections = () => ({ outboxCollection: fx.outbox, parkedKeysCollection: outboxCollections(fx.outbox).parkedKeysCollection });

describe('Command: status', () => {
  it('shows every shard (pending, oldest age, lease holder) and a reshard in progress', async () => {
    const outbox = fx.db.collection(fx.outbox);
    const leases = `${fx.outbox}_leases`;
    const at = (ms: number) => Timestamp.fromMillis(BASE_MS + ms);
    await outbox.doc('a').set({ type: 't', data: {}, status: 'pending', createdAt: at(0), shard: 3, shardCount: 4 });
    await outbox.doc('b').set({ type: 't', data: {}, status: 'pending', createdAt: at(30_000), shard: 1, shardCount: 2 });
    await outbox.doc('c').set({ type: 't', data: {}, status: 'delivered', createdAt: at(0), shard: 0, shardCount: 4 });
    await fx.db
      .collection(leases)
      .doc(`${fx.outbox}.shard-1`)
      .set({ owner: 'run-x-s1', ttlMs: 30_000, renewedAt: at(80_000) });

    const status = await readOutboxStatus(
      fx.db,
      { ...collections(), leaseCollection: leases, shardCount: 2, previousShardCount: 4 },
      BASE_MS + 90_000,
    );

    expect(status.shards).toEqual([
      { shard: 0, pending: 0, oldestPendingAgeMs: null, leaseHolder: null },
      { shard: 1, pending: 1, oldestPendingAgeMs: 60_000, leaseHolder: 'run-x-s1' },
      { shard: 2, pending: 0, oldestPendingAgeMs: null, leaseHolder: null },
      { shard: 3, pending: 1, oldestPendingAgeMs: 90_000, leaseHolder: null },
    ]);
    expect(status.reshard).toEqual({ from: 4, to: 2, pendingOfPreviousCount: 1 });
  });

  it('counts events by status and gives the oldest pending event with its age', async () => {
    await seedEvents(fx.db, fx.outbox, 3, { baseMs: BASE_MS });
    await seedDelivered(fx.db, fx.outbox, [new Date(BASE_MS), new Date(BASE_MS)]);
    await seedDeadLetters(fx.db, fx.outbox, [{ id: 'dead-1' }]);

    const status = await readOutboxStatus(fx.db, collections(), BASE_MS + 90_000);

    expect(status).toEqual({
      collection: fx.outbox,
      counts: { pending: 3, delivered: 2, dead_letter: 1 },
      otherStatus: 0,
      oldestPending: { id: 'evt-0000', createdAt: '2026-01-01T00:00:00.000Z', ageMs: 90_000 },
      onBackoff: 0,
      parkedKeys: { count: 0, keys: [] },
    });
  });

  it('counts the pending events waiting out a backoff and lists the keys parked behind a dead letter', async () => {
    await seedEvents(fx.db, fx.outbox, 3, { baseMs: BASE_MS });
    await fx.db
      .collection(fx.outbox)
      .doc('evt-0001')
      .update({ nextAttemptAt: Timestamp.fromMillis(BASE_MS + 600_000), attempts: 1 });
    await fx.db
      .collection(fx.outbox)
      .doc('evt-0002')
      .update({ nextAttemptAt: Timestamp.fromMillis(BASE_MS - 1), attempts: 1 });
    await fx.db
      .collection(outboxCollections(fx.outbox).parkedKeysCollection)
      .doc('k')
      .set({ orderingKey: 'order-7', eventId: 'dead-7', parkedAt: Timestamp.fromMillis(BASE_MS), shard: 0 });

    const status = await readOutboxStatus(fx.db, collections(), BASE_MS + 1000);
    const text = await runInProcess(['status'], cliEnv(fx.outbox));

    expect(status.onBackoff).toBe(1);
    expect(status.parkedKeys).toEqual({
      count: 1,
      keys: [{ orderingKey: 'order-7', eventId: 'dead-7', deadLetters: ['dead-7'], parkedAt: '2026-01-01T00:00:00.000Z' }],
    });
    expect(text.stdout).toContain('parked keys: 1');
    expect(text.stdout).toContain('order-7  behind dead-7');
  });

  it('takes the oldest pending event by createdAt, not by id', async () => {
    await seedEvents(fx.db, fx.outbox, 3, { baseMs: BASE_MS });
    await setStatus(fx.db, fx.outbox, ['evt-0000'], 'delivered');

    const status = await readOutboxStatus(fx.db, collections(), BASE_MS + 1000);

    expect(status.oldestPending).toEqual({ id: 'evt-0001', createdAt: '2026-01-01T00:00:00.001Z', ageMs: 999 });
  });

  it('counts documents with a status the relay does not know as other', async () => {
    await seedEvents(fx.db, fx.outbox, 3);
    await setStatus(fx.db, fx.outbox, ['evt-0001', 'evt-0002'], 'archived');

    const status = await readOutboxStatus(fx.db, collections());

    expect(status.counts).toEqual({ pending: 1, delivered: 0, dead_letter: 0 });
    expect(status.otherStatus).toBe(2);
  });

  it('reports no oldest pending event when nothing is pending', async () => {
    await seedDelivered(fx.db, fx.outbox, [new Date(BASE_MS)]);

    const status = await readOutboxStatus(fx.db, collections());

    expect(status.oldestPending).toBeNull();
    expect(status.counts.delivered).toBe(1);
  });

  it('prints the counts and the oldest pending event, and the same facts as JSON with --json', async () => {
    await seedEvents(fx.db, fx.outbox, 2, { baseMs: BASE_MS });
    await seedDeadLetters(fx.db, fx.outbox, [{ id: 'dead-1' }]);

    const text = await runInProcess(['status'], cliEnv(fx.outbox));
    const json = await runInProcess(['status', '--json'], cliEnv(fx.outbox));

    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/pending\s+2\n/);
    expect(text.stdout).toMatch(/dead_letter\s+1\n/);
    expect(text.stdout).toContain('oldest pending: evt-0000, created 2026-01-01T00:00:00.000Z, ');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      counts: { pending: 2, delivered: 0, dead_letter: 1 },
      oldestPending: { id: 'evt-0000', createdAt: '2026-01-01T00:00:00.000Z', ageMs: expect.any(Number) },
    });
  });
});
