import request from 'supertest';
import { redriveEvent } from '../../../src/cli/commands/redrive.js';
import { shardOf } from '../../../src/core/shard.js';
import { createOutbox } from '../../../src/producer/enqueue.js';
import { memoryLogger, relayEnv, serveHandler } from '../../support/function-server.js';
import { idsWithStatus, readAll } from '../../support/outbox-fixtures.js';
import { useRelayFixture } from '../../support/relay-fixture.js';

const fx = useRelayFixture();
const SHARDS = 3;

async function enqueue(count: number): Promise<string[]> {
  const outbox = createOutbox(fx.db, { collection: fx.collections.outbox, shardCount: SHARDS });
  const batch = fx.db.batch();
  const ids = Array.from({ length: count }, (_, i) =>
    outbox.enqueue(batch, { type: 'order.created', data: { i }, orderingKey: `order-${i % 7}` }),
  );
  await batch.commit();
  return ids;
}

const runShard = (index: number) =>
  request(
    serveHandler({
      env: relayEnv(fx.router.url, fx.collections, { SHARD_COUNT: String(SHARDS), SHARD_INDEX: String(index) }),
      logger: memoryLogger(),
    }),
  ).post('/');

const runAll = (overrides: Record<string, string> = {}) =>
  request(
    serveHandler({
      env: relayEnv(fx.router.url, fx.collections, { SHARD_COUNT: String(SHARDS), ...overrides }),
      logger: memoryLogger(),
    }),
  ).post('/');

describe('One deployment for every shard (no SHARD_INDEX)', () => {
  it('drains every shard in one run, each shard by its own lease, and answers what each shard did', async () => {
    const ids = await enqueue(42);

    const response = await runAll();

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ delivered: 42, stoppedBy: 'drained', hasMore: false });
    const shards = response.body.shards as { shard: number; outcome: string }[];
    expect(shards.map((s) => [s.shard, s.outcome])).toEqual([
      [0, 'drained'],
      [1, 'drained'],
      [2, 'drained'],
    ]);
    expect(fx.router.acceptedIds().sort()).toEqual([...ids].sort());
    expect(await idsWithStatus(fx.db, fx.collections.outbox, 'delivered')).toEqual([...ids].sort());
  });

  it('leaves a shard that a pinned deployment is draining to it: one run per shard, never two POSTs of one event', async () => {
    const ids = await enqueue(42);
    const stored = await readAll(fx.db, fx.collections.outbox);
    const inShard1 = ids.filter((id) => stored.get(id)?.shard === 1);

    // The pinned run of shard 1 and the run of every shard start together; each shard is delivered by one of them.
    const [pinned, all] = await Promise.all([runShard(1), runAll()]);

    expect(pinned.status).toBe(200);
    expect(all.status).toBe(200);
    expect(fx.router.acceptedIds().sort()).toEqual([...ids].sort());
    const shard1 = (all.body.shards as { shard: number; outcome: string }[]).find((s) => s.shard === 1);
    // Whichever took shard 1's lease first delivered all of it.
    if (shard1?.outcome === 'lease-held') expect(pinned.body.delivered).toBe(inShard1.length);
    else expect(pinned.body).toMatchObject({ skipped: 'lease-held' });
  });

  it('with SHARDS_PER_RUN=2 two runs side by side split the shards, each taking a free one once its own are drained', async () => {
    const ids = await enqueue(42);

    const [a, b] = await Promise.all([runAll({ SHARDS_PER_RUN: '2' }), runAll({ SHARDS_PER_RUN: '2' })]);
    const shardsOf = (body: { shards?: { shard: number; outcome: string }[] }) =>
      (body.shards ?? []).filter((s) => s.outcome !== 'lease-held').map((s) => s.shard);

    for (const answer of [a, b]) expect(answer.status).toBe(200);
    // Every shard was run by one of the two (a shard the other had drained may be run again, finding nothing), and no
    // event is POSTed twice: no shard waits for a later run.
    expect([...new Set([...shardsOf(a.body), ...shardsOf(b.body)])].sort()).toEqual(
      Array.from({ length: SHARDS }, (_unused, shard) => shard),
    );
    expect(fx.router.acceptedIds().sort()).toEqual([...ids].sort());
  });
});

describe('Shards', () => {
  it('has each SHARD_INDEX deliver only its own shard, and all shards together deliver everything', async () => {
    const ids = await enqueue(42);
    const stored = await readAll(fx.db, fx.collections.outbox);
    const inShard1 = ids.filter((id) => stored.get(id)?.shard === 1).sort();

    const first = await runShard(1);

    expect(first.body.delivered).toBe(inShard1.length);
    expect(fx.router.acceptedIds().sort()).toEqual(inShard1);
    await runShard(0);
    await runShard(2);
    expect(await idsWithStatus(fx.db, fx.collections.outbox, 'delivered')).toEqual([...ids].sort());
  });

  it('keeps every event of one orderingKey in one shard', async () => {
    const ids = await enqueue(21);
    const stored = await readAll(fx.db, fx.collections.outbox);

    for (let key = 0; key < 7; key += 1) {
      const shards = new Set(ids.filter((_, i) => i % 7 === key).map((id) => stored.get(id)?.shard));
      expect([...shards]).toEqual([shardOf(`order-${key}`, SHARDS)]);
    }
  });

  it('dead-letters, from shard 0, a pending event that names no existing shard, and a redrive puts it back in one', async () => {
    await fx.db
      .collection(fx.collections.outbox)
      .doc('lost-shard')
      .set({ type: 'order.created', data: {}, createdAt: new Date(), status: 'pending', shard: 9, orderingKey: 'order-x' });
    await fx.db
      .collection(fx.collections.outbox)
      .doc('no-shard')
      .set({ type: 'order.created', data: {}, createdAt: new Date(), status: 'pending' });

    await runShard(2);
    expect(await idsWithStatus(fx.db, fx.collections.outbox, 'pending')).toEqual(['lost-shard', 'no-shard']);
    const response = await runShard(0);

    expect(response.body.deadLettered).toBe(2);
    const stored = await readAll(fx.db, fx.collections.outbox);
    expect(String(stored.get('lost-shard')?.deadLetterReason)).toContain('shard must be an integer from 0 to 2');
    await redriveEvent(fx.db, { outboxCollection: fx.collections.outbox, maxRedrives: 3, shardCount: SHARDS }, 'lost-shard');
    expect((await readAll(fx.db, fx.collections.outbox)).get('lost-shard')).toMatchObject({
      status: 'pending',
      shard: shardOf('order-x', SHARDS),
    });
  });
});
