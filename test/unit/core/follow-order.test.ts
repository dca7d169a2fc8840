import type { OutboxEvent } from '../../../src/core/event.js';
import { Instant } from '../../../src/core/instant.js';
import type { OutboxStore } from '../../../src/core/ports.js';
import { runRelay, type RelayOptions, type RunResult } from '../../../src/core/relay.js';
import { memoryLogger } from '../../support/function-server.js';
import { MemoryOutboxStore, MemoryRunLease } from '../../support/memory-outbox-store.js';
import { memoryRouter, ok, type MemoryAnswer } from '../../support/memory-router.js';
import { UNIT_RELAY_OPTIONS } from '../../support/relay-options.js';
import { VirtualClock } from '../../support/virtual-clock.js';

const OPTIONS: RelayOptions = { ...UNIT_RELAY_OPTIONS, checkpointSize: 50, followMs: 10_000 };

/** A following run over in-memory ports on virtual time; writes land at chosen (virtual) times after its start. */
function setup(script?: (event: OutboxEvent, nth: number) => MemoryAnswer) {
  const clock = new VirtualClock();
  const lease = new MemoryRunLease(() => clock.now());
  const store = new MemoryOutboxStore(lease);
  const router = memoryRouter(clock, script);
  const logger = memoryLogger();
  const startedAt = clock.now();
  const run = (through: OutboxStore = store): Promise<RunResult> =>
    clock.run(runRelay('run-1', { store: through, lease, router: router.router, clock, logger, random: () => 0.5 }, OPTIONS));
  /** Writes event `id` `atMs` after the start; createdAt is the commit time (the producer API) unless given. */
  const writeAt = (atMs: number, id: string, orderingKey: string, createdAtFromNowMs = 0): void => {
    void clock.sleep(startedAt + atMs - clock.now()).then(() =>
      store.put(id, {
        type: 'order.created',
        data: {},
        createdAt: Instant.fromMillis(clock.now() + createdAtFromNowMs),
        status: 'pending',
        orderingKey,
      }),
    );
  };
  const postsOf = (prefix: string): string[] => router.posts.map((p) => p.eventId).filter((id) => id.startsWith(prefix));
  return { clock, store, router, logger, run, writeAt, postsOf };
}

function ran(result: RunResult) {
  if (result.kind !== 'ran') throw new Error(`expected the run to run, got ${result.kind}`);
  return result;
}

describe('A following run (FOLLOW_MS) and per-key order', () => {
  it('delivers an event enqueued after a future-dated document, in order before the later events of its key', async () => {
    const { store, run, writeAt, postsOf } = setup();
    writeAt(500, 'odd-future', 'other', 8_000);
    writeAt(1_000, 'a-1', 'A');
    writeAt(9_500, 'a-2', 'A');

    const result = ran(await run());

    expect(postsOf('a-')).toEqual(['a-1', 'a-2']);
    expect(result.summary).toMatchObject({ delivered: 3, stoppedBy: 'drained' });
    expect(store.idsWithStatus('pending')).toEqual([]);
  });

  it('picks up a document written with a createdAt in the past, and warns naming it when a later event of its key went first', async () => {
    const { store, logger, run, writeAt, postsOf } = setup();
    writeAt(500, 'b-2', 'B');
    writeAt(1_000, 'b-1', 'B', -60_000);

    ran(await run());

    expect(postsOf('b-')).toEqual(['b-2', 'b-1']);
    expect(store.idsWithStatus('pending')).toEqual([]);
    expect(logger.entries).toContainEqual(
      expect.objectContaining({ severity: 'WARNING', fields: expect.objectContaining({ eventId: 'b-1', after: 'b-2' }) }),
    );
  });

  it('reads the pending set from its start every few seconds, so an event the listener does not fire for is delivered all the same', async () => {
    const { store, run, writeAt, postsOf } = setup();
    // Like Firestore's listener on the newest pending event: it does not fire for an event that sorts before it.
    const deaf: OutboxStore = {
      fetchPending: (limit, after, maxBytes) => store.fetchPending(limit, after, maxBytes),
      fetchStrays: () => store.fetchStrays(),
      fetchParkedKeys: () => store.fetchParkedKeys(),
      watchPending: (onChange) => {
        queueMicrotask(onChange);
        return () => undefined;
      },
      recordOutcomes: (outcomes, lease) => store.recordOutcomes(outcomes, lease),
      writeAudit: (summary) => store.writeAudit(summary),
    };
    writeAt(2_000, 'c-1', 'C', -60_000);

    ran(await run(deaf));

    expect(postsOf('c-')).toEqual(['c-1']);
    expect(store.idsWithStatus('pending')).toEqual([]);
  });

  it('POSTs no event twice while it re-reads events still in flight, failed or waiting behind their key', async () => {
    const { store, router, run, writeAt } = setup((event, nth) =>
      event.id === 'd-03' && nth === 1 ? { kind: 'timeout', timeoutMs: 700 } : { afterMs: 700, answer: ok },
    );
    for (let i = 0; i < 20; i += 1) writeAt(200 + i * 100, `d-${String(i).padStart(2, '0')}`, `key-${i % 3}`);

    const result = ran(await run());

    const ids = router.posts.map((p) => p.eventId);
    expect(ids).toHaveLength(new Set(ids).size);
    expect(result.summary).toMatchObject({ delivered: 14, failed: 1, waiting: 5 });
    expect(store.fields('d-03')).toMatchObject({ status: 'pending', attempts: 1 });
  });
});
