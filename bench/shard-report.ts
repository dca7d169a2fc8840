import type { BenchResult } from './bench-result.js';
import type { ShardCost } from './shard-cost.js';
import { shardPoints, type ShardPoint } from './shard-points.js';
import type { ShardScalingResult } from './shard-scenario.js';
import { cpuBoundEventsPerSecond } from './sizing.js';

/** Event rates the shard sizing table answers for. */
export const SHARD_SIZING_RATES: readonly number[] = [100, 500, 1000, 2000];

/**
 * Document writes per second one shard's part of the outbox is kept under: Firestore's guidance for a
 * collection whose index entries are sequential (each shard's `createdAt` range in the relay's composite index).
 */
export const SHARD_WRITES_PER_SECOND = 500;
/** Writes each event makes in its shard's range: the producer's create and the relay's update. */
export const WRITES_PER_EVENT_IN_SHARD = 2;

/** vCPU sizes the sizing table gives instances for: the deploy's, and a whole vCPU. */
const SIZING_VCPUS: readonly number[] = [0.167, 1];

const MIB = 2 ** 20;
const fixed = (value: number, digits: number): string => value.toFixed(digits);
const mib = (bytes: number | undefined): string => (bytes === undefined ? 'n/a' : `${(bytes / MIB).toFixed(0)} MiB`);
const rate = (value: number): string => value.toLocaleString('en-US');

function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((row) => `| ${row.join(' | ')} |`)];
}

/** The shards section of docs/performance.md: the measured scaling, the chart, Firestore per event, and the sizing table. */
export function shardSection(result: Pick<BenchResult, 'shardScaling' | 'machine' | 'date' | 'deploy'>): string | undefined {
  const scaling = result.shardScaling;
  if (scaling === undefined || scaling.rounds.length === 0) return undefined;
  // The medians are computed again from the rounds, so a change to how they are taken applies to stored results too.
  const points = shardPoints(scaling.rounds);
  const baseline = points[0];
  const loads = scaling.rounds.map((round) => round.loadAverage);
  return [
    `One deployment (\`SHARD_COUNT\` = shards, no \`SHARD_INDEX\`) served by 1 or more Functions Framework instances, each triggered ` +
      `back to back until the outbox is empty (a run that finds every lease it tries held answers \`skipped\` and its ` +
      `instance is triggered again 250 ms later); ${rate(scaling.events)} pending events per drain (after 1,000 per instance to warm it), ` +
      `router answering after ${scaling.latencyMs} ms, \`DELIVERY_CONCURRENCY=${scaling.concurrency}\` per instance (a run shares it among ` +
      `the shards it holds); with 2 instances \`SHARDS_PER_RUN\` is half the shards, rounded up, so each leaves the other its share. ` +
      `${scaling.roundsPerPoint} round(s), each measuring every shape in turn; figures are medians, speed-ups the median of each round's ` +
      `own ratio to its ${baseline?.shards ?? 1} shard on ${baseline?.instances ?? 1} instance. Measured ${result.date} on ${result.machine.cores} cores ` +
      `with the Firestore emulator on the same cores; load average during the drains ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} ` +
      `(1 minute; "other work" below is CPU the machine spent on neither the functions, the emulator nor the bench).`,
    '',
    ...table(
      [
        'shards',
        'instances',
        'SHARDS_PER_RUN',
        'events/s',
        `speed-up vs ${baseline?.shards ?? 1} shard`,
        'function CPU / event',
        'emulator CPU / event',
        'runs (skipped)',
        'machine busy (other work)',
        'peak RSS per instance',
      ],
      points.map((point) => [
        String(point.shards),
        String(point.instances),
        String(point.shardsPerRun),
        `${fixed(point.eventsPerSecond, 0)}${point.drainedEveryRound ? '' : ' (not drained)'}`,
        `${fixed(point.speedup, 2)} ×`,
        `${fixed(point.functionCpuMsPerEvent, 3)} ms`,
        `${fixed(point.emulatorCpuMsPerEvent, 3)} ms`,
        `${fixed(point.runs, 0)} (${fixed(point.skippedRuns, 0)})`,
        `${fixed(point.machineBusyCores, 2)} (${fixed(point.otherBusyCores, 2)}) of ${result.machine.cores} cores`,
        mib(point.peakRssBytes),
      ]),
    ),
    '',
    '![events/s against shards, one line per instance count](shards.svg)',
    '',
    ...costLines(scaling.cost),
    '',
    ...sizingLines(scaling, points, result.deploy.cpu),
  ].join('\n');
}

function costLines(cost: readonly ShardCost[]): string[] {
  if (cost.length === 0) return ['Firestore per delivered event: not measured in this run.'];
  return [
    'Firestore per delivered event, counted at every shard\u2019s store and lease while one deployment drained the same backlog in ' +
      'process (router answering at once): reads = documents read + 1 per empty page + 1 lease read per checkpoint commit + the ' +
      'parked-key query of each shard run + stray sweeps (1 + 2 counts at 1 read per 1,000 entries); writes = outcomes + run audits ' +
      '(one per shard run) + lease creates and renewals; deletes = lease releases + the TTL deletes of delivered events and audits ' +
      '(`DELIVERED_RETENTION_DAYS` > 0). Producers\u2019 own create (1 write per event) is not included.',
    '',
    ...table(
      ['shards', 'delivered', 'runs (shard runs)', 'reads / event', 'writes / event', 'deletes / event'],
      cost.map((c) => [
        String(c.shards),
        rate(c.delivered),
        `${c.runs} (${c.shardRuns})`,
        fixed(c.readsPerEvent, 4),
        fixed(c.writesPerEvent, 4),
        fixed(c.deletesPerEvent, 4),
      ]),
    ),
  ];
}

