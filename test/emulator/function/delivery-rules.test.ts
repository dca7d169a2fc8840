import { Timestamp } from '@google-cloud/firestore';
import request from 'supertest';
import type { EventOutcome } from '../../../src/core/event.js';
import type { OutboxStore } from '../../../src/core/ports.js';
import { memoryLogger, relayEnv, serveHandler } from '../../support/function-server.js';
import type { ReceivedRequest, RouterAction } from '../../support/loopback-router.js';
import { idsWithStatus, readAll, seedEvents } from '../../support/outbox-fixtures.js';
import { useRelayFixture } from '../../support/relay-fixture.js';
import { createOutbox } from '../../../src/producer/enqueue.js';

const fx = useRelayFixture();

async function run(overrides: Record<string, string> = {}, wrapStore?: (store: OutboxStore) => OutboxStore) {
  const server = serveHandler({
    env: relayEnv(fx.router.url, fx.collections, overrides),
    logger: memoryLogger(),
    ...(wrapStore ? { wrapStore } : {}),
  });
  return request(server).post('/');
}

/**
 * A pending event newer than the seeded ones, which the router delivers: a failure is charged to its event only
 * in a run where the router delivered something (with no success in the run, nothing tells the event's fault
 * from the router's, docs/failure-semantics.md).
 */
async function addDeliverableEvent(id: string): Promise<void> {
  await fx.db
    .collection(fx.collections.outbox)
    .doc(id)
    .set({ type: 'order.created', data: {}, createdAt: Timestamp.now(), status: 'pending' });
}

function postsFor(eventId: string): ReceivedRequest[] {
  return fx.router.received.filter((r) => r.eventId === eventId);
}

/** The largest number of requests the router was serving at one moment. */
function peakInFlight(requests: readonly ReceivedRequest[]): number {
  const edges = requests.flatMap((r) => [
    { at: r.startedAt, delta: 1 },
    { at: r.finishedAt, delta: -1 },
  ]);
  edges.sort((a, b) => a.at - b.at || a.delta - b.delta);
  let now = 0;
  let peak = 0;
  for (const edge of edges) {
    now += edge.delta;
    peak = Math.max(peak, now);
  }
  return peak;
}

