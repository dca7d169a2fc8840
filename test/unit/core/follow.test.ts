import { Instant } from '../../../src/core/instant.js';
import { FOLLOW_CHECKPOINT_INTERVAL_MS } from '../../../src/core/follow.js';
import { runRelay, type RelayOptions, type RunResult } from '../../../src/core/relay.js';
import { memoryLogger } from '../../support/function-server.js';
import { MemoryOutboxStore, MemoryRunLease } from '../../support/memory-outbox-store.js';
import { memoryRouter, ok, type MemoryAnswer } from '../../support/memory-router.js';
import { VirtualClock } from '../../support/virtual-clock.js';
import type { OutboxEvent } from '../../../src/core/event.js';
import { UNIT_RELAY_OPTIONS } from '../../support/relay-options.js';

const OPTIONS: RelayOptions = { ...UNIT_RELAY_OPTIONS, checkpointSize: 50, followMs: 20_000 };

/** Runs over in-memory ports on virtual time; a producer commits events at chosen (virtual) times. */
function setup(script?: (event: OutboxEvent, nth: number) => MemoryAnswer) {
  const clock = new VirtualClock();
  const lease = new MemoryRunLease(() => clock.now());
  const store = new MemoryOutboxStore(lease);
  const router = memoryRouter(clock, script);
  const logger = memoryLogger();
  const startedAt = clock.now();
  const committedAt = new Map<string, number>();
  const start = (runId: string, options: Partial<RelayOptions> = {}, shutdown?: AbortSignal): Promise<RunResult> =>
    runRelay(
      runId,
      { store, lease, router: router.router, clock, logger, random: () => 0.5 },
      { ...OPTIONS, ...options },
      shutdown === undefined ? {} : { shutdown },
    );
  /** Commits event `id` `atMs` after the start, as a producer would (createdAt is the commit time). */
  const commitAt = (atMs: number, id: string, orderingKey?: string): void => {
    void clock.sleep(startedAt + atMs - clock.now()).then(() => {
      committedAt.set(id, clock.now());
      store.put(id, {
        type: 'order.created',
        data: {},
        createdAt: Instant.fromMillis(clock.now()),
        status: 'pending',
        ...(orderingKey === undefined ? {} : { orderingKey }),
      });
    });
  };
  /** Milliseconds from each event's commit to its first POST. */
  const latencies = (): number[] =>
    router.posts.filter((p) => committedAt.has(p.eventId)).map((p) => p.at - (committedAt.get(p.eventId) ?? 0));
  return { clock, lease, store, router, logger, start, commitAt, latencies, startedAt };
}

function ran(result: RunResult) {
  if (result.kind !== 'ran') throw new Error(`expected the run to run, got ${result.kind}`);
  return result;
}

