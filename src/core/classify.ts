import type { RouterResponse } from './ports.js';

/**
 * How the relay treats one router answer. A transient failure `countsAsAttempt` when it may be the event's
 * own doing; one that speaks of the relay's setup (credentials, a moved URL) does not, so fixing the setup
 * delivers everything instead of having dead-lettered the head of the outbox meanwhile.
 */
export type Verdict =
  | { readonly kind: 'delivered' }
  | {
      readonly kind: 'transient';
      readonly reason: string;
      readonly retryAfterMs: number | undefined;
      readonly countsAsAttempt: boolean;
    }
  | { readonly kind: 'permanent'; readonly reason: string };

/** Longest body excerpt kept in a dead-letter reason or lastError. */
export const MAX_BODY_EXCERPT_CHARS = 200;

/** Statuses that mean "not now" rather than "never": worth retrying, and charged to the event. */
const TRANSIENT_STATUSES: ReadonlySet<number> = new Set([
  408, // Request Timeout: the router gave up waiting for us, nothing was decided.
  425, // Too Early: the router refuses to risk a replay yet.
  429, // Too Many Requests: back off, honouring Retry-After.
]);

/** Statuses about the relay's setup, not the event: retried, a 500 that alerts, never charged to the event. */
const SETUP_STATUSES: ReadonlySet<number> = new Set([
  401, // Unauthorized: a rotated secret, an expired key.
  403, // Forbidden: a missing IAM binding.
]);

/** The one place that decides what a router answer means; every other module asks here. */
export function classify(response: RouterResponse, nowMs: number): Verdict {
  switch (response.kind) {
    case 'timeout':
      // The router may have committed; at-least-once delivery makes a retry safe.
      return transient(`timed out after ${response.timeoutMs} ms`, undefined, true);
    case 'network':
      // Connection refused, reset or DNS trouble: the request may not have arrived at all.
      return transient(`network error${response.code === undefined ? '' : ` ${response.code}`}: ${response.message}`, undefined, true);
    case 'aborted':
      // The relay itself cancelled it (shutting down): nothing is known, nothing is the event's fault.
      return transient('cancelled by the relay while in flight', undefined, false);
    case 'response': {
      const { status } = response;
      if (status >= 200 && status < 300) return { kind: 'delivered' };
      const reason = `HTTP ${status}${excerpt(response.body)}`;
      if (status >= 500 || TRANSIENT_STATUSES.has(status)) return transient(reason, parseRetryAfterMs(response.retryAfter, nowMs), true);
      // A redirect (not followed: a POST must not silently change target) means ROUTER_URL is out of date.
      if (SETUP_STATUSES.has(status) || (status >= 300 && status < 400)) return transient(reason, undefined, false);
      // Any other answer (4xx, 1xx) will not change by retrying.
      return { kind: 'permanent', reason };
    }
  }
}

function transient(reason: string, retryAfterMs: number | undefined, countsAsAttempt: boolean): Verdict {
  return { kind: 'transient', reason, retryAfterMs, countsAsAttempt };
}

/** Retry-After as milliseconds from now: delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfterMs(header: string | undefined, nowMs: number): number | undefined {
  if (header === undefined) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  // Only an HTTP date ("Wed, 21 Oct 2015 07:28:00 GMT"); Date.parse would also accept "1.5" or "-5".
  if (!/^[A-Za-z]{3}, /.test(value)) return undefined;
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}

function excerpt(body: string): string {
  const oneLine = body.replace(/\s+/g, ' ').trim();
  if (oneLine === '') return '';
  const cut = oneLine.length > MAX_BODY_EXCERPT_CHARS ? `${oneLine.slice(0, MAX_BODY_EXCERPT_CHARS)}…` : oneLine;
  return `: ${cut}`;
}