describe('Delivery: classifying router answers', () => {
  it('dead-letters an event the router rejects with 422 at once, with the status and a body excerpt, and goes on', async () => {
    await seedEvents(fx.db, fx.collections.outbox, 4);
    fx.router.script = (req) =>
      req.eventId === 'evt-0001' ? { respond: 422, body: `{"error":"unknown customer ${'x'.repeat(1000)}"}` } : { respond: 200 };

    const response = await run({ DELIVERY_CONCURRENCY: '1', POST_RETRIES: '3' });

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ delivered: 3, deadLettered: 1, failed: 0 });
    expect(postsFor('evt-0001')).toHaveLength(1);
    const stored = (await readAll(fx.db, fx.collections.outbox)).get('evt-0001');
    expect(stored).toMatchObject({ status: 'dead_letter', attempts: 1 });
    expect(String(stored?.deadLetterReason)).toMatch(/^rejected by the router: HTTP 422: \{"error":"unknown customer x+/);
    expect(String(stored?.deadLetterReason).length).toBeLessThan(300);
    expect(stored?.deadLetteredAt).toBeInstanceOf(Timestamp);
  });

  it('counts a 2xx with a large body as delivered, reading only the start of it', async () => {
    await seedEvents(fx.db, fx.collections.outbox, 1);
    fx.router.script = () => ({ respond: 200, body: JSON.stringify({ echo: 'x'.repeat(300_000) }) });

    const response = await run({ POST_RETRIES: '0' });

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ delivered: 1, failed: 0 });
    expect(postsFor('evt-0000')).toHaveLength(1);
  });

  it('keeps a short excerpt of a large error body in the dead-letter reason', async () => {
    await seedEvents(fx.db, fx.collections.outbox, 2);
    fx.router.script = (req) =>
      req.eventId === 'evt-0000' ? { respond: 400, body: `bad request ${'y'.repeat(300_000)}` } : { respond: 200 };

    await run();

    const stored = (await readAll(fx.db, fx.collections.outbox)).get('evt-0000');
    expect(String(stored?.deadLetterReason)).toMatch(/^rejected by the router: HTTP 400: bad request y+…$/);
  });

  it('retries a 503 within the run and delivers once the router recovers', async () => {
    await seedEvents(fx.db, fx.collections.outbox, 1);
    fx.router.script = (_req, nth) => (nth <= 2 ? { respond: 503 } : { respond: 200 });

    const response = await run({ POST_RETRIES: '3' });

    expect(response.status).toBe(200);
    expect(postsFor('evt-0000')).toHaveLength(3);
    expect(await idsWithStatus(fx.db, fx.collections.outbox, 'delivered')).toEqual(['evt-0000']);
  });

  it('waits as long as Retry-After asks before trying a 429 again', async () => {
    await seedEvents(fx.db, fx.collections.outbox, 1);
    fx.router.script = (_req, nth) => (nth === 1 ? { respond: 429, headers: { 'retry-after': '1' } } : { respond: 200 });

    const response = await run({ POST_RETRIES: '2', RETRY_MIN_DELAY_MS: '1', RETRY_MAX_DELAY_MS: '2000' });

    expect(response.status).toBe(200);
    const [first, second] = postsFor('evt-0000');
    expect((second?.startedAt ?? 0) - (first?.startedAt ?? 0)).toBeGreaterThanOrEqual(950);
  });

  it('defers one event the router asks to wait an hour (429 Retry-After: 3600), not the run: the others go through', async () => {
    await seedEvents(fx.db, fx.collections.outbox, 2000);
    fx.router.script = (req) => (req.eventId === 'evt-0007' ? { respond: 429, headers: { 'retry-after': '3600' } } : { respond: 200 });
    const started = Date.now();

    const response = await run({ POST_RETRIES: '5', DELIVERY_CONCURRENCY: '32' });

    expect(response.status).toBe(500);
    expect(response.body).toMatchObject({ delivered: 1999, failed: 1, hasMore: false });
    expect(postsFor('evt-0007')).toHaveLength(1);
    const stored = (await readAll(fx.db, fx.collections.outbox)).get('evt-0007');
    expect(stored).toMatchObject({ status: 'pending', attempts: 1, postAttempts: 1 });
    expect((stored?.nextAttemptAt as Timestamp).toMillis()).toBeGreaterThanOrEqual(started + 3_600_000);
    // The next run leaves it alone until then, and has nothing left to POST.
    const next = await run();
    expect(next.status).toBe(200);
    expect(next.body).toMatchObject({ delivered: 0, waiting: 1 });
  }, 120_000);

  it('sends no retry once the run has decided to stop, even while another event waits on Retry-After', async () => {
    await seedEvents(fx.db, fx.collections.outbox, 2);
    fx.router.script = (req) =>
      req.eventId === 'evt-0000' ? { respond: 429, headers: { 'retry-after': '2' } } : { respond: 503, delayMs: 50 };

    const response = await run({ POST_RETRIES: '0', DELIVERY_CONCURRENCY: '2' }).then(async (first) => {
      await new Promise((resolve) => setTimeout(resolve, 2500));
      return first;
    });

    expect(response.status).toBe(500);
    expect(postsFor('evt-0000')).toHaveLength(1);
  });

  it.each<[string, RouterAction]>([
    ['HTTP 401', { respond: 401 }],
    ['HTTP 403', { respond: 403 }],
    ['HTTP 308', { respond: 308, headers: { location: 'https://router.example/v2' } }],
    ['HTTP 404', { respond: 404 }],
    ['HTTP 503', { respond: 503 }],
    ['HTTP 429', { respond: 429 }],
    ['a timeout', { hang: true }],
    ['a connection reset', { reset: true }],
  ])('opens the circuit when %s answers everything: 500, nothing charged, nothing dead-lettered', async (_name, action) => {
    await seedEvents(fx.db, fx.collections.outbox, 30);
    await fx.db.collection(fx.collections.outbox).doc('evt-0000').update({ attempts: 4 });
    fx.router.script = () => action;

    const response = await run({
      MAX_ATTEMPTS: '5',
      POST_RETRIES: '1',
      BREAKER_THRESHOLD: '5',
      DELIVERY_CONCURRENCY: '16',
      POST_TIMEOUT_MS: '300',
    });

    expect(response.status).toBe(500);
    expect(response.body).toMatchObject({ error: 'router_failing', deadLettered: 0, delivered: 0 });
    expect(new Set(fx.router.received.map((r) => r.eventId)).size).toBeLessThanOrEqual(5);
    const stored = await readAll(fx.db, fx.collections.outbox);
    expect(stored.get('evt-0000')).toMatchObject({ status: 'pending', attempts: 4 });
    expect([...stored.values()].filter((doc) => Number(doc.attempts ?? 0) > 0)).toHaveLength(1);
  });

  it('charges one event’s 401 to that event while the rest are delivered, and dead-letters it after MAX_ATTEMPTS', async () => {
    await seedEvents(fx.db, fx.collections.outbox, 20);
    fx.router.script = (req) => (req.eventId === 'evt-0003' ? { respond: 401 } : { respond: 200 });

    const first = await run({ MAX_ATTEMPTS: '2', POST_RETRIES: '1' });
    await addDeliverableEvent('later');
    const second = await run({ MAX_ATTEMPTS: '2', POST_RETRIES: '1' });

    expect(first.status).toBe(500);
    expect(first.body).toMatchObject({ delivered: 19, failed: 1 });
    expect(second.body).toMatchObject({ delivered: 1, deadLettered: 1 });
    const stored = (await readAll(fx.db, fx.collections.outbox)).get('evt-0003');
    expect(stored).toMatchObject({ status: 'dead_letter', attempts: 2, deadLetterReason: 'max attempts exceeded (2): HTTP 401' });
  });

  it('cuts off a router that hangs after POST_TIMEOUT_MS and records the timeout', async () => {
    await seedEvents(fx.db, fx.collections.outbox, 2);
    fx.router.script = (req) => (req.eventId === 'evt-0000' ? { hang: true } : { respond: 200 });

    const response = await run({ POST_TIMEOUT_MS: '200', POST_RETRIES: '1' });

    expect(response.status).toBe(500);
    expect(postsFor('evt-0000')).toHaveLength(2);
    const stored = (await readAll(fx.db, fx.collections.outbox)).get('evt-0000');
    expect(stored).toMatchObject({ status: 'pending', attempts: 1, lastError: 'timed out after 200 ms' });
  });

  it('retries after the router resets the connection', async () => {
    await seedEvents(fx.db, fx.collections.outbox, 1);
    fx.router.script = (_req, nth) => (nth === 1 ? { reset: true } : { respond: 200 });

    const response = await run({ POST_RETRIES: '2' });

    expect(response.status).toBe(200);
    expect(postsFor('evt-0000')).toHaveLength(2);
    expect(postsFor('evt-0000').map((r) => r.headers['x-delivery-attempt'])).toEqual(['1', '2']);
  });
});

