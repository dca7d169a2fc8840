import type { WaitingReadsResult, WaitingReadsVariant } from './waiting-reads-scenario.js';
import type { BenchResult } from './bench-result.js';
import type { Headline } from './headline.js';
import { rateCapSection } from './rate-cap-report.js';
import { shardSection } from './shard-report.js';
import { sizingTable } from './sizing.js';

const MIB = 2 ** 20;
const rate = (eventsPerSecond: number): string => eventsPerSecond.toFixed(0);
const mib = (bytes: number | undefined): string => (bytes === undefined ? 'n/a' : `${(bytes / MIB).toFixed(0)} MiB`);
const verdict = (met: boolean | undefined): string => (met === undefined ? 'not judged' : met ? 'met' : 'MISSED');

function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((row) => `| ${row.join(' | ')} |`)];
}

const value = (v: number | null): string => (v === null ? 'n/a' : String(v));

/** The headline as a table: each figure, its target, met or missed, and where it came from. */
export function headlineTable(headline: Headline): string {
  return table(
    ['figure', 'value', 'target', 'verdict', 'from'],
    Object.entries(headline).map(([name, e]) => [
      `\`${name}\``,
      value(e.value),
      e.target,
      e.met === null ? 'no target' : e.met ? 'met' : 'MISSED',
      e.source ?? 'this run',
    ]),
  ).join('\n');
}

/** CPU and allocation per event, round by round. */
function cpuTable(result: BenchResult): string[] {
  const cpu = result.cpu;
  if (cpu === undefined) return [];
  return [
    `CPU per delivered event: ${cpu.rounds.length} rounds, each function drains of ${cpu.events.toLocaleString('en-US')} events (router answering at once) ` +
      `in a warm instance (after a drain of ${cpu.warmUpEvents.toLocaleString('en-US')}), in a just-started process and with allocation probed, ` +
      `then the raw sender's same POSTs, interleaved; the first round (cold emulator) is dropped, the figures are medians of the rest. ` +
      `NODE_OPTIONS=${cpu.nodeOptions === '' ? '(none)' : cpu.nodeOptions}.`,
    '',
    ...table(
      [
        'round',
        'events/s',
        'function CPU / event (warm)',
        'just started',
        'GC (main thread, probed)',
        'allocated / event',
        'GCs',
        'function peak RSS',
        'emulator CPU / event',
        'raw CPU / POST',
      ],
      cpu.rounds.map((r) => [
        r.dropped ? `${r.round} (dropped)` : String(r.round),
        rate(r.eventsPerSecond),
        `${r.functionCpuMsPerEvent.toFixed(3)} ms`,
        `${r.coldProcessCpuMsPerEvent.toFixed(3)} ms`,
        r.gcMsPerEvent === undefined ? 'n/a' : `${r.gcMsPerEvent.toFixed(3)} ms`,
        r.allocKbPerEvent === undefined ? 'n/a' : `${r.allocKbPerEvent.toFixed(1)} KB`,
        r.collections === undefined ? 'n/a' : String(r.collections),
        mib(r.peakRssBytes),
        `${r.emulatorCpuMsPerEvent.toFixed(3)} ms`,
        `${r.rawCpuMsPerPost.toFixed(3)} ms`,
      ]),
    ),
  ];
}

/** What the Functions Framework's per-request domain costs: the same drains served as before, without it. */
function domainTable(result: BenchResult): string {
  const cpu = result.cpu;
  if (cpu?.withoutDomainCpuMsPerEvent === undefined) return '_Not measured in this run._';
  return table(
    ['served (each a process whose first drain it is)', 'function CPU / event (median of the warm rounds)'],
    [
      ['before: without the per-request domain (bench/without-domain-entry.ts)', `${cpu.withoutDomainCpuMsPerEvent.toFixed(3)} ms`],
      ['now: as the Functions Framework serves it, a domain per request (src/index.ts)', `${cpu.coldProcessCpuMsPerEvent.toFixed(3)} ms`],
      ['the domain costs', `${(cpu.coldProcessCpuMsPerEvent - cpu.withoutDomainCpuMsPerEvent).toFixed(3)} ms per event`],
    ],
  )
    .concat([
      '',
      `Measured ${result.date}, drains of ${cpu.events} events, ${cpu.rounds.filter((round) => !round.dropped).length} rounds counted, ` +
        `each serving both in turn; the machine's load average ${result.machine.loadAverageAtStart.join(' / ')} at start, ` +
        `${result.machine.loadAverageAtEnd.join(' / ')} at end; the raw sender's same POSTs took ${cpu.rawCpuMsPerPost.toFixed(3)} ms of CPU ` +
        `each (its speed at the time: compare the two rows, not these with other runs).`,
    ])
    .join('\n');
}

