import type { PeakMemoryResult, PeakMemoryRun } from './bench-result.js';
import { drainWithFunctions } from './function-drain.js';
import { collectionsFor, cpuLine, functionsFor, seconds, withRouter, type ScenarioContext } from './scenario-context.js';
import { countPending, seedPending } from './seed-outbox.js';

/**
 * The function's peak resident set during one budgeted run against a large backlog: once with Node's default
 * heap sizing, then with the deploy's NODE_OPTIONS and (when BENCH_RSS_HEAP_MB is set) with the old space capped,
 * each after topping the backlog up again.
 */
export async function measurePeakMemory(context: ScenarioContext): Promise<PeakMemoryResult> {
  const { config, session, progress } = context;
  await session.reset();
  const collections = collectionsFor('rss');
  const seed = await seedPending(session.firestore, collections.outbox, config.rssEvents, {
    shardCount: 1,
    parallelCommits: config.seedParallelCommits,
  });
  progress(`  seeded ${config.rssEvents} events in ${seconds(seed.ms)} (${seed.eventsPerSecond.toFixed(0)}/s)`);
  const runBudgetMs = config.rssRunSeconds * 1000;
  const deployOptions = context.relayEnv.NODE_OPTIONS ?? '';
  const capped = config.rssHeapMb > 0 ? `--max-old-space-size=${config.rssHeapMb}` : '';
  // Node's default heap first (the target), then the deploy's NODE_OPTIONS and BENCH_RSS_HEAP_MB's cap, each once.
  const variants = ['', ...new Set([deployOptions, capped].filter((options) => options !== ''))];
  const runs: PeakMemoryRun[] = [];
  for (const nodeOptions of variants) {
    const pendingAtStart = await countPending(session.firestore, collections.outbox);
    const others = Object.entries(context.relayEnv).filter(([name]) => name !== 'NODE_OPTIONS');
    const extraEnv = {
      RUN_BUDGET_MS: String(runBudgetMs),
      ...Object.fromEntries(others),
      ...(nodeOptions === '' ? {} : { NODE_OPTIONS: nodeOptions }),
    };
    const drain = await withRouter(config.rssLatencyMs, (router) =>
      drainWithFunctions(functionsFor(context, collections, router.url, { maxRuns: 1, extraEnv })),
    );
    const peakRssBytes = drain.shards[0]?.peakRssBytes;
    runs.push({ nodeOptions, pendingAtStart, drain, peakRssBytes });
    progress(
      `  ${nodeOptions === '' ? 'default heap' : nodeOptions}: ${pendingAtStart} pending, ${drain.delivered} delivered in ${seconds(drain.ms)}; ` +
        `peak RSS ${peakRssBytes === undefined ? 'unknown' : `${(peakRssBytes / 2 ** 20).toFixed(0)} MiB`}; ${cpuLine(drain.cpu)}`,
    );
    if (runs.length === variants.length) break;
    // Top the backlog up again, so the next run starts with as many pending events as this one did.
    await seedPending(session.firestore, collections.outbox, drain.delivered, {
      shardCount: 1,
      parallelCommits: config.seedParallelCommits,
      baseMs: Date.UTC(2026, 0, 2),
    });
  }
  return { pending: config.rssEvents, latencyMs: config.rssLatencyMs, runBudgetMs, seed, runs };
}