describe('Delivery: poison events', () => {
  it('dead-letters an event whose failures reach MAX_ATTEMPTS, with the last error', async () => {
    await seedEvents(fx.db, fx.collections.outbox, 2);
    await fx.db.collection(fx.collections.outbox).doc('evt-0000').update({ attempts: 2, postAttempts: 6 });
    fx.router.script = (req) => (req.eventId === 'evt-0000' ? { respond: 500, body: 'still broken' } : { respond: 200 });

    const response = await run({ MAX_ATTEMPTS: '3', POST_RETRIES: '1', DELIVERY_CONCURRENCY: '1' });

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ delivered: 1, deadLettered: 1, failed: 0 });
    const stored = (await readAll(fx.db, fx.collections.outbox)).get('evt-0000');
    expect(stored).toMatchObject({ status: 'dead_letter', attempts: 3, postAttempts: 8 });
    expect(stored).not.toHaveProperty('nextAttemptAt');
    expect(stored?.deadLetterReason).toBe('max attempts exceeded (3): HTTP 500: still broken');
    expect(postsFor('evt-0000').map((r) => r.headers['x-delivery-attempt'])).toEqual(['7', '8']);
  });

  it('keeps a failing event pending until its attempts run out, one attempt per run', async () => {
    await seedEvents(fx.db, fx.collections.outbox, 1);
    fx.router.script = (req) => (req.eventId === 'evt-0000' ? { respond: 502 } : { respond: 200 });
    const statuses: number[] = [];

    for (let i = 0; i < 3; i += 1) {
      await addDeliverableEvent(`later-${i}`);
      statuses.push((await run({ MAX_ATTEMPTS: '3', POST_RETRIES: '0' })).status);
    }

    expect(statuses).toEqual([500, 500, 200]);
    expect((await readAll(fx.db, fx.collections.outbox)).get('evt-0000')).toMatchObject({ status: 'dead_letter', attempts: 3 });
  });
});

