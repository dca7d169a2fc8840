import { parseBenchConfig } from '../../../bench/bench-config.js';
import { shardsPerRun } from '../../../bench/deployment-drain.js';
import { parseProcStatCpu } from '../../../bench/machine-cpu.js';
import { shardChartSpec } from '../../../bench/shard-chart.js';
import { instanceEventsPerSecond, shardSection, sizeFor, SIZING_CONCURRENCY } from '../../../bench/shard-report.js';
import { SETTINGS } from '../../../src/settings/settings.js';
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

describe('one instance per shard', () => {
  const round = (roundIndex: number, shards: number, eventsPerSecond: number, speedup: number): ShardDrainRound => ({
    round: roundIndex,
    shards,
    instances: shards,
    shardsPerRun: 1,
    delivered: 1_600,
    drained: true,
    eventsPerSecond,
    functionCpuMsPerEvent: 1.5,
    emulatorCpuMsPerEvent: 1.5,
    runs: shards,
    skippedRuns: 0,
    failedRuns: 0,
    machineBusyCores: 1.5,
    otherBusyCores: 1,
    loadAverage: 4,
    peakRssBytes: undefined,
    speedup,
    lastError: undefined,
  });
  const rounds = [
    round(0, 1, 19, 1),
    round(0, 2, 38, 2),
    round(0, 4, 74, 3.9),
    round(1, 1, 20, 1),
    round(1, 2, 39, 1.95),
    round(1, 4, 76, 3.8),
  ];
  const scaling: ShardScalingResult = {
    latencyMs: 100,
    events: 1_600,
    concurrency: 2,
    warmUpEventsPerInstance: 100,
    instancePerShard: true,
    roundsPerPoint: 2,
    rounds,
    points: [],
    cost: [],
  };

  it('draws the measured line beside the 1-shard rate times the shards', () => {
    expect(shardChartSpec(scaling).series).toEqual([
      {
        name: 'one instance per shard (measured)',
        points: [
          [1, 19.5],
          [2, 38.5],
          [4, 75],
        ],
      },
      {
        name: '1 shard\u2019s rate \u00d7 shards',
        points: [
          [1, 19.5],
          [2, 39],
          [4, 78],
        ],
      },
    ]);
  });

  it('says what bounds each shape and shows every round with its load', () => {
    const section =
      shardSection({
        shardScaling: scaling,
        machine: { cores: 2 } as Parameters<typeof shardSection>[0]['machine'],
        date: '2026-12-07T17:00:00.000Z',
        deploy: { memory: '256Mi', cpu: 0.167, nodeOptions: '' },
      }) ?? '';
    // 2 POSTs in flight over 100 ms: 20 events/s per instance, 80 for 4 instances.
    expect(section).toContain('delivers at most 2 / 100 ms = 20 events/s');
    expect(section).toMatch(/\| 4 \| 4 \| 1 \| 75 \| 3\.85 × \| 80\/s \| 0\.23 \|/);
    expect(section).toContain('| 2 | 20 (1.00 ×) | 39 (1.95 ×) | 76 (3.80 ×) | 4.0–4.0 | 1.50–1.50 (1.00–1.00) of 2 |');
  });

  it('sizes instances by a busy instance\u2019s CPU per event when the result has one, not by the few-POSTs instances here', () => {
    const base = {
      shardScaling: scaling,
      machine: { cores: 2 } as Parameters<typeof shardSection>[0]['machine'],
      date: '2026-12-07T17:00:00.000Z',
      deploy: { memory: '256Mi', cpu: 0.167, nodeOptions: '' },
    };
    expect(shardSection(base)).toContain('measured on one instance here (1.500 ms;');
    const busy = { functionCpuMsPerEvent: 0.468 } as NonNullable<Parameters<typeof shardSection>[0]['cpu']>;
    expect(shardSection({ ...base, cpu: busy })).toContain('of a busy instance');
    expect(shardSection({ ...base, cpu: busy })).toContain('(0.468 ms;');
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
  it('measures 1, 2, 4 and 8 shards each on as many instances, 2 POSTs in flight at 100 ms, in 3 rounds by default, and names a bad variable', () => {
    const config = parseBenchConfig({});
    expect([config.shardCounts, config.shardInstances, config.shardRounds]).toEqual([[1, 2, 4, 8], [], 3]);
    expect([config.shardConcurrency, config.shardLatencyMs, config.shardEvents, config.shardWarmUpEvents]).toEqual([2, 100, 1_600, 100]);
    expect(parseBenchConfig({ BENCH_SHARD_INSTANCES: '1,2' }).shardInstances).toEqual([1, 2]);
    expect(() => parseBenchConfig({ BENCH_SHARD_INSTANCES: '0' })).toThrow(/BENCH_SHARD_INSTANCES/);
    expect(() => parseBenchConfig({ BENCH_SHARD_CONCURRENCY: '0' })).toThrow(/BENCH_SHARD_CONCURRENCY/);
  });

  it('sizes instances at the relay\u2019s own default DELIVERY_CONCURRENCY, not the bench\u2019s small one', () => {
    expect(SIZING_CONCURRENCY).toBe(SETTINGS.deliveryConcurrency.fallback);
  });
});
