import type { DrainPhases, ThroughputResult } from './bench-result.js';
import type { DelayRouter } from './delay-router.js';
import { drainWithFunctions, type DrainResult } from './function-drain.js';
import { measureRawLimit } from './raw-limit.js';
import { collectionsFor, cpuLine, functionsFor, seconds, withRouter, type ScenarioContext } from './scenario-context.js';
import { countPending, seedPending, type SeedResult } from './seed-outbox.js';
import { runSeedShapedRelay } from './seed-shaped-relay.js';

/** Splits a drain's wall time by the router's first request and last answer. */
function phasesOf(drain: DrainResult, router: DelayRouter): DrainPhases | undefined {
  const first = router.firstRequestAt();
  const last = router.lastAnswerAt();
  if (first === undefined || last === undefined) return undefined;
  const deliveringMs = last - first;
  return {
    startupMs: first - drain.startedAt,
    deliveringMs,
    deliveringEventsPerSecond: router.received() / (deliveringMs / 1000),
    tailMs: drain.startedAt + drain.ms - last,
  };
}

/** The function over HTTP (a warm instance), the raw limit and the naive relay, at one router latency. */
export async function measureThroughput(context: ScenarioContext, latencyMs: number): Promise<ThroughputResult> {
  const { config, session, progress } = context;
  await session.reset();
  const collections = collectionsFor(`lat${latencyMs}`);
  const seedOptions = { shardCount: 1, parallelCommits: config.seedParallelCommits };
  let seed: SeedResult | undefined;
  let relayPhases: DrainPhases | undefined;
  let relayBodyBytes = 0;
  // A warm instance, as the CPU figure's: the first run of a new instance (JIT, first connections) is not the relay's pace.
  const relay = await withRouter(latencyMs, async (router) => {
    const drain = await drainWithFunctions({
      ...functionsFor(context, collections, router.url),
      warmUp: {
        seedWarmUp: () => seedPending(session.firestore, collections.outbox, config.warmUpEvents, seedOptions).then(() => undefined),
        seedMeasured: async () => {
          seed = await seedPending(session.firestore, collections.outbox, config.events, seedOptions);
          progress(`  warm-up drain of ${config.warmUpEvents} done; seeded ${config.events} events in ${seconds(seed.ms)}`);
          router.reset();
        },
      },
    });
    relayPhases = phasesOf(drain, router);
    relayBodyBytes = router.bodyBytes() / Math.max(1, router.received());
    return drain;
  });
  const pendingAfter = await countPending(session.firestore, collections.outbox);
  progress(
    `  relay (Functions Framework): ${relay.delivered} events in ${seconds(relay.ms)} = ${relay.eventsPerSecond.toFixed(0)}/s; ${cpuLine(relay.cpu)}`,
  );
  if (relayPhases !== undefined) {
    progress(
      `    first POST after ${seconds(relayPhases.startupMs)}, ${relayPhases.deliveringEventsPerSecond.toFixed(0)}/s while delivering, ` +
        `answered ${seconds(relayPhases.tailMs)} after the last POST`,
    );
  }
  let rawBodyBytes = 0;
  const raw = await withRouter(latencyMs, async (router) => {
    const result = await measureRawLimit(
      { routerUrl: router.url, events: config.events, concurrency: config.concurrency },
      config.drainTimeoutMs,
    );
    rawBodyBytes = router.bodyBytes() / Math.max(1, router.received());
    return result;
  });
  progress(`  raw limit: ${raw.ok} POSTs in ${seconds(raw.ms)} = ${raw.eventsPerSecond.toFixed(0)}/s`);
  const naive = collectionsFor(`naive${latencyMs}`);
  await seedPending(session.firestore, naive.outbox, config.events, { shardCount: 1, parallelCommits: config.seedParallelCommits });
  const seedShaped = await withRouter(latencyMs, (router) =>
    runSeedShapedRelay(session.firestore, naive.outbox, router.url, config.seedShapedSeconds * 1000),
  );
  progress(`  seed-shaped relay: ${seedShaped.delivered} events in ${seconds(seedShaped.ms)} = ${seedShaped.eventsPerSecond.toFixed(0)}/s`);
  if (seed === undefined) throw new Error('the measured events were never seeded');
  return {
    latencyMs,
    seed,
    relay,
    relayPhases,
    pendingAfter,
    raw,
    bodyBytesPerPost: { relay: relayBodyBytes, raw: rawBodyBytes },
    seedShaped,
    relayToRaw: relay.eventsPerSecond / raw.eventsPerSecond,
    relayToSeedShaped: relay.eventsPerSecond / seedShaped.eventsPerSecond,
  };
}
