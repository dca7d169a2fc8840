import type { Firestore } from '@google-cloud/firestore';
import { AxiosRouterClient } from './adapters/axios-router-client.js';
import { createCloudLogger } from './adapters/cloud-logger.js';
import { createFirestore } from './adapters/firestore-client.js';
import { FirestoreOutboxStore } from './adapters/firestore-outbox-store.js';
import { FirestoreRunLease } from './adapters/firestore-run-lease.js';
import { createRouterAuth } from './adapters/router-auth.js';
import { systemClock } from './adapters/system-clock.js';
import { DEFAULT_TELEMETRY_FLUSH_TIMEOUT_MS, shardsDrained, type Config } from './config.js';
import type { Clock, LeaseWakeUps, Logger, OutboxStore, RouterClient, RunLease } from './core/ports.js';
import { Doorbell, armingDoorbell } from './core/doorbell.js';
import { kick, type KickOutcome } from './core/kick-runs.js';
import type { PushPorts } from './core/linger.js';
import { RateCappedRouter, RouterPause, shardRate } from './core/rate-cap.js';
import { runRelay, type RelayDeps, type RunControl, type RunResult } from './core/relay.js';
import { shardMemory } from './core/shard-memory.js';
import { runShards, type ShardPlan } from './core/shard-runs.js';
import { NO_TELEMETRY, type Telemetry } from './core/telemetry.js';
import { describeError } from './errors.js';

/** Seams for tests, the local runner and the benchmark; production passes none. */
export interface RelaySeams {
  readonly logger?: Logger;
  readonly clock?: Clock;
  readonly random?: () => number;
  /** Wraps the Firestore store, e.g. to count its calls or inject a fault at one of them. */
  readonly wrapStore?: (store: OutboxStore) => OutboxStore;
  /** Wraps the Firestore lease, e.g. to inject a fault at one of its calls. */
  readonly wrapLease?: (lease: RunLease) => RunLease;
  /** Wraps push's wake-ups on the lease (PUSH_LINGER_MS), e.g. for the benchmark to count their Firestore calls. */
  readonly wrapWakeUps?: (wakeUps: LeaseWakeUps) => LeaseWakeUps;
  /** Replaces the axios client (the benchmark's raw sender, a test's in-memory router). */
  readonly router?: RouterClient;
  /** Replaces the telemetry OTEL_EXPORTER_OTLP_ENDPOINT would load (a test's own, or NO_TELEMETRY). */
  readonly telemetry?: Telemetry;
}

/** The relay of one deployment, wired once per instance: clients are reused across runs. */
export interface Relay {
  readonly config: Readonly<Config>;
  /** One scheduled run. */
  run(runId: string, control?: RunControl): Promise<RunResult>;
  /** Push (PUSH_LINGER_MS above 0): one kick for a committed event (kick-runs.ts); undefined with push off. */
  readonly kick: ((documentId: string, newRunId: () => string, control?: RunControl) => Promise<KickOutcome>) | undefined;
  /** Closes the Firestore client and stops the telemetry exporters (tools and tests; the function never needs to). */
  close(): Promise<void>;
}

