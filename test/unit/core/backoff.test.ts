import { backoffDelayMs, shortestRedeliverySpanMs } from '../../../src/core/backoff.js';
import { DEFAULT_MAX_ATTEMPTS, DEFAULT_REDELIVERY_MAX_DELAY_MS, DEFAULT_REDELIVERY_MIN_DELAY_MS } from '../../../src/config.js';

const RANGE = { minDelayMs: 1_000, maxDelayMs: 60_000 };

describe('Function: backoffDelayMs', () => {
  it.each([
    [1, 0.5, 1_000],
    [2, 0.5, 2_000],
    [4, 0.5, 8_000],
    [1, 0, 800],
    [1, 0.999_999, 1_200],
    [7, 0.5, 60_000],
    [60, 0.999_999, 60_000],
  ])('waits after failure %i (random %f) %i ms: doubling, jittered 0.8–1.2, capped', (failures, random, expected) => {
    expect(backoffDelayMs(failures, RANGE, random)).toBe(expected);
  });
});

describe('Function: shortestRedeliverySpanMs', () => {
  it('spans at least 24 hours from first to last attempt with the default settings', () => {
    const span = shortestRedeliverySpanMs(DEFAULT_MAX_ATTEMPTS, {
      minDelayMs: DEFAULT_REDELIVERY_MIN_DELAY_MS,
      maxDelayMs: DEFAULT_REDELIVERY_MAX_DELAY_MS,
    });

    expect(span).toBeGreaterThanOrEqual(24 * 60 * 60_000);
  });

  it('is the sum of the lowest jittered delays', () => {
    expect(shortestRedeliverySpanMs(3, RANGE)).toBe(800 + 1_600);
  });
});