describe('Delivery: malformed documents', () => {
  const good = (i: number) => ({
    type: 'order.created',
    data: { i },
    createdAt: Timestamp.fromMillis(Date.UTC(2026, 0, 1) + i),
    status: 'pending',
  });
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['bad-no-type', { ...good(1), type: undefined }, /type must be a non-empty string/],
    ['bad-no-data', { ...good(2), data: undefined }, /data is missing/],
    ['bad-string-time', { ...good(3), createdAt: 'yesterday' }, /createdAt must be a Firestore Timestamp \(got a string\)/],
    ['bad-no-time', { ...good(4), createdAt: undefined }, /createdAt must be a Firestore Timestamp \(got nothing\)/],
    ['bad-status', { ...good(5), status: 'Pending' }, /status must be "pending" \(got a string\)/],
    ['bad-too-big', { ...good(6), data: { blob: 'x'.repeat(3000) } }, /data is \d+ bytes of JSON, over the 2048-byte limit/],
    ['bad-source', { ...good(7), source: 'not a uri' }, /source must be a URI reference/],
    ['bad-subject', { ...good(9), subject: 'orders/1\r\nx-evil: 1' }, /subject must not contain control characters/],
    ['bad id', { ...good(10) }, /id cannot be sent unchanged in ce-id, idempotency-key and webhook-id/],
    ['bad-nan', { ...good(11), data: { price: Number.NaN } }, /data\.price is NaN, which JSON cannot carry/],
  ];

  it('dead-letters each malformed document with a reason naming the field, never POSTs it, and delivers the good ones', async () => {
    const batch = fx.db.batch();
    for (const [id, fields] of cases) {
      batch.set(
        fx.db.collection(fx.collections.outbox).doc(id),
        Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)),
      );
    }
    batch.set(fx.db.collection(fx.collections.outbox).doc('good-1'), good(0));
    batch.set(fx.db.collection(fx.collections.outbox).doc('good-2'), good(8));
    await batch.commit();

    const response = await run({ MAX_PAYLOAD_BYTES: '2048' });

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ delivered: 2, deadLettered: cases.length });
    expect(fx.router.acceptedIds().sort()).toEqual(['good-1', 'good-2']);
    const stored = await readAll(fx.db, fx.collections.outbox);
    for (const [id, , reason] of cases) {
      expect(stored.get(id)?.status).toBe('dead_letter');
      expect(String(stored.get(id)?.deadLetterReason)).toMatch(reason);
    }
  });
});

