import type { BenchResult } from './bench-result.js';
import { TARGET_LATENCY_MS } from './targets.js';

/** Cloud Run functions (2nd gen) instance sizes a shard can run on, with the vCPU each gets. */
export const INSTANCE_SIZES: readonly { readonly name: string; readonly vcpu: number }[] = [
  { name: '256Mi (the deploy default)', vcpu: 0.167 },
  { name: '512Mi', vcpu: 0.333 },
  { name: '1 vCPU (`--cpu=1`)', vcpu: 1 },
  { name: '2 vCPU (`--cpu=2`)', vcpu: 2 },
];

/** Event rates the shard counts are given for. */
export const PLANNED_RATES: readonly number[] = [50, 200, 1000, 5000];

/**
 * Events/s one shard sustains by CPU: the vCPU it gets over the function CPU per event measured here. The
 * relay's JavaScript runs on one event loop, so a second vCPU only takes the garbage collector's helper
 * threads and the kernel's share: the CPU bound is counted at most at one vCPU.
 */
export function cpuBoundEventsPerSecond(vcpu: number, cpuMsPerEvent: number): number {
  return (Math.min(vcpu, 1) * 1000) / cpuMsPerEvent;
}

/** The sizing table: events/s per shard by instance size, and shards needed for a few event rates. */
export function sizingTable(result: BenchResult): string[] {
  const cpuMs = result.cpu?.functionCpuMsPerEvent;
  if (cpuMs === undefined) return ['Sizing: not measured (BENCH_CPU_ROUNDS=0).'];
  const at50 = result.throughput.find((t) => t.latencyMs === TARGET_LATENCY_MS);
  const latencyBound = at50?.relay.eventsPerSecond;
  const perShard = (vcpu: number): number => Math.min(cpuBoundEventsPerSecond(vcpu, cpuMs), latencyBound ?? Number.POSITIVE_INFINITY);
  const header = [
    'instance',
    'vCPU',
    'CPU-bound events/s',
    `events/s per shard at ${TARGET_LATENCY_MS} ms router latency`,
    ...PLANNED_RATES.map((r) => `shards for ${r.toLocaleString('en-US')}/s`),
  ];
  const rows = INSTANCE_SIZES.map((size) => [
    size.name,
    String(size.vcpu),
    cpuBoundEventsPerSecond(size.vcpu, cpuMs).toFixed(0),
    perShard(size.vcpu).toFixed(0),
    ...PLANNED_RATES.map((r) => String(Math.ceil(r / perShard(size.vcpu)))),
  ]);
  return [
    `From the measured ${cpuMs.toFixed(3)} ms of function CPU per delivered event (vCPU × 1000 / that, counted at most at one vCPU: one event loop)` +
      (latencyBound === undefined
        ? '.'
        : `, and at most the ${latencyBound.toFixed(0)} events/s one function delivered at ${TARGET_LATENCY_MS} ms router latency with ` +
          `DELIVERY_CONCURRENCY=${result.config.concurrency} in this run (concurrency / latency bounds it; raise DELIVERY_CONCURRENCY for a slower router).`) +
      ' Shards needed = the rate / events/s per shard, rounded up (SHARD_COUNT, one run per shard at a time; one deployment drains them, ' +
      'an instance each at most: [Shards](#shards) sizes shards and instances together). ' +
      'These are rates while a run delivers; Scheduler starts a run every minute and a run lasts up to RUN_BUDGET_MS.',
    '',
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ];
}
