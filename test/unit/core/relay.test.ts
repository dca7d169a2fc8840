import type { OutboxEvent } from '../../../src/core/event.js';
import { Instant } from '../../../src/core/instant.js';
import type { Logger, OutboxStore, RunLease } from '../../../src/core/ports.js';
import { runRelay, type RelayOptions, type RunResult } from '../../../src/core/relay.js';
import { memoryLogger } from '../../support/function-server.js';
import { MemoryOutboxStore, MemoryRunLease } from '../../support/memory-outbox-store.js';
import { memoryRouter, ok, status, type MemoryAnswer } from '../../support/memory-router.js';
import { VirtualClock } from '../../support/virtual-clock.js';
import { UNIT_RELAY_OPTIONS } from '../../support/relay-options.js';
import { withOverrides } from '../../support/store-overrides.js';

const OPTIONS: RelayOptions = UNIT_RELAY_OPTIONS;
/** The breaker and in-run retries as deployed by default (BREAKER_THRESHOLD 5, DELIVERY_CONCURRENCY 16, POST_RETRIES 3). */
const DEFAULT_BREAKER_SETTINGS = {
  breakerThreshold: 5,
  deliveryConcurrency: 16,
  postRetries: 3,
  retryMinDelayMs: 250,
  retryMaxDelayMs: 10_000,
  batchSize: 200,
} as const;

const never = <T>(): Promise<T> => new Promise<T>(() => undefined);

/** One run over in-memory ports on virtual time; `random` is 0.5, so jitter is exactly 1. */
function setup(script?: (event: OutboxEvent, nth: number) => MemoryAnswer) {
  const clock = new VirtualClock();
  const lease = new MemoryRunLease(() => clock.now());
  const store = new MemoryOutboxStore(lease);
  const router = memoryRouter(clock, script);
  const logger = memoryLogger();
  const run = (
    options: Partial<RelayOptions> = {},
    ports: { store?: OutboxStore; lease?: RunLease; logger?: Logger; shutdown?: AbortSignal } = {},
  ): Promise<RunResult> =>
    clock.run(
      runRelay(
        `run-${clock.now()}`,
        {
          store: ports.store ?? store,
          lease: ports.lease ?? lease,
          router: router.router,
          clock,
          logger: ports.logger ?? logger,
          random: () => 0.5,
        },
        { ...OPTIONS, ...options },
        { ...(ports.shutdown === undefined ? {} : { shutdown: ports.shutdown }) },
      ),
    );
  return { clock, lease, store, router, logger, run };
}

function ran(result: RunResult) {
  if (result.kind !== 'ran') throw new Error(`expected the run to run, got ${result.kind}`);
  return result;
}

