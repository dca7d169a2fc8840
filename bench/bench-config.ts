/** The bench's settings, each from one BENCH_* variable; BENCH_QUICK=1 shrinks every default for a ~2-minute run. */
export interface BenchConfig {
  /** BENCH_QUICK=1: small sizes for a smoke run; the numbers are then indicative only. */
  readonly quick: boolean;
  /** BENCH_EVENTS: pending events drained per throughput measurement (default 10,000; quick 2,000). */
  readonly events: number;
  /**
   * BENCH_CPU_ROUNDS: rounds of the CPU measurement, each function drains of BENCH_EVENTS with the router
   * answering at once (warm, just started, probed), then the raw sender's same POSTs; the first is dropped
   * (default 4; 0 skips it).
   */
  readonly cpuRounds: number;
  /**
   * BENCH_WARMUP_EVENTS: events a function instance drains before the CPU measurement's drain, so the figure is a
   * warm instance's (default 5,000; quick 1,000).
   */
  readonly warmUpEvents: number;
  /** BENCH_LATENCIES_MS: router answer delays measured, comma-separated (default 0,5,50). */
  readonly latenciesMs: readonly number[];
  /** BENCH_CONCURRENCY: the relay's DELIVERY_CONCURRENCY and the raw sender's parallelism (default 32). */
  readonly concurrency: number;
  /** BENCH_RSS_EVENTS: pending events for the peak-memory run (default 100,000; quick 20,000); 0 skips it. */
  readonly rssEvents: number;
  /** BENCH_RSS_LATENCY_MS: router delay during the peak-memory run (default 50, the headline latency). */
  readonly rssLatencyMs: number;
  /**
   * BENCH_RSS_RUN_SECONDS: the peak-memory run is one function run with RUN_BUDGET_MS set to this (default 120;
   * quick 20): on the emulator a 100,000-event backlog takes far longer than that to drain.
   */
  readonly rssRunSeconds: number;
  /**
   * BENCH_RSS_HEAP_MB: one more peak-memory run with NODE_OPTIONS=--max-old-space-size=<this> (default 0: none;
   * the runs with Node's default heap and with the deploy's NODE_OPTIONS always happen).
   */
  readonly rssHeapMb: number;
  /** BENCH_SHARDS: shard counts (SHARD_COUNT of one deployment) measured, comma-separated (default 1,2,4,8); empty skips them. */
  readonly shardCounts: readonly number[];
  /**
   * BENCH_SHARD_INSTANCES: Functions Framework instances serving that one deployment, comma-separated, each shard
   * count measured on each; empty (the default): as many instances as shards, as Cloud Run scales out to
   * `--max-instances` = shards, one run per shard.
   */
  readonly shardInstances: readonly number[];
  /**
   * BENCH_SHARD_CONCURRENCY: each instance's DELIVERY_CONCURRENCY in the shard runs (default 2: with the router at
   * BENCH_SHARD_LATENCY_MS an instance is bound by its POSTs in flight, and 8 of them need well under one core).
   */
  readonly shardConcurrency: number;
  /** BENCH_SHARD_EVENTS: pending events per shard drain (default 1,600; quick 400). */
  readonly shardEvents: number;
  /** BENCH_SHARD_WARMUP_EVENTS: events each instance drains, unmeasured, before the shard drain (default 100). */
  readonly shardWarmUpEvents: number;
  /** BENCH_SHARD_ROUNDS: rounds of every shard and instance count, the figures their medians (default 3; quick 1). */
  readonly shardRounds: number;
  /** BENCH_SHARD_LATENCY_MS: router delay during the shard runs (default 100, where one instance is bound by its POSTs in flight). */
  readonly shardLatencyMs: number;
  /** BENCH_SEED_SHAPED_SECONDS: how long the naive relay runs per latency (default 15; quick 4). */
  readonly seedShapedSeconds: number;
  /** BENCH_DRAIN_TIMEOUT_MS: bound on one drain, so a stuck relay cannot hold the bench (default 600,000). */
  readonly drainTimeoutMs: number;
  /** BENCH_SEED_PARALLEL: batched commits of 500 in flight while seeding (default 4). */
  readonly seedParallelCommits: number;
  /**
   * BENCH_RELAY_ENV: extra variables for the relay under test, `NAME=value` pairs separated by `;`
   * (e.g. `BATCH_SIZE=500;NODE_OPTIONS=--max-old-space-size=192`); empty by default, so defaults are measured.
   */
  readonly relayEnv: Readonly<Record<string, string>>;
  /** BENCH_FUNCTION_ROOT: the checkout whose `npm start` is measured (default this one), to compare two builds on one machine. */
  readonly functionRoot: string | undefined;
  /** BENCH_OUTPUT: the JSON result file (default bench/results/latest.json). */
  readonly outputFile: string | undefined;
  /**
   * BENCH_ONLY: measurements to run, comma-separated (cpu, throughput, store-cost, waiting-reads, shards,
   * rate-cap, memory); empty: all. A run of some writes its result to bench/results/only-<names>.json and, when not
   * quick, only their sections of docs/performance.md, leaving the others as the last full run wrote them.
   */
  readonly only: readonly BenchScenario[];
}

