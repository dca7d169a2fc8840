import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { http as registerFunction } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import type { Firestore } from '@google-cloud/firestore';
import { createFirestore } from '../dist/adapters/firestore-client.js';
import { MAX_WRITES_PER_COMMIT } from '../dist/adapters/firestore-outbox-store.js';
import { createOutboundEventHandler } from '../dist/function/outbound-event-handler.js';
import { startTriggerEmulatorProcess, type TriggerEmulatorProcess } from '../build/tools/local/trigger-emulator.js';
import { LeaseCounter } from './counting-lease.js';
import { CountingOutboxStore } from './counting-store.js';
import { writeBetweenMarkers } from './doc-markers.js';
import { percentile, produce, purgeDelivered, startArrivalRouter } from './follow-scenario.js';
import { describeMachine } from './machine.js';
import { monthlyCost, PRICES, type InstanceShape, type MonthlyCost } from './push-cost.js';
import { readSourceRevision } from './source-revision.js';
import { lineChartSvg, type ChartSpec } from './svg-chart.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Ordering keys the producer spreads its events over (follow-scenario.ts's produce). */
const KEYS = 50;

/** How events reach the router: a kick per commit, a run following commits, or the next scheduled run. */
export type PushBenchMode = 'push' | 'follow' | 'polling';

/** What each mode is deployed with (cloudbuild.yaml): push takes concurrent kicks, which needs one vCPU. */
const SHAPES: Readonly<Record<PushBenchMode, InstanceShape>> = {
  push: { vcpu: 1, memoryGib: 0.25 },
  follow: { vcpu: 0.167, memoryGib: 0.25 },
  polling: { vcpu: 0.167, memoryGib: 0.25 },
};

interface Settings {
  readonly quick: boolean;
  /** How long the producer commits, per cell. */
  readonly seconds: number;
  /** Cloud Scheduler's interval; a run starts only once the previous one answered. */
  readonly cadenceMs: number;
  readonly followMs: number;
  readonly pushLingerMs: number;
  readonly rates: readonly number[];
  readonly modes: readonly PushBenchMode[];
}

function settings(env: Readonly<Record<string, string | undefined>>): Settings {
  const quick = env.BENCH_QUICK === '1';
  const base = quick ? { seconds: 20, cadenceMs: 10_000, followMs: 12_500 } : { seconds: 90, cadenceMs: 60_000, followMs: 75_000 };
  return {
    quick,
    ...base,
    seconds: Number(env.BENCH_PUSH_SECONDS ?? base.seconds),
    pushLingerMs: 1_000,
    rates: env.BENCH_PUSH_RATES?.split(',').map(Number) ?? [1, 20, 200],
    // Push last at each rate: the emulator fires kicks one at a time, and a backlog left at 200 events/s would
    // otherwise reach the next cells' functions.
    modes: (env.BENCH_PUSH_MODES?.split(',') as PushBenchMode[] | undefined) ?? ['follow', 'polling', 'push'],
  };
}

/** How the kicks of a push cell were answered (kick-answer.ts). */
interface KickAnswers {
  folded: number;
  notPending: number;
  wokeHolder: number;
  ran: number;
  other: number;
}

/** One mode at one rate. */
export interface PushCell {
  readonly mode: PushBenchMode;
  readonly eventsPerSecond: number;
  readonly committed: number;
  readonly delivered: number;
  readonly lost: number;
  /** POSTs beyond the first of an event. */
  readonly duplicates: number;
  /** Events of a key that reached the router before an event committed earlier on the same key. */
  readonly outOfOrder: number;
  readonly latencyP50Ms: number | null;
  readonly latencyP99Ms: number | null;
  readonly latencyMaxMs: number | null;
  /** The latency distribution, as [ms, percent of events delivered within it] for the chart. */
  readonly cdf: ReadonlyArray<readonly [number, number]>;
  readonly scheduledRuns: number;
  readonly kicks: number;
  readonly kickAnswers: KickAnswers;
  readonly non2xxAnswers: number;
  readonly measuredSeconds: number;
  readonly busySeconds: number;
  readonly firestoreReads: number;
  readonly firestoreWrites: number;
  readonly readsPerEvent: number;
  readonly writesPerEvent: number;
  /** Firestore operations of the kicks themselves (the read of the kicked event), per kick. */
  readonly readsPerKick: number;
  readonly monthly: MonthlyCost;
}

