import { randomBytes } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { serveFunction, type ServedFunction } from '../build/tools/local/functions-framework-process.js';
import type { ProbeSample } from './function-probe.js';
import { readCpuSeconds, readGroupCpuSeconds, readProcessMemory } from './proc-status.js';

const PROBE = new URL('./function-probe.ts', import.meta.url);

/** Where the served functions read, write and POST; one value of each for every shard. */
export interface FunctionDrainOptions {
  readonly projectRoot: string;
  readonly emulatorHost: string;
  readonly projectId: string;
  readonly routerUrl: string;
  readonly collections: { readonly outbox: string };
  readonly deliveryConcurrency: number;
  readonly shardCount: number;
  readonly drainTimeoutMs: number;
  /** The emulator's process group, to report its CPU time during the drain; undefined for an external emulator. */
  readonly emulatorProcessGroup: number | undefined;
  /** Runs per shard at most; the drain stops earlier once a run answers hasMore: false. */
  readonly maxRuns?: number;
  /** Extra variables for the functions, applied last (BENCH_RELAY_ENV). */
  readonly extraEnv: Readonly<Record<string, string>>;
  /** The module that registers the function, relative to the project root; package.json `main` by default. */
  readonly source?: string;
  /** Preload bench/function-probe.ts into each function, to report the bytes it allocated during the drain. */
  readonly probeAllocation?: boolean;
  /**
   * Drain once, unmeasured, in the same function processes before the measured drain: `seedWarmUp` seeds what that
   * drain delivers and `seedMeasured` then what the measured one does. The figures are then those of a warm
   * instance, as every run an instance serves after its first is; without it, of a process that just started.
   */
  readonly warmUp?: { readonly seedWarmUp: () => Promise<void>; readonly seedMeasured: () => Promise<void> };
}

/** What one shard's function did while the outbox drained. */
export interface ShardDrain {
  readonly shardIndex: number;
  readonly runs: number;
  readonly delivered: number;
  readonly fetched: number;
  /** Runs answered with something other than 200, or not answered. */
  readonly failedRuns: number;
  /** Each run's own durationMs as its summary reports it, so the bench can tell run time from trigger overhead. */
  readonly runDurationsMs: readonly number[];
  /** From the first trigger to the answer of the run that found nothing more. */
  readonly ms: number;
  /** Whether the last run answered hasMore: false within the bounds. */
  readonly drained: boolean;
  /** VmHWM of the Functions Framework process after the drain: its peak resident set. */
  readonly peakRssBytes: number | undefined;
  readonly coldStartMs: number;
  /** CPU seconds the function process used during the drain. */
  readonly cpuSeconds: number;
  /** Bytes the function allocated on the V8 heap during the drain; undefined without probeAllocation. */
  readonly allocatedBytes: number | undefined;
  /** Garbage collections during the drain, and the main-thread time they took; undefined without probeAllocation. */
  readonly collections: number | undefined;
  readonly gcMs: number | undefined;
  readonly lastError: string | undefined;
}

/** Where the machine's CPU time went during a drain: a busy core shows up as about 1 s per second of wall time. */
export interface DrainCpu {
  readonly wallSeconds: number;
  /** All function processes together. */
  readonly functionsSeconds: number;
  /** The emulator (gcloud wrapper and java); 0 when it was not started by the bench. */
  readonly emulatorSeconds: number;
  /** This process: the router, the triggers and the emulator client. */
  readonly benchSeconds: number;
}

/** The aggregate over every shard, timed from the first trigger to the last answer. */
export interface DrainResult {
  readonly delivered: number;
  /** performance.now() at the first trigger, to line the drain up with what the router saw. */
  readonly startedAt: number;
  readonly ms: number;
  readonly eventsPerSecond: number;
  readonly shards: readonly ShardDrain[];
  readonly cpu: DrainCpu;
}

/** Bound on runs per shard, so a relay that never reports hasMore: false cannot loop forever. */
const MAX_RUNS_PER_SHARD = 200;
/** Pause before triggering again after a failed or skipped run. */
const RETRY_PAUSE_MS = 200;
const OUTPUT_TAIL_LINES = 20;

/**
 * Serves `outboundEventHandler` with the Functions Framework in one child process per shard (SHARD_INDEX
 * 0..N-1, each with its own lease), triggers each like Cloud Scheduler until its shard is drained, and
 * reports delivered events per second over the whole drain.
 */
