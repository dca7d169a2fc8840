import { Timestamp } from '@google-cloud/firestore';
import request from 'supertest';
import { faultAt, memoryLogger, rejectWith, relayEnv, serveHandler } from '../../support/function-server.js';
import { idsWithStatus, readAll, seedEvents } from '../../support/outbox-fixtures.js';
import { useRelayFixture } from '../../support/relay-fixture.js';

const fx = useRelayFixture();

function env(overrides: Record<string, string> = {}): Record<string, string | undefined> {
  return relayEnv(fx.router.url, fx.collections, overrides);
}

describe('outboundEventHandler', () => {
  it('delivers every pending event, marks each delivered and answers 200 with a summary', async () => {
    const ids = await seedEvents(fx.db, fx.collections.outbox, 7);

    const response = await request(serveHandler({ env: env(), logger: memoryLogger() })).post('/');

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ fetched: 7, delivered: 7, deadLettered: 0, failed: 0, hasMore: false, auditFailed: false });
    expect(typeof response.body.runId).toBe('string');
    expect(typeof response.body.durationMs).toBe('number');
    expect(fx.router.acceptedIds().sort()).toEqual(ids);
    expect(await idsWithStatus(fx.db, fx.collections.outbox, 'delivered')).toEqual(ids);
    const stored = await readAll(fx.db, fx.collections.outbox);
    expect(stored.get('evt-0000')?.deliveredAt).toBeDefined();
    const expireAt = (stored.get('evt-0000')?.expireAt as Timestamp).toMillis();
    expect(Math.round((expireAt - Date.now()) / 86_400_000)).toBe(7);
    const audit = await fx.db.collection(fx.collections.audit).doc(String(response.body.runId)).get();
    expect(audit.data()).toMatchObject({ delivered: 7, auditFailed: false });
  });

  it('answers 200 with zero counts when nothing is pending', async () => {
    const response = await request(serveHandler({ env: env(), logger: memoryLogger() })).post('/');

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ fetched: 0, delivered: 0 });
    expect(fx.router.received).toHaveLength(0);
  });

  it('records the acknowledged events, leaves the failed one pending and answers 500 when a POST fails midway', async () => {
    await seedEvents(fx.db, fx.collections.outbox, 5);
    fx.router.script = (req) => (req.eventId === 'evt-0002' ? { respond: 503, body: 'router overloaded' } : { respond: 200 });

    const response = await request(
      serveHandler({ env: env({ DELIVERY_CONCURRENCY: '1', POST_RETRIES: '1' }), logger: memoryLogger() }),
    ).post('/');

    expect(response.status).toBe(500);
    expect(response.body).toMatchObject({ error: 'delivery_failed', delivered: 4, failed: 1 });
    expect(response.body.message).toContain('evt-0002');
    expect(await idsWithStatus(fx.db, fx.collections.outbox, 'delivered')).toEqual(['evt-0000', 'evt-0001', 'evt-0003', 'evt-0004']);
    const stored = await readAll(fx.db, fx.collections.outbox);
    expect(stored.get('evt-0002')).toMatchObject({ status: 'pending', attempts: 1, postAttempts: 2 });
    expect(String(stored.get('evt-0002')?.lastError)).toContain('HTTP 503: router overloaded');
  });

  it('logs one "run answered" line per answer with its HTTP status, which the log-based alert counts', async () => {
    await seedEvents(fx.db, fx.collections.outbox, 2);
    fx.router.script = (req) => (req.eventId === 'evt-0001' ? { respond: 503 } : { respond: 200 });
    const logger = memoryLogger();
    const server = serveHandler({ env: env({ POST_RETRIES: '0', LOG_LEVEL: 'ERROR' }), logger });

    const failing = await request(server).post('/');
    fx.router.script = () => ({ respond: 200 });
    const passing = await request(server).post('/');

    const answers = logger.entries.filter((entry) => entry.message === 'run answered');
    expect([failing.status, passing.status]).toEqual([500, 200]);
    expect(answers.map((entry) => ({ severity: entry.severity, ...entry.fields }))).toEqual([
      { severity: 'ERROR', runId: failing.body.runId, status: 500, error: 'delivery_failed' },
      { severity: 'INFO', runId: passing.body.runId, status: 200, error: undefined },
    ]);
  });

  it('logs a "run answered" line with status 500 for every run of a misconfigured deployment', async () => {
    const logger = memoryLogger();
    const server = serveHandler({ env: { ROUTER_URL: 'not a url' }, logger });

    await request(server).post('/');
    await request(server).post('/');

    const answers = logger.entries.filter((entry) => entry.message === 'run answered');
    expect(answers.map((entry) => [entry.fields.status, entry.fields.error])).toEqual([
      [500, 'configuration'],
      [500, 'configuration'],
    ]);
  });

  it('returns 200 when the audit update fails after all POSTs succeed', async () => {
    const ids = await seedEvents(fx.db, fx.collections.outbox, 3);
    const logger = memoryLogger();

    const response = await request(
      serveHandler({ env: env(), logger, wrapStore: faultAt('writeAudit', rejectWith('deadline exceeded')) }),
    ).post('/');

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ delivered: 3, auditFailed: true });
    expect(await idsWithStatus(fx.db, fx.collections.outbox, 'delivered')).toEqual(ids);
    const auditError = logger.entries.find((e) => e.severity === 'ERROR' && e.message.startsWith('audit update failed'));
    expect(auditError?.fields.error).toBe('deadline exceeded');
  });

  it('cuts off an audit update that hangs after FIRESTORE_TIMEOUT_MS and still answers 200', async () => {
    await seedEvents(fx.db, fx.collections.outbox, 2);
    const hang = () => new Promise<never>(() => undefined);
    const started = Date.now();

    const response = await request(
      serveHandler({
        env: env({ FIRESTORE_TIMEOUT_MS: '1000' }),
        logger: memoryLogger(),
        wrapStore: faultAt('writeAudit', hang),
      }),
    ).post('/');

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ delivered: 2, auditFailed: true });
    // Generous for a loaded machine: without the bound the answer would never come.
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('answers 200 when recording fails after every POST succeeded, saying how many stay unrecorded', async () => {
    await seedEvents(fx.db, fx.collections.outbox, 3);
    const logger = memoryLogger();

    const response = await request(
      serveHandler({ env: env(), logger, wrapStore: faultAt('recordOutcomes', rejectWith('unavailable')) }),
    ).post('/');

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ delivered: 3, unrecorded: 3 });
    expect(await idsWithStatus(fx.db, fx.collections.outbox, 'pending')).toHaveLength(3);
    const error = logger.entries.find((e) => e.severity === 'ERROR' && e.message.startsWith('recording delivery progress failed'));
    expect(error?.fields).toMatchObject({ unrecorded: 3, error: expect.stringContaining('unavailable') });
  });

  it('answers 500 and POSTs nothing when fetching pending events fails', async () => {
    await seedEvents(fx.db, fx.collections.outbox, 3);

    const response = await request(
      serveHandler({ env: env(), logger: memoryLogger(), wrapStore: faultAt('fetch', rejectWith('permission denied')) }),
    ).post('/');

    expect(response.status).toBe(500);
    expect(response.body).toMatchObject({ error: 'fetch_failed', delivered: 0 });
    expect(response.body.message).toContain('permission denied');
    expect(fx.router.received).toHaveLength(0);
  });

  it('POSTs each event as a binary-mode CloudEvent with its id as idempotency key and an attempt number', async () => {
    await fx.db
      .collection(fx.collections.outbox)
      .doc('order-42')
      .set({
        type: 'com.example.order.created',
        data: { orderId: 42, total: 9.5, note: 'ünïcode' },
        createdAt: new Date('2026-03-04T05:06:07.089Z'),
        status: 'pending',
        source: '/shop/orders',
        subject: 'orders/42',
      });

    await request(serveHandler({ env: env(), logger: memoryLogger() }))
      .post('/')
      .expect(200);

    expect(fx.router.received).toHaveLength(1);
    const [sent] = fx.router.received;
    expect(sent?.method).toBe('POST');
    expect(JSON.parse(sent?.body ?? '')).toEqual({ orderId: 42, total: 9.5, note: 'ünïcode' });
    expect(sent?.headers).toMatchObject({
      'content-type': 'application/json',
      'ce-specversion': '1.0',
      'ce-id': 'order-42',
      'ce-type': 'com.example.order.created',
      'ce-source': '/shop/orders',
      'ce-subject': 'orders/42',
      'ce-time': '2026-03-04T05:06:07.089Z',
      'idempotency-key': 'order-42',
      'x-delivery-attempt': '1',
    });
  });

  it('sends ce-time with every digit of createdAt, and integers beyond 2^53 exactly', async () => {
    await fx.db
      .collection(fx.collections.outbox)
      .doc('order-43')
      .set({
        type: 'com.example.order.created',
        data: { ledgerId: 123456789012345678n, amount: 10 },
        createdAt: new Timestamp(1_772_600_767, 89_123_000),
        status: 'pending',
      });

    await request(serveHandler({ env: env(), logger: memoryLogger() }))
      .post('/')
      .expect(200);

    const [sent] = fx.router.received;
    expect(sent?.headers['ce-time']).toBe('2026-03-04T05:06:07.089123Z');
    expect(sent?.body).toBe('{"ledgerId":123456789012345678,"amount":10}');
  });

  it('uses EVENT_SOURCE as ce-source when the event has none and numbers retries with x-delivery-attempt', async () => {
    await seedEvents(fx.db, fx.collections.outbox, 1);
    fx.router.script = (_req, nth) => (nth < 3 ? { respond: 502 } : { respond: 204 });

    await request(serveHandler({ env: env({ EVENT_SOURCE: '/billing', POST_RETRIES: '3' }), logger: memoryLogger() }))
      .post('/')
      .expect(200);

    expect(fx.router.received.map((r) => r.headers['x-delivery-attempt'])).toEqual(['1', '2', '3']);
    expect(fx.router.received[0]?.headers['ce-source']).toBe('/billing');
    expect(fx.router.received[0]?.headers).not.toHaveProperty('ce-subject');
  });

  it('answers 405 to anything but POST and starts no run', async () => {
    await seedEvents(fx.db, fx.collections.outbox, 1);

    const response = await request(serveHandler({ env: env(), logger: memoryLogger() })).get('/');

    expect(response.status).toBe(405);
    expect(response.headers.allow).toBe('POST');
    expect(fx.router.received).toHaveLength(0);
  });

  it('logs structured entries with ids and counts but never the payload at INFO', async () => {
    await seedEvents(fx.db, fx.collections.outbox, 2, { data: () => ({ secret: 'card-4111' }) });
    const lines: string[] = [];
    const { createCloudLogger } = await import('../../../src/adapters/cloud-logger.js');

    await request(serveHandler({ env: env(), logger: createCloudLogger({ write: (line) => lines.push(line) }) }))
      .post('/')
      .expect(200);

    const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(entries.every((e) => typeof e.severity === 'string' && typeof e.message === 'string')).toBe(true);
    expect(entries.find((e) => e.message === 'run finished')).toMatchObject({ severity: 'INFO', delivered: 2 });
    expect(lines.join('\n')).not.toContain('card-4111');
  });
});

