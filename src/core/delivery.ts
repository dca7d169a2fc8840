import pRetry, { AbortError } from 'p-retry';
import { backoffDelayMs } from './backoff.js';
import { classify, type Verdict } from './classify.js';
import type { DeliveryResult } from './decide.js';
import type { OutboxEvent } from './event.js';
import type { Clock, RouterClient } from './ports.js';
import { NO_RUN_TRACE, type RunTrace } from './telemetry.js';
import { MalformedEventError, describeError } from '../errors.js';

/** How hard one run tries one event before leaving it to a later run. */
export interface RetryPolicy {
  readonly postRetries: number;
  readonly retryMinDelayMs: number;
  readonly retryMaxDelayMs: number;
}

/** What one delivery needs from its run. */
export interface DeliveryContext {
  readonly router: RouterClient;
  readonly clock: Clock;
  /** No POST starts at or after this. */
  readonly deadlineMs: number;
  /** Aborted when the run starts no new POSTs: a retry wait ends at once and no further POST is sent. */
  readonly stopped: AbortSignal;
  /** Aborted to cancel POSTs in flight (shutting down). */
  readonly cancelPosts: AbortSignal;
  /** Told every verdict as it arrives, so the run can judge the router while this event still retries. */
  readonly onVerdict: (verdict: Verdict) => void;
  readonly random: () => number;
  /** The run's telemetry: a span per POST, whose context the POST carries. */
  readonly trace?: RunTrace;
}

/**
 * Delivers one event with in-run retries, so a blip at the router does not cost the event a whole backoff.
 * p-retry runs the attempts and honours the stop signal; the waits between them go through the injected
 * clock, and every decision about the event's fate is left to decide().
 */
export async function deliver(event: OutboxEvent, policy: RetryPolicy, run: DeliveryContext): Promise<DeliveryResult> {
  const { router, clock } = run;
  const trace = run.trace ?? NO_RUN_TRACE;
  let posts = 0;
  let last: Verdict | undefined;
  let waitMs = 0;
  /** Set when this event's own retries are over (no retries left, or the next wait is not this run's). */
  let gaveUp = false;
  /** The router client broke its promise never to throw: a bug, reported as such rather than as a failed POST. */
  let unexpected: { readonly error: unknown } | undefined;
  let malformed: string | undefined;

  const attempt = async (): Promise<void> => {
    if (clock.now() >= run.deadlineMs) throw new AbortError('run budget spent');
    let response;
    const deliveryAttempt = event.postAttempts + posts + 1;
    const span = trace.startAttempt(event, deliveryAttempt);
    try {
      // With telemetry on, the POST carries the delivery span's context (same trace, the span's id).
      const sent = span.traceparent === undefined ? event : { ...event, traceparent: span.traceparent, tracestate: span.tracestate };
      response = await router.post(sent, deliveryAttempt, run.cancelPosts);
    } catch (error) {
      span.end('error', undefined);
      // The encoder refused what validation let through: this event's fault, not a reason to fail every run.
      if (error instanceof MalformedEventError) malformed = error.message;
      else unexpected = { error };
      throw new AbortError(describeError(error));
    }
    if (response.kind !== 'not_sent') posts += 1;
    last = classify(response, clock.now());
    span.end(last.kind, response.kind === 'response' ? response.status : undefined);
    run.onVerdict(last);
    if (last.kind === 'delivered') return;
    gaveUp = posts > policy.postRetries;
    if (last.kind !== 'transient' || !last.retryInRun) {
      gaveUp = true;
      throw new AbortError(last.reason);
    }
    // A wait longer than an in-run backoff (a long Retry-After) or past the budget is a later run's to make.
    waitMs = Math.max(
      backoffDelayMs(posts, { minDelayMs: policy.retryMinDelayMs, maxDelayMs: policy.retryMaxDelayMs }, run.random()),
      last.retryAfterMs ?? 0,
    );
    if (waitMs > policy.retryMaxDelayMs || clock.now() + waitMs >= run.deadlineMs) {
      gaveUp = true;
      throw new AbortError(last.reason);
    }
    throw new Error(last.reason);
  };

  try {
    await pRetry(attempt, {
      retries: policy.postRetries,
      minTimeout: 0,
      maxTimeout: 0,
      randomize: false,
      signal: run.stopped,
      onFailedAttempt: async ({ retriesLeft }) => {
        if (retriesLeft > 0) await clock.sleep(waitMs, run.stopped);
      },
    });
  } catch {
    // The verdict, not p-retry's error, says what happened; p-retry also rejects when the run stops.
  }
  if (unexpected !== undefined) throw unexpected.error;
  if (malformed !== undefined) return { kind: 'malformed', reason: malformed };
  const verdict: Verdict | undefined = last;
  if (verdict === undefined) return { kind: 'interrupted', reason: 'the run stopped before the first POST', posts };
  switch (verdict.kind) {
    case 'delivered':
      return { kind: 'delivered', posts };
    case 'permanent':
      return { kind: 'rejected', reason: verdict.reason, posts };
    case 'cancelled':
      return { kind: 'interrupted', reason: verdict.reason, posts };
    case 'transient':
      if (run.stopped.aborted && !gaveUp)
        return { kind: 'interrupted', reason: `the run stopped while retrying: ${verdict.reason}`, posts };
      return { kind: 'failed', reason: verdict.reason, posts, retryAfterMs: verdict.retryAfterMs };
  }
}