export async function drainWithFunctions(options: FunctionDrainOptions): Promise<DrainResult> {
  const tails: string[][] = [];
  const served: ServedFunction[] = [];
  const probeFiles = Array.from({ length: options.shardCount }, (_unused, shardIndex) =>
    options.probeAllocation === true
      ? path.join(os.tmpdir(), `bench-probe-${process.pid}-${randomBytes(4).toString('hex')}-${shardIndex}.jsonl`)
      : undefined,
  );
  const coldStartMs: number[] = [];
  try {
    await Promise.all(
      Array.from({ length: options.shardCount }, async (_unused, shardIndex) => {
        const tail: string[] = [];
        tails[shardIndex] = tail;
        const startedAt = performance.now();
        served[shardIndex] = await serveFunction({
          projectRoot: options.projectRoot,
          target: 'outboundEventHandler',
          ...(options.source === undefined ? {} : { source: options.source }),
          env: functionEnv(options, shardIndex, probeFiles[shardIndex]),
          onOutput: (line) => {
            tail.push(line);
            if (tail.length > OUTPUT_TAIL_LINES) tail.shift();
          },
        });
        coldStartMs[shardIndex] = performance.now() - startedAt;
      }),
    );
    if (options.warmUp !== undefined) {
      await options.warmUp.seedWarmUp();
      const deadline = Date.now() + options.drainTimeoutMs;
      await Promise.all(
        served.map((fn, shardIndex) =>
          drainShard(fn, {
            shardIndex,
            deadline,
            maxRuns: options.maxRuns ?? MAX_RUNS_PER_SHARD,
            coldStartMs: 0,
            tail: [],
            probeFile: undefined,
          }),
        ),
      );
      await options.warmUp.seedMeasured();
    }
    const emulatorCpuBefore = options.emulatorProcessGroup === undefined ? 0 : await readGroupCpuSeconds(options.emulatorProcessGroup);
    const benchCpuBefore = process.cpuUsage();
    const startedAt = performance.now();
    const deadline = Date.now() + options.drainTimeoutMs;
    const shards = await Promise.all(
      served.map((fn, shardIndex) =>
        drainShard(fn, {
          shardIndex,
          deadline,
          maxRuns: options.maxRuns ?? MAX_RUNS_PER_SHARD,
          coldStartMs: coldStartMs[shardIndex] ?? 0,
          tail: tails[shardIndex] ?? [],
          probeFile: probeFiles[shardIndex],
        }),
      ),
    );
    const ms = performance.now() - startedAt;
    const benchCpu = process.cpuUsage(benchCpuBefore);
    const emulatorCpuAfter = options.emulatorProcessGroup === undefined ? 0 : await readGroupCpuSeconds(options.emulatorProcessGroup);
    const delivered = shards.reduce((sum, shard) => sum + shard.delivered, 0);
    const cpu: DrainCpu = {
      wallSeconds: ms / 1000,
      functionsSeconds: shards.reduce((sum, shard) => sum + shard.cpuSeconds, 0),
      emulatorSeconds: emulatorCpuAfter - emulatorCpuBefore,
      benchSeconds: (benchCpu.user + benchCpu.system) / 1e6,
    };
    return { delivered, startedAt, ms, eventsPerSecond: delivered / (ms / 1000), shards, cpu };
  } finally {
    await Promise.all(served.map((fn) => fn.stop()));
    await Promise.all(probeFiles.flatMap((file) => (file === undefined ? [] : [rm(file, { force: true })])));
  }
}

function functionEnv(options: FunctionDrainOptions, shardIndex: number, probeFile: string | undefined): Record<string, string | undefined> {
  const nodeOptions = options.extraEnv.NODE_OPTIONS ?? '';
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'production',
    GOOGLE_CLOUD_PROJECT: options.projectId,
    FIRESTORE_EMULATOR_HOST: options.emulatorHost,
    METADATA_SERVER_DETECTION: 'none',
    ROUTER_URL: options.routerUrl,
    OUTBOX_COLLECTION: options.collections.outbox,
    DELIVERY_CONCURRENCY: String(options.deliveryConcurrency),
    SHARD_COUNT: String(options.shardCount),
    SHARD_INDEX: String(shardIndex),
    ...options.extraEnv,
    ...(probeFile === undefined ? {} : { BENCH_PROBE_FILE: probeFile, NODE_OPTIONS: `--import ${PROBE.href} ${nodeOptions}`.trim() }),
  };
}

