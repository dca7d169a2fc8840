import type { RouterResponse } from './ports.js';

/**
 * What one router answer means, before anyone decides whose fault it is (decide.ts does that, with the
 * breaker's view of the router): delivered; `transient`, worth trying again later; `permanent`, an answer
 * retrying will not change; `cancelled`, the relay itself stopped the POST, so nothing is known.
 */
export type Verdict =
  | { readonly kind: 'delivered' }
  | {
      readonly kind: 'transient';
      readonly reason: string;
      readonly retryAfterMs: number | undefined;
      /** False when seconds will not heal it (credentials, a moved URL): the next try is a later run's. */
      readonly retryInRun: boolean;
    }
  | { readonly kind: 'permanent'; readonly reason: string }
  | { readonly kind: 'cancelled'; readonly reason: string };

/** Longest body excerpt kept in a dead-letter reason or lastError. */
export const MAX_BODY_EXCERPT_CHARS = 200;

/** Statuses that mean "not now" rather than "never". */
const TRANSIENT_STATUSES: ReadonlySet<number> = new Set([
  408, // Request Timeout: the router gave up waiting for us, nothing was decided.
  425, // Too Early: the router refuses to risk a replay yet.
  429, // Too Many Requests: back off, honouring Retry-After.
]);

/** Statuses about the relay's setup, not the event: a later run may succeed once it is fixed, this one will not. */
const SETUP_STATUSES: ReadonlySet<number> = new Set([
  401, // Unauthorized: a rotated secret, an expired key, or a signature that cannot match.
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
    case 'not_sent':
      // The relay's own setup (credentials): retrying in seconds will not fix it; a later run may.
      return transient(`not sent: ${response.reason}`, undefined, false);
    case 'aborted':
      // The relay cancelled it (shutting down): nothing is known, and nothing is the event's doing.
      return { kind: 'cancelled', reason: 'cancelled by the relay while in flight (shutting down)' };
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

function transient(reason: string, retryAfterMs: number | undefined, retryInRun: boolean): Verdict {
  return { kind: 'transient', reason, retryAfterMs, retryInRun };
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
