import { existsSync } from 'node:fs';
import path from 'node:path';
import type { CpuRound, CpuResult } from './bench-result.js';
import { drainWithFunctions } from './function-drain.js';
import { measureRawLimit } from './raw-limit.js';
import { collectionsFor, cpuLine, functionsFor, seconds, withRouter, type ScenarioContext } from './scenario-context.js';
import { seedPending } from './seed-outbox.js';

/** The router answers at once, so the function's own CPU, not the router's latency, bounds the drain. */
const CPU_LATENCY_MS = 0;
/** The function served as before, without the per-request domain, to measure what the domain costs. */
const WITHOUT_DOMAIN_SOURCE = 'bench/without-domain-entry.ts';

/** The median of a non-empty list; the mean of the middle two for an even count. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/**
 * CPU per delivered event: rounds of function drains of BENCH_EVENTS (router answering at once) and the raw
 * sender's same POSTs, interleaved so that load from other work on the machine falls on all alike. Each round
 * drains in a warm instance (one that has already drained BENCH_WARMUP_EVENTS, as an instance triggered every
 * minute has: the figure), in a process that just started (what a new instance's first run costs more: JIT
 * compilation, first connections), and once with allocation probed. The first round (a cold emulator) is
 * dropped; the figures are the medians of the rest.
 */
export async function measureCpu(context: ScenarioContext): Promise<CpuResult> {
  const { config, session, progress } = context;
  const rounds: CpuRound[] = [];
  const measureDomain = existsSync(path.join(context.projectRoot, WITHOUT_DOMAIN_SOURCE));
  const seed = (collection: string, count: number) => (): Promise<void> =>
    seedPending(session.firestore, collection, count, { shardCount: 1, parallelCommits: config.seedParallelCommits }).then(() => undefined);
  for (let round = 0; round < config.cpuRounds; round += 1) {
    await session.reset();
    const collections = collectionsFor(`cpu${round}`);
    const drain = await withRouter(CPU_LATENCY_MS, (router) =>
      drainWithFunctions({
        ...functionsFor(context, collections, router.url),
        warmUp: { seedWarmUp: seed(collections.outbox, config.warmUpEvents), seedMeasured: seed(collections.outbox, config.events) },
      }),
    );
    const coldCollections = collectionsFor(`cpucold${round}`);
    await seed(coldCollections.outbox, config.events)();
    const cold = await withRouter(CPU_LATENCY_MS, (router) => drainWithFunctions(functionsFor(context, coldCollections, router.url)));
    // Allocation from a drain of its own: the probe's GC profiler costs CPU at every collection, so the drains
    // whose CPU are the figures run without it.
    const probeCollections = collectionsFor(`cpuprobe${round}`);
    await seed(probeCollections.outbox, config.events)();
    const probed = await withRouter(CPU_LATENCY_MS, (router) =>
      drainWithFunctions(functionsFor(context, probeCollections, router.url, { probeAllocation: true })),
    );
    const raw = await withRouter(CPU_LATENCY_MS, (router) =>
      measureRawLimit({ routerUrl: router.url, events: config.events, concurrency: config.concurrency }, config.drainTimeoutMs),
    );
    let withoutDomainCpuMsPerEvent: number | undefined;
    if (measureDomain) {
      const domainCollections = collectionsFor(`cpudomain${round}`);
      await seed(domainCollections.outbox, config.events)();
      const withoutDomain = await withRouter(CPU_LATENCY_MS, (router) =>
        drainWithFunctions(functionsFor(context, domainCollections, router.url, { source: WITHOUT_DOMAIN_SOURCE })),
      );
      withoutDomainCpuMsPerEvent = (withoutDomain.cpu.functionsSeconds * 1000) / Math.max(1, withoutDomain.delivered);
    }
    const shard = probed.shards[0];
    const delivered = Math.max(1, drain.delivered);
    const probedDelivered = Math.max(1, probed.delivered);
    const result: CpuRound = {
      round,
      dropped: round === 0,
      delivered: drain.delivered,
      eventsPerSecond: drain.eventsPerSecond,
      functionCpuMsPerEvent: (drain.cpu.functionsSeconds * 1000) / delivered,
      coldProcessCpuMsPerEvent: (cold.cpu.functionsSeconds * 1000) / Math.max(1, cold.delivered),
      emulatorCpuMsPerEvent: (drain.cpu.emulatorSeconds * 1000) / delivered,
      allocKbPerEvent: shard?.allocatedBytes === undefined ? undefined : shard.allocatedBytes / 1024 / probedDelivered,
      collections: shard?.collections,
      gcMsPerEvent: shard?.gcMs === undefined ? undefined : shard.gcMs / probedDelivered,
      peakRssBytes: drain.shards[0]?.peakRssBytes,
      rawCpuMsPerPost: (raw.cpuSeconds * 1000) / Math.max(1, raw.ok),
      rawEventsPerSecond: raw.eventsPerSecond,
      withoutDomainCpuMsPerEvent,
    };
    rounds.push(result);
    progress(
      `  round ${round}${result.dropped ? ' (cold emulator, dropped)' : ''}: ${drain.delivered} in ${seconds(drain.ms)}, ` +
        `function ${result.functionCpuMsPerEvent.toFixed(3)} ms/event warm, ${result.coldProcessCpuMsPerEvent.toFixed(3)} just started ` +
        `(GC ${result.gcMsPerEvent?.toFixed(3) ?? 'n/a'}), ` +
        `${result.allocKbPerEvent?.toFixed(1) ?? 'n/a'} KB/event, ` +
        `peak RSS ${((result.peakRssBytes ?? 0) / 2 ** 20).toFixed(0)} MiB; raw ${result.rawCpuMsPerPost.toFixed(3)} ms/POST; ` +
        `without the domain ${withoutDomainCpuMsPerEvent?.toFixed(3) ?? 'n/a'} ms/event; ${cpuLine(drain.cpu)}`,
    );
  }
  const warm = rounds.filter((round) => !round.dropped);
  const counted = warm.length > 0 ? warm : rounds;
  const alloc = counted.flatMap((round) => (round.allocKbPerEvent === undefined ? [] : [round.allocKbPerEvent]));
  const gc = counted.flatMap((round) => (round.gcMsPerEvent === undefined ? [] : [round.gcMsPerEvent]));
  const domain = counted.flatMap((round) => (round.withoutDomainCpuMsPerEvent === undefined ? [] : [round.withoutDomainCpuMsPerEvent]));
  const peaks = counted.flatMap((round) => (round.peakRssBytes === undefined ? [] : [round.peakRssBytes]));
  return {
    latencyMs: CPU_LATENCY_MS,
    events: config.events,
    nodeOptions: context.relayEnv.NODE_OPTIONS ?? '',
    rounds,
    functionCpuMsPerEvent: median(counted.map((round) => round.functionCpuMsPerEvent)),
    coldProcessCpuMsPerEvent: median(counted.map((round) => round.coldProcessCpuMsPerEvent)),
    warmUpEvents: config.warmUpEvents,
    rawCpuMsPerPost: median(counted.map((round) => round.rawCpuMsPerPost)),
    allocKbPerEvent: alloc.length === 0 ? undefined : median(alloc),
    gcMsPerEvent: gc.length === 0 ? undefined : median(gc),
    peakRssBytes: peaks.length === 0 ? undefined : Math.max(...peaks),
    withoutDomainCpuMsPerEvent: domain.length === 0 ? undefined : median(domain),
  };
}