/** Runs every cell on one trigger emulator, writes bench/results/push.json, the docs table and the charts. */
export async function runPushBench(env: Readonly<Record<string, string | undefined>> = process.env): Promise<number> {
  const config = settings(env);
  const machine = describeMachine();
  const forwarder = await startKickForwarder();
  const emulator = await startTriggerEmulatorProcess(forwarder.host, 'demo-push-bench');
  // The Firestore client prefers FIRESTORE_EMULATOR_HOST of the process to the host it is given.
  process.env.FIRESTORE_EMULATOR_HOST = emulator.host;
  const db = createFirestore({ projectId: emulator.project, firestoreEmulatorHost: emulator.host });
  const cells: PushCell[] = [];
  try {
    for (const eventsPerSecond of config.rates) {
      for (const mode of config.modes) {
        process.stderr.write(
          `push bench: ${mode} at ${eventsPerSecond} events/s for ${config.seconds} s (load ${os.loadavg()[0]?.toFixed(2)})\n`,
        );
        const cell = await measureCell(mode, eventsPerSecond, config, { emulator, db, forwarder });
        process.stderr.write(
          `  delivered ${cell.delivered}/${cell.committed}, p50 ${cell.latencyP50Ms} ms, p99 ${cell.latencyP99Ms} ms, duplicates ${cell.duplicates}, out of order ${cell.outOfOrder}, reads/event ${cell.readsPerEvent}, writes/event ${cell.writesPerEvent}, kicks ${cell.kicks} ${JSON.stringify(cell.kickAnswers)}\n`,
        );
        cells.push(cell);
      }
    }
  } finally {
    await db.terminate();
    await emulator.stop();
    await forwarder.close();
  }
  const output = {
    date: new Date().toISOString(),
    command: `${config.quick ? 'BENCH_QUICK=1 ' : ''}node bench/push-latency.ts`,
    config,
    machine: { ...machine, loadAverageAtEnd: os.loadavg().map((load) => Number(load.toFixed(2))) },
    source: readSourceRevision(ROOT),
    prices: PRICES,
    shapes: SHAPES,
    cells,
  };
  mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
  // A quick or narrowed run (BENCH_PUSH_RATES, BENCH_PUSH_MODES, BENCH_PUSH_SECONDS) is for investigating: its
  // figures go to a file of their own, never into the docs.
  const partial =
    config.quick || env.BENCH_PUSH_RATES !== undefined || env.BENCH_PUSH_MODES !== undefined || env.BENCH_PUSH_SECONDS !== undefined;
  const resultFile = partial ? 'bench/results/push-partial.json' : 'bench/results/push.json';
  writeFileSync(path.join(ROOT, resultFile), `${JSON.stringify(output, null, 2)}\n`);
  if (!partial) {
    for (const rate of config.rates)
      writeFileSync(path.join(ROOT, `docs/push-latency-${rate}.svg`), lineChartSvg(latencyChart(cells, rate)));
    writeBetweenMarkers(
      path.join(ROOT, 'docs/push.md'),
      'push-latency',
      pushTables(output.date, config, machine.loadAverageAtStart, cells),
    );
  }
  process.stderr.write(`push bench: wrote ${resultFile}\n`);
  const clean = cells.every((c) => c.lost === 0 && c.duplicates === 0 && c.outOfOrder === 0);
  return clean ? 0 : 1;
}

interface Shared {
  readonly emulator: TriggerEmulatorProcess;
  readonly db: Firestore;
  readonly forwarder: KickForwarder;
}

