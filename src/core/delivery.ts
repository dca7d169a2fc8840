import pRetry, { AbortError } from 'p-retry';
import { MalformedEventError, PermanentDeliveryError, TransientDeliveryError, describeError } from '../errors.js';
import { classify } from './classify.js';
import type { OutboxEvent } from './event.js';
import type { Clock, RouterClient } from './ports.js';

/** How hard one run tries one event. */
export interface RetryPolicy {
  readonly postRetries: number;
  readonly retryMinDelayMs: number;
  readonly retryMaxDelayMs: number;
}

/** What came of delivering one event in this run; `posts` is how many POSTs it took. */
export type DeliveryResult =
  | { readonly kind: 'delivered'; readonly posts: number }
  | { readonly kind: 'permanent'; readonly reason: string; readonly posts: number }
  | { readonly kind: 'transient'; readonly reason: string; readonly posts: number };

/** Delivers one event with in-run retries, so a blip at the router does not cost a whole Scheduler retry. */
export async function deliver(
  event: OutboxEvent,
  deps: { readonly router: RouterClient; readonly clock: Clock },
  policy: RetryPolicy,
  deadlineMs: number,
): Promise<DeliveryResult> {
  const { router, clock } = deps;
  let posts = 0;
  const attempt = async (): Promise<void> => {
    posts += 1;
    const deliveryAttempt = event.postAttempts + posts;
    let response;
    try {
      response = await router.post(event, deliveryAttempt);
    } catch (error) {
      if (error instanceof MalformedEventError) {
        throw new AbortError(new PermanentDeliveryError(event.id, deliveryAttempt, error.message));
      }
      throw new TransientDeliveryError(event.id, deliveryAttempt, describeError(error), undefined);
    }
    const verdict = classify(response, clock.now());
    if (verdict.kind === 'delivered') return;
    if (verdict.kind === 'permanent') {
      throw new AbortError(new PermanentDeliveryError(event.id, deliveryAttempt, verdict.reason));
    }
    throw new TransientDeliveryError(event.id, deliveryAttempt, verdict.reason, verdict.retryAfterMs);
  };

  try {
    await pRetry(attempt, {
      retries: policy.postRetries,
      minTimeout: policy.retryMinDelayMs,
      maxTimeout: policy.retryMaxDelayMs,
      factor: 2,
      randomize: true,
      maxRetryTime: Math.max(0, deadlineMs - clock.now()),
      shouldRetry: ({ retryDelay }) => clock.now() + retryDelay < deadlineMs,
      onFailedAttempt: async ({ error, retriesLeft, retryDelay }) => {
        // Retry-After asks for at least that long: wait the difference, unless that outlasts the run's budget,
        // in which case give up now and leave the event to the next run rather than idle until the deadline.
        if (!(error instanceof TransientDeliveryError) || error.retryAfterMs === undefined || retriesLeft === 0) return;
        if (clock.now() + error.retryAfterMs >= deadlineMs) throw error;
        const extraMs = error.retryAfterMs - retryDelay;
        if (extraMs > 0) await clock.sleep(extraMs);
      },
    });
    return { kind: 'delivered', posts };
  } catch (error) {
    if (error instanceof PermanentDeliveryError) return { kind: 'permanent', reason: error.reason, posts };
    if (error instanceof TransientDeliveryError) return { kind: 'transient', reason: error.reason, posts };
    return { kind: 'transient', reason: describeError(error), posts };
  }
}
