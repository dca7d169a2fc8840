import type { StoredDocument } from '../../../src/core/event.js';
import { validateEvent } from '../../../src/core/validate-event.js';
import { MalformedEventError } from '../../../src/errors.js';

const LIMITS = { maxPayloadBytes: 100, shardCount: 1 };
const good = { type: 'order.created', data: { id: 1 }, createdAt: new Date('2026-01-01T00:00:00Z'), status: 'pending' };
const doc = (fields: Record<string, unknown>): StoredDocument => ({ id: 'evt-1', fields });

describe('Function: validateEvent', () => {
  it('turns a well-formed document into an event, counting missing counters as zero', () => {
    expect(validateEvent(doc({ ...good, orderingKey: 'k', subject: 's' }), LIMITS)).toEqual({
      id: 'evt-1',
      type: 'order.created',
      data: { id: 1 },
      createdAt: good.createdAt,
      source: undefined,
      subject: 's',
      orderingKey: 'k',
      attempts: 0,
      postAttempts: 0,
    });
  });

  it('accepts null data, which is a JSON value', () => {
    expect(validateEvent(doc({ ...good, data: null }), LIMITS).data).toBeNull();
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

  it.each([undefined, -1, 3, 1.5, '1'])('refuses shard %j when there are 3 shards', (shard) => {
    expect(() => validateEvent(doc({ ...good, shard }), { ...LIMITS, shardCount: 3 })).toThrow(/shard must be an integer from 0 to 2/);
  });
});
