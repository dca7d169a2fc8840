import { systemClock } from '../../../src/adapters/system-clock.js';
import { deliver } from '../../../src/core/delivery.js';
import type { OutboxEvent } from '../../../src/core/event.js';
import type { RouterClient, RouterResponse } from '../../../src/core/ports.js';
import { MalformedEventError } from '../../../src/errors.js';

const EVENT: OutboxEvent = {
  id: 'evt-1',
  type: 't',
  data: {},
  createdAt: new Date(0),
  source: undefined,
  subject: undefined,
  orderingKey: undefined,
  attempts: 0,
  postAttempts: 2,
};
const POLICY = { postRetries: 3, retryMinDelayMs: 1, retryMaxDelayMs: 2 };
const status = (code: number, retryAfter?: string): RouterResponse => ({ kind: 'response', status: code, body: '', retryAfter });
const farDeadline = () => ({ deadlineMs: Date.now() + 60_000, stopped: new AbortController().signal });

/** Answers POSTs from a list, and records the attempt number each carried. */
function scripted(answers: (() => Promise<RouterResponse>)[]) {
  const attempts: number[] = [];
  const router: RouterClient = {
    post: (_event, attempt) => {
      attempts.push(attempt);
      const next = answers.shift() ?? (() => Promise.resolve(status(200)));
      return next();
    },
  };
  return { router, attempts };
}

describe('Function: deliver', () => {
  it('retries transient answers and numbers each POST after those already recorded', async () => {
    const { router, attempts } = scripted([() => Promise.resolve(status(503)), () => Promise.resolve(status(502))]);

    const result = await deliver(EVENT, { router, clock: systemClock }, POLICY, farDeadline());

    expect(result).toEqual({ kind: 'delivered', posts: 3 });
    expect(attempts).toEqual([3, 4, 5]);
  });

  it('reports an encoding failure as malformed, with no POST counted', async () => {
    const router: RouterClient = { post: () => Promise.reject(new MalformedEventError('evt-1', 'source', 'is bad')) };

    const result = await deliver(EVENT, { router, clock: systemClock }, POLICY, farDeadline());

    expect(result).toEqual({ kind: 'permanent', reason: 'malformed: event evt-1: source is bad', posts: 0 });
  });

  it('reports a failure to send (e.g. no ID token) as transient and not the event’s fault', async () => {
    const router: RouterClient = { post: () => Promise.reject(new Error('could not load credentials')) };

    const result = await deliver(EVENT, { router, clock: systemClock }, { ...POLICY, postRetries: 0 }, farDeadline());

    expect(result).toMatchObject({ kind: 'transient', countsAsAttempt: false, posts: 0 });
  });

  it('keeps an acknowledgement that arrives after the run decided to stop', async () => {
    const stop = new AbortController();
    const { router } = scripted([
      () =>
        new Promise((resolve) => {
          stop.abort();
          setTimeout(() => resolve(status(200)), 10);
        }),
    ]);

    const result = await deliver(EVENT, { router, clock: systemClock }, POLICY, { deadlineMs: Date.now() + 60_000, stopped: stop.signal });

    expect(result).toEqual({ kind: 'delivered', posts: 1 });
  });

  it('ends a Retry-After wait at once when the run stops, without another POST', async () => {
    const stop = new AbortController();
    const { router, attempts } = scripted([() => Promise.resolve(status(429, '30'))]);
    setTimeout(() => stop.abort(), 50);

    const result = await deliver(EVENT, { router, clock: systemClock }, POLICY, { deadlineMs: Date.now() + 120_000, stopped: stop.signal });

    expect(result).toMatchObject({ kind: 'interrupted', throttled: false, posts: 1 });
    expect(attempts).toHaveLength(1);
  });

  it('calls it throttled, not failed, when Retry-After reaches past the deadline', async () => {
    const { router } = scripted([() => Promise.resolve(status(429, '120'))]);

    const result = await deliver(EVENT, { router, clock: systemClock }, POLICY, farDeadline());

    expect(result).toMatchObject({ kind: 'interrupted', throttled: true, posts: 1 });
  });
});
