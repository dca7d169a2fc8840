import { Instant } from '../../../src/core/instant.js';
import type { RelayDeps, RelayOptions, RunResult } from '../../../src/core/relay.js';
import { combineShardResults, nextFreeShardWanted, runShards, shareOfBudgets, type ShardResult } from '../../../src/core/shard-runs.js';
import { memoryLogger } from '../../support/function-server.js';
import { MemoryOutboxStore, MemoryRunLease } from '../../support/memory-outbox-store.js';
import { memoryRouter, ok, status } from '../../support/memory-router.js';
import { UNIT_RELAY_OPTIONS } from '../../support/relay-options.js';
import { VirtualClock } from '../../support/virtual-clock.js';

const SHARDS = 4;

/** Four shards in memory, each with its own store and lease, one router for all, on virtual time. */
function setup(random = 0, poison: ReadonlySet<string> = new Set()) {
  const clock = new VirtualClock();
  const stores = Array.from({ length: SHARDS }, () => new MemoryOutboxStore(new MemoryRunLease(() => clock.now())));
  const router = memoryRouter(clock, (event) => ({ afterMs: 10, answer: poison.has(event.id) ? status(500) : ok }));
  const logger = memoryLogger();
  const shardDeps = (shard: number): RelayDeps => {
    const store = stores[shard] as MemoryOutboxStore;
    return { store, lease: store.lease, router: router.router, clock, logger, random: () => 0.5 };
  };
  const run = (runId: string, perRun = SHARDS, options: Partial<RelayOptions> = {}): Promise<RunResult> =>
    clock.run(
      runShards(
        runId,
        { shards: [0, 1, 2, 3], perRun },
        { shardDeps, clock, logger, random: () => random },
        { ...UNIT_RELAY_OPTIONS, shardCount: SHARDS, ...options },
      ),
    );
  const put = (shard: number, id: string, i: number): void =>
    (stores[shard] as MemoryOutboxStore).put(id, {
      type: 't',
      data: { id },
      createdAt: Instant.fromMillis(Date.UTC(2026, 0, 1) + i),
      status: 'pending',
      shard,
      orderingKey: `key-${id}`,
    });
  return { clock, stores, router, logger, run, put };
}

function ran(result: RunResult) {
  if (result.kind !== 'ran') throw new Error(`expected the run to run, got ${result.kind}`);
  return result;
}

