import { steadyRate } from '../../../bench/steady-rate.js';

/** `count` arrivals `gapMs` apart from `fromMs`. */
const evenly = (count: number, gapMs: number, fromMs = 0): number[] => Array.from({ length: count }, (_, i) => fromMs + i * gapMs);

describe('the rate over the steady part of a drain (the rate cap bench)', () => {
  it.each([
    ['50/s evenly spaced', evenly(100, 20), 0, 50],
    ['100/s evenly spaced, trimmed', evenly(100, 10), 0.1, 100],
    ['a slow start and a slow tail trimmed away', [...evenly(10, 500), ...evenly(80, 20, 5_000), ...evenly(10, 500, 7_000)], 0.1, 50],
    ['arrivals out of order', [40, 0, 20, 60, 80], 0, 50],
  ])('%s', (_what, arrivals, trim, perSecond) => {
    expect(steadyRate(arrivals, trim)?.perSecond).toBeCloseTo(perSecond, 6);
  });

  it('counts the POSTs and seconds of the steady part', () => {
    expect(steadyRate(evenly(100, 10), 0.1)).toEqual({ posts: 80, seconds: 0.79, perSecond: 100 });
  });

  it.each([
    ['no arrival', []],
    ['one arrival', [5]],
    ['arrivals at one instant', [5, 5, 5]],
  ])('has no rate with %s', (_what, arrivals) => {
    expect(steadyRate(arrivals, 0.1)).toBeUndefined();
  });
});
