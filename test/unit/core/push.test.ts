import { Doorbell, armingDoorbell } from '../../../src/core/doorbell.js';
import { Instant } from '../../../src/core/instant.js';
import { kick, type KickOutcome } from '../../../src/core/kick-runs.js';
import { runRelay, type RelayOptions, type RunResult } from '../../../src/core/relay.js';
import { memoryLogger } from '../../support/function-server.js';
import { MemoryOutboxStore, MemoryRunLease } from '../../support/memory-outbox-store.js';
import { memoryRouter, ok, type MemoryAnswer } from '../../support/memory-router.js';
import { UNIT_RELAY_OPTIONS } from '../../support/relay-options.js';
import { VirtualClock } from '../../support/virtual-clock.js';
import type { OutboxEvent } from '../../../src/core/event.js';

const LINGER_MS = 1_000;
const OPTIONS: RelayOptions = { ...UNIT_RELAY_OPTIONS, pushLingerMs: LINGER_MS };

/** One outbox and lease; instances of the function, each with its own doorbell, kick it as Eventarc would. */
function world(
  script: (event: OutboxEvent, nth: number) => MemoryAnswer = () => ({ afterMs: 10, answer: ok }),
  options: RelayOptions = OPTIONS,
) {
  const clock = new VirtualClock();
  const lease = new MemoryRunLease(() => clock.now());
  const store = new MemoryOutboxStore(lease);
  const router = memoryRouter(clock, script);
  const logger = memoryLogger();
  const startedAt = clock.now();
  let runs = 0;
  let eventReads = 0;
  const results: RunResult[] = [];
  const instance = () => {
    const doorbell = new Doorbell();
    const deps = {
      store,
      lease: armingDoorbell(lease, doorbell),
      router: router.router,
      clock,
      logger,
      random: () => 0.5,
      push: { doorbell, wakeUps: lease },
    };
    const run = async (runId: string): Promise<RunResult> => {
      const result = await runRelay(runId, deps, options);
      results.push(result);
      return result;
    };
    return (documentId: string): Promise<KickOutcome> =>
      kick(documentId, {
        doorbell,
        wakeUps: lease,
        clock,
        logger,
        run,
        newRunId: () => `run-${(runs += 1)}`,
        isPending: (id) => {
          eventReads += 1;
          return Promise.resolve(store.documents.get(id)?.fields.status === 'pending');
        },
        leaseTtlMs: OPTIONS.leaseTtlMs,
        firestoreTimeoutMs: OPTIONS.firestoreTimeoutMs,
      });
  };
  /** Commits `id` `atMs` after the start (createdAt the commit time) and kicks `via` at once, as the trigger does. */
  const commitAndKick = (atMs: number, id: string, via: (id: string) => Promise<KickOutcome>, orderingKey = 'k'): Promise<KickOutcome> =>
    clock.sleep(startedAt + atMs - clock.now()).then(() => {
      store.put(id, { type: 'order.created', data: {}, createdAt: Instant.fromMillis(clock.now()), status: 'pending', orderingKey });
      return via(id);
    });
  const ranRuns = () => results.filter((r): r is Extract<RunResult, { kind: 'ran' }> => r.kind === 'ran');
  return { clock, lease, store, router, logger, startedAt, instance, commitAndKick, ranRuns, reads: () => eventReads };
}

