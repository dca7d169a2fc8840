import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FieldValue, type Firestore } from '@google-cloud/firestore';
import { serveFunction, type ServedFunction } from '../build/tools/local/functions-framework-process.js';
import { writeBetweenMarkers } from './doc-markers.js';
import { openEmulatorSession } from './emulator-session.js';
import { describeMachine } from './machine.js';
import { readSourceRevision } from './source-revision.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** The producer commits every this often, as many events as the rate asks for by then. */
const TICK_MS = 50;
/** How often the bench removes delivered events from the emulator (see purgeDelivered). */
const PURGE_EVERY_MS = 2_000;
const SECONDS_PER_MONTH = 30 * 86_400;
/** Targets of the issue: commit → router arrival in follow mode. */
const TARGET_P50_MS = 500;
const TARGET_P99_MS = 2_000;

/** One measurement: a mode at one producer rate. */
interface Cell {
  readonly mode: 'follow' | 'polling';
  readonly eventsPerSecond: number;
  readonly followMs: number;
}

/** What one cell measured. */
interface CellResult extends Cell {
  readonly seconds: number;
  readonly cadenceMs: number;
  readonly committed: number;
  readonly delivered: number;
  /** POSTs beyond the first of an event: 0 means no event was POSTed twice. */
  readonly duplicates: number;
  readonly runsTriggered: number;
  readonly non2xxAnswers: number;
  readonly handOvers: number;
  /** null when that share of the events was never delivered within the measurement. */
  readonly latencyP50Ms: number | null;
  readonly latencyP99Ms: number | null;
  readonly latencyMaxMs: number | null;
  /** Longest time between two consecutive arrivals at the router while the producer was committing. */
  readonly longestPauseMs: number;
  /** Seconds the instances spent in runs (the runs' own durationMs, added up) per second of the measurement. */
  readonly busyInstancesPerSecond: number;
  /** The same over a 30-day month: what request-based billing charges instance time for. */
  readonly instanceSecondsPerMonth: number;
}

interface Settings {
  readonly quick: boolean;
  readonly seconds: number;
  readonly cadenceMs: number;
  readonly followMs: number;
  readonly rates: readonly number[];
}

function settings(env: Readonly<Record<string, string | undefined>>): Settings {
  const quick = env.BENCH_QUICK === '1';
  // With runs every 60 s, a run that follows 75 s is still following when the next one comes: it hands over.
  const base = quick
    ? { quick, seconds: 30, cadenceMs: 10_000, followMs: 15_000, rates: [20, 200] }
    : { quick, seconds: 180, cadenceMs: 60_000, followMs: 75_000, rates: [20, 200] };
  // BENCH_FOLLOW_SECONDS and BENCH_FOLLOW_RATES (comma-separated events/s) narrow a run while investigating.
  const seconds = Number(env.BENCH_FOLLOW_SECONDS ?? base.seconds);
  const rates = env.BENCH_FOLLOW_RATES?.split(',').map(Number) ?? base.rates;
  return { ...base, seconds, rates };
}

/** Runs every cell, writes bench/results/follow.json and the docs table; returns the exit code. */
export async function runFollowBench(env: Readonly<Record<string, string | undefined>> = process.env): Promise<number> {
  const config = settings(env);
  const session = await openEmulatorSession(env);
  const cells: CellResult[] = [];
  try {
    for (const eventsPerSecond of config.rates) {
      for (const mode of ['follow', 'polling'] as const) {
        await session.reset();
        const cell: Cell = { mode, eventsPerSecond, followMs: mode === 'follow' ? config.followMs : 0 };
        console.error(
          `follow-latency: ${mode} at ${eventsPerSecond} events/s for ${config.seconds} s, runs every ${config.cadenceMs / 1000} s`,
        );
        const result = await measure(cell, config, session.firestore, session.host, session.projectId);
        console.error(
          `  delivered ${result.delivered}/${result.committed}, p50 ${shown(result.latencyP50Ms)} ms, p99 ${shown(result.latencyP99Ms)} ms, max ${shown(result.latencyMaxMs)} ms, duplicates ${result.duplicates}, longest pause ${result.longestPauseMs} ms`,
        );
        cells.push(result);
      }
    }
  } finally {
    await session.close();
  }
  const follow = cells.filter((c) => c.mode === 'follow');
  // An event never delivered has no latency: the figure is then null, and not met.
  const worst = (of: (c: CellResult) => number | null): number | null =>
    follow.some((c) => of(c) === null) ? null : Math.max(...follow.map((c) => of(c) ?? 0));
  const p50 = worst((c) => c.latencyP50Ms);
  const p99 = worst((c) => c.latencyP99Ms);
  const output = {
    date: new Date().toISOString(),
    command: `${config.quick ? 'BENCH_QUICK=1 ' : ''}node bench/follow-latency.ts`,
    config,
    machine: describeMachine(),
    source: readSourceRevision(ROOT),
    /** Follow mode's worst cell (of every rate): the figures bench/relay-bench.ts merges into its headline. */
    headline: {
      followLatencyP50Ms: { value: p50, target: TARGET_P50_MS, met: p50 !== null && p50 < TARGET_P50_MS },
      followLatencyP99Ms: { value: p99, target: TARGET_P99_MS, met: p99 !== null && p99 < TARGET_P99_MS },
    },
    cells,
  };
  mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
  writeFileSync(path.join(ROOT, 'bench/results/follow.json'), `${JSON.stringify(output, null, 2)}\n`);
  writeBetweenMarkers(path.join(ROOT, 'docs/follow-mode.md'), 'follow-latency', table(output.date, config, cells));
  console.log(JSON.stringify(output.headline));
  const clean = cells.every((c) => c.duplicates === 0 && c.delivered === c.committed && c.non2xxAnswers === 0);
  return clean ? 0 : 1;
}

