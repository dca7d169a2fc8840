import { randomBytes } from 'node:crypto';
import type { BenchConfig } from './bench-config.js';
import { startDelayRouter, type DelayRouter } from './delay-router.js';
import type { EmulatorSession } from './emulator-session.js';
import type { DrainCpu, FunctionDrainOptions } from './function-drain.js';

/** What every measurement needs: the settings, the emulator, where the project is, and a progress line printer. */
export interface ScenarioContext {
  readonly config: BenchConfig;
  readonly session: EmulatorSession;
  readonly projectRoot: string;
  /** What every served function gets: the deploy's NODE_OPTIONS (cloudbuild.yaml), then BENCH_RELAY_ENV. */
  readonly relayEnv: Readonly<Record<string, string>>;
  readonly progress: (line: string) => void;
}

/** Names of one measurement's collections: its outbox, after which its runs, leases and parked keys are named. */
export interface BenchCollections {
  readonly outbox: string;
}

/** Fresh collection names, so no measurement sees another's documents even on a shared emulator. */
export function collectionsFor(label: string): BenchCollections {
  const suffix = `${label}_${randomBytes(4).toString('hex')}`;
  return { outbox: `bench_outbox_${suffix}` };
}

/** Runs `use` with a router of the given latency, and always closes the router afterwards. */
export async function withRouter<T>(latencyMs: number, use: (router: DelayRouter) => Promise<T>): Promise<T> {
  const router = await startDelayRouter(latencyMs);
  try {
    return await use(router);
  } finally {
    await router.close();
  }
}

/** The served functions' settings for one measurement: the bench's defaults, then `overrides`. */
export function functionsFor(
  context: ScenarioContext,
  collections: BenchCollections,
  routerUrl: string,
  overrides: Partial<Pick<FunctionDrainOptions, 'shardCount' | 'maxRuns' | 'extraEnv' | 'probeAllocation' | 'source'>> = {},
): FunctionDrainOptions {
  const { config, session } = context;
  return {
    projectRoot: context.projectRoot,
    emulatorHost: session.host,
    projectId: session.projectId,
    routerUrl,
    collections,
    deliveryConcurrency: config.concurrency,
    shardCount: 1,
    drainTimeoutMs: config.drainTimeoutMs,
    emulatorProcessGroup: session.processGroup,
    extraEnv: context.relayEnv,
    ...overrides,
  };
}

/** Milliseconds as seconds for progress lines. */
export const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** Where a drain's CPU time went, for progress lines. */
export const cpuLine = (cpu: DrainCpu): string =>
  `CPU s: function ${cpu.functionsSeconds.toFixed(1)}, emulator ${cpu.emulatorSeconds.toFixed(1)}, bench ${cpu.benchSeconds.toFixed(1)} over ${cpu.wallSeconds.toFixed(1)} s`;
