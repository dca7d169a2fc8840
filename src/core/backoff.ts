/** Exponential backoff bounds, in milliseconds. */
export interface BackoffRange {
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
}

/** The spread of jitter around each delay: 0.8 to 1.2 times, so retries of many events do not arrive together. */
export const JITTER_LOW = 0.8;
export const JITTER_HIGH = 1.2;

/**
 * How long to wait after failure number `failures` (1 for the first): minDelay doubling per failure, capped at
 * maxDelay, times a jitter drawn from `random` (0 ≤ random < 1); the cap holds after jitter too.
 */
export function backoffDelayMs(failures: number, range: BackoffRange, random: number): number {
  const exponential = range.minDelayMs * 2 ** Math.min(Math.max(failures - 1, 0), 52);
  const jittered = Math.min(range.maxDelayMs, exponential) * (JITTER_LOW + (JITTER_HIGH - JITTER_LOW) * random);
  return Math.round(Math.min(range.maxDelayMs, jittered));
}

/**
 * The shortest time from an event's first attempt to its last before it is dead-lettered (every jitter at its
 * lowest): what MAX_ATTEMPTS means in time, shown in the docs and checked against the 24-hour promise.
 */
export function shortestRedeliverySpanMs(maxAttempts: number, range: BackoffRange): number {
  let total = 0;
  for (let failures = 1; failures < maxAttempts; failures += 1) {
    total += Math.min(range.maxDelayMs, range.minDelayMs * 2 ** Math.min(failures - 1, 52)) * JITTER_LOW;
  }
  return total;
}
