import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseBenchConfig, type BenchScenario } from './bench-config.js';
import type { BenchResult, CpuResult, PeakMemoryResult, ThroughputResult } from './bench-result.js';
import { openEmulatorSession } from './emulator-session.js';
import { describeMachine } from './machine.js';
import { formatReport, reportSections } from './report-table.js';
import { measureCost } from './cost-scenario.js';
import { measureCpu } from './cpu-scenario.js';
import { readDeployProfile } from './deploy-profile.js';
import { mergedHeadline, ownHeadline } from './headline.js';
import { writeBenchSections } from './performance-page.js';
import { measurePeakMemory } from './memory-scenario.js';
import { measureRateCap, RATE_CAPS, RATE_CAP_INSTANCES, RATE_CAP_SHARDS, type RateCapResult } from './rate-cap-scenario.js';
import type { ScenarioContext } from './scenario-context.js';
import { measureShardScaling, type ShardScalingResult } from './shard-scenario.js';
import { writeShardChart } from './shard-chart.js';
import { readSourceRevision } from './source-revision.js';
import { measureThroughput } from './throughput-scenario.js';
import type { StoreCost } from './store-cost.js';
import { judgeTargets } from './targets.js';
import { measureWaitingReads, type WaitingReadsResult } from './waiting-reads-scenario.js';

const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DEFAULT_OUTPUT = path.join(PROJECT_ROOT, 'bench', 'results', 'latest.json');
const PERFORMANCE_PAGE = path.join(PROJECT_ROOT, 'docs', 'performance.md');
const SHARD_CHART = path.join(PROJECT_ROOT, 'docs', 'shards.svg');

/**
 * Runs every measurement in turn on one emulator, prints the tables and writes the JSON result; answers the
 * process exit code (0 even when a target is missed: the result file says so, with the numbers).
 */
