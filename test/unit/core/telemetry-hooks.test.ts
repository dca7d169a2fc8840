import type { OutboxEvent } from '../../../src/core/event.js';
import { Instant } from '../../../src/core/instant.js';
import type { RouterClient, RouterResponse } from '../../../src/core/ports.js';
import { runRelay, type RelayOptions } from '../../../src/core/relay.js';
import type { PendingAges } from '../../../src/core/pending-age.js';
import type { AttemptVerdict, RunEnd, RunTrace, SettledOutcome, Telemetry } from '../../../src/core/telemetry.js';
import { memoryLogger } from '../../support/function-server.js';
import { MemoryOutboxStore, MemoryRunLease } from '../../support/memory-outbox-store.js';
import { ok, status } from '../../support/memory-router.js';
import { VirtualClock } from '../../support/virtual-clock.js';
import { UNIT_RELAY_OPTIONS } from '../../support/relay-options.js';

const OPTIONS: RelayOptions = { ...UNIT_RELAY_OPTIONS, deliveryConcurrency: 1, maxAttempts: 1, postRetries: 1 };

const STORED = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

/** The Telemetry port recording what the run told it; its attempts hand out a span id of their own. */
function recordingTelemetry() {
  const attempts: { eventId: string; attempt: number; verdict?: AttemptVerdict; httpStatus?: number | undefined }[] = [];
  const settled: { outcome: SettledOutcome; latencyMs: number | undefined }[] = [];
  const gauges: { oldestPendingMs: number[]; pendingAges: PendingAges[]; parkedKeys: number[]; breakerOpened: number } = {
    oldestPendingMs: [],
    pendingAges: [],
    parkedKeys: [],
    breakerOpened: 0,
  };
  const ends: RunEnd[] = [];
  const trace: RunTrace = {
    startAttempt(event, attempt) {
      const record: (typeof attempts)[number] = { eventId: event.id, attempt };
      attempts.push(record);
      const traceId = event.traceparent?.slice(3, 35) ?? 'f'.repeat(32);
      return {
        traceparent: `00-${traceId}-${String(attempts.length).padStart(16, '0')}-01`,
        tracestate: event.tracestate,
        end(verdict, httpStatus) {
          record.verdict = verdict;
          record.httpStatus = httpStatus;
        },
      };
    },
    settled: (outcome, latencyMs) => void settled.push({ outcome, latencyMs }),
    oldestPending: (ages) => {
      gauges.oldestPendingMs.push(ages.dueMs);
      gauges.pendingAges.push(ages);
    },
    parkedKeys: (count) => void gauges.parkedKeys.push(count),
    breakerOpened: () => void (gauges.breakerOpened += 1),
    end: (result) => void ends.push(result),
  };
  const runIds: string[] = [];
  const telemetry: Telemetry = {
    startRun: (runId) => (runIds.push(runId), trace),
    flush: () => Promise.resolve(),
    shutdown: () => Promise.resolve(),
  };
  return { telemetry, attempts, settled, gauges, ends, runIds };
}

/** A run on in-memory ports and virtual time; the router records the trace context each POST carried. */
function setup(answer: (event: OutboxEvent, nth: number) => RouterResponse = () => ok) {
  const clock = new VirtualClock();
  const lease = new MemoryRunLease(() => clock.now());
  const store = new MemoryOutboxStore(lease);
  const sent: { eventId: string; traceparent: string | undefined }[] = [];
  const nths = new Map<string, number>();
  const router: RouterClient = {
    post(event) {
      sent.push({ eventId: event.id, traceparent: event.traceparent });
      const nth = (nths.get(event.id) ?? 0) + 1;
      nths.set(event.id, nth);
      return Promise.resolve(answer(event, nth));
    },
  };
  const recorded = recordingTelemetry();
  /** `telemetry: null` runs the relay without any, as with OTEL_EXPORTER_OTLP_ENDPOINT unset. */
  const run = (options: Partial<RelayOptions> = {}, telemetry: Telemetry | null = recorded.telemetry) =>
    clock.run(
      runRelay(
        'run-1',
        { store, lease, router, clock, logger: memoryLogger(), random: () => 0.5, ...(telemetry === null ? {} : { telemetry }) },
        { ...OPTIONS, ...options },
      ),
    );
  return { clock, store, lease, sent, run, ...recorded };
}

