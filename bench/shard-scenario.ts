import { drainDeployment, shardsPerRun, type DeploymentDrain } from './deployment-drain.js';
import { collectionsFor, seconds, withRouter, type ScenarioContext } from './scenario-context.js';
import { measureShardCost, type ShardCost } from './shard-cost.js';
import { countPending, seedPending } from './seed-outbox.js';
import { maxOf, shardPoints, type ShardPoint } from './shard-points.js';

/** One drain of one deployment: `shards` shards on `instances` instances, in round `round`. */
export interface ShardDrainRound {
  readonly round: number;
  readonly shards: number;
  readonly instances: number;
  /** SHARDS_PER_RUN the deployment ran with (every shard on one instance). */
  readonly shardsPerRun: number;
  readonly delivered: number;
  readonly drained: boolean;
  readonly eventsPerSecond: number;
  /** Function processes' CPU (user + system, /proc) per delivered event, in ms. */
  readonly functionCpuMsPerEvent: number;
  readonly emulatorCpuMsPerEvent: number;
  /** Runs that delivered, runs skipped (every lease tried was held), failed runs: all instances together. */
  readonly runs: number;
  readonly skippedRuns: number;
  readonly failedRuns: number;
  /** Cores the whole machine kept busy during the drain, and of those what neither the functions nor the emulator used. */
  readonly machineBusyCores: number;
  readonly otherBusyCores: number;
  readonly loadAverage: number;
  readonly peakRssBytes: number | undefined;
  /** This round's events/s over the same round's first shape (the fewest shards on the fewest instances). */
  readonly speedup: number;
  readonly lastError: string | undefined;
}

/** The shard measurement: one deployment with 1…N shards on 1…M instances, its rounds, medians and Firestore charges. */
export interface ShardScalingResult {
  readonly latencyMs: number;
  readonly events: number;
  /** Each instance's DELIVERY_CONCURRENCY. */
  readonly concurrency: number;
  /** Events each instance drained, unmeasured, before each measured drain (1,000 in results before it was set). */
  readonly warmUpEventsPerInstance?: number;
  /** Whether every shape had as many instances as shards (BENCH_SHARD_INSTANCES empty). */
  readonly instancePerShard?: boolean;
  readonly roundsPerPoint: number;
  readonly rounds: readonly ShardDrainRound[];
  readonly points: readonly ShardPoint[];
  /** Firestore's charges per delivered event at each shard count; missing when that measurement failed. */
  readonly cost: readonly ShardCost[];
}

/**
 * Drains BENCH_SHARD_EVENTS with ONE deployment (SHARD_COUNT=N, no SHARD_INDEX) for every shard count on as many
 * instances (or on each of BENCH_SHARD_INSTANCES), the router answering after BENCH_SHARD_LATENCY_MS, in BENCH_SHARD_ROUNDS rounds; each round measures
 * every shape in turn, so load from other work on the machine falls on all of them alike, and the speed-ups are
 * ratios within a round. Then counts what Firestore charges per event at each shard count.
 */
