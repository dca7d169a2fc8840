import { rateCapSection, withinCap } from '../../../bench/rate-cap-report.js';
import type { RateCapDrain, RateCapResult } from '../../../bench/rate-cap-scenario.js';

describe('the rate cap verdict', () => {
  it.each([
    [50, 50, true],
    [55, 50, true],
    [45, 50, true],
    [55.1, 50, false],
    [44.9, 50, false],
    [undefined, 50, false],
  ])('%p POSTs/s against a cap of %d is within ±10 %%: %p', (measured, cap, within) => {
    expect(withinCap(measured, cap, 0.1)).toBe(within);
  });
});

describe('the rate cap section', () => {
  const drain = (cap: number, round: number, steadyPerSecond: number | undefined): RateCapDrain => ({
    cap,
    round,
    delivered: cap * 20,
    drained: true,
    steadyPerSecond,
    steadyPosts: cap * 16,
    steadySeconds: 16,
    wholeDrainPerSecond: cap * 0.9,
    duplicates: 0,
    loadAverage: 5,
    machineBusyCores: 1.5,
  });
  const result = (drains: RateCapDrain[]): RateCapResult => ({
    shards: 4,
    instances: 2,
    shardsPerRun: 2,
    concurrency: 32,
    latencyMs: 50,
    trim: 0.1,
    tolerance: 0.1,
    drains,
  });
  const section = (drains: RateCapDrain[]): string =>
    rateCapSection({
      rateCap: result(drains),
      machine: { cores: 2 } as Parameters<typeof rateCapSection>[0]['machine'],
      date: '2026-12-07T17:00:00.000Z',
    }) ?? '';

  it('gives each cap the median of its rounds and says whether it is within the tolerance', () => {
    const text = section([drain(50, 0, 49), drain(50, 1, 51), drain(50, 2, 50), drain(100, 0, 80), drain(100, 1, 85), drain(100, 2, 120)]);
    expect(text).toMatch(/^\| 50 \| 50\.0 \| yes \|/m);
    expect(text).toMatch(/^\| 100 \| 85\.0 \| NO \|/m);
    expect(text).toContain('middle 80 %');
  });

  it('says nothing when the rate cap was not measured', () => {
    expect(rateCapSection({ machine: { cores: 2 } as Parameters<typeof rateCapSection>[0]['machine'], date: '' })).toBeUndefined();
  });
});