describe('outboundEventHandler configuration', () => {
  it.each([
    [{ ROUTER_URL: undefined }, 'ROUTER_URL', 'is required'],
    [{ ROUTER_URL: 'ftp://fx.router.internal' }, 'ROUTER_URL', 'http:// or https://'],
    [{ BATCH_SIZE: '0' }, 'BATCH_SIZE', 'from 1 to 500'],
    [{ DELIVERY_CONCURRENCY: 'lots' }, 'DELIVERY_CONCURRENCY', 'integer'],
    [{ RETRY_MIN_DELAY_MS: '500', RETRY_MAX_DELAY_MS: '100' }, 'RETRY_MAX_DELAY_MS', 'at least RETRY_MIN_DELAY_MS'],
  ])('answers 500 naming the variable when %j', async (overrides, variable, problem) => {
    const logger = memoryLogger();
    const server = serveHandler({ env: { ...env(), ...overrides }, logger });

    const response = await request(server).post('/');

    expect(response.status).toBe(500);
    expect(response.body).toMatchObject({ error: 'configuration', variable });
    expect(response.body.message).toContain(problem);
    expect(response.text).not.toMatch(/at \S+ \(/);
    expect(logger.entries.some((e) => e.severity === 'ERROR' && e.message.includes(variable))).toBe(true);
  });
});