export async function measureShardScaling(context: ScenarioContext): Promise<ShardScalingResult> {
  const { config, session, progress } = context;
  const instancePerShard = config.shardInstances.length === 0;
  const shapes = instancePerShard
    ? config.shardCounts.map((shards) => ({ shards, instances: shards }))
    : config.shardInstances.flatMap((instances) => config.shardCounts.map((shards) => ({ shards, instances })));
  const rounds: ShardDrainRound[] = [];
  for (let round = 0; round < config.shardRounds; round += 1) {
    let baseline: number | undefined;
    for (const { shards, instances } of shapes) {
      const drain = await drainShape(context, shards, instances);
      const entry = roundOf(round, shards, instances, drain, baseline);
      baseline ??= drain.eventsPerSecond;
      rounds.push(entry);
      progress(
        `  round ${round}, ${shards} shard(s) on ${instances} instance(s): ${drain.delivered} in ${seconds(drain.ms)} = ` +
          `${entry.eventsPerSecond.toFixed(0)}/s, ${entry.functionCpuMsPerEvent.toFixed(3)} ms function CPU per event, ` +
          `${entry.runs} runs + ${entry.skippedRuns} skipped; machine ${entry.machineBusyCores.toFixed(2)} cores busy ` +
          `(${entry.otherBusyCores.toFixed(2)} other work), load ${entry.loadAverage}${drain.drained ? '' : ', NOT DRAINED'}`,
      );
    }
  }
  const cost: ShardCost[] = [];
  for (const shards of config.shardCounts) {
    await session.reset();
    const collections = collectionsFor(`shardcost${shards}`);
    const counted = await withRouter(0, (router) =>
      measureShardCost({
        firestore: session.firestore,
        emulatorHost: session.host,
        projectId: session.projectId,
        routerUrl: router.url,
        outbox: collections.outbox,
        shards,
        events: config.shardEvents,
        deliveryConcurrency: config.shardConcurrency,
        seedParallelCommits: config.seedParallelCommits,
        timeoutMs: config.drainTimeoutMs,
        extraEnv: config.relayEnv,
      }),
    ).catch((error: unknown) => {
      progress(`  Firestore cost at ${shards} shard(s) FAILED: ${error instanceof Error ? error.message : String(error)}`);
      return undefined;
    });
    if (counted === undefined) continue;
    cost.push(counted);
    progress(
      `  Firestore per event at ${shards} shard(s): ${counted.readsPerEvent.toFixed(4)} reads, ${counted.writesPerEvent.toFixed(4)} writes, ` +
        `${counted.deletesPerEvent.toFixed(4)} deletes (${counted.runs} run(s), ${counted.shardRuns} shard runs)`,
    );
  }
  return {
    latencyMs: config.shardLatencyMs,
    events: config.shardEvents,
    concurrency: config.shardConcurrency,
    warmUpEventsPerInstance: config.shardWarmUpEvents,
    instancePerShard,
    roundsPerPoint: config.shardRounds,
    rounds,
    points: shardPoints(rounds),
    cost,
  };
}

/** One drain of a deployment shape on a wiped emulator, with fresh collections and warm instances. */
async function drainShape(context: ScenarioContext, shards: number, instances: number): Promise<DeploymentDrain> {
  const { config, session } = context;
  await session.reset();
  const collections = collectionsFor(`shards${shards}x${instances}`);
  const seed = (count: number, baseMs: number) => async (): Promise<void> => {
    await seedPending(session.firestore, collections.outbox, count, {
      shardCount: shards,
      parallelCommits: config.seedParallelCommits,
      baseMs,
    });
  };
  return withRouter(config.shardLatencyMs, (router) =>
    drainDeployment({
      projectRoot: context.projectRoot,
      emulatorHost: session.host,
      projectId: session.projectId,
      routerUrl: router.url,
      outbox: collections.outbox,
      deliveryConcurrency: config.shardConcurrency,
      shardCount: shards,
      instances,
      drainTimeoutMs: config.drainTimeoutMs,
      emulatorProcessGroup: session.processGroup,
      extraEnv: context.relayEnv,
      drained: async () => (await countPending(session.firestore, collections.outbox)) === 0,
      seedWarmUp: seed(config.shardWarmUpEvents * instances, Date.UTC(2026, 0, 1)),
      seedMeasured: seed(config.shardEvents, Date.UTC(2026, 0, 2)),
    }),
  );
}

function roundOf(round: number, shards: number, instances: number, drain: DeploymentDrain, baseline: number | undefined): ShardDrainRound {
  const delivered = Math.max(1, drain.delivered);
  const wall = Math.max(1e-9, drain.ms / 1000);
  const machineBusyCores = drain.machine.busySeconds / wall;
  return {
    round,
    shards,
    instances,
    shardsPerRun: instances > 1 ? shardsPerRun(shards, instances) : shards,
    delivered: drain.delivered,
    drained: drain.drained,
    eventsPerSecond: drain.eventsPerSecond,
    functionCpuMsPerEvent: (drain.functionsCpuSeconds * 1000) / delivered,
    emulatorCpuMsPerEvent: (drain.emulatorCpuSeconds * 1000) / delivered,
    runs: drain.instances.reduce((sum, instance) => sum + instance.runs, 0),
    skippedRuns: drain.instances.reduce((sum, instance) => sum + instance.skippedRuns, 0),
    failedRuns: drain.instances.reduce((sum, instance) => sum + instance.failedRuns, 0),
    machineBusyCores,
    otherBusyCores: Math.max(0, machineBusyCores - (drain.functionsCpuSeconds + drain.emulatorCpuSeconds + drain.benchCpuSeconds) / wall),
    loadAverage: drain.loadAverage,
    peakRssBytes: maxOf(drain.instances.map((instance) => instance.peakRssBytes)),
    speedup: drain.eventsPerSecond / (baseline ?? drain.eventsPerSecond),
    lastError: drain.instances.find((instance) => instance.lastError !== undefined)?.lastError,
  };
}