describe('One run over every shard (shard-runs)', () => {
  it('stops taking shard leases on SIGTERM: a lease call that hangs ends at once, nothing is POSTed', async () => {
    const { clock, stores, router, logger, put } = setup();
    for (let shard = 0; shard < SHARDS; shard += 1) put(shard, `s${shard}-0`, 0);
    for (const store of stores) store.lease.acquire = () => new Promise(() => undefined);
    const shutdown = new AbortController();
    void clock.sleep(100).then(() => shutdown.abort());
    const startedAt = clock.now();
    const shardDeps = (shard: number): RelayDeps => {
      const store = stores[shard] as MemoryOutboxStore;
      return { store, lease: store.lease, router: router.router, clock, logger };
    };

    // FIRESTORE_TIMEOUT_MS far beyond the shutdown bound, so only the SIGTERM can end the wait.
    const result = await clock.run(
      runShards(
        'run-1',
        { shards: [0, 1, 2, 3], perRun: SHARDS },
        { shardDeps, clock, logger, random: () => 0 },
        { ...UNIT_RELAY_OPTIONS, shardCount: SHARDS, firestoreTimeoutMs: 60_000 },
        { shutdown: shutdown.signal },
      ),
    );

    expect(result).toMatchObject({ kind: 'not_started', error: expect.stringContaining('shutting down (SIGTERM)') });
    expect(clock.now() - startedAt).toBeLessThanOrEqual(100 + UNIT_RELAY_OPTIONS.shutdownTimeoutMs);
    expect(router.posts).toHaveLength(0);
  });

  it('delivers every shard in one run, each shard’s events by its own lease', async () => {
    const { stores, router, run, put } = setup();
    for (let shard = 0; shard < SHARDS; shard += 1) for (let i = 0; i < 5; i += 1) put(shard, `s${shard}-${i}`, i);

    const result = ran(await run('run-1'));

    expect(result.summary).toMatchObject({ delivered: 20, stoppedBy: 'drained', hasMore: false });
    expect(result.summary.shards?.map((s) => [s.shard, s.outcome, s.delivered])).toEqual([
      [0, 'drained', 5],
      [1, 'drained', 5],
      [2, 'drained', 5],
      [3, 'drained', 5],
    ]);
    expect(new Set(router.posts.map((p) => p.eventId)).size).toBe(20);
    for (const store of stores) expect(store.audits.map((a) => a.runId)).toHaveLength(1);
    expect(stores.map((store) => store.audits[0]?.runId)).toEqual(['run-1-s0', 'run-1-s1', 'run-1-s2', 'run-1-s3']);
  });

  it('delivers the shards side by side: four shards of slow POSTs take the time of one', async () => {
    const { clock, run, put } = setup();
    for (let shard = 0; shard < SHARDS; shard += 1) put(shard, `s${shard}`, 0);
    const startedAt = clock.now();

    ran(await run('run-1'));

    // Each POST takes 10 ms of virtual time; one after the other they would take 40.
    expect(clock.now() - startedAt).toBeLessThan(20);
  });

  it('holds no more than SHARDS_PER_RUN shard leases at once, leaving the others free for another instance meanwhile', async () => {
    const { stores, run, put } = setup();
    for (let shard = 0; shard < SHARDS; shard += 1) put(shard, `s${shard}`, shard);
    let holding = 0;
    let mostHeld = 0;
    for (const store of stores) {
      const acquire = store.lease.acquire.bind(store.lease);
      const release = store.lease.release.bind(store.lease);
      store.lease.acquire = async (owner, ttlMs) => {
        const attempt = await acquire(owner, ttlMs);
        if (attempt.acquired) mostHeld = Math.max(mostHeld, (holding += 1));
        return attempt;
      };
      store.lease.release = async (held) => {
        await release(held);
        holding -= 1;
      };
    }

    ran(await run('run-a', 2));

    expect(mostHeld).toBe(2);
  });

  it('hands a drained shard’s slot to a shard it has not tried: with SHARDS_PER_RUN=2 one run drains all four', async () => {
    const { stores, run, put, logger } = setup();
    for (let shard = 0; shard < SHARDS; shard += 1) put(shard, `s${shard}`, shard);

    const result = ran(await run('run-a', 2));

    expect(result.summary.delivered).toBe(4);
    expect(result.summary.shards?.map((s) => [s.shard, s.outcome])).toEqual([
      [0, 'drained'],
      [1, 'drained'],
      [2, 'drained'],
      [3, 'drained'],
    ]);
    expect(stores.map((store, shard) => store.fields(`s${shard}`)?.status)).toEqual(['delivered', 'delivered', 'delivered', 'delivered']);
    expect(
      logger.entries
        .filter((entry) => entry.message === 'a drained shard hands its share to a free shard')
        .map((entry) => entry.fields.shard),
    ).toEqual([2, 3]);
  });

  it('hands on past a shard whose only event the router fails: with SHARDS_PER_RUN=1 one run still drains the other three', async () => {
    const { stores, run, put } = setup(0, new Set(['s0']));
    for (let shard = 0; shard < SHARDS; shard += 1) put(shard, `s${shard}`, shard);

    const result = ran(await run('run-a', 1));

    expect(result.retryWanted).toBe(true);
    expect(result.summary.shards?.map((s) => [s.shard, s.outcome])).toEqual([
      [0, 'delivery_failed'],
      [1, 'drained'],
      [2, 'drained'],
      [3, 'drained'],
    ]);
    expect(stores.map((store, shard) => store.fields(`s${shard}`)?.status)).toEqual(['pending', 'delivered', 'delivered', 'delivered']);
  });

  it('hands on past a shard whose circuit opens on poison heads, but not past a second: an outage costs one more shard’s probes', async () => {
    const poison = new Set(['p0', 'p1', 'p2', 'q0', 'q1', 'q2']);
    const { stores, run, put } = setup(0, poison);
    for (const [shard, prefix] of [
      [0, 'p'],
      [1, 'q'],
    ] as const)
      for (let i = 0; i < 3; i += 1) put(shard, `${prefix}${i}`, i);
    put(2, 's2', 0);
    put(3, 's3', 0);

    const result = ran(await run('run-a', 1, { breakerThreshold: 3 }));

    expect(result.summary.shards?.map((s) => [s.shard, s.outcome])).toEqual([
      [0, 'router_failing'],
      [1, 'router_failing'],
    ]);
    expect([stores[2]?.fields('s2')?.status, stores[3]?.fields('s3')?.status]).toEqual(['pending', 'pending']);
    const afterOne = setup(0, new Set(['p0', 'p1', 'p2']));
    for (let i = 0; i < 3; i += 1) afterOne.put(0, `p${i}`, i);
    for (let shard = 1; shard < SHARDS; shard += 1) afterOne.put(shard, `s${shard}`, shard);
    const delivered = ran(await afterOne.run('run-b', 1, { breakerThreshold: 3 }));
    expect(delivered.summary.shards?.map((s) => [s.shard, s.outcome])).toEqual([
      [0, 'router_failing'],
      [1, 'drained'],
      [2, 'drained'],
      [3, 'drained'],
    ]);
  });

  it('counts a failing shard once: past a shard another run holds, the slot whose circuit opened still takes the next', async () => {
    const { stores, run, put } = setup(0, new Set(['p0', 'p1', 'p2']));
    for (let i = 0; i < 3; i += 1) put(0, `p${i}`, i);
    for (let shard = 1; shard < SHARDS; shard += 1) put(shard, `s${shard}`, shard);
    (stores[1] as MemoryOutboxStore).lease.takeOver('other-instance', 60_000);

    const result = ran(await run('run-a', 1, { breakerThreshold: 3 }));

    expect(result.summary.shards?.map((s) => [s.shard, s.outcome])).toEqual([
      [0, 'router_failing'],
      [1, 'lease-held'],
      [2, 'drained'],
      [3, 'drained'],
    ]);
  });

  it('takes no free shard once the run’s budget left is below one Firestore call’s bound', async () => {
    const { stores, run, put } = setup();
    for (let shard = 0; shard < SHARDS; shard += 1) put(shard, `s${shard}`, shard);
    // Each POST takes 10 ms of virtual time: the first two shards spend more than the budget leaves room for.
    const result = ran(await run('run-a', 2, { runBudgetMs: 1_000, firestoreTimeoutMs: 995 }));

    expect(result.summary.shards?.map((s) => s.shard)).toEqual([0, 1]);
    expect(stores.map((store, shard) => store.fields(`s${shard}`)?.status)).toEqual(['delivered', 'delivered', 'pending', 'pending']);
  });

  it('skips the shards another run holds and drains those still free; with every shard held it answers lease-held', async () => {
    const { stores, run, put } = setup();
    for (let shard = 0; shard < SHARDS; shard += 1) put(shard, `s${shard}`, shard);
    (stores[1] as MemoryOutboxStore).lease.takeOver('other-instance', 60_000);
    (stores[3] as MemoryOutboxStore).lease.takeOver('other-instance', 60_000);

    const partly = ran(await run('run-1'));

    expect(partly.retryWanted).toBe(false);
    expect(partly.summary.delivered).toBe(2);
    expect(partly.summary.shards?.map((s) => [s.shard, s.outcome])).toEqual([
      [0, 'drained'],
      [1, 'lease-held'],
      [2, 'drained'],
      [3, 'lease-held'],
    ]);
    for (const store of [stores[0], stores[2]]) store?.lease.takeOver('other-instance', 60_000);
    const none = await run('run-2');
    expect(none).toMatchObject({ kind: 'skipped', heldBy: 'other-instance' });
  });

  it('starts at the shard `random` picks, so two instances with SHARDS_PER_RUN=2 split the shards between them', async () => {
    const { run, put, router } = setup(0.5);
    for (let shard = 0; shard < SHARDS; shard += 1) put(shard, `s${shard}`, shard);

    ran(await run('run-1', 2));

    // Shards 2 and 3 first, side by side; 0 and 1 only once those were drained.
    expect(router.posts.map((post) => post.eventId)).toEqual(['s2', 's3', 's0', 's1']);
  });
});

