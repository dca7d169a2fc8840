import type { Verdict } from '../../../src/core/classify.js';
import { deliver, type DeliveryContext, type RetryPolicy } from '../../../src/core/delivery.js';
import type { DocumentVersion, OutboxEvent } from '../../../src/core/event.js';
import { Instant } from '../../../src/core/instant.js';
import type { RouterClient } from '../../../src/core/ports.js';
import { MalformedEventError } from '../../../src/errors.js';
import { memoryRouter, ok, status, type MemoryAnswer } from '../../support/memory-router.js';
import { VirtualClock } from '../../support/virtual-clock.js';

const EVENT: OutboxEvent = {
  id: 'evt-1',
  type: 't',
  body: '{}',
  bodyBytes: 2,
  createdAt: Instant.of(0, 0),
  source: undefined,
  subject: undefined,
  orderingKey: undefined,
  attempts: 0,
  postAttempts: 2,
  nextAttemptAt: undefined,
  traceparent: undefined,
  tracestate: undefined,
  version: 1 as unknown as DocumentVersion,
};
const POLICY: RetryPolicy = { postRetries: 3, retryMinDelayMs: 1_000, retryMaxDelayMs: 10_000 };

function setup(answers: MemoryAnswer[], overrides: Partial<DeliveryContext> = {}) {
  const clock = new VirtualClock();
  const { router, posts } = memoryRouter(clock, () => answers.shift() ?? ok);
  const verdicts: Verdict[] = [];
  const stop = new AbortController();
  const context: DeliveryContext = {
    router,
    clock,
    deadlineMs: clock.now() + 60_000,
    stopped: stop.signal,
    cancelPosts: new AbortController().signal,
    onVerdict: (verdict) => verdicts.push(verdict),
    random: () => 0.5,
    ...overrides,
  };
  return { clock, posts, verdicts, stop, context, deliver: (policy = POLICY) => clock.run(deliver(EVENT, policy, context)) };
}

describe('Function: deliver (one event, with in-run retries)', () => {
  it('retries transient answers with doubling waits and numbers each POST after those already recorded', async () => {
    const { clock, posts, deliver: run } = setup([status(503), status(502)]);
    const start = clock.now();

    expect(await run()).toEqual({ kind: 'delivered', posts: 3 });
    expect(posts.map((p) => [p.attempt, p.at - start])).toEqual([
      [3, 0],
      [4, 1_000],
      [5, 3_000],
    ]);
  });

  it('tells the run every verdict as it arrives', async () => {
    const { verdicts, deliver: run } = setup([status(503)]);

    await run();

    expect(verdicts.map((v) => v.kind)).toEqual(['transient', 'delivered']);
  });

  it('reports a rejection after one POST, without retrying', async () => {
    const { posts, deliver: run } = setup([status(422)]);

    expect(await run()).toEqual({ kind: 'rejected', reason: 'HTTP 422', posts: 1 });
    expect(posts).toHaveLength(1);
  });

  it('reports a failure once its retries are spent', async () => {
    const { deliver: run } = setup([status(503), status(503), status(503), status(503)]);

    expect(await run()).toEqual({ kind: 'failed', reason: 'HTTP 503', posts: 4, retryAfterMs: undefined });
  });

  it('does not retry a setup fault (401) within the run: seconds will not fix it', async () => {
    const { posts, deliver: run } = setup([status(401)]);

    expect(await run()).toMatchObject({ kind: 'failed', posts: 1 });
    expect(posts).toHaveLength(1);
  });

  it('leaves a Retry-After longer than RETRY_MAX_DELAY_MS to a later run, passing it on', async () => {
    const { posts, deliver: run } = setup([status(429, '3600')]);

    expect(await run()).toEqual({ kind: 'failed', reason: 'HTTP 429', posts: 1, retryAfterMs: 3_600_000 });
    expect(posts).toHaveLength(1);
  });

  it('waits a Retry-After that fits, then retries', async () => {
    const { clock, posts, deliver: run } = setup([status(429, '5')]);
    const start = clock.now();

    expect(await run()).toEqual({ kind: 'delivered', posts: 2 });
    expect(posts.map((p) => p.at - start)).toEqual([0, 5_000]);
  });

  it('ends a retry wait at once when the run stops, without another POST, and calls it interrupted', async () => {
    const { clock, posts, stop, deliver: run } = setup([status(503)]);
    void clock.sleep(100).then(() => stop.abort());

    expect(await run()).toEqual({ kind: 'interrupted', reason: 'the run stopped while retrying: HTTP 503', posts: 1 });
    expect(posts).toHaveLength(1);
  });

  it('keeps an acknowledgement that arrives after the run decided to stop', async () => {
    const { clock, stop, deliver: run } = setup([{ afterMs: 500, answer: ok }]);
    void clock.sleep(100).then(() => stop.abort());

    expect(await run()).toEqual({ kind: 'delivered', posts: 1 });
  });

  it('starts no POST once the run budget is spent', async () => {
    const clock = new VirtualClock();
    const { posts, deliver: run } = setup([], { deadlineMs: clock.now() - 1 });

    expect(await run()).toMatchObject({ kind: 'interrupted', posts: 0 });
    expect(posts).toHaveLength(0);
  });

  it('reports an event the encoder refuses as malformed, so it is dead-lettered instead of failing every run', async () => {
    const refusing: RouterClient = { post: () => Promise.reject(new MalformedEventError('evt-1', 'subject', 'cannot be encoded')) };
    const { deliver: run } = setup([], { router: refusing });

    expect(await run()).toEqual({ kind: 'malformed', reason: 'event evt-1: subject cannot be encoded' });
  });

  it('surfaces a router client that throws as the bug it is, not as a failed POST', async () => {
    const broken: RouterClient = { post: () => Promise.reject(new Error('encoder exploded')) };
    const { deliver: run } = setup([], { router: broken });

    await expect(run()).rejects.toThrow('encoder exploded');
  });
});
