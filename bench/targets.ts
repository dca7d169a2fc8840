import type { BenchConfig } from './bench-config.js';
import type { MachineInfo } from './machine.js';
import type { CpuResult, PeakMemoryResult, TargetVerdict, ThroughputResult } from './bench-result.js';
import type { StoreCost } from './store-cost.js';

/** Relay events/s over raw events/s wanted at TARGET_LATENCY_MS: the relay should cost little beyond the POSTs. */
export const TARGET_RELAY_TO_RAW = 0.93;
/** Function CPU (user + system) per delivered event: at 256Mi the function gets 0.167 vCPU, so this caps a shard. */
export const TARGET_FUNCTION_CPU_MS_PER_EVENT = 0.5;
/** V8 heap allocated per delivered event: garbage between collections is most of the function's resident set. */
export const TARGET_ALLOC_KB_PER_EVENT = 150;
/** Firestore reads, and writes, per delivered event at the store interface, amortised over a run. */
export const TARGET_FIRESTORE_OPS_PER_EVENT = 1;
/** The router latency the throughput targets are judged at. */
export const TARGET_LATENCY_MS = 50;
/** Relay events/s over the naive relay's wanted: the reason the relay is built the way it is. */
export const TARGET_RELAY_TO_SEED_SHAPED = 10;
/** Peak resident set allowed: the function is deployed with 256 MiB. */
export const TARGET_PEAK_RSS_BYTES = 256 * 2 ** 20;
/** The backlog the memory target is about. */
export const TARGET_RSS_PENDING = 100_000;

const MIB = 2 ** 20;
const percent = (ratio: number): string => `${(ratio * 100).toFixed(1)} %`;

/** Judges every target against what this run measured; a target whose measurement was skipped is left open. */
export function judgeTargets(
  config: BenchConfig,
  machine: MachineInfo,
  cpu: CpuResult | undefined,
  throughput: readonly ThroughputResult[],
  storeCost: StoreCost | undefined,
  peakMemory: PeakMemoryResult | undefined,
): TargetVerdict[] {
  const headline = throughput.find((result) => result.latencyMs === TARGET_LATENCY_MS);
  const smallBacklogPeaks = throughput.flatMap((result) => result.relay.shards.map((shard) => shard.peakRssBytes ?? 0));
  return [
    cpuVerdict(cpu),
    relayToRaw(headline, config, machine.cores),
    relayToSeedShaped(headline, throughput),
    storeCostVerdict(storeCost),
    peakMemoryVerdict(peakMemory, config.events, Math.max(0, ...smallBacklogPeaks), machine.v8HeapLimitBytes),
  ];
}

function relayToRaw(headline: ThroughputResult | undefined, config: BenchConfig, cores: number): TargetVerdict {
  const name = 'relay vs raw limit';
  const target = `≥ ${TARGET_RELAY_TO_RAW} × raw at ${TARGET_LATENCY_MS} ms, DELIVERY_CONCURRENCY=${config.concurrency}`;
  if (headline === undefined)
    return { name, target, measured: 'not measured', met: undefined, note: `add ${TARGET_LATENCY_MS} to BENCH_LATENCIES_MS` };
  const { relay, raw } = headline;
  const met = headline.relayToRaw >= TARGET_RELAY_TO_RAW;
  const measured = `${relay.eventsPerSecond.toFixed(0)} / ${raw.eventsPerSecond.toFixed(0)} events/s = ${headline.relayToRaw.toFixed(3)}`;
  // Where the time went (from what the router saw) and what kept the CPUs busy meanwhile.
  const phases = headline.relayPhases;
  const perEventMs = (cpuSeconds: number, events: number): number => (cpuSeconds * 1000) / Math.max(1, events);
  const functionMs = perEventMs(relay.cpu.functionsSeconds, relay.delivered);
  const rawMs = perEventMs(raw.cpuSeconds, raw.ok);
  const busyCores = (relay.cpu.functionsSeconds + relay.cpu.emulatorSeconds + relay.cpu.benchSeconds) / relay.cpu.wallSeconds;
  const timing =
    phases === undefined
      ? ''
      : `first POST ${(phases.startupMs / 1000).toFixed(2)} s after the trigger, then ${phases.deliveringEventsPerSecond.toFixed(0)} events/s ` +
        `(${(phases.deliveringEventsPerSecond / raw.eventsPerSecond).toFixed(3)} of raw) until the last POST, answer ${(phases.tailMs / 1000).toFixed(2)} s later; `;
  const note =
    timing +
    `CPU per event: function ${functionMs.toFixed(2)} ms against ${rawMs.toFixed(2)} ms for the raw sender's same POSTs ` +
    `(${(functionMs - rawMs).toFixed(2)} ms of the relay's own), emulator ${perEventMs(relay.cpu.emulatorSeconds, relay.delivered).toFixed(2)} ms; ` +
    `function, emulator and bench kept ${busyCores.toFixed(2)} of ${cores} cores busy` +
    (met ? '' : `; short of the target by ${percent(TARGET_RELAY_TO_RAW - headline.relayToRaw)} of raw`);
  return { name, target, measured, met, note };
}