describe('Whether a slot takes another free shard (nextFreeShardWanted)', () => {
  const summary = (stoppedBy: string) => ({
    runId: 'x',
    stoppedBy,
    fetched: 1,
    delivered: 1,
    deadLettered: 0,
    failed: 0,
    waiting: 0,
    unrecorded: 0,
    stale: 0,
    hasMore: stoppedBy !== 'drained',
    auditFailed: false,
    durationMs: 1,
  });
  const clean: RunResult = { kind: 'ran', summary: summary('drained'), retryWanted: false, cause: 'drained', error: undefined };
  const budget = (runBudgetMs: number) => ({ ...UNIT_RELAY_OPTIONS, runBudgetMs, firestoreTimeoutMs: 2_000 });
  const stopped = new AbortController();
  stopped.abort();

  it.each<[string, RunResult | undefined, number, boolean, boolean, number?]>([
    ['its shard drained, budget left', clean, 30_000, false, true],
    ['budget left exactly one Firestore call', clean, 2_000, false, true],
    ['budget left below one Firestore call', clean, 1_999, false, false],
    ['SIGTERM', clean, 30_000, true, false],
    [
      'its shard stopped by the budget',
      { kind: 'ran', summary: summary('budget'), retryWanted: false, cause: 'budget', error: undefined },
      30_000,
      false,
      false,
    ],
    [
      'its shard drained, one of its events failed (left for a later run)',
      { kind: 'ran', summary: summary('drained'), retryWanted: true, cause: 'delivery_failed', error: 'e: 503' },
      30_000,
      false,
      true,
      1,
    ],
    [
      'its shard drained with every POST failed, the second such shard in the run (an outage)',
      { kind: 'ran', summary: summary('drained'), retryWanted: true, cause: 'delivery_failed', error: 'e: 503' },
      30_000,
      false,
      false,
      2,
    ],
    [
      'its shard’s circuit opened, the first failing shard in the run (poison heads or an outage: the next shard tells)',
      { kind: 'ran', summary: summary('router_failing'), retryWanted: true, cause: 'router_failing', error: 'e: 503' },
      30_000,
      false,
      true,
      1,
    ],
    [
      'its shard’s circuit opened, the second failing shard in the run (an outage)',
      { kind: 'ran', summary: summary('router_failing'), retryWanted: true, cause: 'router_failing', error: 'e: 503' },
      30_000,
      false,
      false,
      2,
    ],
    ['its shard did not start', { kind: 'not_started', runId: 'x', error: 'deadline' }, 30_000, false, false],
  ])('%s', (_name, last, runBudgetMs, sigterm, wanted, failingShards = 0) => {
    expect(nextFreeShardWanted(last, budget(runBudgetMs), sigterm ? { shutdown: stopped.signal } : {}, failingShards)).toBe(wanted);
  });
});

