import os from 'node:os';
import { serveFunction, type ServedFunction } from '../build/tools/local/functions-framework-process.js';
import { triggerScheduledRun } from './function-drain.js';
import { readMachineCpu, type MachineCpu } from './machine-cpu.js';
import { readCpuSeconds, readGroupCpuSeconds, readProcessMemory } from './proc-status.js';

/** One deployment (SHARD_COUNT shards, no SHARD_INDEX) served by `instances` Functions Framework processes. */
export interface DeploymentDrainOptions {
  readonly projectRoot: string;
  readonly emulatorHost: string;
  readonly projectId: string;
  readonly routerUrl: string;
  readonly outbox: string;
  readonly deliveryConcurrency: number;
  readonly shardCount: number;
  /** Processes serving the one deployment, as Cloud Run scales it out (`--max-instances`). */
  readonly instances: number;
  readonly drainTimeoutMs: number;
  /** The emulator's process group, to report its CPU time during the drain; undefined for an external emulator. */
  readonly emulatorProcessGroup: number | undefined;
  /** Extra variables for the functions, applied last (BENCH_RELAY_ENV). */
  readonly extraEnv: Readonly<Record<string, string>>;
  /** Whether the outbox holds no pending event, asked when a run answers hasMore: false. */
  readonly drained: () => Promise<boolean>;
  /** Seeds the events an unmeasured drain delivers first, so the measured drain is that of warm instances. */
  readonly seedWarmUp: () => Promise<void>;
  /** Seeds the events the measured drain delivers. */
  readonly seedMeasured: () => Promise<void>;
}

/** What one instance did during the measured drain. */
export interface InstanceDrain {
  /** Runs that delivered (200 with a summary). */
  readonly runs: number;
  /** Runs answered `skipped`: every shard lease this instance tried was held by the other instance. */
  readonly skippedRuns: number;
  /** Runs answered with something other than 200, or not answered. */
  readonly failedRuns: number;
  readonly delivered: number;
  /** CPU seconds (user + system, from /proc) of the instance's process during the drain. */
  readonly cpuSeconds: number;
  readonly peakRssBytes: number | undefined;
  readonly lastError: string | undefined;
}

/** The whole deployment's drain, from the first trigger to the answer after which nothing was pending. */
export interface DeploymentDrain {
  readonly delivered: number;
  readonly ms: number;
  readonly eventsPerSecond: number;
  /** Whether every seeded event was delivered within BENCH_DRAIN_TIMEOUT_MS. */
  readonly drained: boolean;
  readonly instances: readonly InstanceDrain[];
  readonly functionsCpuSeconds: number;
  readonly emulatorCpuSeconds: number;
  /** This process during the drain: the router, the triggers, the pending counts. */
  readonly benchCpuSeconds: number;
  /** The whole machine during the drain: what the bench's processes and everything else on it used. */
  readonly machine: MachineCpu;
  /** The 1-minute load average when the drain started. */
  readonly loadAverage: number;
}

/** Pause before triggering an instance again after a skipped or failed run, as a retry would come later. */
const RETRY_PAUSE_MS = 250;
/** Bound on runs per instance, so a relay that never answers hasMore: false cannot loop forever. */
const MAX_RUNS_PER_INSTANCE = 2_000;
const OUTPUT_TAIL_LINES = 20;

/**
 * Serves `outboundEventHandler` as ONE deployment (SHARD_COUNT=N, no SHARD_INDEX) in `instances` processes, and
 * triggers each back to back, as Cloud Scheduler's runs and Cloud Run's routing would once a backlog keeps every
 * instance busy, until a run finds nothing pending in the whole outbox. With more than one instance,
 * SHARDS_PER_RUN is the shards divided among them (rounded up), so each run leaves the other instance its share.
 * A first drain, unmeasured, warms the same processes.
 */
