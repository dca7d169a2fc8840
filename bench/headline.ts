import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { BenchResult } from './bench-result.js';
import {
  TARGET_ALLOC_KB_PER_EVENT,
  TARGET_FIRESTORE_OPS_PER_EVENT,
  TARGET_FUNCTION_CPU_MS_PER_EVENT,
  TARGET_LATENCY_MS,
  TARGET_PEAK_RSS_BYTES,
  TARGET_RELAY_TO_RAW,
} from './targets.js';

/** One headline figure: what was measured, what is wanted, and whether it was met (null: not judged, or no target). */
export interface HeadlineEntry {
  readonly value: number | null;
  readonly target: string;
  readonly met: boolean | null;
  /** The result file it came from, for entries merged from another scenario's file; absent for this run's own. */
  readonly source?: string;
}

/** The figures `npm run bench` prints first and bench/results/latest.json leads with. */
export type Headline = Readonly<Record<string, HeadlineEntry>>;

/** Other scenarios' result files whose `headline` entries are merged in when they exist. */
export const MERGED_RESULT_FILES = ['bench/results/follow.json', 'bench/results/telemetry.json'] as const;

const MIB = 2 ** 20;
const round = (value: number, digits: number): number => Number(value.toFixed(digits));

function entry(value: number | undefined, target: string, met: (value: number) => boolean, digits: number): HeadlineEntry {
  return value === undefined || !Number.isFinite(value)
    ? { value: null, target, met: null }
    : { value: round(value, digits), target, met: met(value) };
}

/** This run's headline: each figure with its target, from the measurements in `result`. */
export function ownHeadline(result: Omit<BenchResult, 'headline' | 'targets' | 'durationMs'>): Headline {
  const at50 = result.throughput.find((t) => t.latencyMs === TARGET_LATENCY_MS);
  const cost = result.storeCost;
  const peak100k = result.peakMemory?.runs.find((run) => run.nodeOptions === '')?.peakRssBytes;
  const limitMiB = TARGET_PEAK_RSS_BYTES / MIB;
  return {
    functionCpuMsPerEvent: entry(
      result.cpu?.functionCpuMsPerEvent,
      `<= ${TARGET_FUNCTION_CPU_MS_PER_EVENT} ms (user + system of a warm instance, median of the warm drains)`,
      (v) => v <= TARGET_FUNCTION_CPU_MS_PER_EVENT,
      3,
    ),
    functionCpuMsPerEventJustStarted: {
      ...entry(
        result.cpu?.coldProcessCpuMsPerEvent,
        "none: the same drain in a process whose first run it is (a new instance's first run), for comparison",
        () => true,
        3,
      ),
      met: null,
    },
    rawCpuMsPerPost: {
      ...entry(result.cpu?.rawCpuMsPerPost, 'none: the same POSTs without the relay, for comparison', () => true, 3),
      met: null,
    },
    allocKbPerEvent: entry(result.cpu?.allocKbPerEvent, `<= ${TARGET_ALLOC_KB_PER_EVENT} KB`, (v) => v <= TARGET_ALLOC_KB_PER_EVENT, 1),
    relayToRaw50ms: entry(
      at50?.relayToRaw,
      `>= ${TARGET_RELAY_TO_RAW} at ${TARGET_LATENCY_MS} ms, concurrency ${result.config.concurrency}, same run`,
      (v) => v >= TARGET_RELAY_TO_RAW,
      3,
    ),
    peakRssMiB100k: entry(
      peak100k === undefined || (result.peakMemory?.pending ?? 0) < 100_000 ? undefined : peak100k / MIB,
      `< ${limitMiB} MiB, Node's default heap, 100,000 pending`,
      (v) => v < limitMiB,
      1,
    ),
    peakRssMiBDrain: entry(
      result.cpu?.peakRssBytes === undefined ? undefined : result.cpu.peakRssBytes / MIB,
      `< ${limitMiB} MiB draining ${result.config.events.toLocaleString('en-US')} at full speed`,
      (v) => v < limitMiB,
      1,
    ),
    firestoreReadsPerEvent: entry(
      cost?.readsPerEvent,
      `<= ${TARGET_FIRESTORE_OPS_PER_EVENT} (store interface, amortised)`,
      (v) => v <= TARGET_FIRESTORE_OPS_PER_EVENT,
      4,
    ),
    firestoreWritesPerEvent: entry(
      cost === undefined ? undefined : cost.counts.documentsWritten / cost.delivered,
      `<= ${TARGET_FIRESTORE_OPS_PER_EVENT} (store interface, amortised, audit excluded)`,
      (v) => v <= TARGET_FIRESTORE_OPS_PER_EVENT,
      4,
    ),
  };
}

/**
 * This run's headline, then the `headline` entries of the other scenarios' result files that exist (each
 * marked with its file); an entry named like one already present is prefixed with its file's name.
 */
export async function mergedHeadline(own: Headline, projectRoot: string): Promise<Headline> {
  const merged: Record<string, HeadlineEntry> = { ...own };
  for (const file of MERGED_RESULT_FILES) {
    const entries = await readHeadline(path.join(projectRoot, file));
    for (const [name, value] of Object.entries(entries)) {
      const key = name in merged ? `${path.basename(file, '.json')}.${name}` : name;
      merged[key] = { ...value, source: file };
    }
  }
  return merged;
}

async function readHeadline(file: string): Promise<Record<string, HeadlineEntry>> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    return {};
  }
  const headline = (parsed as { headline?: unknown }).headline;
  if (headline === null || typeof headline !== 'object') return {};
  const entries: Record<string, HeadlineEntry> = {};
  for (const [name, raw] of Object.entries(headline as Record<string, unknown>)) {
    if (raw === null || typeof raw !== 'object') continue;
    const { value, target, met } = raw as { value?: unknown; target?: unknown; met?: unknown };
    entries[name] = {
      value: typeof value === 'number' ? value : null,
      target: typeof target === 'string' ? target : JSON.stringify(target ?? null),
      met: typeof met === 'boolean' ? met : null,
    };
  }
  return entries;
}