describe('A run, as telemetry sees it', () => {
  it('opens an attempt per POST with its number, ends it with the verdict and HTTP status, and the POST carries the attempt’s context', async () => {
    // Prepare: the first POST fails with a 503 and is retried in the run.
    const { store, sent, attempts, run } = setup((_event, nth) => (nth === 1 ? status(503) : ok));
    store.seed(1, () => ({ traceparent: STORED }));
    // Act
    await run();
    // Assess
    expect(attempts).toEqual([
      { eventId: 'evt-0000', attempt: 1, verdict: 'transient', httpStatus: 503 },
      { eventId: 'evt-0000', attempt: 2, verdict: 'delivered', httpStatus: 200 },
    ]);
    expect(sent.map((s) => s.traceparent)).toEqual([
      '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000001-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000002-01',
    ]);
  });

  it('forwards the stored traceparent unchanged when the relay has no telemetry', async () => {
    const { store, sent, run } = setup();
    store.seed(2, (i) => (i === 0 ? { traceparent: STORED } : {}));

    await run({}, null);

    expect(sent).toEqual([
      { eventId: 'evt-0000', traceparent: STORED },
      { eventId: 'evt-0001', traceparent: undefined },
    ]);
  });

  it('reports each settled event, with commit → acknowledgement latency for the delivered ones', async () => {
    // Prepare: evt-0001 is rejected (permanent) and, at MAX_ATTEMPTS 1, dead-lettered.
    const { clock, store, settled, run } = setup((event) => (event.id === 'evt-0001' ? status(422) : ok));
    store.seed(3, (i) => ({ createdAt: Instant.fromMillis(clock.now() - 60_000 + i) }));
    // Act
    await run();
    // Assess
    expect(settled).toEqual([
      { outcome: 'delivered', latencyMs: 60_000 },
      { outcome: 'dead_letter', latencyMs: undefined },
      { outcome: 'delivered', latencyMs: 59_998 },
    ]);
  });

  it('reports the oldest pending age from the first page and the parked keys read at the start', async () => {
    const { clock, store, gauges, run } = setup();
    store.seed(3, (i) => ({ createdAt: Instant.fromMillis(clock.now() - 90_000 + i) }));
    store.parked.set('order-9', 'dead-9');

    await run();

    expect(gauges.oldestPendingMs).toEqual([90_000]);
    expect(gauges.parkedKeys).toEqual([1]);
  });

  it('reports as oldest pending only an event that is due, and those on backoff or behind a parked key apart', async () => {
    // Prepare: the oldest waits for its backoff, the next is behind a parked key, the third waits behind the first's key.
    const { clock, store, gauges, run } = setup();
    const now = clock.now();
    store.put('evt-backoff', pending(now - 600_000, { orderingKey: 'a', nextAttemptAt: Instant.fromMillis(now + 60_000) }));
    store.put('evt-parked', pending(now - 500_000, { orderingKey: 'order-9' }));
    store.put('evt-behind', pending(now - 400_000, { orderingKey: 'a' }));
    store.put('evt-due', pending(now - 90_000, { orderingKey: 'b' }));
    store.parked.set('order-9', 'dead-9');

    // Act
    await run();

    // Assess
    expect(gauges.pendingAges.at(-1)).toEqual({ dueMs: 90_000, backoffMs: 600_000, parkedMs: 500_000 });
    expect(gauges.oldestPendingMs.at(-1)).toBe(90_000);
  });

  it('reports an oldest due age of 0 when every pending event waits by design', async () => {
    const { clock, store, gauges, run } = setup();
    store.put('evt-backoff', pending(clock.now() - 600_000, { nextAttemptAt: Instant.fromMillis(clock.now() + 60_000) }));

    await run();

    expect(gauges.pendingAges.at(-1)).toEqual({ dueMs: 0, backoffMs: 600_000, parkedMs: 0 });
  });

  it('reports an empty outbox as an oldest pending age of 0', async () => {
    const { gauges, run } = setup();

    await run();

    expect(gauges.oldestPendingMs).toEqual([0]);
  });

  it('ends the run with its outcome, whether it answers 500, its counts and the breaker', async () => {
    // Prepare: every POST fails; the third distinct failure opens the circuit.
    const { store, gauges, ends, run } = setup(() => status(503));
    store.seed(5);
    // Act
    await run({ postRetries: 0 });
    // Assess
    expect(gauges.breakerOpened).toBe(1);
    expect(ends).toEqual([
      expect.objectContaining({
        outcome: 'router_failing',
        failing: true,
        breakerOpen: true,
        delivered: 0,
        durationMs: expect.any(Number),
      }),
    ]);
  });

  it('ends a run that finds the lease held as skipped, not failing', async () => {
    const { lease, ends, run } = setup();
    await lease.acquire('another-run', 60_000);

    await run();

    expect(ends).toEqual([expect.objectContaining({ outcome: 'skipped', failing: false, delivered: 0 })]);
  });
});

/** A pending document created at `createdAtMs`. */
function pending(createdAtMs: number, fields: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'order.created', data: {}, createdAt: Instant.fromMillis(createdAtMs), status: 'pending', ...fields };
}