describe('Budgets shared by the shards of one run', () => {
  it.each([
    [1, 16, 1_000_000],
    [2, 8, 500_000],
    [4, 4, 250_000],
    [32, 1, 31_250],
    [200, 1, 10_000],
  ])('%i shard(s) side by side get %i POSTs in flight and %i bytes each', (held, concurrency, bytes) => {
    const options = { ...UNIT_RELAY_OPTIONS, deliveryConcurrency: 16, maxInFlightBytes: 1_000_000, maxPayloadBytes: 10_000 };
    expect(shareOfBudgets(options, held)).toMatchObject({ deliveryConcurrency: concurrency, maxInFlightBytes: bytes });
  });
});

describe('The answer of a run over several shards', () => {
  const summary = (delivered: number, stoppedBy = 'drained') => ({
    runId: 'x',
    stoppedBy,
    fetched: delivered,
    delivered,
    deadLettered: 0,
    failed: 0,
    waiting: 0,
    unrecorded: 0,
    stale: 0,
    hasMore: stoppedBy !== 'drained',
    auditFailed: false,
    durationMs: delivered,
  });
  const drained = (shard: number, delivered: number): ShardResult => ({
    shard,
    result: { kind: 'ran', summary: summary(delivered), retryWanted: false, cause: 'drained', error: undefined },
  });
  const failing = (shard: number): ShardResult => ({
    shard,
    result: { kind: 'ran', summary: summary(1, 'delivery_failed'), retryWanted: true, cause: 'delivery_failed', error: 'event e: 503' },
  });
  const held = (shard: number, untilMs: number): ShardResult => ({
    shard,
    result: { kind: 'skipped', runId: 'x', heldBy: `run-${shard}`, untilMs },
  });
  const unreachable = (shard: number): ShardResult => ({ shard, result: { kind: 'not_started', runId: 'x', error: 'deadline' } });

  it.each<[string, ShardResult[], Partial<RunResult> & Record<string, unknown>]>([
    [
      'every shard drained: 200, the counts added up',
      [drained(0, 2), drained(1, 3)],
      { kind: 'ran', retryWanted: false, cause: 'drained' },
    ],
    ['one shard’s delivery failed: 500 for it', [drained(0, 2), failing(1)], { kind: 'ran', retryWanted: true, cause: 'delivery_failed' }],
    [
      'one lease unreachable, others ran: 500 so Scheduler retries',
      [drained(0, 2), unreachable(1)],
      { kind: 'ran', retryWanted: true, cause: 'lease_unavailable' },
    ],
    ['one held by another run, others ran: 200', [drained(0, 2), held(1, 5)], { kind: 'ran', retryWanted: false }],
    ['every lease held: skipped, naming the one free soonest', [held(0, 9), held(1, 5)], { kind: 'skipped', heldBy: 'run-1', untilMs: 5 }],
    ['no lease reachable: not started', [unreachable(0), held(1, 5)], { kind: 'not_started' }],
  ])('%s', (_name, results, expected) => {
    expect(combineShardResults('run', results)).toMatchObject(expected);
  });

  it('adds up the shards’ counts and keeps the longest duration', () => {
    const result = ran(combineShardResults('run', [drained(0, 2), drained(1, 3), held(2, 1)]));
    expect(result.summary).toMatchObject({ runId: 'run', delivered: 5, fetched: 5, durationMs: 3, hasMore: false });
  });
});
