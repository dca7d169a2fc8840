import type { OutboxEvent } from '../../../src/core/event.js';
import { Instant } from '../../../src/core/instant.js';
import type { OutboxStore } from '../../../src/core/ports.js';
import { runRelay, type RelayOptions, type RunResult } from '../../../src/core/relay.js';
import { memoryLogger } from '../../support/function-server.js';
import { MemoryOutboxStore, MemoryRunLease } from '../../support/memory-outbox-store.js';
import { memoryRouter, ok, status, type MemoryAnswer } from '../../support/memory-router.js';
import { UNIT_RELAY_OPTIONS } from '../../support/relay-options.js';
import { VirtualClock } from '../../support/virtual-clock.js';

/** Runs over in-memory ports on virtual time; `random` is 0.5, so jitter is exactly 1. */
function setup(script?: (event: OutboxEvent, nth: number) => MemoryAnswer) {
  const clock = new VirtualClock();
  const lease = new MemoryRunLease(() => clock.now());
  const store = new MemoryOutboxStore(lease);
  const router = memoryRouter(clock, script);
  const logger = memoryLogger();
  const run = (options: Partial<RelayOptions> = {}, through: OutboxStore = store): Promise<RunResult> =>
    clock.run(
      runRelay(
        `run-${clock.now()}`,
        { store: through, lease, router: router.router, clock, logger, random: () => 0.5 },
        { ...UNIT_RELAY_OPTIONS, ...options },
      ),
    );
  /** A document as a producer writes it, `i` milliseconds into the day. */
  const put = (id: string, i: number, fields: Record<string, unknown> = {}): void =>
    store.put(id, { type: 't', data: { id }, createdAt: Instant.fromMillis(Date.UTC(2026, 0, 1) + i), status: 'pending', ...fields });
  const delivered = (): string[] => router.posts.map((p) => p.eventId);
  return { clock, store, router, logger, run, put, delivered };
}

function ran(result: RunResult) {
  if (result.kind !== 'ran') throw new Error(`expected the run to run, got ${result.kind}`);
  return result;
}

describe('Order per key across dead letters (parked keys)', () => {
  it('delivers the events before a malformed one of its key first, then dead-letters it and parks the key behind it', async () => {
    const { store, run, put, delivered } = setup();
    put('a1', 1, { orderingKey: 'A' });
    put('a2', 2, { orderingKey: 'A' });
    put('a3', 3, { orderingKey: 'A', type: '' });
    put('a4', 4, { orderingKey: 'A' });

    const result = ran(await run());

    expect(delivered()).toEqual(['a1', 'a2']);
    expect(store.fields('a3')).toMatchObject({ status: 'dead_letter' });
    expect(store.parked.get('A')).toBe('a3');
    expect(result.summary).toMatchObject({ delivered: 2, deadLettered: 1, waiting: 1 });
  });

  it('leaves a malformed event pending behind an earlier event of its key that failed, so the key parks behind neither', async () => {
    const { clock, store, run, put, delivered } = setup((event, nth) => (event.id === 'a1' && nth === 1 ? status(503) : ok));
    put('a1', 1, { orderingKey: 'A' });
    put('a2', 2, { orderingKey: 'A', type: '' });

    ran(await run());
    expect(store.fields('a2')).toMatchObject({ status: 'pending' });
    expect(store.parked.size).toBe(0);
    await clock.advance(UNIT_RELAY_OPTIONS.redeliveryMaxDelayMs);
    ran(await run());

    expect(delivered()).toEqual(['a1', 'a1']);
    expect(store.fields('a1')).toMatchObject({ status: 'delivered' });
    expect(store.fields('a2')).toMatchObject({ status: 'dead_letter' });
    expect(store.parked.get('A')).toBe('a2');
  });

  it('lets no later event of a key pass its malformed event once the dead letter it was parked behind is redriven', async () => {
    const { store, run, put, delivered } = setup();
    put('b1', 1, { orderingKey: 'B', status: 'dead_letter' });
    put('b2', 2, { orderingKey: 'B' });
    put('b3', 3, { orderingKey: 'B', type: '' });
    put('b4', 4, { orderingKey: 'B' });
    store.parked.set('B', 'b1');

    const parked = ran(await run());
    store.redrive('b1');
    ran(await run());

    expect(parked.summary).toMatchObject({ delivered: 0, deadLettered: 0, waiting: 3 });
    expect(delivered()).toEqual(['b1', 'b2']);
    expect(store.fields('b3')).toMatchObject({ status: 'dead_letter' });
    expect(store.fields('b4')).toMatchObject({ status: 'pending' });
    expect(store.parked.get('B')).toBe('b3');
  });

  it('leaves a key to the next run when a redrive lands between its parked-key read and its first page', async () => {
    const { clock, store, run, put, delivered } = setup();
    put('b1', 1, { orderingKey: 'B', status: 'dead_letter' });
    put('b2', 2, { orderingKey: 'B' });
    store.parked.set('B', 'b1');
    let redrive = true;
    // The reads take a while, as Firestore's do; the operator's redrive commits right after the page was read.
    const racing: OutboxStore = {
      fetchPending: async (limit, after, maxBytes) => {
        await clock.sleep(50);
        const page = await store.fetchPending(limit, after, maxBytes);
        if (redrive) store.redrive('b1');
        redrive = false;
        return page;
      },
      fetchParkedKeys: () => clock.sleep(60).then(() => store.fetchParkedKeys()),
      fetchStrays: () => store.fetchStrays(),
      watchPending: (onChange) => store.watchPending(onChange),
      recordOutcomes: (outcomes, lease) => store.recordOutcomes(outcomes, lease),
      writeAudit: (summary) => store.writeAudit(summary),
    };

    ran(await run({}, racing));
    ran(await run());

    expect(delivered()).toEqual(['b1', 'b2']);
  });
});
