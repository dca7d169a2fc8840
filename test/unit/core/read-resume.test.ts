import type { OutboxEvent, StoredDocument } from '../../../src/core/event.js';
import { Instant } from '../../../src/core/instant.js';
import { ReadResume } from '../../../src/core/read-resume.js';
import { WAITING_REREAD_INTERVAL_MS } from '../../../src/core/read-start.js';
import { runRelay, type RelayOptions, type RunResult } from '../../../src/core/relay.js';
import { STRAY_SWEEP_INTERVAL_MS, StraySweepSchedule, type SweepPlan } from '../../../src/core/stray-sweep.js';
import { memoryLogger } from '../../support/function-server.js';
import { MemoryOutboxStore, MemoryRunLease } from '../../support/memory-outbox-store.js';
import { memoryRouter, ok, status, type MemoryAnswer } from '../../support/memory-router.js';
import { UNIT_RELAY_OPTIONS } from '../../support/relay-options.js';
import { VirtualClock } from '../../support/virtual-clock.js';
import { withOverrides } from '../../support/store-overrides.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

/**
 * Runs a minute apart on one instance: the sweep schedule and the read's resume point outlive each run, as
 * createRelay wires them. Each run reports the pending documents its pages returned.
 */
function instance(script?: (event: OutboxEvent, nth: number) => MemoryAnswer) {
  const clock = new VirtualClock();
  const lease = new MemoryRunLease(() => clock.now());
  const store = new MemoryOutboxStore(lease);
  const acknowledged: string[] = [];
  const router = memoryRouter(clock, (event, nth) => {
    const answer = script?.(event, nth) ?? ok;
    if (answer === ok) acknowledged.push(event.id);
    return answer;
  });
  const sweeps = new StraySweepSchedule();
  const reads = new ReadResume();
  const sweepPlans: { atMs: number; plan: SweepPlan }[] = [];
  let strays: StoredDocument[] = [];
  const sweeping = withOverrides(store, {
    fetchStrays: (limit, plan) => {
      sweepPlans.push({ atMs: clock.now(), plan });
      const found = strays.slice(0, limit);
      strays = [];
      return Promise.resolve(found);
    },
  });
  const run = async (options: Partial<RelayOptions> = {}): Promise<{ result: RunResult; read: number }> => {
    const before = store.pageReads.length;
    const result = await clock.run(
      runRelay(
        `run-${clock.now()}`,
        { store: sweeping, lease, router: router.router, clock, logger: memoryLogger(), random: () => 0.5, memory: { sweeps, reads } },
        { ...UNIT_RELAY_OPTIONS, ...options },
      ),
    );
    const read = store.pageReads.slice(before).reduce((sum, page) => sum + page.documents, 0);
    return { result, read };
  };
  const at = (ms: number) => Instant.fromMillis(clock.now() + ms);
  let sequence = 0;
  /** A pending event committed now, as the producer would write it. */
  const put = (id: string, fields: Record<string, unknown> = {}): void => {
    sequence += 1;
    store.put(id, { type: 'order.created', data: { sequence }, createdAt: at(-1_000 + sequence), status: 'pending', ...fields });
  };
  const delivered = () => [...acknowledged];
  const setStrays = (documents: StoredDocument[]) => {
    strays = documents;
  };
  return { clock, store, run, put, at, delivered, sweepPlans, setStrays };
}

function summaryOf(result: RunResult) {
  if (result.kind !== 'ran') throw new Error(`expected the run to run, got ${result.kind}`);
  return result.summary;
}

