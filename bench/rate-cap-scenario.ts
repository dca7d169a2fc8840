import { drainDeployment, shardsPerRun } from './deployment-drain.js';
import { collectionsFor, seconds, withRouter, type ScenarioContext } from './scenario-context.js';
import { countPending, seedPending } from './seed-outbox.js';
import { steadyRate } from './steady-rate.js';

/** ROUTER_MAX_RPS values measured: each well under what the deployment delivers uncapped, so the cap is what binds. */
export const RATE_CAPS: readonly number[] = [50, 100];
/** The shape the issue names: 4 shards of one deployment on 2 instances, so the cap is shared across both. */
export const RATE_CAP_SHARDS = 4;
export const RATE_CAP_INSTANCES = 2;
/** Seconds of POSTs at the cap each drain seeds (cap × this events), so the steady part is long enough to judge. */
const SECONDS_AT_CAP = 20;
/** Fraction of the POSTs left out at each end: the runs taking their leases, and the last shards finishing. */
const TRIM = 0.1;
/** How far the measured rate may be from the cap, as the issue asks. */
export const RATE_CAP_TOLERANCE = 0.1;
/** Router latency: the headline's, where 32 POSTs in flight per instance would deliver far above every cap. */
const LATENCY_MS = 50;

/** One drain at one cap. */
export interface RateCapDrain {
  readonly cap: number;
  readonly round: number;
  readonly delivered: number;
  readonly drained: boolean;
  /** POSTs/s at the router over the steady part; undefined when too few arrived to say. */
  readonly steadyPerSecond: number | undefined;
  readonly steadyPosts: number;
  readonly steadySeconds: number;
  /** Delivered events over the whole drain, from the first trigger to the outbox empty (ramp and tail included). */
  readonly wholeDrainPerSecond: number;
  /** POSTs the router received for events it had already seen (the cap must not cause any). */
  readonly duplicates: number;
  readonly loadAverage: number;
  readonly machineBusyCores: number;
}

/** The rate cap measured with real processes: ROUTER_MAX_RPS on one deployment of 4 shards served by 2 instances. */
export interface RateCapResult {
  readonly shards: number;
  readonly instances: number;
  readonly shardsPerRun: number;
  readonly concurrency: number;
  readonly latencyMs: number;
  readonly trim: number;
  readonly tolerance: number;
  readonly drains: readonly RateCapDrain[];
}

/**
 * For each cap of RATE_CAPS, in BENCH_SHARD_ROUNDS rounds: seeds cap × SECONDS_AT_CAP events over 4 shards, serves
 * one deployment with ROUTER_MAX_RPS = cap in 2 processes (SHARDS_PER_RUN = 2), triggers them until the outbox is
 * empty, and measures at the router the POSTs per second over the steady part of the drain.
 */
export async function measureRateCap(context: ScenarioContext): Promise<RateCapResult> {
  const { config, session, progress } = context;
  const drains: RateCapDrain[] = [];
  for (let round = 0; round < config.shardRounds; round += 1) {
    for (const cap of RATE_CAPS) {
      await session.reset();
      const collections = collectionsFor(`ratecap${cap}`);
      const events = cap * SECONDS_AT_CAP;
      const measured = await withRouter(LATENCY_MS, async (router) => {
        const drain = await drainDeployment({
          projectRoot: context.projectRoot,
          emulatorHost: session.host,
          projectId: session.projectId,
          routerUrl: router.url,
          outbox: collections.outbox,
          deliveryConcurrency: config.concurrency,
          shardCount: RATE_CAP_SHARDS,
          instances: RATE_CAP_INSTANCES,
          drainTimeoutMs: config.drainTimeoutMs,
          emulatorProcessGroup: session.processGroup,
          extraEnv: { ...context.relayEnv, ROUTER_MAX_RPS: String(cap) },
          drained: async () => (await countPending(session.firestore, collections.outbox)) === 0,
          // Nothing to warm: the cap, not the instances' speed, sets the rate.
          seedWarmUp: async () => {},
          seedMeasured: async () => {
            await seedPending(session.firestore, collections.outbox, events, {
              shardCount: RATE_CAP_SHARDS,
              parallelCommits: config.seedParallelCommits,
            });
          },
        });
        return { drain, steady: steadyRate(router.arrivals(), TRIM), duplicates: router.received() - router.distinct() };
      });
      const { drain, steady, duplicates } = measured;
      const entry: RateCapDrain = {
        cap,
        round,
        delivered: drain.delivered,
        drained: drain.drained,
        steadyPerSecond: steady?.perSecond,
        steadyPosts: steady?.posts ?? 0,
        steadySeconds: steady?.seconds ?? 0,
        wholeDrainPerSecond: drain.eventsPerSecond,
        duplicates,
        loadAverage: drain.loadAverage,
        machineBusyCores: drain.machine.busySeconds / Math.max(1e-9, drain.ms / 1000),
      };
      drains.push(entry);
      progress(
        `  round ${round}, ROUTER_MAX_RPS=${cap}: ${drain.delivered} in ${seconds(drain.ms)}, steady ${steady?.perSecond.toFixed(1) ?? 'n/a'} POSTs/s ` +
          `over ${steady?.seconds.toFixed(1) ?? 0} s, ${duplicates} duplicate(s); load ${entry.loadAverage}, ` +
          `machine ${entry.machineBusyCores.toFixed(2)} cores busy${drain.drained ? '' : ', NOT DRAINED'}`,
      );
    }
  }
  return {
    shards: RATE_CAP_SHARDS,
    instances: RATE_CAP_INSTANCES,
    shardsPerRun: shardsPerRun(RATE_CAP_SHARDS, RATE_CAP_INSTANCES),
    concurrency: config.concurrency,
    latencyMs: LATENCY_MS,
    trim: TRIM,
    tolerance: RATE_CAP_TOLERANCE,
    drains,
  };
}