export async function drainDeployment(options: DeploymentDrainOptions): Promise<DeploymentDrain> {
  const served: ServedFunction[] = [];
  const tails: string[][] = [];
  try {
    for (let instance = 0; instance < options.instances; instance += 1) {
      const tail: string[] = [];
      tails.push(tail);
      served.push(
        await serveFunction({
          projectRoot: options.projectRoot,
          target: 'outboundEventHandler',
          env: deploymentEnv(options),
          onOutput: (line) => {
            tail.push(line);
            if (tail.length > OUTPUT_TAIL_LINES) tail.shift();
          },
        }),
      );
    }
    await options.seedWarmUp();
    await triggerUntilDrained(served, tails, options);
    await options.seedMeasured();
    const loadAverage = os.loadavg()[0] ?? 0;
    const machineBefore = await readMachineCpu();
    const emulatorBefore = options.emulatorProcessGroup === undefined ? 0 : await readGroupCpuSeconds(options.emulatorProcessGroup);
    const cpuBefore = await Promise.all(served.map((fn) => readCpuSeconds(fn.pid)));
    const benchBefore = process.cpuUsage();
    const startedAt = performance.now();
    const triggered = await triggerUntilDrained(served, tails, options);
    const ms = performance.now() - startedAt;
    const bench = process.cpuUsage(benchBefore);
    const cpuAfter = await Promise.all(served.map((fn) => readCpuSeconds(fn.pid)));
    const emulatorAfter = options.emulatorProcessGroup === undefined ? 0 : await readGroupCpuSeconds(options.emulatorProcessGroup);
    const machineAfter = await readMachineCpu();
    const instances = await Promise.all(
      triggered.counts.map(async (counts, index) => ({
        ...counts,
        cpuSeconds: (cpuAfter[index] ?? 0) - (cpuBefore[index] ?? 0),
        peakRssBytes: (await readProcessMemory(served[index]?.pid ?? 0))?.peakRssBytes,
      })),
    );
    const delivered = instances.reduce((sum, instance) => sum + instance.delivered, 0);
    return {
      delivered,
      ms,
      eventsPerSecond: delivered / (ms / 1000),
      drained: triggered.drained,
      instances,
      functionsCpuSeconds: instances.reduce((sum, instance) => sum + instance.cpuSeconds, 0),
      emulatorCpuSeconds: emulatorAfter - emulatorBefore,
      benchCpuSeconds: (bench.user + bench.system) / 1e6,
      machine: {
        busySeconds: machineAfter.busySeconds - machineBefore.busySeconds,
        totalSeconds: machineAfter.totalSeconds - machineBefore.totalSeconds,
      },
      loadAverage: Number(loadAverage.toFixed(2)),
    };
  } finally {
    await Promise.all(served.map((fn) => fn.stop()));
  }
}

/** One deployment's variables: every instance the same, as Cloud Run gives them. */
function deploymentEnv(options: DeploymentDrainOptions): Record<string, string | undefined> {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'production',
    GOOGLE_CLOUD_PROJECT: options.projectId,
    FIRESTORE_EMULATOR_HOST: options.emulatorHost,
    METADATA_SERVER_DETECTION: 'none',
    ROUTER_URL: options.routerUrl,
    OUTBOX_COLLECTION: options.outbox,
    DELIVERY_CONCURRENCY: String(options.deliveryConcurrency),
    SHARD_COUNT: String(options.shardCount),
    ...(options.instances > 1 ? { SHARDS_PER_RUN: String(shardsPerRun(options.shardCount, options.instances)) } : {}),
    ...options.extraEnv,
  };
}

/** The shards one run takes when `instances` share a deployment's `shards`: an even split, rounded up. */
export function shardsPerRun(shards: number, instances: number): number {
  return Math.max(1, Math.ceil(shards / Math.max(1, instances)));
}

type Counts = Omit<InstanceDrain, 'cpuSeconds' | 'peakRssBytes'>;

/** Triggers every instance back to back until one finds the outbox drained, or the time is up. */
async function triggerUntilDrained(
  served: readonly ServedFunction[],
  tails: readonly (readonly string[])[],
  options: DeploymentDrainOptions,
): Promise<{ readonly counts: readonly Counts[]; readonly drained: boolean }> {
  const deadline = Date.now() + options.drainTimeoutMs;
  let drained = false;
  const counts = await Promise.all(
    served.map(async (fn, index): Promise<Counts> => {
      let runs = 0;
      let skippedRuns = 0;
      let failedRuns = 0;
      let delivered = 0;
      let lastError: string | undefined;
      while (!drained && Date.now() < deadline && runs + skippedRuns + failedRuns < MAX_RUNS_PER_INSTANCE) {
        try {
          const { status, answer } = await triggerScheduledRun(fn.url, deadline);
          if (typeof answer.delivered === 'number') delivered += answer.delivered;
          if (status === 200 && answer.skipped !== undefined) {
            skippedRuns += 1;
          } else if (status === 200) {
            runs += 1;
            // Another instance may still hold shards with events: the outbox, not this run, says when it is done.
            if (answer.hasMore === false && (await options.drained())) drained = true;
            continue;
          } else {
            failedRuns += 1;
            lastError = `HTTP ${status}: ${JSON.stringify(answer).slice(0, 300)}`;
          }
        } catch (error) {
          failedRuns += 1;
          lastError = `${error instanceof Error ? error.message : String(error)}; function output: ${(tails[index] ?? []).join(' | ').slice(-600)}`;
        }
        await new Promise((resolve) => setTimeout(resolve, RETRY_PAUSE_MS));
      }
      return { runs, skippedRuns, failedRuns, delivered, lastError };
    }),
  );
  return { counts, drained };
}