/** The one place the relay is put together, for the function, the local runner and the benchmark alike. */
export function createRelay(config: Readonly<Config>, seams: RelaySeams = {}): Relay {
  const clock = seams.clock ?? systemClock;
  const logger = seams.logger ?? createCloudLogger({ minSeverity: config.logLevel });
  const now = (): number => clock.now();
  const firestore: Firestore = createFirestore(config, { exactIntegers: true });
  const router =
    seams.router ??
    new AxiosRouterClient({
      routerUrl: config.routerUrl,
      auth: createRouterAuth(config.routerAuth, config.routerUrl, now),
      postTimeoutMs: config.postTimeoutMs,
      defaultSource: config.defaultSource,
      maxSockets: config.deliveryConcurrency,
      socketIdleMs: config.routerSocketIdleMs,
    });
  // Each shard's ports, made once per instance and reused by every run of that shard: its store and lease, its
  // memory (sweeps, where its last read ended: shard-memory.ts) and, with push on, the doorbell kicks ring.
  type ShardPorts = Pick<RelayDeps, 'store' | 'lease' | 'router' | 'memory' | 'push'>;
  const ofShard = new Map<number, ShardPorts>();
  // ROUTER_MAX_RPS: each shard's POSTs at its part of the cap; a Retry-After pauses every shard of the instance.
  const pause = new RouterPause();
  const rate = shardRate(config.routerMaxRps, shardsDrained(config));
  const routerOf = (): RouterClient => (config.routerMaxRps > 0 ? new RateCappedRouter(router, rate, clock, pause) : router);
  const portsOf = (shard: number): ShardPorts => {
    let ports = ofShard.get(shard);
    if (ports === undefined) {
      const leaseRef = firestore.collection(config.leaseCollection).doc(leaseId(config.outboxCollection, shard));
      const lease = new FirestoreRunLease(firestore, leaseRef, now);
      const store: OutboxStore = new FirestoreOutboxStore(firestore, {
        ...config,
        leaseRef,
        shard: { index: shard, count: config.shardCount, previousCount: config.previousShardCount },
        now,
      });
      const wrappedLease: RunLease = seams.wrapLease?.(lease) ?? lease;
      const push: PushPorts | undefined =
        config.pushLingerMs > 0 ? { doorbell: new Doorbell(), wakeUps: seams.wrapWakeUps?.(lease) ?? lease } : undefined;
      ports = {
        store: seams.wrapStore?.(store) ?? store,
        lease: push === undefined ? wrappedLease : armingDoorbell(wrappedLease, push.doorbell),
        router: routerOf(),
        memory: shardMemory(config),
        ...(push === undefined ? {} : { push }),
      };
      ofShard.set(shard, ports);
    }
    return ports;
  };
  const common = { router, clock, logger, ...(seams.random === undefined ? {} : { random: seams.random }) };
  const plan = shardPlan(config);
  // While resharding, an event in any shard of either count is well placed.
  const options = { ...config, shardCount: shardsDrained(config) };
  const telemetry = seams.telemetry === undefined ? loadTelemetry(config, logger) : Promise.resolve(seams.telemetry);
  const run = async (runId: string, control?: RunControl): Promise<RunResult> => {
    const loaded = await telemetry;
    const shardDeps = (shard: number): RelayDeps => ({ ...common, ...portsOf(shard), telemetry: loaded });
    const only = plan.shards.length === 1 ? plan.shards[0] : undefined;
    const result =
      only === undefined
        ? await runShards(runId, plan, { ...common, shardDeps }, options, control)
        : await runRelay(runId, shardDeps(only), options, control);
    // Before the answer, and bounded: telemetry never changes the answer nor holds it past its bound.
    await loaded.flush(control?.shutdown?.aborted === true ? SHUTDOWN_FLUSH_TIMEOUT_MS : DEFAULT_TELEMETRY_FLUSH_TIMEOUT_MS);
    return result;
  };
  const outbox = firestore.collection(config.outboxCollection);
  return {
    config,
    run,
    // Push needs one shard per deployment (parseConfig checks it): a kick rings that shard's doorbell.
    kick:
      config.pushLingerMs <= 0
        ? undefined
        : (documentId, newRunId, control) => {
            const push = portsOf(plan.shards[0] ?? 0).push;
            if (push === undefined) throw new Error('push is on but the shard has no doorbell');
            return kick(
              documentId,
              {
                ...push,
                clock,
                logger,
                run,
                newRunId,
                isPending: async (id) => (await outbox.doc(id).get()).get('status') === 'pending',
                leaseTtlMs: config.leaseTtlMs,
                firestoreTimeoutMs: config.firestoreTimeoutMs,
              },
              control,
            );
          },
    async close() {
      await Promise.all([firestore.terminate(), telemetry.then((loaded) => loaded.shutdown())]);
    },
  };
}

/** During a shutdown the run's answer comes first: telemetry gets what SHUTDOWN_TIMEOUT_MS leaves before SIGKILL. */
const SHUTDOWN_FLUSH_TIMEOUT_MS = 500;

/**
 * The OpenTelemetry SDK is imported only when OTEL_EXPORTER_OTLP_ENDPOINT is set, so with telemetry off none of it
 * is loaded. Should it fail to load, the relay runs without telemetry rather than not at all.
 */
async function loadTelemetry(config: Readonly<Config>, logger: Logger): Promise<Telemetry> {
  const endpoint = config.otlpEndpoint;
  if (endpoint === undefined) return NO_TELEMETRY;
  try {
    const { createOtelTelemetry } = await import('./adapters/otel-telemetry.js');
    return createOtelTelemetry({ endpoint });
  } catch (error) {
    logger.log('ERROR', 'telemetry could not be started; running without it', { error: describeError(error) });
    return NO_TELEMETRY;
  }
}

/**
 * One lease per outbox shard, so shards drain in parallel while each runs one at a time. The id leaves out
 * SHARD_COUNT: relays configured with an old and a new count, side by side during a reshard, share each shard's lease.
 */
export function leaseId(outboxCollection: string, shard: number): string {
  return `${outboxCollection}.shard-${shard}`;
}

/**
 * The shards a deployment drains: the one SHARD_INDEX pins, or all of SHARD_COUNT (and of PREVIOUS_SHARD_COUNT
 * while resharding), SHARDS_PER_RUN at a time.
 */
export function shardPlan(config: Pick<Config, 'shardIndex' | 'shardCount' | 'previousShardCount' | 'shardsPerRun'>): ShardPlan {
  if (config.shardIndex !== undefined) return { shards: [config.shardIndex], perRun: 1 };
  return { shards: Array.from({ length: shardsDrained(config) }, (_unused, shard) => shard), perRun: config.shardsPerRun };
}
