import type { ShardResult } from './bench-result.js';
import { drainWithFunctions } from './function-drain.js';
import { collectionsFor, cpuLine, functionsFor, seconds, withRouter, type ScenarioContext } from './scenario-context.js';
import { countPending, seedPending } from './seed-outbox.js';

/** N functions (SHARD_INDEX 0..N-1, one lease each) draining one outbox whose events carry their shard. */
export async function measureShards(
  context: ScenarioContext,
  shardCount: number,
  oneShardEventsPerSecond: number | undefined,
): Promise<ShardResult> {
  const { config, session, progress } = context;
  await session.reset();
  const collections = collectionsFor(`shards${shardCount}`);
  const seed = await seedPending(session.firestore, collections.outbox, config.events, {
    shardCount,
    parallelCommits: config.seedParallelCommits,
  });
  const drain = await withRouter(config.shardLatencyMs, (router) =>
    drainWithFunctions(functionsFor(context, collections, router.url, { shardCount })),
  );
  const pendingAfter = await countPending(session.firestore, collections.outbox);
  progress(
    `  ${shardCount} shard(s): ${drain.delivered} events in ${seconds(drain.ms)} = ${drain.eventsPerSecond.toFixed(0)}/s aggregate; ${cpuLine(drain.cpu)}`,
  );
  return {
    shardCount,
    latencyMs: config.shardLatencyMs,
    seed,
    drain,
    pendingAfter,
    speedup: drain.eventsPerSecond / (oneShardEventsPerSecond ?? drain.eventsPerSecond),
  };
}