/** The machine and the run, one paragraph. */
function machineLine(result: BenchResult): string {
  const { machine, config } = result;
  return (
    `Machine: ${machine.cpuModel}, ${machine.cores} cores, ${(machine.memoryBytes / 2 ** 30).toFixed(0)} GiB, Node ${machine.node}, ${machine.platform}; ` +
    `V8 default heap limit ${mib(machine.v8HeapLimitBytes)}; load average at start ${machine.loadAverageAtStart.join(' / ')}, at end ${machine.loadAverageAtEnd.join(' / ')}. ` +
    `${result.date}${config.quick ? ' (BENCH_QUICK)' : ''}` +
    (result.source === undefined
      ? ''
      : `, commit ${result.source.commit}${result.source.srcModified ? ' with uncommitted src/ changes' : ''}.`) +
    ` Deploy: ${result.deploy.memory}, ${result.deploy.cpu} vCPU, NODE_OPTIONS=${result.deploy.nodeOptions === '' ? '(none)' : result.deploy.nodeOptions} (cloudbuild.yaml).`
  );
}

/** Every table of a run by name, in print order; a full run writes each into docs/performance.md between `<!-- bench:NAME -->` markers. */
export function reportSections(result: BenchResult): Record<string, string> {
  const { config } = result;
  const sections: Record<string, string> = {
    headline: headlineTable(result.headline),
    machine: machineLine(result),
    cpu: cpuTable(result).join('\n'),
    sizing: sizingTable(result).join('\n'),
    domain: domainTable(result),
  };
  const lines: string[] = [
    `Throughput, ${config.events.toLocaleString('en-US')} pending events, DELIVERY_CONCURRENCY=${config.concurrency}, events/s:`,
    '',
    ...table(
      [
        'router latency',
        'relay (function over HTTP)',
        'raw limit',
        'relay / raw',
        'seed-shaped relay',
        'relay / seed-shaped',
        'runs',
        'function peak RSS',
      ],
      result.throughput.map((t) => [
        `${t.latencyMs} ms`,
        rate(t.relay.eventsPerSecond),
        rate(t.raw.eventsPerSecond),
        t.relayToRaw.toFixed(3),
        t.seedShaped.eventsPerSecond.toFixed(1),
        `${t.relayToSeedShaped.toFixed(1)} ×`,
        String(t.relay.shards[0]?.runs ?? 0),
        mib(t.relay.shards[0]?.peakRssBytes),
      ]),
    ),
    '',
    'Where the relay time went (router timestamps) and CPU per delivered event (function, emulator; raw sender for comparison):',
    '',
    ...table(
      [
        'router latency',
        'trigger → first POST',
        'events/s first → last POST',
        'last POST → answer',
        'function CPU / event',
        'emulator CPU / event',
        'raw sender CPU / event',
      ],
      result.throughput.map((t) => {
        const perEvent = (cpuSeconds: number, events: number): string => `${((cpuSeconds * 1000) / Math.max(1, events)).toFixed(2)} ms`;
        const phases = t.relayPhases;
        return [
          `${t.latencyMs} ms`,
          phases === undefined ? 'n/a' : `${(phases.startupMs / 1000).toFixed(2)} s`,
          phases === undefined ? 'n/a' : rate(phases.deliveringEventsPerSecond),
          phases === undefined ? 'n/a' : `${(phases.tailMs / 1000).toFixed(2)} s`,
          perEvent(t.relay.cpu.functionsSeconds, t.relay.delivered),
          perEvent(t.relay.cpu.emulatorSeconds, t.relay.delivered),
          perEvent(t.raw.cpuSeconds, t.raw.ok),
        ];
      }),
    ),
  ];
  sections.throughput = lines.join('\n');
  if (result.storeCost !== undefined) {
    const cost = result.storeCost;
    sections['store-cost'] = [
      `Firestore per delivered event (${cost.delivered.toLocaleString('en-US')} events, ${cost.runs} run(s), counted at the store interface; billed = estimate incl. lease, strays scan, empty pages):`,
      '',
      ...table(
        ['reads / event', 'writes / event', 'audit writes', 'checkpoint commits', 'billed reads / event', 'billed writes / event'],
        [
          [
            cost.readsPerEvent.toFixed(4),
            (cost.counts.documentsWritten / cost.delivered).toFixed(4),
            String(cost.counts.auditWrites),
            `${cost.counts.recordOutcomesCalls} (≤ ${cost.counts.largestRecord} each)`,
            cost.billedReadsPerEvent.toFixed(4),
            cost.billedWritesPerEvent.toFixed(4),
          ],
        ],
      ),
    ].join('\n');
  }
  if (result.waitingReads !== undefined) sections['waiting-reads'] = waitingReadsTable(result.waitingReads).join('\n');
  const shards = shardSection(result);
  if (shards !== undefined) sections.shards = shards;
  const rateCap = rateCapSection(result);
  if (rateCap !== undefined) sections['rate-cap'] = rateCap;
  if (result.peakMemory !== undefined) {
    const peak = result.peakMemory;
    sections.memory = [
      `Peak memory: ${peak.pending.toLocaleString('en-US')} pending (seeded in ${(peak.seed.ms / 1000).toFixed(1)} s, ${rate(peak.seed.eventsPerSecond)} events/s), ` +
        `one run with RUN_BUDGET_MS=${peak.runBudgetMs}, router latency ${peak.latencyMs} ms:`,
      '',
      ...table(
        ['function heap', 'pending at start', 'delivered in the run', 'events/s', 'VmHWM (peak RSS)'],
        peak.runs.map((run) => [
          run.nodeOptions === '' ? 'Node default for this machine' : `NODE_OPTIONS=${run.nodeOptions}`,
          run.pendingAtStart.toLocaleString('en-US'),
          run.drain.delivered.toLocaleString('en-US'),
          rate(run.drain.eventsPerSecond),
          mib(run.peakRssBytes),
        ]),
      ),
    ].join('\n');
  }
  sections.targets = table(
    ['target', 'wanted', 'measured', 'verdict', 'note'],
    result.targets.map((t) => [t.name, t.target, t.measured, verdict(t.met), t.note.replaceAll('|', '/')]),
  ).join('\n');
  return sections;
}

