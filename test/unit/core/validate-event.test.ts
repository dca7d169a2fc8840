import type { DocumentVersion, StoredDocument } from '../../../src/core/event.js';
import { Instant } from '../../../src/core/instant.js';
import { validateEvent } from '../../../src/core/validate-event.js';
import { MalformedEventError } from '../../../src/errors.js';

const LIMITS = { maxPayloadBytes: 100, shardCount: 1 };
const good = { type: 'order.created', data: { id: 1 }, createdAt: Instant.fromMillis(Date.UTC(2026, 0, 1)), status: 'pending' };
const version = 3 as unknown as DocumentVersion;
const doc = (fields: Record<string, unknown>, id = 'evt-1'): StoredDocument => ({ id, fields, version });

describe('Function: validateEvent', () => {
  it('turns a well-formed document into an event, counting missing counters as zero', () => {
    expect(validateEvent(doc({ ...good, orderingKey: 'k', subject: 's' }), LIMITS)).toEqual({
      id: 'evt-1',
      type: 'order.created',
      body: '{"id":1}',
      bodyBytes: 8,
      createdAt: good.createdAt,
      source: undefined,
      subject: 's',
      orderingKey: 'k',
      attempts: 0,
      postAttempts: 0,
      nextAttemptAt: undefined,
      traceparent: undefined,
      tracestate: undefined,
      version,
    });
  });

  it('accepts null data, which is a JSON value', () => {
    expect(validateEvent(doc({ ...good, data: null }), LIMITS).body).toBe('null');
  });

  it.each([
    ['status', { status: 'done' }],
    ['type', { type: '' }],
    ['type', { type: 7 }],
    ['data', { data: undefined }],
    ['createdAt', { createdAt: '2026-01-01' }],
    ['createdAt', { createdAt: undefined }],
    ['orderingKey', { orderingKey: '' }],
    ['subject', { subject: 12 }],
    ['data', { data: { blob: 'x'.repeat(200) } }],
    ['data.items[1].price', { data: { items: [{ price: 1 }, { price: Number.NaN }] } }],
    ['subject', { subject: 'orders/42\r\nX-Injected: 1' }],
    ['type', { type: 'order.created\n' }],
    ['source', { source: 'not a uri' }],
    ['status', { status: undefined }],
    ['status', { status: null }],
    ['status', { status: 7 }],
  ])('names %s when it is wrong (%j)', (field, overrides) => {
    const fields = Object.fromEntries(Object.entries({ ...good, ...overrides }).filter(([, value]) => value !== undefined));

    let thrown: unknown;
    try {
      validateEvent(doc(fields), LIMITS);
    } catch (error) {
      thrown = error;
    }

    expect(thrown).toBeInstanceOf(MalformedEventError);
    expect((thrown as MalformedEventError).field).toBe(field);
  });

  it.each(['evt 1', 'évt-1', 'evt"1', 'evt%201', 'a,b'])('refuses id %j, which a delivery header could not carry unchanged', (id) => {
    expect(() => validateEvent(doc(good, id), LIMITS)).toThrow(/id cannot be sent unchanged in ce-id, idempotency-key and webhook-id/);
  });

  it('carries a valid W3C trace context on, and drops an invalid one rather than hold the event back', () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    expect(validateEvent(doc({ ...good, traceparent, tracestate: 'vendor=1' }), LIMITS)).toMatchObject({
      traceparent,
      tracestate: 'vendor=1',
    });
    expect(
      validateEvent(
        doc({ ...good, traceparent: '00-00000000000000000000000000000000-00f067aa0ba902b7-01', tracestate: 'vendor=1' }),
        LIMITS,
      ),
    ).toMatchObject({
      traceparent: undefined,
      tracestate: undefined,
    });
  });

  it('reads the backoff the relay wrote, and ignores anything else in its place', () => {
    const next = Instant.fromMillis(Date.UTC(2026, 0, 2));
    expect(validateEvent(doc({ ...good, nextAttemptAt: next }), LIMITS).nextAttemptAt).toBe(next);
    expect(validateEvent(doc({ ...good, nextAttemptAt: 'tomorrow' }), LIMITS).nextAttemptAt).toBeUndefined();
  });

  it.each([undefined, -1, 3, 1.5, '1'])('refuses shard %j when there are 3 shards', (shard) => {
    expect(() => validateEvent(doc({ ...good, shard }), { ...LIMITS, shardCount: 3 })).toThrow(/shard must be an integer from 0 to 2/);
  });
});
