import { admit, decide, type DeliveryResult, type EventRecord, type Fault, type FatePolicy } from '../../../src/core/decide.js';
import type { DocumentVersion, OutboxEvent } from '../../../src/core/event.js';
import { Instant } from '../../../src/core/instant.js';

const NOW = Date.UTC(2026, 0, 1, 12);
const version = 7 as unknown as DocumentVersion;
const POLICY: FatePolicy = { maxAttempts: 5, redelivery: { minDelayMs: 60_000, maxDelayMs: 3_600_000 }, parkKeyOnDeadLetter: true };
const event = (overrides: Partial<EventRecord> = {}): EventRecord => ({
  id: 'evt-1',
  version,
  orderingKey: 'order-1',
  attempts: 1,
  postAttempts: 3,
  nextAttemptAt: undefined,
  ...overrides,
});
const at = (ms: number) => Instant.fromMillis(NOW + ms);

const delivered: DeliveryResult = { kind: 'delivered', posts: 2 };
const rejected: DeliveryResult = { kind: 'rejected', reason: 'HTTP 422', posts: 1 };
const failed: DeliveryResult = { kind: 'failed', reason: 'HTTP 503', posts: 2, retryAfterMs: undefined };
const throttled: DeliveryResult = { kind: 'failed', reason: 'HTTP 429', posts: 1, retryAfterMs: 7_200_000 };
const interrupted: DeliveryResult = { kind: 'interrupted', reason: 'shutting down', posts: 1 };
const unsent: DeliveryResult = { kind: 'interrupted', reason: 'the run stopped before the first POST', posts: 0 };
const malformed: DeliveryResult = { kind: 'malformed', reason: 'event evt-1: type must be a non-empty string' };
const common = { eventId: 'evt-1', version };

describe('Function: decide (an event’s fate after an attempt)', () => {
  it.each<[string, DeliveryResult, Fault, object | undefined, boolean, boolean]>([
    ['delivered', delivered, 'event', { kind: 'delivered', ...common, postAttempts: 5 }, false, false],
    [
      'malformed: dead letter, nothing charged, key parked',
      malformed,
      'event',
      {
        kind: 'dead_letter',
        ...common,
        reason: 'malformed: event evt-1: type must be a non-empty string',
        attempts: 1,
        postAttempts: 3,
        parkKey: 'order-1',
      },
      true,
      false,
    ],
    [
      'rejected by the router, its own fault: dead letter, charged, key parked',
      rejected,
      'event',
      { kind: 'dead_letter', ...common, reason: 'rejected by the router: HTTP 422', attempts: 2, postAttempts: 4, parkKey: 'order-1' },
      true,
      false,
    ],
    [
      'rejected while the router was failing: nothing charged',
      rejected,
      'router',
      {
        kind: 'failed',
        ...common,
        error: 'HTTP 422 (the router was failing: not charged)',
        attempts: 1,
        postAttempts: 4,
        nextAttemptAt: undefined,
      },
      true,
      true,
    ],
    [
      'failed, its own fault: charged, waits 2 × REDELIVERY_MIN_DELAY_MS after its 2nd failure',
      failed,
      'event',
      { kind: 'failed', ...common, error: 'HTTP 503', attempts: 2, postAttempts: 5, nextAttemptAt: at(120_000) },
      true,
      true,
    ],
    [
      'failed while the router was failing: nothing charged, next run may try at once',
      failed,
      'router',
      {
        kind: 'failed',
        ...common,
        error: 'HTTP 503 (the router was failing: not charged)',
        attempts: 1,
        postAttempts: 5,
        nextAttemptAt: undefined,
      },
      true,
      true,
    ],
    [
      'throttled for longer than its backoff: waits the Retry-After',
      throttled,
      'event',
      { kind: 'failed', ...common, error: 'HTTP 429', attempts: 2, postAttempts: 4, nextAttemptAt: at(7_200_000) },
      true,
      true,
    ],
    [
      'throttled while the router was failing: not charged, Retry-After honoured',
      throttled,
      'router',
      {
        kind: 'failed',
        ...common,
        error: 'HTTP 429 (the router was failing: not charged)',
        attempts: 1,
        postAttempts: 4,
        nextAttemptAt: at(7_200_000),
      },
      true,
      true,
    ],
    [
      'interrupted after a POST: nothing charged, the POST counted',
      interrupted,
      'event',
      { kind: 'failed', ...common, error: 'shutting down', attempts: 1, postAttempts: 4, nextAttemptAt: undefined },
      true,
      false,
    ],
    ['interrupted before any POST: nothing to write', unsent, 'event', undefined, true, false],
  ])('%s', (_name, result, fault, outcome, holdsKey, failedDelivery) => {
    expect(decide(event(), result, fault, POLICY, NOW, 0.5)).toEqual({ outcome, holdsKey, failedDelivery });
  });

  it('dead-letters at MAX_ATTEMPTS with the last reason, and does not ask for a retry of it', () => {
    expect(decide(event({ attempts: 4 }), failed, 'event', POLICY, NOW, 0.5)).toEqual({
      outcome: {
        kind: 'dead_letter',
        ...common,
        reason: 'max attempts exceeded (5): HTTP 503',
        attempts: 5,
        postAttempts: 5,
        parkKey: 'order-1',
      },
      holdsKey: true,
      failedDelivery: false,
    });
  });

  it('does not park a key with KEY_AFTER_DEAD_LETTER=continue, nor an event without a key', () => {
    expect(decide(event(), rejected, 'event', { ...POLICY, parkKeyOnDeadLetter: false }, NOW, 0.5)).toMatchObject({
      holdsKey: false,
      outcome: { parkKey: undefined },
    });
    expect(decide(event({ orderingKey: undefined }), rejected, 'event', POLICY, NOW, 0.5)).toMatchObject({
      holdsKey: false,
      outcome: { parkKey: undefined },
    });
  });

  it('lets the next run retry at once when both redelivery delays are 0', () => {
    const instant = { ...POLICY, redelivery: { minDelayMs: 0, maxDelayMs: 0 } };
    expect(decide(event(), failed, 'event', instant, NOW, 0.5).outcome).toMatchObject({ kind: 'failed', nextAttemptAt: undefined });
  });
});

describe('Function: admit (whether an event is attempted now)', () => {
  const ready = { id: 'evt-1', orderingKey: 'k', nextAttemptAt: undefined } as unknown as OutboxEvent;
  const none = new Set<string>();

  it.each<[string, OutboxEvent, ReadonlySet<string>, ReadonlySet<string>, string]>([
    ['an event whose key is free and whose backoff is over', { ...ready, nextAttemptAt: at(-1) }, none, none, 'attempt'],
    ['an event behind a parked key', ready, new Set(['k']), none, 'key-parked'],
    ['an event behind an earlier event of its key held in this run', ready, none, new Set(['k']), 'key-held'],
    ['an event still on backoff', { ...ready, nextAttemptAt: at(1) }, none, none, 'backoff'],
  ])('%s: %s', (_name, candidate, parkedKeys, heldKeys, expected) => {
    const admission = admit(candidate, { parkedKeys, heldKeys }, NOW);
    expect(admission.kind === 'attempt' ? 'attempt' : admission.reason).toBe(expected);
  });
});
