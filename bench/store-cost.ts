import type { Firestore } from '@google-cloud/firestore';
import { MAX_WRITES_PER_COMMIT } from '../dist/adapters/firestore-outbox-store.js';
import { parseConfig } from '../dist/config.js';
import type { Logger } from '../dist/core/ports.js';
import type { RunResult } from '../dist/core/relay.js';
import { createRelay } from '../dist/create-relay.js';
import { CountingOutboxStore, type StoreCounts } from './counting-store.js';

/** Firestore bills an aggregation query one read per batch of up to this many index entries. */
export const INDEX_ENTRIES_PER_AGGREGATION_READ = 1000;
/** Bound on runs, so a relay that keeps answering hasMore cannot loop forever. */
const MAX_RUNS = 50;

/** Reads and writes per delivered event: as counted at the store interface, and as Firestore would bill them. */
export interface StoreCost {
  readonly delivered: number;
  readonly runs: number;
  readonly ms: number;
  readonly counts: StoreCounts;
  /** Documents returned by the store's reads, per delivered event. */
  readonly readsPerEvent: number;
  /** Documents written (outcomes and audits), per delivered event. */
  readonly writesPerEvent: number;
  /** What the interface cannot see, added per the Firestore pricing rules; see `billedNote`. */
  readonly billedReads: number;
  readonly billedWrites: number;
  readonly billedReadsPerEvent: number;
  readonly billedWritesPerEvent: number;
  readonly billedNote: string;
}

const silent: Logger = { log: () => undefined };

/**
 * Runs the relay core in-process against the real Firestore adapter wrapped in a counting store, with the
 * lease the function would hold, until `pending` seeded events are drained; every store call is counted.
 */
export async function measureStoreCost(options: {
  readonly firestore: Firestore;
  readonly routerUrl: string;
  readonly collections: { readonly outbox: string };
  readonly deliveryConcurrency: number;
  readonly pending: number;
  readonly timeoutMs: number;
  /** The emulator and project the relay's own client talks to (those of `firestore`). */
  readonly emulatorHost: string;
  readonly projectId: string;
  /** Relay settings as the function would read them (BENCH_RELAY_ENV); NODE_OPTIONS has no effect in-process. */
  readonly extraEnv: Readonly<Record<string, string>>;
}): Promise<StoreCost> {
  const { collections } = options;
  const config = parseConfig({
    ROUTER_URL: options.routerUrl,
    // The relay makes its own Firestore client from the configuration, as the function does: point it at the
    // bench's emulator and project, not at whatever the bench process's environment names.
    FIRESTORE_EMULATOR_HOST: options.emulatorHost,
    GOOGLE_CLOUD_PROJECT: options.projectId,
    OUTBOX_COLLECTION: collections.outbox,
    DELIVERY_CONCURRENCY: String(options.deliveryConcurrency),
    ...options.extraEnv,
  });
  const writesPerCommit = MAX_WRITES_PER_COMMIT;
  let counting: CountingOutboxStore | undefined;
  // The relay wired as the function wires it (createRelay), with its store wrapped in a counter.
  const relay = createRelay(
    { ...config, runBudgetMs: options.timeoutMs },
    { logger: silent, wrapStore: (store) => (counting = new CountingOutboxStore(store, writesPerCommit)) },
  );
  const startedAt = performance.now();
  const deadline = Date.now() + options.timeoutMs;
  let delivered = 0;
  let runs = 0;
  try {
    for (let hasMore = true; hasMore && runs < MAX_RUNS && Date.now() < deadline; runs += 1) {
      let result = await relay.run(`bench-run-${runs}`);
      // The lease read can time out on a loaded emulator: that run did nothing, so it is simply tried again.
      for (let retry = 0; result.kind === 'not_started' && retry < 3; retry += 1) {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        result = await relay.run(`bench-run-${runs}-retry-${retry}`);
      }
      if (result.kind !== 'ran' || result.retryWanted) throw new Error(`the relay run ended ${describeEnd(result)}`);
      delivered += result.summary.delivered;
      hasMore = result.summary.hasMore;
    }
  } finally {
    await relay.close();
  }
  const counted: StoreCounts[] = counting === undefined ? [] : [counting.snapshot()];
  const ms = performance.now() - startedAt;
  const counts = sumCounts(counted);
  // Per run: the lease is taken (1 read, 1 write) and released (1 read, 1 delete) in transactions; fetchStrays
  // runs one `not-in` query (at least 1 read) and two counts over the pending events (1 read per 1,000 entries;
  // counted as if every run saw the whole backlog, an upper bound).
  const aggregationReads = runs * 2 * Math.max(1, Math.ceil(options.pending / INDEX_ENTRIES_PER_AGGREGATION_READ));
  const billedReads = counts.documentsRead + counts.emptyFetches + counts.commits + runs * 3 + aggregationReads;
  const billedWrites = counts.documentsWritten + counts.auditWrites + runs * 2;
  return {
    delivered,
    runs,
    ms,
    counts,
    readsPerEvent: counts.documentsRead / delivered,
    writesPerEvent: (counts.documentsWritten + counts.auditWrites) / delivered,
    billedReads,
    billedWrites,
    billedReadsPerEvent: billedReads / delivered,
    billedWritesPerEvent: billedWrites / delivered,
    billedNote:
      'billed = interface counts + 1 read per empty query + 1 lease read per commit + per run: lease acquire/release ' +
      '(2 reads, 2 writes), the stray `not-in` query (1 read) and 2 counts over the pending backlog (1 read per 1,000 entries)',
  };
}

function sumCounts(all: readonly StoreCounts[]): StoreCounts {
  const total = (pick: (counts: StoreCounts) => number): number => all.reduce((sum, counts) => sum + pick(counts), 0);
  return {
    fetchPendingCalls: total((c) => c.fetchPendingCalls),
    emptyFetches: total((c) => c.emptyFetches),
    fetchStraysCalls: total((c) => c.fetchStraysCalls),
    wholeOutboxCounts: total((c) => c.wholeOutboxCounts),
    documentsRead: total((c) => c.documentsRead),
    recordOutcomesCalls: total((c) => c.recordOutcomesCalls),
    documentsWritten: total((c) => c.documentsWritten),
    largestRecord: Math.max(0, ...all.map((c) => c.largestRecord)),
    commits: total((c) => c.commits),
    auditWrites: total((c) => c.auditWrites),
  };
}

/** Why a run of the measurement did not count: its stop reason, or why it did not run. */
function describeEnd(result: RunResult): string {
  if (result.kind === 'ran') return result.summary.stoppedBy;
  if (result.kind === 'not_started') return `not_started: ${result.error}`;
  return `skipped: the lease is held by ${result.heldBy}`;
}