describe('Push on commit: kicks folding into a run (kick-runs.ts, linger.ts, doorbell.ts)', () => {
  it('folds a burst of kicks into the run that holds the lease: one run delivers them all, in order, each once', async () => {
    const { clock, lease, router, instance, commitAndKick, ranRuns, reads } = world();
    const kickHere = instance();
    const first = commitAndKick(0, 'e-00', kickHere);
    await clock.advance(50);
    const callsWhileRunning = lease.calls;

    const rest = Array.from({ length: 20 }, (_, i) => commitAndKick(100 + i * 20, `e-${String(i + 1).padStart(2, '0')}`, kickHere));
    const outcomes = await clock.run(Promise.all([first, ...rest]));

    expect(outcomes[0]?.kind).toBe('ran');
    expect(outcomes.slice(1).every((o) => o.kind === 'folded')).toBe(true);
    // The folded kicks cost neither a read of their event nor a call to the lease: the run read on by itself.
    expect(reads()).toBe(1);
    expect(lease.calls - callsWhileRunning).toBeLessThanOrEqual(3);
    expect(ranRuns()).toHaveLength(1);
    expect(ranRuns()[0]?.summary).toMatchObject({ delivered: 21, stoppedBy: 'drained', unrecorded: 0 });
    const order = router.posts.map((p) => p.eventId);
    expect(order).toEqual([...order].sort());
    expect(new Set(order).size).toBe(21);
  });

  it('answers PUSH_LINGER_MS after its last kick, not before and not much later', async () => {
    const { clock, instance, commitAndKick, ranRuns, startedAt } = world();
    const kickHere = instance();
    const kicks = [commitAndKick(0, 'e-0', kickHere), commitAndKick(700, 'e-1', kickHere), commitAndKick(1_400, 'e-2', kickHere)];

    await clock.run(Promise.all(kicks));

    const run = ranRuns()[0];
    expect(run?.summary.delivered).toBe(3);
    const endedAt = startedAt + (run?.summary.durationMs ?? 0);
    expect(endedAt - startedAt).toBeGreaterThanOrEqual(1_400 + LINGER_MS);
    expect(endedAt - startedAt).toBeLessThan(1_400 + LINGER_MS + 200);
  });

  it('wakes the run of another instance that holds the lease: it reads on and delivers the event before it lets go', async () => {
    const { clock, router, instance, commitAndKick, ranRuns, startedAt } = world();
    const [kickA, kickB] = [instance(), instance()];
    const first = commitAndKick(0, 'e-0', kickA);
    const second = commitAndKick(300, 'e-1', kickB);

    const outcomes = await clock.run(Promise.all([first, second]));

    expect(outcomes.map((o) => o.kind)).toEqual(['ran', 'woke_holder']);
    expect(ranRuns()).toHaveLength(1);
    expect(ranRuns()[0]?.summary.delivered).toBe(2);
    // The wake-up reached the holder at once: e-1 was POSTed when it was committed, not at the holder's close.
    expect(router.posts.find((p) => p.eventId === 'e-1')?.at).toBe(startedAt + 300);
  });

  it('runs a kick that finds the lease closing once the holder lets go: an event committed while a run ends does not wait for the next tick', async () => {
    // e-0's POST takes 3 s, so the holder closes its lease at 1 s and lets go only at 3 s.
    const { clock, router, instance, commitAndKick, ranRuns, startedAt } = world((event) => ({
      afterMs: event.id === 'e-0' ? 3_000 : 10,
      answer: ok,
    }));
    const [kickA, kickB] = [instance(), instance()];
    const first = commitAndKick(0, 'e-0', kickA);
    const late = commitAndKick(1_500, 'e-1', kickB);

    const outcomes = await clock.run(Promise.all([first, late]));

    expect(outcomes.map((o) => o.kind)).toEqual(['ran', 'ran']);
    expect(ranRuns().map((r) => r.summary.delivered)).toEqual([1, 1]);
    expect(router.posts.map((p) => p.eventId)).toEqual(['e-0', 'e-1']);
    const posted = router.posts.find((p) => p.eventId === 'e-1')?.at ?? Infinity;
    expect(posted - startedAt).toBeGreaterThanOrEqual(3_000);
    expect(posted - startedAt).toBeLessThan(3_000 + 500);
  });

  it('leaves no doorbell armed by a lease taken after its run gave up (Firestore hung): the next kick runs and delivers both events', async () => {
    const { clock, lease, store, instance, commitAndKick, ranRuns } = world();
    // The first acquire lands only after FIRESTORE_TIMEOUT_MS: its run answers lease_unavailable, as on a frozen Firestore.
    const acquire = lease.acquire.bind(lease);
    let acquires = 0;
    lease.acquire = async (owner, ttlMs) => {
      acquires += 1;
      if (acquires === 1) await clock.sleep(OPTIONS.firestoreTimeoutMs + 500);
      return acquire(owner, ttlMs);
    };
    const kickHere = instance();

    const first = await clock.run(commitAndKick(0, 'e-0', kickHere));
    const second = await clock.run(commitAndKick(OPTIONS.firestoreTimeoutMs + 1_000, 'e-1', kickHere));

    expect(first).toMatchObject({ kind: 'ran', result: { kind: 'not_started' } });
    expect(second.kind).toBe('ran');
    expect(ranRuns().map((r) => r.summary.delivered)).toEqual([2]);
    expect(store.documents.get('e-1')?.fields.status).toBe('delivered');
  });

  it('records what it delivered every second while kicks never pause, not only at a full checkpoint or its end', async () => {
    const { clock, store, instance, commitAndKick } = world(undefined, { ...OPTIONS, checkpointSize: 1_000 });
    // Each read takes 150 ms and a kick comes every 100 ms: every read ends with a kick waiting.
    const fetchPending = store.fetchPending.bind(store);
    store.fetchPending = async (...page) => {
      await clock.sleep(150);
      return fetchPending(...page);
    };
    const kickHere = instance();
    const kicks = Array.from({ length: 60 }, (_, i) => commitAndKick(i * 100, `e-${String(i).padStart(2, '0')}`, kickHere, `k-${i % 5}`));
    await clock.advance(4_000);

    const recordedBy4s = store.idsWithStatus('delivered').length;
    await clock.run(Promise.all(kicks));

    expect(recordedBy4s).toBeGreaterThanOrEqual(10);
    expect(store.idsWithStatus('delivered')).toHaveLength(60);
  });

  it('stays PUSH_LINGER_MS after the last new event its reads found, when kicks are late or lost: a burst is one run', async () => {
    const { clock, store, instance, commitAndKick, ranRuns, startedAt } = world();
    const first = commitAndKick(0, 'e-00', instance());
    // Then an event every 400 ms for 4 s whose kick never comes (lost, or queued behind others at the emulator).
    const unkicked = Array.from({ length: 10 }, (_, i) =>
      clock.sleep(startedAt + 400 * (i + 1) - clock.now()).then(() =>
        store.put(`e-${String(i + 1).padStart(2, '0')}`, {
          type: 'order.created',
          data: {},
          createdAt: Instant.fromMillis(clock.now()),
          status: 'pending',
          orderingKey: 'k',
        }),
      ),
    );

    await clock.run(Promise.all([first, ...unkicked]));

    expect(ranRuns()).toHaveLength(1);
    expect(ranRuns()[0]?.summary.delivered).toBe(11);
    expect(store.idsWithStatus('pending')).toEqual([]);
  });

  it('costs one read and no run for a kick whose event a run already delivered', async () => {
    const { clock, store, lease, instance, ranRuns, reads } = world();
    store.put('done', { type: 'order.created', data: {}, createdAt: Instant.fromMillis(clock.now()), status: 'delivered' });

    const outcome = await clock.run(instance()('done'));

    expect(outcome).toEqual({ kind: 'not_pending' });
    expect(reads()).toBe(1);
    expect(lease.calls).toBe(0);
    expect(ranRuns()).toHaveLength(0);
  });
});
