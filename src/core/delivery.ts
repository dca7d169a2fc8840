import pRetry, { AbortError } from 'p-retry';
import { MalformedEventError, PermanentDeliveryError, TransientDeliveryError, describeError } from '../errors.js';
import { classify } from './classify.js';
import type { OutboxEvent } from './event.js';
import type { Clock, RouterClient, RouterResponse } from './ports.js';

/** How hard one run tries one event. */
export interface RetryPolicy {
  readonly postRetries: number;
  readonly retryMinDelayMs: number;
  readonly retryMaxDelayMs: number;
}

/**
 * What came of delivering one event in this run; `posts` is how many POSTs were sent. `interrupted` means the
 * run, not the router, ended the retries (the run stopped, its budget or a long Retry-After left no room):
 * the event stays pending and the failure is not charged to it.
 */
export type DeliveryResult =
  | { readonly kind: 'delivered'; readonly posts: number }
  | { readonly kind: 'permanent'; readonly reason: string; readonly posts: number }
  | { readonly kind: 'transient'; readonly reason: string; readonly posts: number; readonly countsAsAttempt: boolean }
  | { readonly kind: 'interrupted'; readonly reason: string; readonly posts: number; readonly throttled: boolean };

/** Delivers one event with in-run retries, so a blip at the router does not cost a whole Scheduler retry. */
export async function deliver(
  event: OutboxEvent,
  deps: { readonly router: RouterClient; readonly clock: Clock },
  policy: RetryPolicy,
  run: { readonly deadlineMs: number; readonly stopped: AbortSignal; readonly cancelPosts: AbortSignal },
): Promise<DeliveryResult> {
  const { router, clock } = deps;
  let posts = 0;
  // p-retry rejects with the abort reason once the run stops, even when the attempt in flight succeeded.
  let acknowledged = false;
  let rejection: PermanentDeliveryError | undefined;
  let cutShort: { reason: string; throttled: boolean } | undefined;

  const attempt = async (): Promise<void> => {
    const deliveryAttempt = event.postAttempts + posts + 1;
    let response: RouterResponse;
    try {
      response = await router.post(event, deliveryAttempt, run.cancelPosts);
    } catch (error) {
      // Nothing was sent: the event could not be encoded, or the relay could not authenticate.
      if (error instanceof MalformedEventError) {
        rejection = new PermanentDeliveryError(event.id, deliveryAttempt, `malformed: ${error.message}`);
        throw new AbortError(rejection);
      }
      throw new TransientDeliveryError(event.id, deliveryAttempt, `not sent: ${describeError(error)}`, undefined, false);
    }
    posts += 1;
    const verdict = classify(response, clock.now());
    if (verdict.kind === 'delivered') {
      acknowledged = true;
      return;
    }
    if (verdict.kind === 'permanent') {
      rejection = new PermanentDeliveryError(event.id, deliveryAttempt, `rejected by the router: ${verdict.reason}`);
      throw new AbortError(rejection);
    }
    throw new TransientDeliveryError(event.id, deliveryAttempt, verdict.reason, verdict.retryAfterMs, verdict.countsAsAttempt);
  };

  try {
    await pRetry(attempt, {
      retries: policy.postRetries,
      minTimeout: policy.retryMinDelayMs,
      maxTimeout: policy.retryMaxDelayMs,
      factor: 2,
      randomize: true,
      signal: run.stopped,
      shouldRetry: ({ error, retryDelay }) => {
        if (clock.now() + retryDelay < run.deadlineMs) return true;
        cutShort = { reason: `run budget spent while retrying: ${describeError(error)}`, throttled: false };
        return false;
      },
      onFailedAttempt: async ({ error, retriesLeft, retryDelay }) => {
        // Retry-After asks for at least that long: wait the difference, unless that outlasts the run's budget,
        // in which case stop now and leave the event to a later run rather than idle until the deadline.
        if (!(error instanceof TransientDeliveryError) || error.retryAfterMs === undefined || retriesLeft === 0) return;
        if (clock.now() + error.retryAfterMs >= run.deadlineMs) {
          cutShort = { reason: `the router asked to wait ${error.retryAfterMs} ms (Retry-After): ${error.reason}`, throttled: true };
          throw error;
        }
        const extraMs = error.retryAfterMs - retryDelay;
        if (extraMs > 0) await clock.sleep(extraMs, run.stopped);
      },
    });
    return { kind: 'delivered', posts };
  } catch (error) {
    if (acknowledged) return { kind: 'delivered', posts };
    if (rejection !== undefined) return { kind: 'permanent', reason: rejection.reason, posts };
    if (run.stopped.aborted) return { kind: 'interrupted', reason: `run stopped while retrying: ${describeError(error)}`, posts, throttled: false };
    if (cutShort !== undefined) return { kind: 'interrupted', ...cutShort, posts };
    if (error instanceof TransientDeliveryError) return { kind: 'transient', reason: error.reason, posts, countsAsAttempt: error.countsAsAttempt };
    return { kind: 'transient', reason: describeError(error), posts, countsAsAttempt: true };
  }
}
