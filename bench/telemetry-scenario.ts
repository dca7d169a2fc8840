import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseBenchConfig } from './bench-config.js';
import { openEmulatorSession, type EmulatorSession } from './emulator-session.js';
import { drainWithFunctions } from './function-drain.js';
import { readDeployProfile } from './deploy-profile.js';
import { describeMachine } from './machine.js';
import { startOtlpSink, type OtlpSink } from './otlp-sink.js';
import { collectionsFor, functionsFor, withRouter, type ScenarioContext } from './scenario-context.js';
import { countPending, seedPending } from './seed-outbox.js';
import { readSourceRevision } from './source-revision.js';

const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUTPUT = path.join(PROJECT_ROOT, 'bench', 'results', 'telemetry.json');
const DOC = path.join(PROJECT_ROOT, 'docs', 'observability.md');
const MARKERS = ['<!-- bench:telemetry-cost -->', '<!-- /bench:telemetry-cost -->'] as const;
/** "Unchanged" with telemetry off: within 5 % of the build before it, the noise of CPU time on a shared machine. */
const OFF_TOLERANCE = 1.05;
const DEFAULT_ROUNDS = 3;

/** The builds and settings measured; each round drains once with each, in this order. */
type Variant = 'baseline' | 'off' | 'on';

/** One drain: the function's CPU per delivered event, and what the sink received while it ran. */
interface Drain {
  readonly variant: Variant;
  readonly round: number;
  readonly delivered: number;
  readonly pendingAfter: number;
  readonly runs: number;
  readonly functionCpuSeconds: number;
  readonly cpuMsPerEvent: number;
  readonly wallSeconds: number;
  readonly otlp: ReturnType<OtlpSink['counts']> | undefined;
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? Number.NaN) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
};
const round3 = (value: number): number => Number(value.toFixed(4));

