import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseBenchConfig } from './bench-config.js';
import type { BenchResult, PeakMemoryResult, ShardResult, ThroughputResult } from './bench-result.js';
import { openEmulatorSession } from './emulator-session.js';
import { describeMachine } from './machine.js';
import { formatReport } from './report-table.js';
import { measureCost } from './cost-scenario.js';
import { measurePeakMemory } from './memory-scenario.js';
import type { ScenarioContext } from './scenario-context.js';
import { measureShards } from './shard-scenario.js';
import { readSourceRevision } from './source-revision.js';
import { measureThroughput } from './throughput-scenario.js';
import type { StoreCost } from './store-cost.js';
import { judgeTargets } from './targets.js';

const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DEFAULT_OUTPUT = path.join(PROJECT_ROOT, 'bench', 'results', 'latest.json');

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
  const context: ScenarioContext = { config, session, projectRoot, progress };
  const throughput: ThroughputResult[] = [];
  const shards: ShardResult[] = [];
  let storeCost: StoreCost | undefined;
  let peakMemory: PeakMemoryResult | undefined;
  try {
    for (const latencyMs of config.latenciesMs) {
      progress(`throughput at router latency ${latencyMs} ms`);
      throughput.push(await measureThroughput(context, latencyMs));
    }
    progress('Firestore reads and writes per delivered event');
    storeCost = await measureCost(context);
    for (const shardCount of config.shardCounts) {
      progress(`${shardCount} shard(s) at router latency ${config.shardLatencyMs} ms`);
      shards.push(await measureShards(context, shardCount, shards.find((result) => result.shardCount === 1)?.drain.eventsPerSecond));
    }
    if (config.rssEvents > 0) {
      progress(`peak memory with ${config.rssEvents} pending`);
      peakMemory = await measurePeakMemory(context);
    }
  } finally {
    await session.close();
  }
  const result: BenchResult = {
    date: new Date().toISOString(),
    command: `${config.quick ? 'BENCH_QUICK=1 ' : ''}npm run bench`,
    config,
    machine: { ...machine, loadAverageAtEnd: os.loadavg().map((load) => Number(load.toFixed(2))) },
    source,
    emulator: { host: session.host, startedByBench: session.owned, startMs: session.startMs },
    throughput,
    storeCost,
    shards,
    peakMemory,
    targets: judgeTargets(config, machine, throughput, storeCost, peakMemory),
    durationMs: performance.now() - startedAt,
  };
  const outputFile = config.outputFile ?? DEFAULT_OUTPUT;
  await mkdir(path.dirname(outputFile), { recursive: true });
  await writeFile(outputFile, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(
    `\n${formatReport(result)}\n\nResult written to ${path.relative(process.cwd(), outputFile)} (${(result.durationMs / 1000).toFixed(0)} s).\n`,
  );
  return 0;
}