async function measure(cell: Cell, config: Settings, db: Firestore, emulatorHost: string, projectId: string): Promise<CellResult> {
  const router = await startArrivalRouter();
  const suffix = `${cell.mode}_${cell.eventsPerSecond}_${Date.now()}`;
  // Its runs and leases go to collections named after the outbox (src/config.ts, outboxCollections).
  const collections = { outbox: `outbox_${suffix}` };
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'production',
    GOOGLE_CLOUD_PROJECT: projectId,
    FIRESTORE_EMULATOR_HOST: emulatorHost,
    METADATA_SERVER_DETECTION: 'none',
    ROUTER_URL: router.url,
    OUTBOX_COLLECTION: collections.outbox,
    FOLLOW_MS: String(cell.followMs),
    LOG_LEVEL: 'WARNING',
  };
  // Two instances, as --max-instances=2 allows: Cloud Run sends a run to a second instance while the first is busy.
  const instances: ServedFunction[] = await Promise.all(
    [0, 1].map(() => serveFunction({ projectRoot: ROOT, target: 'outboundEventHandler', env, onOutput: () => undefined })),
  );
  const answers: Promise<{ status: number; stoppedBy: unknown; durationMs: number }>[] = [];
  let runs = 0;
  const trigger = (): void => {
    const fn = instances[runs % instances.length] as ServedFunction;
    runs += 1;
    answers.push(
      fetch(fn.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
        .then(async (response) => {
          const body = (await response.json()) as { stoppedBy?: unknown; durationMs?: unknown };
          return {
            status: response.status,
            stoppedBy: body.stoppedBy,
            durationMs: typeof body.durationMs === 'number' ? body.durationMs : 0,
          };
        })
        .catch((error: unknown) => ({ status: 0, stoppedBy: String(error), durationMs: 0 })),
    );
  };
  const startedAt = performance.now();
  let producing = { from: 0, to: 0 };
  trigger();
  const schedule = setInterval(trigger, config.cadenceMs);
  const purging = new AbortController();
  const purger = purgeDelivered(db, collections.outbox, purging.signal);
  let committed: Map<string, number>;
  try {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const from = performance.now();
    committed = await produce(db, collections.outbox, cell.eventsPerSecond, config.seconds * 1000);
    producing = { from, to: performance.now() };
    // Polling delivers the last events at the next run; give it one cadence and a margin.
    const until = performance.now() + config.cadenceMs + 30_000;
    while (router.arrivals.size < committed.size && performance.now() < until) await new Promise((resolve) => setTimeout(resolve, 100));
  } finally {
    clearInterval(schedule);
    purging.abort();
    await purger;
    // SIGTERM: a run still following answers within SHUTDOWN_TIMEOUT_MS, as on a scale-in.
    await Promise.all(instances.map((fn) => fn.stop()));
  }
  const wallSeconds = (performance.now() - startedAt) / 1000;
  const answered = await Promise.all(answers);
  const busy = answered.reduce((sum, a) => sum + a.durationMs, 0) / 1000 / wallSeconds;
  const times = [...router.arrivals.values()].filter((t) => t >= producing.from && t <= producing.to + 1_000).sort((a, b) => a - b);
  await router.close();
  const latencies = [...committed].map(([id, at]) => (router.arrivals.get(id) ?? Number.POSITIVE_INFINITY) - at).sort((a, b) => a - b);
  return {
    ...cell,
    seconds: config.seconds,
    cadenceMs: config.cadenceMs,
    committed: committed.size,
    delivered: [...committed.keys()].filter((id) => router.arrivals.has(id)).length,
    duplicates: router.posts() - router.arrivals.size,
    runsTriggered: runs,
    // A run cut off by the bench's own SIGTERM at the end answers too; only a connection error counts as 0.
    non2xxAnswers: answered.filter((a) => a.status < 200 || a.status >= 300).length,
    handOvers: answered.filter((a) => a.stoppedBy === 'handed_over').length,
    latencyP50Ms: round(percentile(latencies, 0.5)),
    latencyP99Ms: round(percentile(latencies, 0.99)),
    latencyMaxMs: round(latencies.at(-1) ?? 0),
    longestPauseMs: Math.round(Math.max(0, ...times.slice(1).map((t, i) => t - (times[i] ?? t)))),
    busyInstancesPerSecond: Number(busy.toFixed(3)),
    instanceSecondsPerMonth: Math.round(busy * SECONDS_PER_MONTH),
  };
}