describe('A run', () => {
  describe('delivering', () => {
    it('delivers every pending event across pages and audits the run last', async () => {
      const { store, router, run } = setup();
      store.seed(25);

      const result = ran(await run());

      expect(result.retryWanted).toBe(false);
      expect(result.summary).toMatchObject({
        fetched: 25,
        delivered: 25,
        hasMore: false,
        auditFailed: false,
        unrecorded: 0,
        stoppedBy: 'drained',
      });
      expect(router.posts).toHaveLength(25);
      expect(store.idsWithStatus('delivered')).toHaveLength(25);
      expect(store.audits).toEqual([expect.objectContaining({ delivered: 25 })]);
    });

    it('takes events oldest first by createdAt, then id, each once however the ids sort', async () => {
      const { store, router, run } = setup();
      store.seed(25, (i) => ({ createdAt: Instant.fromMillis(Date.UTC(2026, 0, 1) - i * 1000) }));

      await run({ deliveryConcurrency: 1 });

      expect(router.posts.map((p) => p.eventId)).toEqual(Array.from({ length: 25 }, (_, i) => `evt-${String(24 - i).padStart(4, '0')}`));
    });

    it('keeps enqueue order (sequence) within one commit, also where a page boundary cuts the commit', async () => {
      const { store, router, run } = setup();
      const commit = Instant.fromMillis(Date.UTC(2026, 0, 1));
      // Natural ids that sort against their enqueue order: z-… was enqueued first.
      ['z-created', 'y-paid', 'x-shipped', 'w-delivered'].forEach((id, sequence) =>
        store.put(id, { type: 't', data: {}, createdAt: commit, status: 'pending', orderingKey: 'order-1', sequence: sequence + 1 }),
      );

      await run({ batchSize: 3 });

      expect(router.posts.map((p) => p.eventId)).toEqual(['z-created', 'y-paid', 'x-shipped', 'w-delivered']);
    });

    it('sends the events of one orderingKey one at a time, while other keys go in parallel', async () => {
      const { store, router, run } = setup(() => ({ afterMs: 100, answer: ok }));
      store.seed(8, (i) => ({ orderingKey: i < 4 ? 'same' : `own-${i}` }));

      const result = ran(await run());

      expect(result.summary.delivered).toBe(8);
      const same = router.posts.filter((p) => Number(p.eventId.slice(-1)) < 4);
      expect(same.map((p) => p.at - (same[0]?.at ?? 0))).toEqual([0, 100, 200, 300]);
      expect(router.peakInFlight).toBe(4);
    });

    it('looks for strays while it reads parked keys and reads the first page right after them, so the first POST waits two round trips', async () => {
      const { clock, store, router, run } = setup();
      store.seed(5);
      const slow = <T>(work: () => Promise<T>) => clock.sleep(100).then(work);
      const slowStore: OutboxStore = {
        fetchPending: (limit, after, maxBytes) => slow(() => store.fetchPending(limit, after, maxBytes)),
        fetchStrays: () => slow(() => store.fetchStrays()),
        fetchParkedKeys: () => slow(() => store.fetchParkedKeys()),
        watchPending: (onChange) => store.watchPending(onChange),
        recordOutcomes: (outcomes, lease) => store.recordOutcomes(outcomes, lease),
        writeAudit: (summary) => store.writeAudit(summary),
      };
      const startedAt = clock.now();

      ran(await run({}, { store: slowStore }));

      expect(router.posts).toHaveLength(5);
      expect(Math.min(...router.posts.map((post) => post.at)) - startedAt).toBeLessThan(300);
    });

    it('numbers POSTs across runs, so the router sees each attempt once', async () => {
      const { clock, store, router, run } = setup((_event, nth) => (nth <= 2 ? status(503) : ok));
      store.seed(1);

      await run({ postRetries: 1 });
      await clock.advance(60_000);
      await run({ postRetries: 1 });

      expect(router.posts.map((p) => p.attempt)).toEqual([1, 2, 3]);
      expect(store.fields('evt-0000')).toMatchObject({ status: 'delivered', postAttempts: 3 });
    });
  });

  describe('answering (a 500 only makes Scheduler retry deliveries that failed)', () => {
    it('answers without a retry, saying how many stay unrecorded, when recording fails after every POST succeeded', async () => {
      const { store, run } = setup();
      store.seed(4);
      store.recordOutcomes = () => Promise.reject(new Error('UNAVAILABLE'));

      const result = ran(await run());

      expect(result.retryWanted).toBe(false);
      expect(result.summary).toMatchObject({ delivered: 4, unrecorded: 4 });
      expect(store.idsWithStatus('pending')).toHaveLength(4);
    });

    it('gives up on a final flush that hangs after FIRESTORE_TIMEOUT_MS and still answers without a retry', async () => {
      const { clock, store, run } = setup();
      store.seed(2);
      store.recordOutcomes = never;
      const started = clock.now();

      const result = ran(await run({ firestoreTimeoutMs: 2_000 }));

      expect(result.retryWanted).toBe(false);
      expect(result.summary.unrecorded).toBe(2);
      // The flush (2 s), then audit and release side by side (2 s): nothing else waits.
      expect(clock.now() - started).toBe(2_000);
    });

    it('records the audit as failed, not the run, when the audit write hangs', async () => {
      const { store, run } = setup();
      store.seed(2);
      store.writeAudit = never;

      const result = ran(await run());

      expect(result.retryWanted).toBe(false);
      expect(result.summary.auditFailed).toBe(true);
      expect(store.idsWithStatus('delivered')).toHaveLength(2);
    });

    it('answers without a retry when releasing the lease fails', async () => {
      const { store, lease, run } = setup();
      store.seed(1);
      lease.release = () => Promise.reject(new Error('UNAVAILABLE'));

      expect(ran(await run()).retryWanted).toBe(false);
    });

    it('asks for a retry when a POST failed, after recording what was acknowledged', async () => {
      const { store, run } = setup((event) => (event.id === 'evt-0002' ? status(503) : ok));
      store.seed(5);

      const result = ran(await run());

      expect(result.retryWanted).toBe(true);
      expect(result.summary).toMatchObject({ delivered: 4, failed: 1 });
      expect(store.idsWithStatus('delivered')).toEqual(['evt-0000', 'evt-0001', 'evt-0003', 'evt-0004']);
    });

    it('still asks for a retry when a POST failed and recording failed too', async () => {
      const { store, run } = setup((event) => (event.id === 'evt-0000' ? status(503) : ok));
      store.seed(3);
      store.recordOutcomes = () => Promise.reject(new Error('UNAVAILABLE'));

      const result = ran(await run());

      expect(result.retryWanted).toBe(true);
      expect(result.summary.unrecorded).toBe(3);
    });

    it('records every acknowledged event and asks for a retry when a bug stops the run', async () => {
      const { store, run } = setup();
      store.seed(6);
      const entries = memoryLogger();
      const logger: Logger = {
        log: (severity, message, fields) => {
          if (message === 'event delivered' && fields?.eventId === 'evt-0003') throw new Error('logger exploded');
          entries.log(severity, message, fields);
        },
      };

      const result = ran(await run({ deliveryConcurrency: 1, logLevel: undefined } as Partial<RelayOptions>, { logger }));

      expect(result.retryWanted).toBe(true);
      expect(result.summary.stoppedBy).toBe('internal_error');
      expect(result.error).toContain('logger exploded');
      expect(store.idsWithStatus('delivered')).toEqual(['evt-0000', 'evt-0001', 'evt-0002', 'evt-0003']);
    });

    it('does not start when the lease cannot be taken within FIRESTORE_TIMEOUT_MS, POSTing nothing', async () => {
      const { clock, store, lease, router, run } = setup();
      store.seed(3);
      lease.acquire = never;
      const started = clock.now();

      const result = await run();

      expect(result).toMatchObject({
        kind: 'not_started',
        error: expect.stringContaining('acquiring the run lease did not finish within 2000 ms'),
      });
      expect(clock.now() - started).toBe(2_000);
      expect(router.posts).toHaveLength(0);
    });

    it('does not wait out a lease call that hangs on SIGTERM: answers not started within SHUTDOWN_TIMEOUT_MS, POSTing nothing', async () => {
      const { clock, store, lease, router, run } = setup();
      store.seed(3);
      lease.acquire = never;
      const shutdown = new AbortController();
      void clock.sleep(100).then(() => shutdown.abort());
      const started = clock.now();

      // FIRESTORE_TIMEOUT_MS far beyond SHUTDOWN_TIMEOUT_MS (5 s here), so only the shutdown can end the wait.
      const result = await run({ firestoreTimeoutMs: 60_000 }, { shutdown: shutdown.signal });

      expect(result).toMatchObject({ kind: 'not_started', error: expect.stringContaining('shutting down (SIGTERM)') });
      expect(clock.now() - started).toBeLessThanOrEqual(100 + 5_000);
      expect(router.posts).toHaveLength(0);
    });

    it('stops waiting for a following run to hand over on SIGTERM, within SHUTDOWN_TIMEOUT_MS, POSTing nothing', async () => {
      const { clock, store, lease, router, run } = setup();
      store.seed(3);
      // A following run takes the hand-over request but is slow to let go: the lease stays held for its whole TTL.
      lease.takeOver('following-run', 60_000);
      lease.requestHandover = () => Promise.resolve(true);
      const shutdown = new AbortController();
      void clock.sleep(100).then(() => shutdown.abort());
      const started = clock.now();

      const result = await run({ followMs: 10_000, leaseTtlMs: 60_000 }, { shutdown: shutdown.signal });

      expect(result.kind).not.toBe('ran');
      expect(clock.now() - started).toBeLessThanOrEqual(100 + 5_000);
      expect(router.posts).toHaveLength(0);
    });

    it('skips the run when another run holds the lease', async () => {
      const { store, lease, router, run } = setup();
      store.seed(3);
      lease.takeOver('other-run', 60_000);

      expect(await run()).toMatchObject({ kind: 'skipped', heldBy: 'other-run' });
      expect(router.posts).toHaveLength(0);
    });

    it('reports a failed read as such even when the lease was already in trouble, so nothing delivered still asks for a retry', async () => {
      const { clock, store, lease, run } = setup();
      store.seed(3);
      lease.renew = () => clock.sleep(60_000).then(() => Promise.reject(new Error('UNAVAILABLE')));
      // Slow but in time, so the page is read only after the failed renewal has put the lease in trouble.
      store.fetchParkedKeys = () => clock.sleep(1_900).then(() => new Set<string>());
      store.fetchStrays = () => clock.sleep(1_900).then(() => []);
      store.fetchPending = () => clock.sleep(60_000).then(() => Promise.reject(new Error('UNAVAILABLE')));

      const result = ran(await run({ leaseTtlMs: 6_000, firestoreTimeoutMs: 2_000 }));

      expect(result.retryWanted).toBe(true);
      expect(result.summary.stoppedBy).toBe('fetch_failed');
    });

    it('asks for a retry when reading the outbox fails before anything was delivered', async () => {
      const { store, run } = setup();
      store.seed(3);
      store.fetchPending = () => Promise.reject(new Error('UNAVAILABLE'));

      const result = ran(await run());

      expect(result.retryWanted).toBe(true);
      expect(result.summary.stoppedBy).toBe('fetch_failed');
    });
  });

  describe('telling a failing router from failing events', () => {
    it('opens the circuit after BREAKER_THRESHOLD distinct events fail in a row, charging none of them', async () => {
      const { store, router, run } = setup(() => status(503));
      store.seed(50);

      const result = ran(await run({ breakerThreshold: 3, deliveryConcurrency: 8 }));

      expect(result.retryWanted).toBe(true);
      expect(result.summary.stoppedBy).toBe('router_failing');
      // Only as many POSTs in flight as could still be judged: an outage costs 3 probing POSTs, not 8.
      expect(router.posts).toHaveLength(3);
      expect([...store.documents.values()].every((d) => d.fields.attempts === undefined || d.fields.attempts === 0)).toBe(true);
      expect(store.idsWithStatus('dead_letter')).toEqual([]);
    });

    it('dead-letters nothing when the router rejects everything (a moved route answering 404)', async () => {
      const { store, run } = setup(() => status(404));
      store.seed(100);

      const result = ran(await run({ breakerThreshold: 3 }));

      expect(result.retryWanted).toBe(true);
      expect(result.summary.deadLettered).toBe(0);
      expect(store.idsWithStatus('pending')).toHaveLength(100);
    });

    it('charges a failure to the event when other events succeed around it, and delivers the rest', async () => {
      const { clock, store, run } = setup((event) => (event.id === 'evt-0003' ? status(401) : ok));
      store.seed(20);

      const result = ran(await run());

      expect(result.summary).toMatchObject({ delivered: 19, failed: 1 });
      // Backoff: REDELIVERY_MIN_DELAY_MS × 2^0 × jitter 1.0.
      expect(store.fields('evt-0003')).toMatchObject({ attempts: 1, nextAttemptAt: Instant.fromMillis(clock.now() + 60_000) });
    });

    it('charges a short streak that ends the run when the router delivered others in it, so a poison event reaches its dead letter', async () => {
      const { store, run } = setup((event) => (event.id === 'evt-0000' ? ok : status(422)));
      store.seed(3);

      const result = ran(await run({ breakerThreshold: 3 }));

      expect(result.retryWanted).toBe(false);
      expect(store.idsWithStatus('dead_letter')).toEqual(['evt-0001', 'evt-0002']);
    });

    it('dead-letters none of a quiet outbox the router rejects whole (fewer events than BREAKER_THRESHOLD, every POST 404)', async () => {
      const { store, router, run } = setup(() => status(404));
      store.seed(3);

      const result = ran(await run({ breakerThreshold: 5 }));

      expect(result.retryWanted).toBe(true);
      expect(result.summary).toMatchObject({ deadLettered: 0, failed: 3 });
      expect(router.posts).toHaveLength(3);
      expect(store.idsWithStatus('pending')).toEqual(['evt-0000', 'evt-0001', 'evt-0002']);
      expect([...store.documents.values()].map((d) => d.fields.attempts ?? 0)).toEqual([0, 0, 0]);
      expect(await store.fetchParkedKeys()).toEqual(new Set());
    });

    it('delivers the events behind BREAKER_THRESHOLD poison events at the head of the outbox by the next run, and charges the poison ones', async () => {
      // The 5 oldest events, each of its own key, are answered 500 whatever happens; every other event 200.
      const poison = new Set(['evt-0000', 'evt-0001', 'evt-0002', 'evt-0003', 'evt-0004']);
      const { clock, store, router, run } = setup((event) => (poison.has(event.id) ? status(500) : ok));
      store.seed(8, (i) => ({ orderingKey: `key-${i}` }));

      // Alone, the five look like an outage: the circuit opens and nobody is charged.
      const first = ran(await run(DEFAULT_BREAKER_SETTINGS));
      expect(first.summary.stoppedBy).toBe('router_failing');
      expect(store.idsWithStatus('delivered')).toEqual([]);

      await clock.advance(60_000);
      const second = ran(await run(DEFAULT_BREAKER_SETTINGS));

      // Tried first this time, the events behind them go through, and the five failures are theirs.
      expect(store.idsWithStatus('delivered')).toEqual(['evt-0005', 'evt-0006', 'evt-0007']);
      expect(second.summary.stoppedBy).not.toBe('router_failing');
      for (const id of poison) expect(store.fields(id)?.attempts).toBe(1);
      expect(router.posts.filter((post) => !poison.has(post.eventId)).map((post) => post.eventId)).toEqual([
        'evt-0005',
        'evt-0006',
        'evt-0007',
      ]);
    });

    it('delivers an event a page behind a whole page of poison heads and the events of their keys, and charges the poison ones', async () => {
      // Page one (5 events): poison heads of keys 0, 1, 2, then two more of key 0; page two: a deliverable event.
      const poison = new Set(['evt-0000', 'evt-0001', 'evt-0002']);
      const { clock, store, router, run } = setup((event) => (poison.has(event.id) ? status(500) : ok));
      store.seed(6, (i) => ({ orderingKey: `key-${[0, 1, 2, 0, 0, 9][i] ?? 9}` }));
      const options = { batchSize: 5, deliveryConcurrency: 3, breakerThreshold: 3 };

      // Alone, the three heads look like an outage: the circuit opens and nobody is charged.
      expect(ran(await run(options)).summary.stoppedBy).toBe('router_failing');
      expect(store.idsWithStatus('delivered')).toEqual([]);

      await clock.advance(60_000);
      const second = ran(await run(options));

      // The run reads on past the page of events that failed before and tries the new one first.
      expect(second.summary.stoppedBy).not.toBe('router_failing');
      expect(store.fields('evt-0005')?.status).toBe('delivered');
      for (const id of poison) expect(store.fields(id)?.attempts).toBe(1);
      expect(router.posts.filter((post) => !poison.has(post.eventId)).map((post) => post.eventId)).toEqual(['evt-0005']);
    });

    it('tries a never-attempted event of a key before poison events of no key tried before it, so the next run delivers it', async () => {
      // Three poison events without a key, then a deliverable event with one, all in one page.
      const poison = new Set(['evt-0000', 'evt-0001', 'evt-0002']);
      const { clock, store, router, run } = setup((event) => (poison.has(event.id) ? status(500) : ok));
      store.seed(4, (i) => (i === 3 ? { orderingKey: 'key-3' } : {}));
      const options = { batchSize: 10, deliveryConcurrency: 3, breakerThreshold: 3 };

      expect(ran(await run(options)).summary.stoppedBy).toBe('router_failing');
      await clock.advance(60_000);
      const firstRunPosts = router.posts.length;
      const second = ran(await run(options));

      // The keyed event is POSTed first (probe order), not after the keyless ones overtook it into the free slots.
      expect(router.posts[firstRunPosts]?.eventId).toBe('evt-0003');
      expect(second.summary.stoppedBy).not.toBe('router_failing');
      expect(store.fields('evt-0003')?.status).toBe('delivered');
    });

    it('delivers the rest when the oldest events are refused with Retry-After (a crashed consumer’s claims), at the default settings', async () => {
      const { store, router, run } = setup((event) => (Number(event.id.slice(4)) < 6 ? status(503, '5') : ok));
      store.seed(106);

      const result = ran(await run(DEFAULT_BREAKER_SETTINGS));

      // The refused events wait out their Retry-After in the run without holding the others back.
      expect(router.postsFor('evt-0006')[0]?.at).toBe(router.posts[0]?.at);

      expect(result.summary).toMatchObject({ delivered: 100, deadLettered: 0, failed: 6 });
      expect(result.summary.stoppedBy).not.toBe('router_failing');
      expect(store.idsWithStatus('pending')).toEqual(['evt-0000', 'evt-0001', 'evt-0002', 'evt-0003', 'evt-0004', 'evt-0005']);
      // Each waits at least its Retry-After; charged one attempt, as decide() says of an event's own failure.
      expect(store.fields('evt-0000')).toMatchObject({ attempts: 1, lastError: 'HTTP 503' });
    });

    it.each([
      ['every POST refused with Retry-After', status(503, '5')],
      ['every connection refused', { kind: 'network', code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:1' } as const],
    ])('still opens the circuit when %s, charging nothing', async (_, answer) => {
      const { store, router, run } = setup(() => answer);
      store.seed(60);

      const result = ran(await run(DEFAULT_BREAKER_SETTINGS));

      expect(result.retryWanted).toBe(true);
      expect(result.summary.stoppedBy).toBe('router_failing');
      expect(new Set(router.posts.map((p) => p.eventId)).size).toBeLessThanOrEqual(DEFAULT_BREAKER_SETTINGS.deliveryConcurrency + 1);
      expect([...store.documents.values()].every((d) => (d.fields.attempts ?? 0) === 0)).toBe(true);
      expect(store.idsWithStatus('dead_letter')).toEqual([]);
    });
  });

  describe('retrying across runs, in time', () => {
    it('leaves an event on backoff alone, and the later events of its key with it', async () => {
      const { clock, store, router, run } = setup();
      store.seed(3, (i) => ({
        orderingKey: i < 2 ? 'k' : undefined,
        ...(i === 0 ? { nextAttemptAt: Instant.fromMillis(clock.now() + 30_000) } : {}),
      }));

      const first = ran(await run());
      await clock.advance(30_000);
      const second = ran(await run());

      expect(first.summary).toMatchObject({ delivered: 1, waiting: 2 });
      expect(second.summary).toMatchObject({ delivered: 2, waiting: 0 });
      expect(router.posts.map((p) => p.eventId)).toEqual(['evt-0002', 'evt-0000', 'evt-0001']);
    });

    it('defers one event the router asks to wait an hour (Retry-After), not the run: the others go through', async () => {
      const { clock, store, run } = setup((event) => (event.id === 'evt-0007' ? status(429, '3600') : ok));
      store.seed(200);

      const result = ran(await run({ batchSize: 50, postRetries: 3 }));

      expect(result.summary).toMatchObject({ delivered: 199, failed: 1 });
      expect((store.fields('evt-0007')?.nextAttemptAt as Instant).toMillis()).toBeGreaterThanOrEqual(clock.now() + 3_590_000);
    });

    it('dead-letters an event once MAX_ATTEMPTS failed attempts are charged, with the last reason', async () => {
      const { clock, store, run } = setup((event) => (event.id === 'evt-0000' ? status(500) : ok));
      store.seed(1);
      store.put('evt-0001', { type: 't', data: {}, createdAt: Instant.fromMillis(Date.UTC(2026, 0, 1) + 5), status: 'pending' });

      for (let attempt = 1; attempt <= 3; attempt += 1) {
        await run({ maxAttempts: 3 });
        await clock.advance(24 * 60 * 60_000);
        store.put(`evt-10${attempt}`, { type: 't', data: {}, createdAt: Instant.fromMillis(clock.now()), status: 'pending' });
      }

      expect(store.fields('evt-0000')).toMatchObject({
        status: 'dead_letter',
        attempts: 3,
        deadLetterReason: 'max attempts exceeded (3): HTTP 500',
      });
    });
  });

  describe('keeping order per key across a dead letter', () => {
    it('parks the key of a dead-lettered event: its later events wait, in this run and the next', async () => {
      const { store, router, run } = setup((event) => (event.id === 'evt-0001' ? status(422) : ok));
      store.seed(6, (i) => ({ orderingKey: i % 2 === 0 ? 'even' : 'odd' }));

      const first = ran(await run());
      const second = ran(await run());

      expect(store.idsWithStatus('dead_letter')).toEqual(['evt-0001']);
      expect(store.parked.get('odd')).toBe('evt-0001');
      expect(first.summary).toMatchObject({ delivered: 3, deadLettered: 1, waiting: 2 });
      expect(second.summary).toMatchObject({ delivered: 0, waiting: 2 });
      expect(router.posts.map((p) => p.eventId)).not.toContain('evt-0003');
    });

    it('goes on with the key after a dead letter when KEY_AFTER_DEAD_LETTER=continue', async () => {
      const { store, run } = setup((event) => (event.id === 'evt-0001' ? status(422) : ok));
      store.seed(6, (i) => ({ orderingKey: i % 2 === 0 ? 'even' : 'odd' }));

      const result = ran(await run({ parkKeyOnDeadLetter: false }));

      expect(result.summary).toMatchObject({ delivered: 5, deadLettered: 1 });
      expect(store.parked.size).toBe(0);
    });
  });

  describe('holding the lease', () => {
    it('renews the lease while a long run goes on, so it never lapses under the run', async () => {
      const { store, lease, run } = setup(() => ({ afterMs: 1_000, answer: ok }));
      store.seed(40);
      const renew = lease.renew.bind(lease);
      let renewals = 0;
      lease.renew = (held, ttl) => {
        renewals += 1;
        return renew(held, ttl);
      };

      const result = ran(await run({ deliveryConcurrency: 1, leaseTtlMs: 9_000 }));

      expect(result.summary).toMatchObject({ delivered: 40, unrecorded: 0 });
      expect(renewals).toBeGreaterThanOrEqual(40_000 / 3_000 - 1);
    });

    it('stops starting POSTs when another run took the lease, and answers without a retry', async () => {
      const { clock, store, lease, router, run } = setup(() => ({ afterMs: 1_000, answer: ok }));
      store.seed(40);
      void clock.sleep(4_500).then(() => lease.takeOver('newer-run', 60_000));

      const result = ran(await run({ deliveryConcurrency: 1, leaseTtlMs: 9_000, checkpointSize: 100 }));

      expect(result.retryWanted).toBe(false);
      expect(result.summary.stoppedBy).toBe('lease_lost');
      expect(router.posts.length).toBeLessThan(10);
      expect(result.summary.unrecorded).toBe(result.summary.delivered);
    });
  });

  describe('shutting down (SIGTERM)', () => {
    it('starts no new POSTs, records what was acknowledged, releases the lease and answers within SHUTDOWN_TIMEOUT_MS', async () => {
      const { clock, store, lease, router, run } = setup(() => ({ afterMs: 500, answer: ok }));
      store.seed(100);
      const shutdown = new AbortController();
      void clock.sleep(1_200).then(() => shutdown.abort());

      const result = ran(await run({ deliveryConcurrency: 2 }, { shutdown: shutdown.signal }));

      expect(result.summary.stoppedBy).toBe('shutdown');
      expect(result.retryWanted).toBe(false);
      expect(router.posts).toHaveLength(6);
      expect(store.idsWithStatus('delivered')).toHaveLength(6);
      expect(result.summary.durationMs).toBeLessThanOrEqual(1_200 + 5_000);
      expect(await lease.acquire('next-run', 1_000)).toMatchObject({ acquired: true });
    });

    it('does not wait out a slow first read on SIGTERM: answers within SHUTDOWN_TIMEOUT_MS, with more to do', async () => {
      const { clock, store, router, run } = setup();
      store.seed(5);
      const hung: OutboxStore = {
        fetchPending: () => never(),
        fetchStrays: () => never(),
        fetchParkedKeys: () => store.fetchParkedKeys(),
        watchPending: (onChange) => store.watchPending(onChange),
        recordOutcomes: (outcomes, lease) => store.recordOutcomes(outcomes, lease),
        writeAudit: (summary) => store.writeAudit(summary),
      };
      const shutdown = new AbortController();
      void clock.sleep(100).then(() => shutdown.abort());

      // FIRESTORE_TIMEOUT_MS far beyond SHUTDOWN_TIMEOUT_MS (5 s here), so only the shutdown can end the wait.
      const result = ran(await run({ firestoreTimeoutMs: 60_000, leaseTtlMs: 180_000 }, { store: hung, shutdown: shutdown.signal }));

      expect(result.summary).toMatchObject({ stoppedBy: 'shutdown', hasMore: true, delivered: 0 });
      expect(result.summary.durationMs).toBeLessThanOrEqual(100 + 5_000);
      expect(router.posts).toHaveLength(0);
    });

    it('does not wait out a parked-keys read that hangs on SIGTERM: answers within SHUTDOWN_TIMEOUT_MS, POSTing nothing', async () => {
      const { clock, store, router, run } = setup();
      store.seed(5);
      const hung = withOverrides(store, { fetchParkedKeys: () => never() });
      const shutdown = new AbortController();
      void clock.sleep(100).then(() => shutdown.abort());

      // FIRESTORE_TIMEOUT_MS far beyond SHUTDOWN_TIMEOUT_MS (5 s here), so only the shutdown can end the wait.
      const result = ran(await run({ firestoreTimeoutMs: 60_000, leaseTtlMs: 180_000 }, { store: hung, shutdown: shutdown.signal }));

      expect(result.summary).toMatchObject({ stoppedBy: 'shutdown', delivered: 0 });
      expect(result.summary.durationMs).toBeLessThanOrEqual(100 + 5_000);
      expect(router.posts).toHaveLength(0);
    });

    it('cuts a final flush already waiting on a hung Firestore when SIGTERM comes: answers within SHUTDOWN_TIMEOUT_MS, saying what stays unrecorded', async () => {
      const { clock, store, router, run } = setup();
      store.seed(3);
      // Every commit of outcomes hangs: the final flush waits on FIRESTORE_TIMEOUT_MS (60 s here) when SIGTERM comes.
      store.recordOutcomes = () => never();
      const shutdown = new AbortController();
      void clock.sleep(1_000).then(() => shutdown.abort());

      const result = ran(await run({ firestoreTimeoutMs: 60_000, leaseTtlMs: 180_000 }, { shutdown: shutdown.signal }));

      expect(router.posts).toHaveLength(3);
      expect(result.summary).toMatchObject({ delivered: 3, unrecorded: 3 });
      expect(result.retryWanted).toBe(false);
      expect(result.summary.durationMs).toBeLessThanOrEqual(1_000 + 5_000);
    });

    it('names the failed deliveries as the cause of a 500 when a shutdown ends the run', async () => {
      const { clock, store, run } = setup((event) => (event.id === 'evt-0000' ? status(503) : { afterMs: 500, answer: ok }));
      store.seed(20);
      const shutdown = new AbortController();
      void clock.sleep(1_200).then(() => shutdown.abort());

      const result = ran(await run({ deliveryConcurrency: 2 }, { shutdown: shutdown.signal }));

      expect(result).toMatchObject({ retryWanted: true, cause: 'delivery_failed' });
      expect(result.summary.stoppedBy).toBe('shutdown');
      expect(result.error).toContain('event evt-0000: HTTP 503');
    });

    it('cancels a POST that hangs past its share of the shutdown time; the event stays pending, not charged', async () => {
      const { clock, store, router, run } = setup((event) => (event.id === 'evt-0001' ? 'hang' : ok));
      store.seed(2);
      const shutdown = new AbortController();
      void clock.sleep(100).then(() => shutdown.abort());

      const result = ran(await run({ deliveryConcurrency: 2, postRetries: 0 }, { shutdown: shutdown.signal }));

      expect(result.summary).toMatchObject({ delivered: 1, stoppedBy: 'shutdown' });
      expect(result.summary.durationMs).toBeLessThanOrEqual(100 + 5_000);
      expect(store.fields('evt-0001')).toMatchObject({ status: 'pending', postAttempts: 1, attempts: 0 });
      expect(router.posts).toHaveLength(2);
    });
  });

  describe('bounding memory by bytes', () => {
    it('never holds more event JSON than MAX_IN_FLIGHT_BYTES, whatever BATCH_SIZE says', async () => {
      const { store, router, run } = setup(() => ({ afterMs: 10, answer: ok }));
      store.seed(60, () => ({ data: { blob: 'x'.repeat(9_000) } }));

      const result = ran(await run({ batchSize: 50, deliveryConcurrency: 50, maxPayloadBytes: 10_000, maxInFlightBytes: 50_000 }));

      expect(result.summary.delivered).toBe(60);
      // Five events of the largest accepted size fit in 50 KB.
      expect(router.peakInFlight).toBeLessThanOrEqual(5);
    });

    it('reads pages of BATCH_SIZE when the events are small, however large MAX_PAYLOAD_BYTES is', async () => {
      const { store, run } = setup();
      store.seed(1_000);

      const result = ran(
        await run({ batchSize: 200, deliveryConcurrency: 32, maxPayloadBytes: 512 * 1024, maxInFlightBytes: 16 * 1024 * 1024 }),
      );

      expect(result.summary.delivered).toBe(1_000);
      // The first page assumes the largest accepted size (32 fit in 16 MiB); the rest are full.
      expect(store.pageReads.slice(1, -1).map((page) => page.documents)).toEqual(expect.arrayContaining([200]));
      expect(store.pageReads.length).toBeLessThanOrEqual(8);
    });

    it('never lets a page bring more than the room left when large events follow small ones', async () => {
      const { store, router, run } = setup(() => ({ afterMs: 10, answer: ok }));
      store.seed(150, (i) => ({ data: i < 100 ? { i } : { blob: 'x'.repeat(9_000) } }));

      const result = ran(await run({ batchSize: 100, deliveryConcurrency: 50, maxPayloadBytes: 10_000, maxInFlightBytes: 50_000 }));

      expect(result.summary.delivered).toBe(150);
      // Each page asks only for the room left beside the events in hand (less than the whole budget while large
      // events are in flight), and brings no more than that.
      expect(store.pageReads.every((page) => page.documents === 1 || page.bytes <= page.maxBytes)).toBe(true);
      expect(store.pageReads.slice(1).some((page) => page.maxBytes <= 50_000 - 9_000)).toBe(true);
      expect(router.posts).toHaveLength(150);
    });
  });

  describe('writing only to the version it read', () => {
    it('leaves an event deleted while in flight deleted, and one re-created meanwhile pending with its new content', async () => {
      const { store, run } = setup((event) => {
        if (event.id === 'evt-0000') store.documents.delete('evt-0000');
        if (event.id === 'evt-0001')
          store.put('evt-0001', { type: 't', data: { v: 2 }, createdAt: Instant.fromMillis(Date.UTC(2026, 0, 2)), status: 'pending' });
        return ok;
      });
      store.seed(2);

      const result = ran(await run());

      expect(result.summary.stale).toBe(2);
      expect(store.documents.has('evt-0000')).toBe(false);
      expect(store.fields('evt-0001')).toMatchObject({ status: 'pending', data: { v: 2 } });
    });
  });
});