async function measureCell(mode: PushBenchMode, eventsPerSecond: number, config: Settings, shared: Shared): Promise<PushCell> {
  const { emulator, db, forwarder } = shared;
  const router = await startArrivalRouter();
  const suffix = `${mode}_${eventsPerSecond}_${randomBytes(3).toString('hex')}`;
  const outbox = `outbox_${suffix}`;
  const lease = new LeaseCounter();
  let store: CountingOutboxStore | undefined;
  const shutdown = new AbortController();
  const handler = createOutboundEventHandler({
    env: {
      ROUTER_URL: router.url,
      OUTBOX_COLLECTION: outbox,
      FIRESTORE_EMULATOR_HOST: emulator.host,
      GOOGLE_CLOUD_PROJECT: emulator.project,
      LOG_LEVEL: 'WARNING',
      FOLLOW_MS: String(mode === 'follow' ? config.followMs : 0),
      PUSH_LINGER_MS: String(mode === 'push' ? config.pushLingerMs : 0),
    },
    shutdown: shutdown.signal,
    logger: { log: () => undefined },
    wrapStore: (inner) => (store = new CountingOutboxStore(inner, MAX_WRITES_PER_COMMIT)),
    wrapLease: (inner) => lease.lease(inner),
    wrapWakeUps: (inner) => lease.wakeUps(inner),
  });
  const name = `outboundEventHandler_${suffix}`;
  registerFunction(name, handler);
  const server = getTestServer(name);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const busy = new BusyTime();
  forwarder.serve(url, busy);
  if (mode === 'push') await emulator.registerTrigger(`push-${suffix}`, outbox);

  const startedAt = performance.now();
  // Cloud Scheduler: every cadence, but never before the previous run answered.
  const ticking = new AbortController();
  const ticks: { status: number }[] = [];
  const ticker = (async () => {
    while (!ticking.signal.aborted) {
      const tickStart = performance.now();
      busy.begin();
      const status = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
        .then(async (response) => {
          await response.arrayBuffer();
          return response.status;
        })
        .catch(() => 0);
      busy.end();
      ticks.push({ status });
      const wait = tickStart + config.cadenceMs - performance.now();
      if (wait > 0) await sleep(wait, ticking.signal);
    }
  })();
  const purging = new AbortController();
  const purger = purgeDelivered(db, outbox, purging.signal);
  let committed: Map<string, number>;
  try {
    await sleep(1_000);
    committed = await produce(db, outbox, eventsPerSecond, config.seconds * 1000);
    const until = performance.now() + config.cadenceMs + 30_000;
    while (router.arrivals.size < committed.size && performance.now() < until) await sleep(100);
  } finally {
    ticking.abort();
    purging.abort();
    await purger;
    // SIGTERM, as on a scale-in: a following or lingering run answers within SHUTDOWN_TIMEOUT_MS.
    shutdown.abort();
    await ticker;
    const quietBy = performance.now() + 30_000;
    while (forwarder.inFlight() > 0 && performance.now() < quietBy) await sleep(100);
    forwarder.serve(undefined, undefined);
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await handler.close();
  }
  const measuredSeconds = (performance.now() - startedAt) / 1000;
  const latencies = [...committed].map(([id, at]) => (router.arrivals.get(id) ?? Number.POSITIVE_INFINITY) - at).sort((a, b) => a - b);
  const delivered = [...committed.keys()].filter((id) => router.arrivals.has(id)).length;
  const kicks = forwarder.takeAnswers();
  const kickAnswers = countKickAnswers(kicks.map((k) => k.body));
  const kickReads = kickAnswers.notPending + kickAnswers.wokeHolder + kickAnswers.ran;
  const storeCounts = store?.snapshot();
  const leaseCounts = lease.snapshot();
  // Each query that returns nothing is billed one read; each commit of outcomes reads the lease once.
  const firestoreReads =
    (storeCounts === undefined ? 0 : storeCounts.documentsRead + storeCounts.emptyFetches + storeCounts.commits) +
    leaseCounts.reads +
    kickReads;
  const firestoreWrites = (storeCounts === undefined ? 0 : storeCounts.documentsWritten + storeCounts.auditWrites) + leaseCounts.writes;
  const per = (value: number, of: number): number => (of === 0 ? 0 : Number((value / of).toFixed(3)));
  await router.close();
  const cell = {
    mode,
    eventsPerSecond,
    committed: committed.size,
    delivered,
    lost: committed.size - delivered,
    duplicates: router.posts() - router.arrivals.size,
    outOfOrder: outOfOrder(committed, router.arrivals),
    latencyP50Ms: finite(percentile(latencies, 0.5)),
    latencyP99Ms: finite(percentile(latencies, 0.99)),
    latencyMaxMs: finite(latencies.at(-1) ?? 0),
    cdf: cdfPoints(latencies),
    scheduledRuns: ticks.length,
    kicks: kicks.length,
    kickAnswers,
    non2xxAnswers: [...ticks, ...kicks].filter((a) => a.status < 200 || a.status >= 300).length,
    measuredSeconds: Number(measuredSeconds.toFixed(1)),
    busySeconds: Number(busy.seconds().toFixed(1)),
    firestoreReads,
    firestoreWrites,
    readsPerEvent: per(firestoreReads, delivered),
    writesPerEvent: per(firestoreWrites, delivered),
    readsPerKick: per(kickReads, kicks.length),
  };
  return {
    ...cell,
    monthly: monthlyCost(
      {
        seconds: measuredSeconds,
        requests: ticks.length + (mode === 'push' ? committed.size : 0),
        busySeconds: busy.seconds(),
        firestoreReads,
        firestoreWrites,
      },
      SHAPES[mode],
    ),
  };
}