describe('Delivery: parallelism and order per key', () => {
  it('keeps up to DELIVERY_CONCURRENCY POSTs in flight and never more', async () => {
    await seedEvents(fx.db, fx.collections.outbox, 40);
    fx.router.script = () => ({ respond: 200, delayMs: 30 });

    const response = await run({ DELIVERY_CONCURRENCY: '8' });

    expect(response.body.delivered).toBe(40);
    expect(peakInFlight(fx.router.received)).toBe(8);
  });

  it('sends the events of one orderingKey strictly one at a time, in createdAt order', async () => {
    const keys = ['order-a', 'order-b', 'order-c'];
    await seedEvents(fx.db, fx.collections.outbox, 45, { orderingKey: (i) => keys[i % 3] });
    fx.router.script = (req) => ({ respond: 200, delayMs: 1 + (Number(req.eventId.slice(4)) % 5) * 3 });

    const response = await run({ DELIVERY_CONCURRENCY: '16', BATCH_SIZE: '10' });

    expect(response.body.delivered).toBe(45);
    for (const k of keys.keys()) {
      const ofKey = fx.router.received.filter((r) => Number(r.eventId.slice(4)) % 3 === k);
      expect(ofKey.map((r) => r.eventId)).toEqual([...ofKey.map((r) => r.eventId)].sort());
      expect(peakInFlight(ofKey)).toBe(1);
    }
    expect(peakInFlight(fx.router.received)).toBeGreaterThan(1);
  });

  it('delivers natural ids enqueued in one commit in enqueue order, however the ids sort', async () => {
    const outbox = createOutbox(fx.db, { collection: fx.collections.outbox, shardCount: 1 });
    const batch = fx.db.batch();
    const ids = ['order-7-z-created', 'order-7-a-paid', 'order-7-m-shipped'].map((id) =>
      outbox.enqueue(batch, { type: 'com.example.order.step', data: { id }, orderingKey: 'order-7', id }),
    );
    await batch.commit();

    const response = await run({ DELIVERY_CONCURRENCY: '8', BATCH_SIZE: '2' });

    expect(response.body.delivered).toBe(3);
    expect(fx.router.received.map((r) => r.eventId)).toEqual(ids);
  });

  it('delivers the events of one key enqueued in one commit in enqueue order, though they share a createdAt', async () => {
    const outbox = createOutbox(fx.db, { collection: fx.collections.outbox, shardCount: 1 });
    const steps = ['created', 'priced', 'paid', 'packed', 'shipped', 'delivered', 'reviewed', 'archived'];
    const batch = fx.db.batch();
    const ids = steps.map((step) => outbox.enqueue(batch, { type: `com.example.order.${step}`, data: { step }, orderingKey: 'order-7' }));
    await batch.commit();

    const response = await run({ DELIVERY_CONCURRENCY: '8' });

    expect(response.body.delivered).toBe(8);
    expect(fx.router.received.map((r) => r.eventId)).toEqual(ids);
    expect(fx.router.received.map((r) => r.headers['ce-type'])).toEqual(steps.map((step) => `com.example.order.${step}`));
  });

  it('holds back only the later events of a failed event’s key; other keys and keyless events keep flowing', async () => {
    await seedEvents(fx.db, fx.collections.outbox, 12, { orderingKey: (i) => (i < 9 ? (i % 2 === 0 ? 'even' : 'odd') : undefined) });
    fx.router.script = (req) => (req.eventId === 'evt-0004' ? { respond: 503 } : { respond: 200, delayMs: 20 });

    const response = await run({ DELIVERY_CONCURRENCY: '2', POST_RETRIES: '0' });

    expect(response.status).toBe(500);
    expect(response.body).toMatchObject({ failed: 1, waiting: 2, delivered: 9 });
    const sent = fx.router.received.map((r) => r.eventId);
    expect(sent).not.toContain('evt-0006');
    expect(sent).not.toContain('evt-0008');
    expect(sent).toEqual(expect.arrayContaining(['evt-0005', 'evt-0007', 'evt-0009', 'evt-0010', 'evt-0011']));
    const delivered = await idsWithStatus(fx.db, fx.collections.outbox, 'delivered');
    expect(delivered).toEqual(fx.router.acceptedIds().sort());
  });
});

