import type { BenchConfig } from './bench-config.js';
import type { DeployProfile } from './deploy-profile.js';
import type { Headline } from './headline.js';
import type { DrainResult } from './function-drain.js';
import type { MachineInfo } from './machine.js';
import type { RawSenderResult } from './raw-sender.js';
import type { SeedResult } from './seed-outbox.js';
import type { SourceRevision } from './source-revision.js';
import type { SeedShapedResult } from './seed-shaped-relay.js';
import type { ShardScalingResult } from './shard-scenario.js';
import type { RateCapResult } from './rate-cap-scenario.js';
import type { StoreCost } from './store-cost.js';
import type { WaitingReadsResult } from './waiting-reads-scenario.js';

/** Where a drain's time went, from what the router saw: before the first POST, between first and last, after the last. */
export interface DrainPhases {
  /** Trigger to first POST: lease, stray scan, first page. */
  readonly startupMs: number;
  /** First POST to last answer. */
  readonly deliveringMs: number;
  /** Events per second between the first POST and the last answer. */
  readonly deliveringEventsPerSecond: number;
  /** Last answer to the function's 200: final checkpoint, audit, lease release, HTTP answer. */
  readonly tailMs: number;
}

/** One router latency: the relay as deployed, the transport's limit, and the naive design. */
export interface ThroughputResult {
  readonly latencyMs: number;
  readonly seed: SeedResult;
  readonly relay: DrainResult;
  readonly relayPhases: DrainPhases | undefined;
  /** Pending events left after the drain: anything but 0 means the drain did not finish. */
  readonly pendingAfter: number;
  readonly raw: RawSenderResult;
  /** Mean request body the router read from each, to show both sent the same payloads. */
  readonly bodyBytesPerPost: { readonly relay: number; readonly raw: number };
  readonly seedShaped: SeedShapedResult;
  /** relay events/s divided by raw events/s: the headline figure. */
  readonly relayToRaw: number;
  readonly relayToSeedShaped: number;
}

/** One budgeted function run against a large backlog, and the function's peak memory during it. */
export interface PeakMemoryRun {
  /** NODE_OPTIONS given to the function; empty for Node's default heap sizing on this machine. */
  readonly nodeOptions: string;
  readonly pendingAtStart: number;
  readonly drain: DrainResult;
  readonly peakRssBytes: number | undefined;
}

/** The function's memory with a large backlog: with this machine's default heap, and with a heap sized for a small instance. */
export interface PeakMemoryResult {
  readonly pending: number;
  readonly latencyMs: number;
  readonly runBudgetMs: number;
  readonly seed: SeedResult;
  readonly runs: readonly PeakMemoryRun[];
}

/** One round of the CPU measurement: a function drain, then the raw sender's same POSTs. */
export interface CpuRound {
  readonly round: number;
  /** The first round (a cold emulator) is reported but not counted. */
  readonly dropped: boolean;
  readonly delivered: number;
  readonly eventsPerSecond: number;
  /** User + system time of a warm function process (BENCH_WARMUP_EVENTS drained before) over the drain, per delivered event. */
  readonly functionCpuMsPerEvent: number;
  /** The same for a process whose first drain it is: what a new instance's first run costs per event. */
  readonly coldProcessCpuMsPerEvent: number;
  readonly emulatorCpuMsPerEvent: number;
  /** V8 heap bytes the function allocated per delivered event, in KiB (bench/function-probe.ts, in a drain of its own). */
  readonly allocKbPerEvent: number | undefined;
  readonly collections: number | undefined;
  /** Main-thread garbage-collection time per delivered event (v8.GCProfiler's cost), in ms. */
  readonly gcMsPerEvent: number | undefined;
  /** VmHWM of the function process: its peak resident set while draining at full speed. */
  readonly peakRssBytes: number | undefined;
  readonly rawCpuMsPerPost: number;
  readonly rawEventsPerSecond: number;
  /** The same drain served without the Functions Framework's per-request domain, as before (bench/without-domain-entry.ts). */
  readonly withoutDomainCpuMsPerEvent: number | undefined;
}

/** CPU and allocation per delivered event: medians over the warm rounds. */
export interface CpuResult {
  readonly latencyMs: number;
  readonly events: number;
  /** NODE_OPTIONS the functions ran with (the deploy's, from cloudbuild.yaml, unless BENCH_RELAY_ENV says otherwise). */
  readonly nodeOptions: string;
  readonly rounds: readonly CpuRound[];
  readonly functionCpuMsPerEvent: number;
  /** Median of the rounds' coldProcessCpuMsPerEvent. */
  readonly coldProcessCpuMsPerEvent: number;
  /** Events each warm instance drained before its measured drain. */
  readonly warmUpEvents: number;
  readonly rawCpuMsPerPost: number;
  readonly allocKbPerEvent: number | undefined;
  /** Median main-thread GC time per event over the warm rounds. */
  readonly gcMsPerEvent: number | undefined;
  /** The largest peak RSS over the warm rounds. */
  readonly peakRssBytes: number | undefined;
  /** Median function CPU per event served without the per-request domain; undefined when not measured. */
  readonly withoutDomainCpuMsPerEvent: number | undefined;
}

/** One target of the issue, judged against what was measured. */
export interface TargetVerdict {
  readonly name: string;
  readonly target: string;
  readonly measured: string;
  readonly met: boolean | undefined;
  /** When missed: by how much, and why (from the measurements). */
  readonly note: string;
}

/** Everything `bench/results/latest.json` holds. */
export interface BenchResult {
  /** The figures the issue asks for, each with its target and verdict; printed first. */
  readonly headline: Headline;
  readonly date: string;
  readonly command: string;
  readonly config: BenchConfig;
  readonly machine: MachineInfo & { readonly loadAverageAtEnd: readonly number[] };
  /** The measured checkout's commit; undefined outside git. */
  readonly source: SourceRevision | undefined;
  /** What cloudbuild.yaml deploys with; the functions here ran with its NODE_OPTIONS. */
  readonly deploy: DeployProfile;
  readonly emulator: { readonly host: string; readonly startedByBench: boolean; readonly startMs: number };
  readonly cpu: CpuResult | undefined;
  readonly throughput: readonly ThroughputResult[];
  readonly storeCost: StoreCost | undefined;
  /** Reads per delivered event with events waiting (backoff, a parked key), next to the clean figure. */
  readonly waitingReads?: WaitingReadsResult | undefined;
  /** One deployment with 1…N shards on 1…M instances (bench/shard-scenario.ts); undefined when not measured. */
  readonly shardScaling?: ShardScalingResult | undefined;
  /** ROUTER_MAX_RPS measured at the router with 4 shards on 2 instances (bench/rate-cap-scenario.ts); undefined when not measured. */
  readonly rateCap?: RateCapResult | undefined;
  readonly peakMemory: PeakMemoryResult | undefined;
  readonly targets: readonly TargetVerdict[];
  readonly durationMs: number;
}
