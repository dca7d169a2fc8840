import type { Firestore } from '@google-cloud/firestore';
import { AxiosRouterClient } from './adapters/axios-router-client.js';
import { createCloudLogger } from './adapters/cloud-logger.js';
import { createFirestore } from './adapters/firestore-client.js';
import { FirestoreOutboxStore } from './adapters/firestore-outbox-store.js';
import { FirestoreRunLease } from './adapters/firestore-run-lease.js';
import { createRouterAuth } from './adapters/router-auth.js';
import { systemClock } from './adapters/system-clock.js';
import { DEFAULT_TELEMETRY_FLUSH_TIMEOUT_MS, type Config } from './config.js';
import type { Clock, Logger, OutboxStore, RouterClient, RunLease } from './core/ports.js';
import { Doorbell, armingDoorbell } from './core/doorbell.js';
import { kick, type KickOutcome } from './core/kick-runs.js';
import type { PushPorts } from './core/linger.js';
import { runRelay, type RunControl, type RunResult } from './core/relay.js';
import { shardMemory } from './core/shard-memory.js';
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
  const leaseRef = firestore.collection(config.leaseCollection).doc(leaseId(config));
  const lease = new FirestoreRunLease(firestore, leaseRef, now);
  const store: OutboxStore = new FirestoreOutboxStore(firestore, {
    ...config,
    leaseRef,
    shard: { index: config.shardIndex, count: config.shardCount },
    now,
  });
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
  const wrappedLease: RunLease = seams.wrapLease?.(lease) ?? lease;
  const push: PushPorts | undefined = config.pushLingerMs > 0 ? { doorbell: new Doorbell(), wakeUps: lease } : undefined;
  const deps = {
    store: seams.wrapStore?.(store) ?? store,
    lease: push === undefined ? wrappedLease : armingDoorbell(wrappedLease, push.doorbell),
    router,
    clock,
    logger,
    ...(seams.random === undefined ? {} : { random: seams.random }),
    // What the shard's runs on this instance carry from one to the next: its sweeps, where its last read ended.
    memory: shardMemory(config),
    ...(push === undefined ? {} : { push }),
  };
  const telemetry = seams.telemetry === undefined ? loadTelemetry(config, logger) : Promise.resolve(seams.telemetry);
  const run = async (runId: string, control?: RunControl): Promise<RunResult> => {
    const loaded = await telemetry;
    const result = await runRelay(runId, { ...deps, telemetry: loaded }, config, control);
    // Before the answer, and bounded: telemetry never changes the answer nor holds it past its bound.
    await loaded.flush(control?.shutdown?.aborted === true ? SHUTDOWN_FLUSH_TIMEOUT_MS : DEFAULT_TELEMETRY_FLUSH_TIMEOUT_MS);
    return result;
  };
  const outbox = firestore.collection(config.outboxCollection);
  return {
    config,
    run,
    kick:
      push === undefined
        ? undefined
        : (documentId, newRunId, control) =>
            kick(
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
            ),
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

/** One lease per outbox shard, so shards drain in parallel while each runs one at a time. */
export function leaseId(config: Pick<Config, 'outboxCollection' | 'shardIndex' | 'shardCount'>): string {
  return `${config.outboxCollection}.shard-${config.shardIndex}-of-${config.shardCount}`;
}