function cpuVerdict(cpu: CpuResult | undefined): TargetVerdict {
  const name = 'function CPU per delivered event';
  const target = `≤ ${TARGET_FUNCTION_CPU_MS_PER_EVENT} ms user + system of a warm instance, median of the warm drains, router answering at once`;
  if (cpu === undefined) return { name, target, measured: 'not measured', met: undefined, note: 'BENCH_CPU_ROUNDS=0' };
  const warm = cpu.rounds.filter((round) => !round.dropped);
  const met = cpu.functionCpuMsPerEvent <= TARGET_FUNCTION_CPU_MS_PER_EVENT;
  const measured =
    `${cpu.functionCpuMsPerEvent.toFixed(3)} ms (rounds: ${warm.map((round) => round.functionCpuMsPerEvent.toFixed(3)).join(', ')}; ` +
    `cold round dropped; the instance had drained ${cpu.warmUpEvents} events before), raw sender ${cpu.rawCpuMsPerPost.toFixed(3)} ms per POST; ` +
    `a process whose first drain it is spent ${cpu.coldProcessCpuMsPerEvent.toFixed(3)} ms (JIT compilation and first connections, once per instance)`;
  const gc = cpu.gcMsPerEvent ?? 0;
  const relayOwn = cpu.functionCpuMsPerEvent - cpu.rawCpuMsPerPost - gc;
  const note =
    `by part: the POST as the raw sender spends it ${cpu.rawCpuMsPerPost.toFixed(3)} ms, garbage collection (main thread) ${gc.toFixed(3)} ms ` +
    `at ${cpu.allocKbPerEvent?.toFixed(1) ?? 'n/a'} KB allocated per event, the rest ${relayOwn.toFixed(3)} ms ` +
    `(the Firestore client's reads and batched writes, scheduling, the run's bookkeeping, GC helper threads)` +
    (cpu.withoutDomainCpuMsPerEvent === undefined
      ? ''
      : `; without the Functions Framework's per-request domain (as before) a just-started process spent ${cpu.withoutDomainCpuMsPerEvent.toFixed(3)} ms`) +
    (met
      ? ''
      : `; over by ${(cpu.functionCpuMsPerEvent - TARGET_FUNCTION_CPU_MS_PER_EVENT).toFixed(3)} ms: profile one drain with ` +
        '`node bench/cpu-profile.ts` for the part (self time per package)');
  return { name, target, measured, met, note };
}

function relayToSeedShaped(headline: ThroughputResult | undefined, all: readonly ThroughputResult[]): TargetVerdict {
  const name = 'relay vs seed-shaped relay';
  const target = `≥ ${TARGET_RELAY_TO_SEED_SHAPED} × the naive relay (judged at ${TARGET_LATENCY_MS} ms)`;
  if (headline === undefined)
    return { name, target, measured: 'not measured', met: undefined, note: `add ${TARGET_LATENCY_MS} to BENCH_LATENCIES_MS` };
  const others = all.map((result) => `${result.latencyMs} ms: ${result.relayToSeedShaped.toFixed(1)} ×`).join(', ');
  const met = headline.relayToSeedShaped >= TARGET_RELAY_TO_SEED_SHAPED;
  return {
    name,
    target,
    measured: `${headline.relayToSeedShaped.toFixed(1)} × (${headline.relay.eventsPerSecond.toFixed(0)} vs ${headline.seedShaped.eventsPerSecond.toFixed(1)} events/s)`,
    met,
    note:
      `all latencies: ${others}. The naive relay pays one router round trip plus one Firestore update per event, in series; ` +
      'at 0 ms it is bound by the update alone, so the gap is smallest there',
  };
}