export async function runBench(env: Readonly<Record<string, string | undefined>> = process.env): Promise<number> {
  const config = parseBenchConfig(env);
  const projectRoot = config.functionRoot ?? PROJECT_ROOT;
  // Read first, next to the build `npm run bench` has just made: src/ may change while the bench runs.
  const source = readSourceRevision(projectRoot);
  const machine = describeMachine();
  // The functions run with the deploy's NODE_OPTIONS, so the figures are those of the deployed instance.
  const deploy = await readDeployProfile(projectRoot);
  const relayEnv = { ...(deploy.nodeOptions === '' ? {} : { NODE_OPTIONS: deploy.nodeOptions }), ...config.relayEnv };
  const startedAt = performance.now();
  const progress = (line: string): void => {
    const elapsed = ((performance.now() - startedAt) / 1000).toFixed(0).padStart(4);
    process.stderr.write(`[bench ${elapsed} s] ${line}\n`);
  };
  progress(
    `${config.quick ? 'quick run' : 'full run'} on ${machine.cpuModel}, ${machine.cores} cores, load ${machine.loadAverageAtStart.join(' / ')}`,
  );
  progress('starting the Firestore emulator (or using FIRESTORE_EMULATOR_HOST)…');
  const session = await openEmulatorSession(env);
  progress(
    `emulator on ${session.host}${session.owned ? `, started in ${(session.startMs / 1000).toFixed(1)} s` : ' (external, not wiped)'}`,
  );
  const context: ScenarioContext = { config, session, projectRoot, relayEnv, progress };
  let cpu: CpuResult | undefined;
  const throughput: ThroughputResult[] = [];
  let shardScaling: ShardScalingResult | undefined;
  let rateCap: RateCapResult | undefined;
  let storeCost: StoreCost | undefined;
  let waitingReads: WaitingReadsResult | undefined;
  let peakMemory: PeakMemoryResult | undefined;
  const runs = (scenario: BenchScenario): boolean => config.only.length === 0 || config.only.includes(scenario);
  try {
    if (config.cpuRounds > 0 && runs('cpu')) {
      progress(`CPU per delivered event: ${config.cpuRounds} rounds of ${config.events} events, router answering at once`);
      cpu = await measureCpu(context);
    }
    for (const latencyMs of runs('throughput') ? config.latenciesMs : []) {
      progress(`throughput at router latency ${latencyMs} ms`);
      throughput.push(await measureThroughput(context, latencyMs));
    }
    if (runs('store-cost')) {
      progress('Firestore reads and writes per delivered event');
      storeCost = await orSkip(progress, 'Firestore cost', () => measureCost(context));
    }
    if (runs('waiting-reads')) {
      progress('Firestore reads per delivered event with events waiting (backoff, a parked key), runs a minute apart');
      waitingReads = await orSkip(progress, 'reads with events waiting', () => measureWaitingReads(context));
    }
    if (runs('shards') && config.shardCounts.length > 0) {
      progress(
        `one deployment with ${config.shardCounts.join(', ')} shards on ${config.shardInstances.length === 0 ? 'as many' : config.shardInstances.join(', ')} instance(s), router latency ${config.shardLatencyMs} ms, ${config.shardRounds} round(s)`,
      );
      shardScaling = await orSkip(progress, 'shards', () => measureShardScaling(context));
    }
    if (runs('rate-cap')) {
      progress(
        `ROUTER_MAX_RPS ${RATE_CAPS.join(', ')} with ${RATE_CAP_SHARDS} shards on ${RATE_CAP_INSTANCES} instances, ${config.shardRounds} round(s)`,
      );
      rateCap = await orSkip(progress, 'rate cap', () => measureRateCap(context));
    }
    if (config.rssEvents > 0 && runs('memory')) {
      progress(`peak memory with ${config.rssEvents} pending`);
      peakMemory = await orSkip(progress, 'peak memory', () => measurePeakMemory(context));
    }
  } finally {
    await session.close();
  }
  const measured = {
    date: new Date().toISOString(),
    command: `${config.quick ? 'BENCH_QUICK=1 ' : ''}npm run bench`,
    config,
    machine: { ...machine, loadAverageAtEnd: os.loadavg().map((load) => Number(load.toFixed(2))) },
    source,
    deploy,
    emulator: { host: session.host, startedByBench: session.owned, startMs: session.startMs },
    cpu,
    throughput,
    storeCost,
    waitingReads,
    shardScaling,
    rateCap,
    peakMemory,
  };
  const result: BenchResult = {
    headline: await mergedHeadline(ownHeadline(measured), PROJECT_ROOT),
    ...measured,
    targets: judgeTargets(config, machine, cpu, throughput, storeCost, peakMemory),
    durationMs: performance.now() - startedAt,
  };
  const outputFile =
    config.outputFile ??
    (config.only.length === 0 ? DEFAULT_OUTPUT : path.join(PROJECT_ROOT, 'bench', 'results', `only-${config.only.join('-')}.json`));
  await mkdir(path.dirname(outputFile), { recursive: true });
  await writeFile(outputFile, `${JSON.stringify(result, null, 2)}\n`);
  // A quick run's figures are indicative only, and a run against another checkout describes that one: neither
  // goes into this checkout's performance page.
  const writesPage = !config.quick && config.functionRoot === undefined && config.outputFile === undefined;
  if (writesPage) await writeBenchSections(PERFORMANCE_PAGE, reportSections(result), config.only.length === 0 ? undefined : config.only);
  if (writesPage && shardScaling !== undefined) await writeShardChart(shardScaling, SHARD_CHART);
  process.stdout.write(
    `\n${formatReport(result)}\n\nResult written to ${path.relative(process.cwd(), outputFile)}` +
      `${writesPage ? ` and ${path.relative(process.cwd(), PERFORMANCE_PAGE)}` : ''} (${(result.durationMs / 1000).toFixed(0)} s).\n`,
  );
  return 0;
}

/**
 * A measurement that fails (on a loaded machine the emulator can time a run's Firestore calls out) is reported
 * and left out, so the others still reach the result file; its targets then read "not measured".
 */
async function orSkip<T>(progress: (line: string) => void, name: string, measure: () => Promise<T>): Promise<T | undefined> {
  try {
    return await measure();
  } catch (error) {
    progress(`  ${name} FAILED and is left out of this result: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
}
