import { CloudEvent, HTTP } from 'cloudevents';
import { encodeEvent, percentEncode } from '../../../src/adapters/cloudevents-encoding.js';
import type { OutboxEvent } from '../../../src/core/event.js';
import { Instant } from '../../../src/core/instant.js';
import { MalformedEventError } from '../../../src/errors.js';

const event = (overrides: Partial<OutboxEvent> = {}): OutboxEvent => ({
  id: 'evt-1',
  type: 'com.example.order.created',
  body: '{"orderId":1}',
  bodyBytes: 13,
  createdAt: Instant.of(Date.UTC(2026, 0, 2, 3, 4, 5) / 1000, 6_000_000),
  source: undefined,
  subject: undefined,
  orderingKey: undefined,
  attempts: 0,
  postAttempts: 0,
  nextAttemptAt: undefined,
  traceparent: undefined,
  tracestate: undefined,
  version: undefined as unknown as OutboxEvent['version'],
  ...overrides,
});

describe('Function: encodeEvent', () => {
  it('sends the body made when the event was read, as JSON', () => {
    const encoded = encodeEvent(event(), 1, '/relay');

    expect(encoded.body).toBe('{"orderId":1}');
    expect(encoded.headers['content-type']).toBe('application/json');
  });

  it('percent-encodes a subject outside printable ASCII instead of letting it be stripped', () => {
    const encoded = encodeEvent(event({ subject: 'orders/日本 "x" 100%' }), 1, '/relay');

    expect(encoded.headers['ce-subject']).toBe('orders/%E6%97%A5%E6%9C%AC%20%22x%22%20100%25');
    expect(decodeURIComponent(encoded.headers['ce-subject'] ?? '')).toBe('orders/日本 "x" 100%');
  });

  it('throws a MalformedEventError naming the attribute when the source is not a URI reference', () => {
    expect(() => encodeEvent(event({ source: 'not a uri' }), 1, '/relay')).toThrow(MalformedEventError);
    expect(() => encodeEvent(event({ source: 'not a uri' }), 1, '/relay')).toThrow(/source/);
  });
});

describe('Function: percentEncode', () => {
  it('leaves printable ASCII other than quote and percent alone', () => {
    expect(percentEncode('com.example/a-b_c~!')).toBe('com.example/a-b_c~!');
  });
});

describe('Function: encodeEvent, distributed tracing', () => {
  it('sends the event’s trace context as traceparent and tracestate, and none when it has none', () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

    expect(encodeEvent(event({ traceparent, tracestate: 'vendor=1' }), 1, '/relay').headers).toMatchObject({
      traceparent,
      tracestate: 'vendor=1',
    });
    expect(encodeEvent(event(), 1, '/relay').headers).not.toHaveProperty('traceparent');
  });
});

/** What the relay sent while it encoded through the CloudEvents SDK: HTTP.binary, then the relay's own headers. */
function encodeWithSdk(e: OutboxEvent, deliveryAttempt: number, defaultSource: string): Record<string, string> {
  const message = HTTP.binary(
    new CloudEvent({
      specversion: '1.0',
      id: e.id,
      type: e.type,
      source: e.source ?? defaultSource,
      time: e.createdAt.toRfc3339(),
      datacontenttype: 'application/json',
      ...(e.subject === undefined ? {} : { subject: e.subject }),
    }),
  );
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers)) {
    if (typeof value === 'string') headers[name.toLowerCase()] = name.toLowerCase().startsWith('ce-') ? percentEncode(value) : value;
  }
  headers['ce-time'] = e.createdAt.toRfc3339();
  headers['content-type'] = 'application/json';
  headers['idempotency-key'] = percentEncode(e.id);
  headers['x-delivery-attempt'] = String(deliveryAttempt);
  if (e.traceparent !== undefined) headers.traceparent = e.traceparent;
  if (e.tracestate !== undefined) headers.tracestate = e.tracestate;
  return headers;
}

describe('Function: encodeEvent, against the CloudEvents SDK', () => {
  const cases: readonly [string, Partial<OutboxEvent>][] = [
    ['a plain event with the default source', {}],
    ['a source and a subject of its own', { source: 'https://shop.example/orders', subject: 'orders/42' }],
    ['a subject outside printable ASCII', { subject: 'orders/日本 "x" 100%' }],
    ['microseconds in createdAt', { createdAt: Instant.of(Date.UTC(2026, 0, 2, 3, 4, 5) / 1000, 6_007_000) }],
    ['nanoseconds in createdAt', { createdAt: Instant.of(Date.UTC(2026, 0, 2, 3, 4, 5) / 1000, 6_007_008) }],
    ['trace context', { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', tracestate: 'vendor=1,other=two' }],
  ];

  it.each(cases)('sends the headers the SDK emits for %s, in the same order', (_name, overrides) => {
    const e = event(overrides);

    const direct = encodeEvent(e, 3, '/relay').headers;

    expect(Object.entries(direct)).toEqual(Object.entries(encodeWithSdk(e, 3, '/relay')));
  });

  it('keeps ce-time at full microsecond precision where the SDK would cut it to milliseconds', () => {
    const e = event({ createdAt: Instant.of(Date.UTC(2026, 0, 2, 3, 4, 5) / 1000, 6_007_000) });

    expect(encodeEvent(e, 1, '/relay').headers['ce-time']).toBe('2026-01-02T03:04:05.006007Z');
  });
});