function countKickAnswers(bodies: readonly Record<string, unknown>[]): KickAnswers {
  const counts: KickAnswers = { folded: 0, notPending: 0, wokeHolder: 0, ran: 0, other: 0 };
  for (const body of bodies) {
    if (body.kick === 'folded') counts.folded += 1;
    else if (body.kick === 'not_pending') counts.notPending += 1;
    else if (body.kick === 'woke_holder') counts.wokeHolder += 1;
    else if (typeof body.runId === 'string') counts.ran += 1;
    else counts.other += 1;
  }
  return counts;
}

/** Events that reached the router before an event committed earlier on their key (evt-N is on key N % KEYS). */
function outOfOrder(committed: ReadonlyMap<string, number>, arrivals: ReadonlyMap<string, number>): number {
  const lastOfKey = new Map<number, number>();
  let late = 0;
  for (const id of [...committed.keys()].sort()) {
    const arrived = arrivals.get(id);
    if (arrived === undefined) continue;
    const key = Number(id.slice(4)) % KEYS;
    if (arrived < (lastOfKey.get(key) ?? Number.NEGATIVE_INFINITY)) late += 1;
    lastOfKey.set(key, Math.max(arrived, lastOfKey.get(key) ?? Number.NEGATIVE_INFINITY));
  }
  return late;
}

function finite(ms: number): number | null {
  return Number.isFinite(ms) ? Math.round(ms) : null;
}

/** [latency ms, % of events delivered within it] at every whole percent, and 99.5 and 99.9; undelivered events never. */
function cdfPoints(sorted: readonly number[]): Array<readonly [number, number]> {
  const percents = [...Array.from({ length: 100 }, (_, i) => i + 1), 99.5, 99.9].sort((a, b) => a - b);
  return percents.map((p) => [Math.max(1, Math.round(percentile(sorted, p / 100))), p] as const).filter(([ms]) => Number.isFinite(ms));
}

function latencyChart(cells: readonly PushCell[], rate: number): ChartSpec {
  return {
    title: `Commit → router at ${rate} event${rate === 1 ? '' : 's'}/s: share of events delivered within a latency`,
    xLabel: 'latency, ms (log scale)',
    yLabel: '% of events',
    xScale: 'log',
    series: cells.filter((c) => c.eventsPerSecond === rate && c.cdf.length > 0).map((c) => ({ name: MODE_NAMES[c.mode], points: c.cdf })),
  };
}

const MODE_NAMES: Readonly<Record<PushBenchMode, string>> = {
  push: 'push (PUSH_LINGER_MS)',
  follow: 'follow (FOLLOW_MS)',
  polling: 'polling (Scheduler only)',
};

const millions = (value: number): string => (value >= 1e5 ? `${(value / 1e6).toFixed(2)} M` : `${Math.round(value / 1e3)} k`);
const usd = (value: number): string => `$${value.toFixed(2)}`;
const ms = (value: number | null): string => (value === null ? 'not delivered' : String(value));

