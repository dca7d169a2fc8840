import type { RouterResponse } from './ports.js';

/** How the relay treats one router answer. */
export type Verdict =
  | { readonly kind: 'delivered' }
  | { readonly kind: 'transient'; readonly reason: string; readonly retryAfterMs: number | undefined }
  | { readonly kind: 'permanent'; readonly reason: string };

/** Longest body excerpt kept in a dead-letter reason or lastError. */
export const MAX_BODY_EXCERPT_CHARS = 200;

/** Statuses that mean "not now" rather than "never": worth retrying. */
const TRANSIENT_STATUSES: ReadonlySet<number> = new Set([
  408, // Request Timeout: the router gave up waiting for us, nothing was decided.
  425, // Too Early: the router refuses to risk a replay yet.
  429, // Too Many Requests: back off, honouring Retry-After.
  // 401 and 403 speak of the relay's credentials (a rotated secret, a missing IAM binding), not of the event:
  // dead-lettering on them would empty the outbox into the dead letters. Retried, they stop the run with a
  // 500 that alerts; MAX_ATTEMPTS still ends an event that keeps failing.
  401, // Unauthorized
  403, // Forbidden
]);

/** The one place that decides what a router answer means; every other module asks here. */
export function classify(response: RouterResponse, nowMs: number): Verdict {
  switch (response.kind) {
    case 'timeout':
      // The router may have committed; at-least-once delivery makes a retry safe.
      return { kind: 'transient', reason: `timed out after ${response.timeoutMs} ms`, retryAfterMs: undefined };
    case 'network':
      // Connection refused, reset or DNS trouble: the request may not have arrived at all.
      return {
        kind: 'transient',
        reason: `network error${response.code === undefined ? '' : ` ${response.code}`}: ${response.message}`,
        retryAfterMs: undefined,
      };
    case 'response': {
      const { status } = response;
      if (status >= 200 && status < 300) return { kind: 'delivered' };
      const reason = `HTTP ${status}${excerpt(response.body)}`;
      if (status >= 500 || TRANSIENT_STATUSES.has(status)) {
        return { kind: 'transient', reason, retryAfterMs: parseRetryAfterMs(response.retryAfter, nowMs) };
      }
      // Any other answer (4xx, and 1xx/3xx that axios does not follow) will not change by retrying.
      return { kind: 'permanent', reason };
    }
  }
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
