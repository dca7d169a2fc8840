import type { ShardDrainRound } from './shard-scenario.js';

/** One deployment shape: medians over the rounds. */
export interface ShardPoint {
  readonly shards: number;
  readonly instances: number;
  readonly shardsPerRun: number;
  readonly rounds: number;
  /** Whether every round delivered every event. */
  readonly drainedEveryRound: boolean;
  readonly eventsPerSecond: number;
  readonly functionCpuMsPerEvent: number;
  readonly emulatorCpuMsPerEvent: number;
  /** Median of the rounds' own speed-ups, each against the first shape (1 shard, 1 instance by default) of the same round. */
  readonly speedup: number;
  /** Median runs that delivered, and runs answered `skipped` (every lease the run tried was held), per drain. */
  readonly runs: number;
  readonly skippedRuns: number;
  readonly machineBusyCores: number;
  readonly otherBusyCores: number;
  readonly peakRssBytes: number | undefined;
}

/** The median of a non-empty list; the mean of the middle two for an even count. */
function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/** Every shape the rounds measured, in the order first measured, with the medians of its rounds. */
export function shardPoints(rounds: readonly ShardDrainRound[]): ShardPoint[] {
  const shapes = rounds.filter(
    (round, index) => rounds.findIndex((other) => other.shards === round.shards && other.instances === round.instances) === index,
  );
  return shapes.map((shape) => pointOf(rounds.filter((r) => r.shards === shape.shards && r.instances === shape.instances)));
}

function pointOf(rounds: readonly ShardDrainRound[]): ShardPoint {
  const first = rounds[0];
  if (first === undefined) throw new Error('a shard shape without rounds');
  return {
    shards: first.shards,
    instances: first.instances,
    shardsPerRun: first.shardsPerRun,
    rounds: rounds.length,
    drainedEveryRound: rounds.every((r) => r.drained),
    eventsPerSecond: median(rounds.map((r) => r.eventsPerSecond)),
    functionCpuMsPerEvent: median(rounds.map((r) => r.functionCpuMsPerEvent)),
    emulatorCpuMsPerEvent: median(rounds.map((r) => r.emulatorCpuMsPerEvent)),
    speedup: median(rounds.map((r) => r.speedup)),
    runs: median(rounds.map((r) => r.runs)),
    skippedRuns: median(rounds.map((r) => r.skippedRuns)),
    machineBusyCores: median(rounds.map((r) => r.machineBusyCores)),
    otherBusyCores: median(rounds.map((r) => r.otherBusyCores)),
    peakRssBytes: maxOf(rounds.map((r) => r.peakRssBytes)),
  };
}

/** The largest of the known values; undefined when none is known. */
export function maxOf(values: readonly (number | undefined)[]): number | undefined {
  const known = values.filter((value): value is number => value !== undefined);
  return known.length === 0 ? undefined : Math.max(...known);
}