/** The result as Markdown, the headline first: what `npm run bench` prints at the end of a run. */
export function formatReport(result: BenchResult): string {
  const sections = reportSections(result);
  const { headline, ...rest } = sections;
  return ['Headline:', '', headline, ...Object.values(rest).flatMap((section) => ['', section])].join('\n');
}

/** Reads per delivered event over runs a minute apart: clean, and with events waiting, next to reading them every run. */
function waitingReadsTable(reads: WaitingReadsResult): string[] {
  const row = (variant: WaitingReadsVariant, label: string): string[] => [
    label,
    `${variant.delivered.toLocaleString('en-US')} / ${variant.waitingAtEnd.toLocaleString('en-US')}`,
    variant.readsPerEvent.toFixed(4),
    variant.billedReadsPerEvent.toFixed(4),
    `${variant.sweeps} (${variant.wholeOutboxCounts} whole)`,
    variant.readingEveryRunPerEvent.toFixed(4),
  ];
  return [
    `Firestore reads per delivered event, ${reads.minutes} runs a minute apart on one instance, ${reads.eventsPerMinute} new events before each ` +
      `(${reads.billedNote}):`,
    '',
    ...table(
      [
        'outbox',
        'delivered / waiting at the end',
        'reads / event',
        'billed reads / event',
        'stray sweeps',
        'if every run read every pending event',
      ],
      [row(reads.clean, 'clean'), row(reads.waiting, '10 % of events on backoff, one parked key')],
    ),
  ];
}
