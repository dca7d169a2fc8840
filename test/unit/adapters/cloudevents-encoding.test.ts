import { encodeEvent, percentEncode } from '../../../src/adapters/cloudevents-encoding.js';
import type { OutboxEvent } from '../../../src/core/event.js';
import { MalformedEventError } from '../../../src/errors.js';

const event = (overrides: Partial<OutboxEvent> = {}): OutboxEvent => ({
  id: 'evt-1',
  type: 'com.example.order.created',
  data: { orderId: 1 },
  createdAt: new Date('2026-01-02T03:04:05.006Z'),
  source: undefined,
  subject: undefined,
  orderingKey: undefined,
  attempts: 0,
  postAttempts: 0,
  ...overrides,
});

describe('Function: encodeEvent', () => {
  it.each([
    ['a string', 'hello', '"hello"'],
    ['a string that looks like JSON', '{"x":1}', '"{\\"x\\":1}"'],
    ['a number', 42, '42'],
    ['a boolean', false, 'false'],
    ['null', null, 'null'],
    ['an array', [1, 'two'], '[1,"two"]'],
    ['an object', { a: { b: [true] } }, '{"a":{"b":[true]}}'],
  ])('sends %s data as its JSON, so the body always parses back to the same value', (_name, data, body) => {
    const encoded = encodeEvent(event({ data }), 1, '/relay');

    expect(encoded.body).toBe(body);
    expect(JSON.parse(encoded.body)).toEqual(data);
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