/** What one deployment shape sizes to for one event rate in production. */
export interface ShardSizing {
  readonly rate: number;
  readonly shards: number;
  /** Instances (`--max-instances` at least this) for each of SIZING_VCPUS. */
  readonly instances: readonly number[];
}

/**
 * Shards and instances for `rate` events/s: enough shards that none takes more than SHARD_WRITES_PER_SECOND of
 * writes, enough instances that none delivers more than its CPU (`vcpu` over the CPU per event) or its
 * DELIVERY_CONCURRENCY over the router's latency allows, and at least one shard per instance.
 */
export function sizeFor(
  rate: number,
  measure: { readonly cpuMsPerEvent: number; readonly concurrency: number; readonly latencyMs: number; readonly vcpus: readonly number[] },
): ShardSizing {
  const byWrites = Math.max(1, Math.ceil((rate * WRITES_PER_EVENT_IN_SHARD) / SHARD_WRITES_PER_SECOND));
  const instances = measure.vcpus.map((vcpu) => Math.max(1, Math.ceil(rate / instanceEventsPerSecond(vcpu, measure))));
  return { rate, shards: Math.max(byWrites, ...instances), instances };
}

/** Events/s one instance delivers at most: the lesser of its CPU bound and its concurrency over the router latency. */
export function instanceEventsPerSecond(
  vcpu: number,
  measure: { readonly cpuMsPerEvent: number; readonly concurrency: number; readonly latencyMs: number },
): number {
  const byLatency = measure.latencyMs > 0 ? (measure.concurrency * 1000) / measure.latencyMs : Number.POSITIVE_INFINITY;
  return Math.min(cpuBoundEventsPerSecond(vcpu, measure.cpuMsPerEvent), byLatency);
}

function sizingLines(scaling: ShardScalingResult, points: readonly ShardPoint[], deployVcpu: number): string[] {
  const oneInstance = points.filter((point) => point.instances === Math.min(...points.map((p) => p.instances)));
  const cpuMsPerEvent = Math.max(...oneInstance.map((point) => point.functionCpuMsPerEvent));
  // cloudbuild.yaml's --cpu may be a shell variable the bench cannot read: then only the listed sizes.
  const vcpus = [...new Set([deployVcpu, ...SIZING_VCPUS])].filter((vcpu) => Number.isFinite(vcpu) && vcpu > 0).sort((a, b) => a - b);
  const measure = { cpuMsPerEvent, concurrency: scaling.concurrency, latencyMs: scaling.latencyMs, vcpus };
  const costAt = (shards: number): ShardCost | undefined =>
    [...scaling.cost].sort((a, b) => Math.abs(a.shards - shards) - Math.abs(b.shards - shards))[0];
  return [
    `Sizing for a given event rate, from these figures: shards so that no shard takes more than ${SHARD_WRITES_PER_SECOND} writes/s ` +
      `(${WRITES_PER_EVENT_IN_SHARD} per event in its range: the producer's create and the relay's update), and at least one per instance; ` +
      `instances (\`--max-instances\` at least this, \`SHARDS_PER_RUN\` = shards / instances rounded up) so that none delivers more ` +
      `than its CPU allows at the largest function CPU per event measured on one instance (${fixed(cpuMsPerEvent, 3)} ms; ` +
      `vCPU × 1000 / that, counted at most at one vCPU: one event loop) nor more than \`DELIVERY_CONCURRENCY\` / router latency ` +
      `(${scaling.concurrency} / ${scaling.latencyMs} ms = ${fixed((scaling.concurrency * 1000) / Math.max(1, scaling.latencyMs), 0)} events/s; raise it ` +
      `for a slower router). Firestore per event from the nearest shard count measured above. The last column is what this machine's ` +
      `emulator reached: absolute events/s are the emulator's, not Firestore's.`,
    '',
    ...table(
      [
        'events/s',
        'shards',
        ...vcpus.map((vcpu) => `instances at ${vcpu} vCPU`),
        'Firestore reads / writes / deletes per event',
        'measured here',
      ],
      SHARD_SIZING_RATES.map((target) => {
        const sized = sizeFor(target, measure);
        const cost = costAt(sized.shards);
        return [
          rate(target),
          String(sized.shards),
          ...sized.instances.map(String),
          cost === undefined
            ? 'n/a'
            : `${fixed(cost.readsPerEvent, 3)} / ${fixed(cost.writesPerEvent, 3)} / ${fixed(cost.deletesPerEvent, 3)} (at ${cost.shards} shard${cost.shards === 1 ? '' : 's'})`,
          reachedHere(points, target),
        ];
      }),
    ),
  ];
}

/** The smallest shape measured here that reached `target` events/s, or the best one when none did. */
function reachedHere(points: readonly ShardPoint[], target: number): string {
  const reached = [...points]
    .filter((point) => point.eventsPerSecond >= target)
    .sort((a, b) => a.instances - b.instances || a.shards - b.shards)[0];
  if (reached !== undefined)
    return `${reached.shards} shard(s) on ${reached.instances} instance(s): ${fixed(reached.eventsPerSecond, 0)}/s`;
  const best = [...points].sort((a, b) => b.eventsPerSecond - a.eventsPerSecond)[0];
  return best === undefined ? 'n/a' : `not reached (best ${fixed(best.eventsPerSecond, 0)}/s, ${best.shards} × ${best.instances})`;
}