describe('Runs of one instance reading the pending set', () => {
  it('read the events left on backoff or behind a parked key once per WAITING_REREAD_INTERVAL_MS, not at every run', async () => {
    const { clock, store, run, put, at } = instance();
    put('backoff-1', { nextAttemptAt: at(2 * HOUR_MS) });
    put('backoff-2', { orderingKey: 'B', nextAttemptAt: at(2 * HOUR_MS) });
    put('parked-1', { orderingKey: 'P' });
    put('parked-2', { orderingKey: 'P' });
    store.parked.set('P', 'dead-0');
    put('due-1');
    const reads: number[] = [];

    for (let minute = 0; minute <= WAITING_REREAD_INTERVAL_MS / MINUTE_MS; minute += 1) {
      put(`new-${minute}`);
      reads.push((await run()).read);
      await clock.advance(MINUTE_MS);
    }

    // The first run reads all six; the next ones only the event committed since; the run at the interval all again.
    expect(reads).toEqual([6, 1, 1, 1, 1, 1, 1, 1, 1, 1, 5]);
    expect(store.idsWithStatus('pending')).toEqual(['backoff-1', 'backoff-2', 'parked-1', 'parked-2']);
  });

  it('keeps a key’s order: a new event behind one on backoff waits, though that one is not read again', async () => {
    const { clock, run, put, at, delivered } = instance();
    put('k-1', { orderingKey: 'K', nextAttemptAt: at(10 * MINUTE_MS) });
    await run();
    await clock.advance(MINUTE_MS);
    put('k-2', { orderingKey: 'K' });

    const behind = await run();

    expect(behind.read).toBe(1);
    // k-1, not read again, still counts as waiting.
    expect(summaryOf(behind.result)).toMatchObject({ fetched: 1, delivered: 0, waiting: 2 });
    await clock.advance(10 * MINUTE_MS);
    const due = await run();
    expect(due.read).toBe(2);
    expect(delivered()).toEqual(['k-1', 'k-2']);
  });

  it('reads from the start once an event that failed in a run is due again, and delivers it', async () => {
    let failing = true;
    const { clock, run, put, delivered } = instance((event) => (event.id === 'flaky' && failing ? status(503) : ok));
    put('flaky', { orderingKey: 'F' });
    // Others delivered in the same run: the failure is the event's own, charged, with a backoff.
    put('fine-1');
    put('fine-2');
    await run();
    failing = false;
    await clock.advance(30_000);
    put('later');
    const onBackoff = await run();
    // REDELIVERY_MIN_DELAY_MS (60 s, jitter 1) after the failure.
    await clock.advance(30_000);
    const due = await run();

    expect(onBackoff.read).toBe(1);
    expect(due.read).toBe(1);
    expect(delivered()).toEqual(['fine-1', 'fine-2', 'later', 'flaky']);
  });

  it('delivers the events of a parked key at the first run after the key is released', async () => {
    const { clock, store, run, put, delivered } = instance();
    put('dead-0', { status: 'dead_letter', orderingKey: 'P' });
    store.parked.set('P', 'dead-0');
    put('p-1', { orderingKey: 'P' });
    await run();
    await clock.advance(MINUTE_MS);
    store.redrive('dead-0');

    const released = await run();

    expect(released.read).toBe(2);
    expect(delivered()).toEqual(['dead-0', 'p-1']);
  });

  it('delivers a dead letter redriven without a parked key by the next read from the start', async () => {
    const { clock, store, run, put, at, delivered } = instance();
    // The dead letter sorts before the waiting event, where a read that goes on from the last one does not look.
    put('dead-0', { status: 'dead_letter' });
    put('waiting', { nextAttemptAt: at(2 * HOUR_MS) });
    await run();
    store.redrive('dead-0');
    const runs: string[][] = [];

    for (let minute = 1; minute <= WAITING_REREAD_INTERVAL_MS / MINUTE_MS; minute += 1) {
      await clock.advance(MINUTE_MS);
      const before = delivered().length;
      await run();
      runs.push(delivered().slice(before));
    }

    expect(runs.flat()).toEqual(['dead-0']);
    expect(runs.at(-1)).toEqual(['dead-0']);
  });

  it('reads from the start after a run that stopped before the end of its read', async () => {
    const { clock, run, put, at } = instance();
    put('waiting', { nextAttemptAt: at(2 * HOUR_MS) });
    for (let i = 0; i < 30; i += 1) put(`due-${i}`);
    // A budget of nothing: the run stops at its first page.
    const stopped = await run({ runBudgetMs: 0 });
    await clock.advance(MINUTE_MS);

    const next = await run();

    expect(summaryOf(stopped.result).stoppedBy).toBe('budget_spent');
    expect(next.read).toBe(31);
  });
});

describe('Runs of one instance sweeping for strays', () => {
  it('sweep at the first run and once per STRAY_SWEEP_INTERVAL_MS, counting the whole outbox only at the first', async () => {
    const { clock, run, sweepPlans } = instance();
    const startMs = clock.now();

    for (let minute = 0; minute <= STRAY_SWEEP_INTERVAL_MS / MINUTE_MS; minute += 1) {
      await run();
      await clock.advance(MINUTE_MS);
    }

    expect(sweepPlans).toEqual([
      { atMs: startMs, plan: { wholeOutbox: true } },
      { atMs: startMs + STRAY_SWEEP_INTERVAL_MS, plan: { wholeOutbox: false } },
    ]);
  });

  it('still dead-letters a stray the next sweep finds', async () => {
    const { clock, run, setStrays, store } = instance();
    await run();
    store.put('stray', { type: 'order.created', status: 'sent' });
    setStrays([
      { id: 'stray', fields: { type: 'order.created', status: 'sent' }, version: store.documents.get('stray')?.version as never },
    ]);
    await clock.advance(STRAY_SWEEP_INTERVAL_MS);

    const swept = await run();

    expect(summaryOf(swept.result)).toMatchObject({ deadLettered: 1 });
    expect(store.fields('stray')).toMatchObject({ status: 'dead_letter' });
  });
});