/**
 * Deletes delivered events every PURGE_EVERY_MS. The emulator has no indexes: it answers every query, and
 * re-evaluates every listener, by scanning the collection, so at 200 events/s the delivered documents of a few
 * minutes (tens of thousands) slow the relay's pending reads below the producer's rate, in either mode (seen in
 * a first run without this). Firestore serves the pending query from an index, whatever the delivered
 * documents; removing them keeps the emulator's collection at the size of the pending set the index would read.
 */
export async function purgeDelivered(db: Firestore, outbox: string, stop: AbortSignal): Promise<void> {
  while (!stop.aborted) {
    await new Promise((resolve) => setTimeout(resolve, PURGE_EVERY_MS));
    for (;;) {
      const delivered = await db.collection(outbox).where('status', '==', 'delivered').select().limit(500).get();
      if (delivered.empty) break;
      const batch = db.batch();
      for (const doc of delivered.docs) batch.delete(doc.ref);
      await batch.commit();
      if (delivered.size < 500 || stop.aborted) break;
    }
  }
}

/** Commits events at a steady rate, TICK_MS apart, as the producer API does (server createdAt, sequence); returns each one's commit start. */
export async function produce(db: Firestore, outbox: string, eventsPerSecond: number, forMs: number): Promise<Map<string, number>> {
  const committed = new Map<string, number>();
  const startedAt = performance.now();
  let next = 0;
  while (performance.now() - startedAt < forMs) {
    const due = Math.floor(((performance.now() - startedAt) / 1000) * eventsPerSecond);
    if (due > next) {
      const batch = db.batch();
      const at = performance.now();
      const ids: string[] = [];
      for (let sequence = 0; next < due; next += 1, sequence += 1) {
        const id = `evt-${String(next).padStart(7, '0')}`;
        ids.push(id);
        batch.create(db.collection(outbox).doc(id), {
          type: 'order.created',
          data: { orderId: next },
          orderingKey: `order-${next % 50}`,
          sequence,
          createdAt: FieldValue.serverTimestamp(),
          status: 'pending',
        });
      }
      await batch.commit();
      for (const id of ids) committed.set(id, at);
    }
    await new Promise((resolve) => setTimeout(resolve, TICK_MS));
  }
  return committed;
}

/** A loopback router answering 200 at once and noting when each event's first POST arrived. */
export async function startArrivalRouter(): Promise<{
  url: string;
  arrivals: Map<string, number>;
  posts(): number;
  close(): Promise<void>;
}> {
  const arrivals = new Map<string, number>();
  let posts = 0;
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    const at = performance.now();
    req.resume();
    req.on('end', () => {
      posts += 1;
      const id = req.headers['ce-id'];
      if (typeof id === 'string' && !arrivals.has(id)) arrivals.set(id, at);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/events`,
    arrivals,
    posts: () => posts,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Nearest rank. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? 0;
}

function round(ms: number): number | null {
  return Number.isFinite(ms) ? Math.round(ms) : null;
}

/** A latency for the table; "not delivered" when the events of that rank never arrived. */
function shown(ms: number | null): string {
  return ms === null ? 'not delivered' : String(ms);
}

function table(date: string, config: Settings, cells: readonly CellResult[]): string {
  const rows = cells.map(
    (c) =>
      `| ${c.mode === 'follow' ? `follow (FOLLOW_MS=${c.followMs})` : 'polling (FOLLOW_MS=0)'} | ${c.eventsPerSecond} | ${c.committed} | ${c.delivered} | ${c.duplicates} | ${c.runsTriggered} | ${c.handOvers} | ${shown(c.latencyP50Ms)} | ${shown(c.latencyP99Ms)} | ${shown(c.latencyMaxMs)} | ${c.longestPauseMs} | ${(c.instanceSecondsPerMonth / 1e6).toFixed(2)} M |`,
  );
  return [
    `Measured ${date.slice(0, 10)} by \`${config.quick ? 'BENCH_QUICK=1 ' : ''}node bench/follow-latency.ts\`: each rate for ${config.seconds} s, runs triggered every ${config.cadenceMs / 1000} s over two instances, the Firestore emulator and a loopback router on one machine (bench/results/follow.json). Latency is from the start of the producer's commit to the event's first POST arriving at the router; the longest pause is the longest time between two arrivals while the producer committed (hand-overs included); instance-seconds are the runs' own durations added up, per 30-day month.`,
    '',
    '| Mode | Events/s | Committed | Delivered | Duplicates | Runs | Hand-overs | p50 ms | p99 ms | max ms | Longest pause ms | Instance-s / month |',
    '| --- | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: |',
    ...rows,
  ].join('\n');
}
