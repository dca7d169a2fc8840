import type { Verdict } from '../../../src/core/classify.js';
import type { DeliveryResult, Fault } from '../../../src/core/decide.js';
import type { OutboxEvent } from '../../../src/core/event.js';
import { FaultJudge, signalOf } from '../../../src/core/fault-judge.js';
import { Instant } from '../../../src/core/instant.js';

const transient = (retryAfterMs: number | undefined): Extract<Verdict, { kind: 'transient' }> => ({
  kind: 'transient',
  reason: 'HTTP 503',
  retryAfterMs,
  retryInRun: true,
});

describe('Function: signalOf (what an answer says about the router)', () => {
  it.each<[string, string, Exclude<Verdict, { kind: 'cancelled' }>]>([
    ['a 2xx', 'delivered', { kind: 'delivered' }],
    ['a 503 with Retry-After', 'refused', transient(5_000)],
    ['a 503 without Retry-After', 'failed', transient(undefined)],
    [
      'a timeout or a refused connection',
      'failed',
      { kind: 'transient', reason: 'network error', retryAfterMs: undefined, retryInRun: true },
    ],
    ['a 404', 'failed', { kind: 'permanent', reason: 'HTTP 404' }],
  ])('calls %s "%s"', (_, signal, verdict) => {
    expect(signalOf(verdict)).toBe(signal);
  });
});

describe('Class: FaultJudge', () => {
  const event = (id: string): OutboxEvent => ({
    id,
    type: 't',
    body: '{}',
    bodyBytes: 2,
    createdAt: Instant.fromMillis(0),
    source: undefined,
    subject: undefined,
    orderingKey: `key-${id}`,
    attempts: 0,
    postAttempts: 0,
    nextAttemptAt: undefined,
    traceparent: undefined,
    tracestate: undefined,
    version: undefined as unknown as OutboxEvent['version'],
  });
  const failed: DeliveryResult = { kind: 'rejected', reason: 'HTTP 404', posts: 1 };

  function judge() {
    const settled: [string, Fault][] = [];
    const held: (string | undefined)[] = [];
    const opened: string[] = [];
    const fates = new FaultJudge(
      { threshold: 5, concurrency: 16 },
      {
        settle: (e, _result, fault) => settled.push([e.id, fault]),
        holdKey: (key) => held.push(key),
        setWindow: () => undefined,
        opened: (reason) => opened.push(reason),
        fatePolicy: () => ({ maxAttempts: 5, redelivery: { minDelayMs: 1_000, maxDelayMs: 10_000 }, parkKeyOnDeadLetter: true }),
        now: () => 0,
      },
    );
    const answer = (id: string, verdict: Verdict, result?: DeliveryResult): void => {
      fates.observe(event(id), verdict);
      if (result !== undefined) fates.conclude(event(id), result);
    };
    return { fates, settled, held, opened, answer };
  }

  it('holds a failure’s key while it waits, and charges nobody when the run ends without a success', () => {
    const { fates, settled, held, answer } = judge();

    for (const id of ['a', 'b', 'c']) answer(id, { kind: 'permanent', reason: 'HTTP 404' }, failed);
    expect(settled).toEqual([]);
    expect(held).toEqual(['key-a', 'key-b', 'key-c']);
    fates.endRun();

    expect(settled).toEqual([
      ['a', 'router'],
      ['b', 'router'],
      ['c', 'router'],
    ]);
  });

  it('makes the failures before a success the events’ own', () => {
    const { settled, answer } = judge();

    answer('a', transient(5_000), { kind: 'failed', reason: 'HTTP 503', posts: 1, retryAfterMs: 5_000 });
    answer('b', { kind: 'delivered' }, { kind: 'delivered', posts: 1 });

    expect(settled).toEqual([
      ['a', 'event'],
      ['b', 'event'],
    ]);
  });

  it('opens on BREAKER_THRESHOLD failures, naming how many failed and how many were refused', () => {
    const { fates, settled, opened, answer } = judge();

    answer('r', transient(5_000), { kind: 'failed', reason: 'HTTP 503', posts: 1, retryAfterMs: 5_000 });
    for (const id of ['a', 'b', 'c', 'd', 'e']) answer(id, transient(undefined));

    expect(fates.open).toBe(true);
    expect(settled).toEqual([['r', 'router']]);
    expect(opened[0]).toMatch(
      /^6 distinct events failed in a row with no success \(5 failed, 1 refused with Retry-After; last: HTTP 503\)/,
    );
  });
});