/** Interleaved drains after a warm-up round, medians per variant, the headline against the baseline build. */
export async function runTelemetryBench(env: Readonly<Record<string, string | undefined>> = process.env): Promise<number> {
  const config = parseBenchConfig(env);
  const rounds = Number(env.BENCH_TELEMETRY_ROUNDS ?? DEFAULT_ROUNDS);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 20) throw new Error('BENCH_TELEMETRY_ROUNDS must be an integer from 1 to 20');
  const baselineRoot = config.functionRoot;
  const variants: Variant[] = baselineRoot === undefined ? ['off', 'on'] : ['baseline', 'off', 'on'];
  const machine = describeMachine();
  const startedAt = performance.now();
  const progress = (line: string): void => {
    process.stderr.write(`[telemetry bench ${((performance.now() - startedAt) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
  };
  progress(`${config.events} events per drain, ${rounds} round(s) after a warm-up, variants ${variants.join(', ')}`);
  const session = await openEmulatorSession(env);
  const sink = await startOtlpSink();
  const drains: Drain[] = [];
  try {
    for (let round = 0; round <= rounds; round += 1) {
      for (const variant of variants) {
        const drain = await drainOnce(session, sink, {
          config,
          variant,
          round,
          root: variant === 'baseline' ? (baselineRoot ?? PROJECT_ROOT) : PROJECT_ROOT,
          progress,
        });
        progress(
          `round ${round === 0 ? 'warm-up' : round} ${variant.padEnd(8)} ${drain.delivered} delivered in ${drain.runs} run(s), ${drain.cpuMsPerEvent.toFixed(4)} CPU ms/event${drain.otlp === undefined ? '' : `, ${drain.otlp.traceExports} trace and ${drain.otlp.metricExports} metric exports`}`,
        );
        if (round > 0) drains.push(drain);
      }
    }
  } finally {
    await sink.close();
    await session.close();
  }
  const medianOf = (variant: Variant): number | undefined => {
    const values = drains.filter((d) => d.variant === variant).map((d) => d.cpuMsPerEvent);
    return values.length === 0 ? undefined : round3(median(values));
  };
  const baseline = medianOf('baseline');
  const off = medianOf('off') ?? Number.NaN;
  const on = medianOf('on') ?? Number.NaN;
  const target = baseline === undefined ? null : round3(baseline * OFF_TOLERANCE);
  const result = {
    date: new Date().toISOString(),
    command: 'npm run build && node bench/telemetry-cost.ts',
    headline: {
      telemetryOffCpuMsPerEvent: { value: off, target, met: target === null ? null : off <= target },
      telemetryOnCpuMsPerEvent: { value: on, target: null, met: null },
      baselineCpuMsPerEvent: baseline ?? null,
      telemetryOnCostPercent: round3(((on - off) / off) * 100),
      telemetryOffVersusBaselinePercent: baseline === undefined ? null : round3(((off - baseline) / baseline) * 100),
    },
    settings: { events: config.events, concurrency: config.concurrency, rounds, routerLatencyMs: 0, relayEnv: config.relayEnv },
    machine: { ...machine, loadAverageAtEnd: os.loadavg().map((load) => Number(load.toFixed(2))) },
    source: readSourceRevision(PROJECT_ROOT),
    baseline: baselineRoot === undefined ? null : { root: baselineRoot, source: readSourceRevision(baselineRoot) },
    drains,
    durationMs: Math.round(performance.now() - startedAt),
  };
  await mkdir(path.dirname(OUTPUT), { recursive: true });
  await writeFile(OUTPUT, `${JSON.stringify(result, null, 2)}\n`);
  await writeTable(
    result.headline,
    result.settings,
    drains,
    `${machine.cpuModel} (${machine.cores} cores, load ${machine.loadAverageAtStart.join(' / ')} at the start)`,
  );
  process.stdout.write(`${JSON.stringify(result.headline, null, 2)}\nResult written to ${path.relative(process.cwd(), OUTPUT)}\n`);
  return 0;
}

async function drainOnce(
  session: EmulatorSession,
  sink: OtlpSink,
  what: { config: ReturnType<typeof parseBenchConfig>; variant: Variant; round: number; root: string; progress: (line: string) => void },
): Promise<Drain> {
  const { config, variant, round } = what;
  await session.reset();
  const collections = collectionsFor(`telemetry_${variant}`);
  await seedPending(session.firestore, collections.outbox, config.events, { shardCount: 1, parallelCommits: config.seedParallelCommits });
  const before = sink.counts();
  // Every variant runs with the deploy's NODE_OPTIONS, as the main bench does.
  const deploy = await readDeployProfile(what.root);
  const relayEnv = { ...(deploy.nodeOptions === '' ? {} : { NODE_OPTIONS: deploy.nodeOptions }), ...config.relayEnv };
  const context: ScenarioContext = { config, session, projectRoot: what.root, relayEnv, progress: what.progress };
  const extraEnv = variant === 'on' ? { ...relayEnv, OTEL_EXPORTER_OTLP_ENDPOINT: sink.url } : relayEnv;
  const drain = await withRouter(0, (router) => drainWithFunctions(functionsFor(context, collections, router.url, { extraEnv })));
  const after = sink.counts();
  const pendingAfter = await countPending(session.firestore, collections.outbox);
  return {
    variant,
    round,
    delivered: drain.delivered,
    pendingAfter,
    runs: drain.shards.reduce((sum, shard) => sum + shard.runs, 0),
    functionCpuSeconds: round3(drain.cpu.functionsSeconds),
    cpuMsPerEvent: round3((drain.cpu.functionsSeconds * 1000) / Math.max(1, drain.delivered)),
    wallSeconds: round3(drain.cpu.wallSeconds),
    otlp:
      variant === 'on'
        ? {
            traceExports: after.traceExports - before.traceExports,
            metricExports: after.metricExports - before.metricExports,
            bytes: after.bytes - before.bytes,
          }
        : undefined,
  };
}

async function writeTable(
  headline: {
    telemetryOffCpuMsPerEvent: { value: number; target: number | null; met: boolean | null };
    telemetryOnCpuMsPerEvent: { value: number };
    baselineCpuMsPerEvent: number | null;
    telemetryOnCostPercent: number;
  },
  settings: { events: number; concurrency: number; rounds: number },
  drains: readonly Drain[],
  machine: string,
): Promise<void> {
  const cell = (variant: Variant): string =>
    drains
      .filter((d) => d.variant === variant)
      .map((d) => d.cpuMsPerEvent.toFixed(4))
      .join(', ');
  const rows = [
    '| Build                                  | CPU ms per delivered event (median) | Drains                     | Target                     |',
    '| -------------------------------------- | ----------------------------------- | -------------------------- | -------------------------- |',
    ...(headline.baselineCpuMsPerEvent === null
      ? []
      : [`| before telemetry (baseline build) | ${headline.baselineCpuMsPerEvent.toFixed(4)} | ${cell('baseline')} | — |`]),
    `| telemetry off | ${headline.telemetryOffCpuMsPerEvent.value.toFixed(4)} | ${cell('off')} | ${headline.telemetryOffCpuMsPerEvent.target === null ? '—' : `≤ ${headline.telemetryOffCpuMsPerEvent.target.toFixed(4)} (baseline × ${OFF_TOLERANCE}): ${headline.telemetryOffCpuMsPerEvent.met === true ? 'met' : 'missed'}`} |`,
    `| telemetry on (OTLP to a loopback sink) | ${headline.telemetryOnCpuMsPerEvent.value.toFixed(4)} | ${cell('on')} | reported: ${headline.telemetryOnCostPercent >= 0 ? '+' : ''}${headline.telemetryOnCostPercent.toFixed(1)} % against off |`,
  ];
  const table = [
    `Function CPU per delivered event, drains of ${settings.events} events at router latency 0 ms, DELIVERY_CONCURRENCY ${settings.concurrency}, ${settings.rounds} interleaved round(s) after a warm-up, on ${machine}, ${new Date().toISOString().slice(0, 10)}:`,
    '',
    ...rows,
  ].join('\n');
  const doc = await readFile(DOC, 'utf8');
  const [open, close] = MARKERS;
  const start = doc.indexOf(open);
  const end = doc.indexOf(close);
  if (start === -1 || end === -1) throw new Error(`docs/observability.md lacks the ${open} … ${close} markers`);
  await writeFile(DOC, `${doc.slice(0, start + open.length)}\n\n${table}\n\n${doc.slice(end)}`);
}