/** Summary fields of a run's answer that the bench adds up. */
export interface RunAnswer {
  readonly delivered?: unknown;
  readonly fetched?: unknown;
  readonly durationMs?: unknown;
  readonly hasMore?: unknown;
  readonly skipped?: unknown;
}

/** One run triggered as Cloud Scheduler does (its user agent, an empty JSON body), bounded by `deadline` (epoch ms). */
export async function triggerScheduledRun(url: string, deadline: number): Promise<{ readonly status: number; readonly answer: RunAnswer }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'user-agent': 'Google-Cloud-Scheduler', 'content-type': 'application/json' },
    body: '{}',
    signal: AbortSignal.timeout(Math.max(1, deadline - Date.now())),
  });
  return { status: response.status, answer: (await response.json()) as RunAnswer };
}

async function drainShard(
  fn: ServedFunction,
  bounds: {
    readonly shardIndex: number;
    readonly deadline: number;
    readonly maxRuns: number;
    readonly coldStartMs: number;
    readonly tail: readonly string[];
    readonly probeFile: string | undefined;
  },
): Promise<ShardDrain> {
  const { shardIndex, deadline, coldStartMs, tail, probeFile } = bounds;
  const probeBefore = probeFile === undefined ? undefined : await sampleProbe(fn.pid, probeFile, 1);
  const startedAt = performance.now();
  const cpuBefore = await readCpuSeconds(fn.pid);
  let runs = 0;
  let delivered = 0;
  let fetched = 0;
  let failedRuns = 0;
  const runDurationsMs: number[] = [];
  let drained = false;
  let lastError: string | undefined;
  while (!drained && runs < bounds.maxRuns && Date.now() < deadline) {
    runs += 1;
    try {
      const { status, answer } = await triggerScheduledRun(fn.url, deadline);
      if (typeof answer.delivered === 'number') delivered += answer.delivered;
      if (typeof answer.fetched === 'number') fetched += answer.fetched;
      if (typeof answer.durationMs === 'number') runDurationsMs.push(answer.durationMs);
      if (status === 200 && answer.skipped === undefined) {
        drained = answer.hasMore === false;
        continue;
      }
      failedRuns += 1;
      lastError = `HTTP ${status}: ${JSON.stringify(answer).slice(0, 300)}`;
    } catch (error) {
      failedRuns += 1;
      lastError = `${error instanceof Error ? error.message : String(error)}; function output: ${tail.join(' | ').slice(-600)}`;
    }
    await new Promise((resolve) => setTimeout(resolve, RETRY_PAUSE_MS));
  }
  const ms = performance.now() - startedAt;
  const cpuSeconds = (await readCpuSeconds(fn.pid)) - cpuBefore;
  const probeAfter = probeFile === undefined ? undefined : await sampleProbe(fn.pid, probeFile, 2);
  const memory = await readProcessMemory(fn.pid);
  return {
    shardIndex,
    runs,
    delivered,
    fetched,
    failedRuns,
    runDurationsMs,
    ms,
    drained,
    peakRssBytes: memory?.peakRssBytes,
    coldStartMs,
    cpuSeconds,
    allocatedBytes:
      probeBefore === undefined || probeAfter === undefined ? undefined : probeAfter.allocatedBytes - probeBefore.allocatedBytes,
    collections: probeBefore === undefined || probeAfter === undefined ? undefined : probeAfter.collections - probeBefore.collections,
    gcMs: probeBefore === undefined || probeAfter === undefined ? undefined : probeAfter.gcMs - probeBefore.gcMs,
    lastError,
  };
}

/** Asks the probe in process `pid` for sample number `seq` (SIGUSR2) and waits until it is written. */
async function sampleProbe(pid: number, file: string, seq: number): Promise<ProbeSample | undefined> {
  process.kill(pid, 'SIGUSR2');
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const text = await readFile(file, 'utf8').catch(() => '');
    const sample = text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as ProbeSample)
      .find((candidate) => candidate.seq === seq);
    if (sample !== undefined) return sample;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return undefined;
}