function storeCostVerdict(cost: StoreCost | undefined): TargetVerdict {
  const name = 'Firestore operations per delivered event';
  const target = '≤ 1 read + 1 write per delivered event draining a backlog with nothing waiting, amortised, plus a constant per run';
  if (cost === undefined) return { name, target, measured: 'not measured', met: undefined, note: '' };
  const writesPerEventExcludingAudit = cost.counts.documentsWritten / cost.delivered;
  const met = cost.readsPerEvent <= 1 && writesPerEventExcludingAudit <= 1;
  return {
    name,
    target,
    measured:
      `${cost.readsPerEvent.toFixed(4)} reads + ${writesPerEventExcludingAudit.toFixed(4)} writes per event at the store interface, ` +
      `+ ${cost.counts.auditWrites} audit write(s) over ${cost.runs} run(s); billed estimate ${cost.billedReadsPerEvent.toFixed(4)} reads + ${cost.billedWritesPerEvent.toFixed(4)} writes per event`,
    met,
    note:
      `${cost.counts.recordOutcomesCalls} checkpoint commit(s) of up to ${cost.counts.largestRecord} outcomes; each commit also reads the lease once ` +
      `(${(cost.counts.commits / cost.delivered).toFixed(4)} reads per event, the fencing that keeps a stale run from overwriting newer progress). ${cost.billedNote}`,
  };
}

function peakMemoryVerdict(
  peak: PeakMemoryResult | undefined,
  smallBacklog: number,
  smallBacklogPeakBytes: number,
  defaultHeapLimitBytes: number,
): TargetVerdict {
  const name = 'peak RSS of the function';
  const target = `< ${TARGET_PEAK_RSS_BYTES / MIB} MiB with ${TARGET_RSS_PENDING.toLocaleString('en-US')} pending`;
  const [byDefault, ...capped] = peak?.runs ?? [];
  if (peak === undefined || byDefault?.peakRssBytes === undefined) {
    return { name, target, measured: 'not measured', met: undefined, note: 'BENCH_RSS_EVENTS=0 or /proc unavailable' };
  }
  const measured =
    `${(byDefault.peakRssBytes / MIB).toFixed(1)} MiB VmHWM with Node's default heap, ${byDefault.pendingAtStart.toLocaleString('en-US')} pending ` +
    `(${byDefault.drain.delivered} delivered in a ${peak.runBudgetMs / 1000} s run)` +
    capped.map((run) => `; ${mib(run.peakRssBytes)} MiB with ${run.nodeOptions}`).join('');
  const met = byDefault.peakRssBytes < TARGET_PEAK_RSS_BYTES;
  const scale =
    peak.pending < TARGET_RSS_PENDING
      ? `Measured at ${peak.pending} pending, not ${TARGET_RSS_PENDING}: set BENCH_RSS_EVENTS=${TARGET_RSS_PENDING}. `
      : '';
  const over = met
    ? ''
    : `Over by ${((byDefault.peakRssBytes - TARGET_PEAK_RSS_BYTES) / MIB).toFixed(1)} MiB with the default heap, ` +
      `whose limit on this machine is ${(defaultHeapLimitBytes / MIB).toFixed(0)} MiB, so V8 lets garbage pile up before collecting` +
      (capped.length > 0 ? ` (capped: ${capped.map((run) => `${mib(run.peakRssBytes)} MiB`).join(', ')}). ` : '. ');
  const comparison =
    smallBacklogPeakBytes > 0
      ? `For comparison, the largest peak while draining ${smallBacklog.toLocaleString('en-US')} pending was ${(smallBacklogPeakBytes / MIB).toFixed(1)} MiB` +
        (byDefault.peakRssBytes <= smallBacklogPeakBytes * 1.1
          ? ': a larger backlog does not raise the peak, the relay keeps only a few pages in hand.'
          : `: the larger backlog raised the peak by ${((byDefault.peakRssBytes - smallBacklogPeakBytes) / MIB).toFixed(1)} MiB.`)
      : '';
  return { name, target, measured, met: peak.pending < TARGET_RSS_PENDING ? undefined : met, note: `${scale}${over}${comparison}` };
}

function mib(bytes: number | undefined): string {
  return bytes === undefined ? 'n/a' : (bytes / MIB).toFixed(1);
}