describe('A run following new events (FOLLOW_MS)', () => {
  it('answers right after draining and opens no listener when FOLLOW_MS is 0', async () => {
    const { clock, store, start, startedAt } = setup();
    store.seed(5);

    const result = ran(await clock.run(start('run-1', { followMs: 0 })));

    expect(result.summary).toMatchObject({ delivered: 5, stoppedBy: 'drained' });
    expect(clock.now() - startedAt).toBeLessThan(1_000);
    expect(store.watching).toBe(0);
  });

  it('does not follow while resharding (PREVIOUS_SHARD_COUNT): it answers once drained, as a later event could need the hold read again', async () => {
    const { clock, store, start, commitAt, startedAt } = setup();
    store.seed(2);
    commitAt(500, 'new-0', 'k');

    const result = ran(await clock.run(start('run-1', { previousShardCount: 2 })));

    expect(result.summary).toMatchObject({ delivered: 2, stoppedBy: 'drained' });
    expect(clock.now() - startedAt).toBeLessThan(500);
    expect(store.watching).toBe(0);
  });

  it('delivers events committed while it follows as they are committed, each once, and answers 200 after FOLLOW_MS', async () => {
    const { clock, store, router, start, commitAt, latencies, startedAt } = setup(() => ({ afterMs: 20, answer: ok }));
    store.seed(3);
    for (let i = 0; i < 30; i += 1) commitAt(500 + i * 300, `new-${String(i).padStart(2, '0')}`);

    const result = ran(await clock.run(start('run-1')));

    expect(result).toMatchObject({ retryWanted: false, cause: 'drained' });
    expect(result.summary).toMatchObject({ delivered: 33, fetched: 33, stoppedBy: 'drained', unrecorded: 0 });
    expect(new Set(router.posts.map((p) => p.eventId)).size).toBe(router.posts.length);
    // The in-memory listener wakes the run at once; the only wait is the POST itself.
    expect(Math.max(...latencies())).toBe(0);
    expect(clock.now() - startedAt).toBeGreaterThanOrEqual(OPTIONS.followMs);
    expect(store.idsWithStatus('pending')).toEqual([]);
    expect(store.watching).toBe(0);
  });

  it('keeps the order of each key among the events it follows', async () => {
    const { clock, router, start, commitAt } = setup((event) => ({ afterMs: event.id.endsWith('0') ? 700 : 10, answer: ok }));
    for (let i = 0; i < 12; i += 1) commitAt(100 + i * 50, `k${i % 3}-${String(i).padStart(2, '0')}`, `key-${i % 3}`);

    await clock.run(start('run-1', { followMs: 5_000 }));

    for (const key of ['k0', 'k1', 'k2']) {
      const order = router.posts.filter((p) => p.eventId.startsWith(key)).map((p) => p.eventId);
      expect(order).toEqual([...order].sort());
      expect(order).toHaveLength(4);
    }
  });

  it('records what it delivered every second while it follows, not only at the end', async () => {
    const { clock, store, start, commitAt, startedAt } = setup();
    for (let i = 0; i < 5; i += 1) commitAt(1_000 + i * 2_000, `new-${i}`);
    const recordedAt: number[] = [];
    const record = store.recordOutcomes.bind(store);
    store.recordOutcomes = (outcomes, lease) => {
      recordedAt.push(clock.now() - startedAt);
      return record(outcomes, lease);
    };

    await clock.run(start('run-1', { followMs: 12_000 }));

    // CHECKPOINT_SIZE (50) is never reached: each event is recorded within a checkpoint interval of its POST.
    expect(recordedAt.length).toBeGreaterThanOrEqual(5);
    expect(recordedAt[0]).toBeLessThanOrEqual(1_000 + FOLLOW_CHECKPOINT_INTERVAL_MS);
  });

  it('stops following within RUN_BUDGET_MS when FOLLOW_MS would run past it', async () => {
    const { clock, start, startedAt } = setup();

    const result = ran(await clock.run(start('run-1', { runBudgetMs: 10_000, followMs: 8_000 })));

    expect(result.retryWanted).toBe(false);
    expect(clock.now() - startedAt).toBeLessThanOrEqual(10_000 + 2 * OPTIONS.firestoreTimeoutMs);
  });

  it('on SIGTERM while following starts no new POSTs, records what was acknowledged and answers within SHUTDOWN_TIMEOUT_MS', async () => {
    const { clock, store, router, start, commitAt, startedAt } = setup(() => ({ afterMs: 200, answer: ok }));
    for (let i = 0; i < 20; i += 1) commitAt(1_000 + i * 100, `new-${String(i).padStart(2, '0')}`);
    const shutdown = new AbortController();
    void clock.sleep(2_050).then(() => shutdown.abort());

    const result = ran(await clock.run(start('run-1', {}, shutdown.signal)));

    expect(result.summary.stoppedBy).toBe('shutdown');
    expect(result.retryWanted).toBe(false);
    expect(clock.now() - startedAt).toBeLessThanOrEqual(2_050 + OPTIONS.shutdownTimeoutMs);
    expect(store.idsWithStatus('delivered')).toHaveLength(router.posts.length);
    expect(router.posts.length).toBeLessThan(20);
  });

  describe('handing over to a newer run', () => {
    it('finishes, records and releases when a newer run asks; the newer run delivers on; both answer 200, nothing twice', async () => {
      const { clock, store, lease, router, start, commitAt, latencies } = setup(() => ({ afterMs: 20, answer: ok }));
      for (let i = 0; i < 100; i += 1) commitAt(200 + i * 100, `new-${String(i).padStart(3, '0')}`, `key-${i % 7}`);
      const first = start('run-1', { followMs: 9_000 });
      const second = clock.sleep(5_000).then(() => start('run-2', { followMs: 9_000 }));

      const [a, b] = (await clock.run(Promise.all([first, second]))).map(ran);

      expect(a?.summary.stoppedBy).toBe('handed_over');
      expect(a?.retryWanted).toBe(false);
      expect(b?.retryWanted).toBe(false);
      expect(lease.handoverRequests).toEqual(['run-2']);
      expect(router.posts).toHaveLength(100);
      expect(new Set(router.posts.map((p) => p.eventId)).size).toBe(100);
      expect((a?.summary.delivered ?? 0) + (b?.summary.delivered ?? 0)).toBe(100);
      // The pause is the follower's last POST and flush plus one lease poll, well under a second.
      expect(Math.max(...latencies())).toBeLessThan(1_000);
      expect(store.idsWithStatus('delivered')).toHaveLength(100);
    });

    it('skips, as without FOLLOW_MS, when asking the follower fails; the follower goes on', async () => {
      const { clock, lease, start } = setup();
      lease.requestHandover = () => Promise.reject(new Error('UNAVAILABLE'));
      const first = start('run-1', { followMs: 5_000 });
      const second = clock.sleep(1_000).then(() => start('run-2'));

      const [a, b] = await clock.run(Promise.all([first, second]));

      expect(b).toMatchObject({ kind: 'skipped', heldBy: 'run-1' });
      expect(ran(a).summary.stoppedBy).toBe('drained');
    });

    it('leaves a run that is still draining alone: the newer run skips, as without FOLLOW_MS', async () => {
      const { clock, store, lease, start } = setup(() => ({ afterMs: 1_000, answer: ok }));
      store.seed(40);
      const first = start('run-1', { deliveryConcurrency: 1 });
      const second = clock.sleep(2_000).then(() => start('run-2'));

      const [, b] = await clock.run(Promise.all([first, second]));

      expect(b).toMatchObject({ kind: 'skipped', heldBy: 'run-1' });
      expect(lease.handoverRequests).toEqual([]);
    });
  });
});