function pushTables(date: string, config: Settings, load: readonly number[], cells: readonly PushCell[]): string {
  const latencyRows = cells.map(
    (c) =>
      `| ${MODE_NAMES[c.mode]} | ${c.eventsPerSecond} | ${c.committed} | ${c.lost} | ${c.duplicates} | ${c.outOfOrder} | ${ms(c.latencyP50Ms)} | ${ms(c.latencyP99Ms)} | ${ms(c.latencyMaxMs)} | ${c.readsPerEvent} | ${c.writesPerEvent} | ${c.mode === 'push' ? `${c.kicks} (${c.kickAnswers.folded} folded, ${c.kickAnswers.ran} ran, ${c.kickAnswers.notPending} not pending), ${c.readsPerKick} reads each` : '–'} |`,
  );
  const costRows = cells.map(
    (c) =>
      `| ${MODE_NAMES[c.mode]} | ${c.eventsPerSecond} | ${millions(c.monthly.requestsPerMonth)} | ${millions(c.monthly.instanceSecondsPerMonth)} | ${SHAPES[c.mode].vcpu} | ${usd(c.monthly.requestUsd)} | ${usd(c.monthly.instanceUsd)} | ${usd(c.monthly.firestoreUsd)} | ${usd(c.monthly.totalUsd)} |`,
  );
  return [
    `Measured ${date.slice(0, 10)} by \`node bench/push-latency.ts\` (bench/results/push.json): each cell ${config.seconds} s of steady commits over ${KEYS} ordering keys, Scheduler runs every ${config.cadenceMs / 1000} s that never overlap (the next starts once the previous answered), FOLLOW_MS=${config.followMs}, PUSH_LINGER_MS=${config.pushLingerMs}; the Firestore emulator of the Google Cloud CLI fires the Eventarc trigger (one kick at a time) at the function served in the bench process, on one machine (load ${load.join(' / ')} at the start). Latency is from the start of the producer's commit to the event's first POST at the router. Reads and writes are counted at the store and lease (bench/counting-store.ts, bench/counting-lease.ts) plus one read per kick that is not folded.`,
    '',
    '| Mode | Events/s | Committed | Lost | Duplicates | Out of key order | p50 ms | p99 ms | max ms | Reads / event | Writes / event | Kicks |',
    '| --- | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --- |',
    ...latencyRows,
    '',
    `Per 30-day month at that rate (bench/push-cost.ts): requests are Scheduler runs and, for push, one kick per committed event (Eventarc delivers one per document; the emulator's serial delivery answers fewer within the cell); instance-seconds are the time at least one request was in flight (request-based billing); prices: $${PRICES.perMillionRequests} per million requests, $${PRICES.perVcpuSecond} per vCPU-second, $${PRICES.perGibSecond} per GiB-second (256 MiB), $${PRICES.perHundredThousandReads} per 100k reads and $${PRICES.perHundredThousandWrites} per 100k writes; free tiers left out.`,
    '',
    '| Mode | Events/s | Requests / month | Instance-s / month | vCPU | Requests $ | Instance $ | Firestore $ | Total $ / month |',
    '| --- | --: | --: | --: | --: | --: | --: | --: | --: |',
    ...costRows,
    '',
    ...config.rates.map((rate) => `![commit → router latency of the three modes at ${rate} events/s](push-latency-${rate}.svg)`),
  ].join('\n');
}

/** Seconds during which at least one request was in flight: what request-based billing charges as instance time. */
class BusyTime {
  private inFlight = 0;
  private since = 0;
  private total = 0;

  begin(): void {
    if (this.inFlight === 0) this.since = performance.now();
    this.inFlight += 1;
  }

  end(): void {
    this.inFlight -= 1;
    if (this.inFlight === 0) this.total += performance.now() - this.since;
  }

  seconds(): number {
    return (this.total + (this.inFlight > 0 ? performance.now() - this.since : 0)) / 1000;
  }
}

/** The emulator's functions host: forwards each kick to the function served for the current cell, and keeps its answer. */
interface KickForwarder {
  readonly host: string;
  serve(url: string | undefined, busy: BusyTime | undefined): void;
  inFlight(): number;
  /** The answers since the last call. */
  takeAnswers(): { status: number; body: Record<string, unknown> }[];
  close(): Promise<void>;
}

async function startKickForwarder(): Promise<KickForwarder> {
  let target: { url: string; busy: BusyTime } | undefined;
  let inFlight = 0;
  let answers: { status: number; body: Record<string, unknown> }[] = [];
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const to = target;
      if (to === undefined) {
        res.writeHead(503).end();
        return;
      }
      inFlight += 1;
      to.busy.begin();
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers))
        if (typeof value === 'string' && name !== 'host' && name !== 'content-length') headers[name] = value;
      void fetch(to.url, { method: 'POST', headers, body: Buffer.concat(chunks) })
        .then(async (response) => ({ status: response.status, text: await response.text() }))
        .catch((error: unknown) => ({ status: 0, text: JSON.stringify({ error: String(error) }) }))
        .then(({ status, text }) => {
          to.busy.end();
          inFlight -= 1;
          let body: Record<string, unknown>;
          try {
            body = JSON.parse(text) as Record<string, unknown>;
          } catch {
            body = { text };
          }
          answers.push({ status, body });
          res.writeHead(status === 0 ? 502 : status, { 'content-type': 'application/json' }).end(text);
        });
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    serve: (url, busy) => {
      target = url === undefined || busy === undefined ? undefined : { url, busy };
    },
    inFlight: () => inFlight,
    takeAnswers: () => {
      const taken = answers;
      answers = [];
      return taken;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) return resolve();
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
