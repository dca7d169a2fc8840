import { parseBenchConfig } from '../../../bench/bench-config.js';
import { shardsPerRun } from '../../../bench/deployment-drain.js';
import { parseProcStatCpu } from '../../../bench/machine-cpu.js';
import { shardChartSpec } from '../../../bench/shard-chart.js';
import { instanceEventsPerSecond, sizeFor } from '../../../bench/shard-report.js';
import { shardPoints } from '../../../bench/shard-points.js';
import type { ShardDrainRound, ShardScalingResult } from '../../../bench/shard-scenario.js';

const measure = { cpuMsPerEvent: 0.5, concurrency: 32, latencyMs: 50, vcpus: [0.167, 1] };

describe('shard sizing', () => {
  it.each([
    // rate, shards, instances at 0.167 vCPU (334/s by CPU), at 1 vCPU (640/s by 32 POSTs over 50 ms)
    [100, 1, [1, 1]],
    [500, 2, [2, 1]],
    [1000, 4, [3, 2]],
    [2000, 8, [6, 4]],
    [700, 3, [3, 2]],
  ])('%d events/s needs %d shards and %j instances', (rate, shards, instances) => {
    expect(sizeFor(rate, measure)).toEqual({ rate, shards, instances });
  });

  it('gives each instance a shard of its own when CPU needs more instances than writes need shards', () => {
    // 2 ms per event: 83 events/s per 0.167-vCPU instance, so 200 events/s takes 3 instances, though 1 shard takes the writes.
    expect(sizeFor(200, { ...measure, cpuMsPerEvent: 2 })).toEqual({ rate: 200, shards: 3, instances: [3, 1] });
  });

  it('bounds an instance by its CPU or by its POSTs in flight over the router latency, whichever is less', () => {
    expect(instanceEventsPerSecond(0.167, measure)).toBeCloseTo(334, 0);
    expect(instanceEventsPerSecond(1, measure)).toBe(640);
    expect(instanceEventsPerSecond(2, { ...measure, latencyMs: 0 })).toBe(2000);
  });

  it('splits a deployment\u2019s shards evenly among its instances, rounding up', () => {
    expect([shardsPerRun(1, 2), shardsPerRun(2, 2), shardsPerRun(5, 2), shardsPerRun(8, 2), shardsPerRun(8, 1)]).toEqual([1, 1, 3, 4, 8]);
  });
});

describe('shard chart and medians', () => {
  const round = (roundIndex: number, shards: number, instances: number, eventsPerSecond: number): ShardDrainRound => ({
    round: roundIndex,
    shards,
    instances,
    shardsPerRun: shards,
    delivered: 10_000,
    drained: true,
    eventsPerSecond,
    functionCpuMsPerEvent: 0.5,
    emulatorCpuMsPerEvent: 1,
    runs: 1,
    skippedRuns: 0,
    failedRuns: 0,
    machineBusyCores: 2,
    otherBusyCores: 0.5,
    loadAverage: 3,
    peakRssBytes: undefined,
    speedup: 1,
    lastError: undefined,
  });
  const scaling = (rounds: ShardDrainRound[]): ShardScalingResult => ({
    latencyMs: 50,
    events: 10_000,
    concurrency: 32,
    roundsPerPoint: 3,
    rounds,
    points: [],
    cost: [],
  });

  it('draws one line per instance count, events/s against shards in shard order, each the median of its rounds', () => {
    const rounds = [
      round(0, 1, 1, 400),
      round(0, 2, 1, 500),
      round(0, 1, 2, 390),
      round(0, 2, 2, 700),
      round(1, 1, 1, 300),
      round(1, 2, 1, 560),
      round(1, 1, 2, 380),
      round(1, 2, 2, 600),
      round(2, 1, 1, 420),
      round(2, 2, 1, 520),
      round(2, 1, 2, 100),
      round(2, 2, 2, 650),
    ];
    expect(shardChartSpec(scaling(rounds)).series).toEqual([
      {
        name: '1 instance',
        points: [
          [1, 400],
          [2, 520],
        ],
      },
      {
        name: '2 instances',
        points: [
          [1, 380],
          [2, 650],
        ],
      },
    ]);
    expect(shardPoints(rounds).map((point) => [point.shards, point.instances, point.rounds])).toEqual([
      [1, 1, 3],
      [2, 1, 3],
      [1, 2, 3],
      [2, 2, 3],
    ]);
  });
});

describe('machine CPU from /proc/stat', () => {
  it('counts everything but idle and iowait as busy, in seconds', () => {
    const text = 'cpu  100 20 30 400 50 5 5 0 0 0\ncpu0 1 2 3 4 5 6 7 8\n';
    expect(parseProcStatCpu(text)).toEqual({ busySeconds: 1.6, totalSeconds: 6.1 });
    expect(parseProcStatCpu('')).toEqual({ busySeconds: 0, totalSeconds: 0 });
  });
});

describe('shard bench settings', () => {
  it('measures 1, 2, 4 and 8 shards on 1 and 2 instances in 3 rounds by default, and names a bad variable', () => {
    const config = parseBenchConfig({});
    expect([config.shardCounts, config.shardInstances, config.shardRounds]).toEqual([[1, 2, 4, 8], [1, 2], 3]);
    expect(() => parseBenchConfig({ BENCH_SHARD_INSTANCES: '0' })).toThrow(/BENCH_SHARD_INSTANCES/);
  });
});