describe('Delivery: checkpoints, drain and budget', () => {
  it('records acknowledged events in checkpoints of BATCH_SIZE while the run goes on', async () => {
    await seedEvents(fx.db, fx.collections.outbox, 35);
    const commits: { size: number; at: number }[] = [];
    const spy = (store: OutboxStore): OutboxStore => ({
      fetchPending: (limit, after, maxBytes) => store.fetchPending(limit, after, maxBytes),
      fetchStrays: (limit, plan) => store.fetchStrays(limit, plan),
      fetchParkedKeys: () => store.fetchParkedKeys(),
      watchPending: (onChange, onError) => store.watchPending(onChange, onError),
      writeAudit: (summary) => store.writeAudit(summary),
      recordOutcomes: (outcomes: readonly EventOutcome[], lease) => {
        commits.push({ size: outcomes.length, at: Date.now() });
        return store.recordOutcomes(outcomes, lease);
      },
    });
    fx.router.script = () => ({ respond: 200, delayMs: 5 });

    const response = await run({ BATCH_SIZE: '10', DELIVERY_CONCURRENCY: '2' }, spy);

    expect(response.body.delivered).toBe(35);
    expect(commits.map((c) => c.size)).toEqual([10, 10, 10, 5]);
    const lastPost = Math.max(...fx.router.received.map((r) => r.startedAt));
    expect(commits[0]?.at).toBeLessThan(lastPost);
  });

  it('ends a page of large events where MAX_IN_FLIGHT_BYTES runs out, and reads the rest in later pages, each once', async () => {
    // 20 small events, then 20 of about 20 KB: the page that reaches them is cut inside, at the room left.
    const ids = await seedEvents(fx.db, fx.collections.outbox, 40, { data: (i) => (i < 20 ? { i } : { i, blob: 'x'.repeat(20_000) }) });
    const pages: { maxBytes: number; documents: number; largest: number }[] = [];
    const spy = (store: OutboxStore): OutboxStore => ({
      fetchPending: async (limit, after, maxBytes) => {
        const page = await store.fetchPending(limit, after, maxBytes);
        pages.push({ maxBytes, documents: page.documents.length, largest: page.largestDocumentBytes });
        return page;
      },
      fetchStrays: (limit, plan) => store.fetchStrays(limit, plan),
      fetchParkedKeys: () => store.fetchParkedKeys(),
      watchPending: (onChange, onError) => store.watchPending(onChange, onError),
      writeAudit: (summary) => store.writeAudit(summary),
      recordOutcomes: (outcomes, lease) => store.recordOutcomes(outcomes, lease),
    });
    fx.router.script = () => ({ respond: 200, delayMs: 20 });

    const response = await run(
      { BATCH_SIZE: '30', DELIVERY_CONCURRENCY: '4', MAX_PAYLOAD_BYTES: '1024', MAX_IN_FLIGHT_BYTES: '100000' },
      spy,
    );

    expect(response.body).toMatchObject({ fetched: 40, delivered: 20, deadLettered: 20, hasMore: false });
    expect(await idsWithStatus(fx.db, fx.collections.outbox, 'delivered')).toEqual(ids.slice(0, 20));
    // The first page asked for 30 and was cut after 20 small and at most 4 large ones (100 KB / 20 KB, less the small).
    expect(pages[0]?.documents).toBeGreaterThan(20);
    expect(pages[0]?.documents).toBeLessThanOrEqual(24);
    expect(pages.reduce((sum, page) => sum + page.documents, 0)).toBe(40);
  });

  it('drains a backlog larger than BATCH_SIZE in one run', async () => {
    const ids = await seedEvents(fx.db, fx.collections.outbox, 230);

    const response = await run({ BATCH_SIZE: '50', DELIVERY_CONCURRENCY: '16' });

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ fetched: 230, delivered: 230, hasMore: false });
    expect(await idsWithStatus(fx.db, fx.collections.outbox, 'delivered')).toEqual(ids);
  });

  it('stops starting POSTs when RUN_BUDGET_MS is spent, records what it delivered and answers 200 with hasMore', async () => {
    await seedEvents(fx.db, fx.collections.outbox, 150);
    fx.router.script = () => ({ respond: 200, delayMs: 25 });

    const response = await run({ RUN_BUDGET_MS: '1500', DELIVERY_CONCURRENCY: '1', BATCH_SIZE: '20' });

    expect(response.status).toBe(200);
    expect(response.body.hasMore).toBe(true);
    expect(response.body.delivered).toBeGreaterThan(0);
    expect(response.body.delivered).toBeLessThan(150);
    const delivered = await idsWithStatus(fx.db, fx.collections.outbox, 'delivered');
    expect(delivered).toHaveLength(response.body.delivered);
    expect(await idsWithStatus(fx.db, fx.collections.outbox, 'pending')).toHaveLength(150 - delivered.length);
  });

  it('answers with runId, stoppedBy, the counts, unrecorded, stale, hasMore, auditFailed and durationMs', async () => {
    await seedEvents(fx.db, fx.collections.outbox, 2);

    const response = await run();

    expect(Object.keys(response.body).sort()).toEqual([
      'auditFailed',
      'deadLettered',
      'delivered',
      'durationMs',
      'failed',
      'fetched',
      'hasMore',
      'runId',
      'stale',
      'stoppedBy',
      'unrecorded',
      'waiting',
    ]);
  });
});

