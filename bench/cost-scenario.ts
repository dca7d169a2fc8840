import { collectionsFor, withRouter, type ScenarioContext } from './scenario-context.js';
import { seedPending } from './seed-outbox.js';
import { measureStoreCost, type StoreCost } from './store-cost.js';

/** Store reads and writes per delivered event, counted around the real adapter while the core drains the outbox. */
export async function measureCost(context: ScenarioContext): Promise<StoreCost> {
  const { config, session, progress } = context;
  await session.reset();
  const collections = collectionsFor('cost');
  await seedPending(session.firestore, collections.outbox, config.events, { shardCount: 1, parallelCommits: config.seedParallelCommits });
  const cost = await withRouter(0, (router) =>
    measureStoreCost({
      firestore: session.firestore,
      emulatorHost: session.host,
      projectId: session.projectId,
      routerUrl: router.url,
      collections,
      deliveryConcurrency: config.concurrency,
      pending: config.events,
      timeoutMs: config.drainTimeoutMs,
      extraEnv: config.relayEnv,
    }),
  );
  progress(
    `  ${cost.delivered} delivered in ${cost.runs} run(s): ${cost.readsPerEvent.toFixed(4)} reads and ${cost.writesPerEvent.toFixed(4)} writes per event at the store interface`,
  );
  return cost;
}