/** The measurements a run makes, by the name BENCH_ONLY and the page's sections know them by. */
export const BENCH_SCENARIOS = ['cpu', 'throughput', 'store-cost', 'waiting-reads', 'shards', 'rate-cap', 'memory'] as const;
export type BenchScenario = (typeof BENCH_SCENARIOS)[number];

type Env = Readonly<Record<string, string | undefined>>;

/** Parses the BENCH_* variables once, naming the variable when one is invalid. */
export function parseBenchConfig(env: Env = process.env): BenchConfig {
  const quick = env.BENCH_QUICK === '1' || env.BENCH_QUICK === 'true';
  const pick = <T>(full: T, small: T): T => (quick ? small : full);
  return {
    quick,
    events: integer(env, 'BENCH_EVENTS', pick(10_000, 2_000), 1, 1_000_000),
    cpuRounds: integer(env, 'BENCH_CPU_ROUNDS', 4, 0, 20),
    warmUpEvents: integer(env, 'BENCH_WARMUP_EVENTS', pick(5_000, 1_000), 1, 1_000_000),
    latenciesMs: integers(env, 'BENCH_LATENCIES_MS', [0, 5, 50], 0, 10_000),
    concurrency: integer(env, 'BENCH_CONCURRENCY', 32, 1, 256),
    rssEvents: integer(env, 'BENCH_RSS_EVENTS', pick(100_000, 20_000), 0, 1_000_000),
    rssLatencyMs: integer(env, 'BENCH_RSS_LATENCY_MS', 50, 0, 10_000),
    rssRunSeconds: integer(env, 'BENCH_RSS_RUN_SECONDS', pick(120, 20), 1, 3_000),
    rssHeapMb: integer(env, 'BENCH_RSS_HEAP_MB', 0, 0, 65_536),
    shardCounts: integers(env, 'BENCH_SHARDS', [1, 2, 4, 8], 1, 64),
    shardInstances: integers(env, 'BENCH_SHARD_INSTANCES', [], 1, 8),
    shardConcurrency: integer(env, 'BENCH_SHARD_CONCURRENCY', 2, 1, 256),
    shardEvents: integer(env, 'BENCH_SHARD_EVENTS', pick(1_600, 400), 1, 1_000_000),
    shardWarmUpEvents: integer(env, 'BENCH_SHARD_WARMUP_EVENTS', 100, 0, 100_000),
    shardRounds: integer(env, 'BENCH_SHARD_ROUNDS', pick(3, 1), 1, 20),
    shardLatencyMs: integer(env, 'BENCH_SHARD_LATENCY_MS', 100, 0, 10_000),
    seedShapedSeconds: integer(env, 'BENCH_SEED_SHAPED_SECONDS', pick(15, 4), 1, 600),
    drainTimeoutMs: integer(env, 'BENCH_DRAIN_TIMEOUT_MS', 600_000, 1_000, 3_600_000),
    seedParallelCommits: integer(env, 'BENCH_SEED_PARALLEL', 4, 1, 32),
    relayEnv: pairs(env, 'BENCH_RELAY_ENV'),
    functionRoot: optionalText(env, 'BENCH_FUNCTION_ROOT'),
    outputFile: optionalText(env, 'BENCH_OUTPUT'),
    only: scenarios(env, 'BENCH_ONLY'),
  };
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  return raw === undefined || raw === '' ? fallback : parseInteger(name, raw, min, max);
}

function integers(env: Env, name: string, fallback: readonly number[], min: number, max: number): readonly number[] {
  const raw = env[name]?.trim();
  if (raw === undefined) return fallback;
  if (raw === '') return [];
  return raw.split(',').map((part) => parseInteger(name, part.trim(), min, max));
}

function scenarios(env: Env, name: string): readonly BenchScenario[] {
  const raw = env[name]?.trim() ?? '';
  if (raw === '') return [];
  return raw.split(',').map((part) => {
    const scenario = BENCH_SCENARIOS.find((known) => known === part.trim());
    if (scenario === undefined)
      throw new Error(`${name} must list measurements among ${BENCH_SCENARIOS.join(', ')} (got "${part.slice(0, 40)}")`);
    return scenario;
  });
}

function optionalText(env: Env, name: string): string | undefined {
  const raw = env[name]?.trim();
  return raw === undefined || raw === '' ? undefined : raw;
}

function pairs(env: Env, name: string): Readonly<Record<string, string>> {
  const raw = env[name]?.trim() ?? '';
  const entries = raw
    .split(';')
    .filter((pair) => pair.trim() !== '')
    .map((pair) => {
      const match = /^\s*([A-Z][A-Z0-9_]*)=(.*)$/.exec(pair);
      if (match?.[1] === undefined || match[2] === undefined)
        throw new Error(`${name} must hold NAME=value pairs separated by ";" (got "${pair.slice(0, 40)}")`);
      return [match[1], match[2].trim()] as const;
    });
  return Object.fromEntries(entries);
}

function parseInteger(name: string, raw: string, min: number, max: number): number {
  const value = Number(raw);
  if (raw === '' || !Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must hold integers from ${min} to ${max} (got "${raw.slice(0, 40)}")`);
  }
  return value;
}