describe('Delivery: outcomes only to the version that was read', () => {
  it('leaves an event deleted while its POST is in flight deleted, with no stub document', async () => {
    await seedEvents(fx.db, fx.collections.outbox, 3);
    fx.router.script = (req) => {
      if (req.eventId === 'evt-0001') void fx.db.collection(fx.collections.outbox).doc('evt-0001').delete();
      return { respond: 200, delayMs: 100 };
    };

    const response = await run();

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ delivered: 3, stale: 1 });
    const stored = await readAll(fx.db, fx.collections.outbox);
    expect(stored.has('evt-0001')).toBe(false);
    expect([...stored.keys()]).toEqual(['evt-0000', 'evt-0002']);
  });

  it('POSTs an event re-created under the same id while in flight again, with its new content, and never marks it delivered with the old one', async () => {
    await seedEvents(fx.db, fx.collections.outbox, 2);
    const ref = fx.db.collection(fx.collections.outbox).doc('evt-0000');
    fx.router.script = (req) => {
      if (req.eventId === 'evt-0000' && (JSON.parse(req.body) as { revision?: number }).revision === undefined) {
        void ref.delete().then(() =>
          ref.set({
            type: 'order.created',
            data: { orderId: 0, revision: 2 },
            createdAt: Timestamp.fromMillis(Date.UTC(2026, 0, 3)),
            status: 'pending',
          }),
        );
      }
      return { respond: 200, delayMs: 100 };
    };

    const first = await run();
    expect((await ref.get()).data()).toMatchObject({ status: 'pending', data: { orderId: 0, revision: 2 } });
    const second = await run();

    expect(first.body).toMatchObject({ delivered: 2, stale: 1 });
    expect(second.body).toMatchObject({ delivered: 1, stale: 0 });
    expect(postsFor('evt-0000').map((r) => JSON.parse(r.body) as unknown)).toEqual([{ orderId: 0 }, { orderId: 0, revision: 2 }]);
    expect((await ref.get()).get('status')).toBe('delivered');
  });
});
