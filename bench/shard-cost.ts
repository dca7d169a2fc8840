import type { Firestore } from '@google-cloud/firestore';
import { MAX_WRITES_PER_COMMIT } from '../dist/adapters/firestore-outbox-store.js';
import { parseConfig } from '../dist/config.js';
import type { Logger, OutboxStore, RunLease } from '../dist/core/ports.js';
import { createRelay } from '../dist/create-relay.js';
import { CountingOutboxStore } from './counting-store.js';
import { seedPending } from './seed-outbox.js';
import { INDEX_ENTRIES_PER_AGGREGATION_READ } from './store-cost.js';

/** Bound on runs, so a relay that keeps answering hasMore cannot loop forever. */
const MAX_RUNS = 50;

/** What Firestore charges per delivered event for a deployment of `shards` shards, counted at its ports. */
export interface ShardCost {
  readonly shards: number;
  readonly delivered: number;
  /** Deployment runs (each over every shard), and shard runs (one per shard lease held). */
  readonly runs: number;
  readonly shardRuns: number;
  /** Document reads: pages read (at least 1 for an empty one), lease reads (one per checkpoint commit, acquire conflicts), parked-key and stray queries, aggregations. */
  readonly readsPerEvent: number;
  /** Document writes: outcomes, run audits, lease creates and renewals. */
  readonly writesPerEvent: number;
  /** Document deletes: lease releases, and the TTL deletes of delivered events and audits (DELIVERED_RETENTION_DAYS). */
  readonly deletesPerEvent: number;
}

/** Lease calls a deployment's runs made, every shard's added up. */
interface LeaseCounts {
  acquires: number;
  renewals: number;
  releases: number;
}

const silent: Logger = { log: () => undefined };

/**
 * Seeds `events` over `shards` shards and drains them with the relay wired as the function wires it (createRelay,
 * SHARD_COUNT=shards, no SHARD_INDEX, router answering at once), every shard's store and lease wrapped in a
 * counter; Firestore's charges per delivered event follow from the counts and its pricing rules (each query
 * bills at least one read; an aggregation one read per 1,000 index entries; a TTL delete is a delete).
 */
export async function measureShardCost(options: {
  readonly firestore: Firestore;
  readonly emulatorHost: string;
  readonly projectId: string;
  readonly routerUrl: string;
  readonly outbox: string;
  readonly shards: number;
  readonly events: number;
  readonly deliveryConcurrency: number;
  readonly seedParallelCommits: number;
  readonly timeoutMs: number;
  readonly extraEnv: Readonly<Record<string, string>>;
}): Promise<ShardCost> {
  await seedPending(options.firestore, options.outbox, options.events, {
    shardCount: options.shards,
    parallelCommits: options.seedParallelCommits,
  });
  const config = parseConfig({
    ROUTER_URL: options.routerUrl,
    FIRESTORE_EMULATOR_HOST: options.emulatorHost,
    GOOGLE_CLOUD_PROJECT: options.projectId,
    OUTBOX_COLLECTION: options.outbox,
    DELIVERY_CONCURRENCY: String(options.deliveryConcurrency),
    SHARD_COUNT: String(options.shards),
    ...options.extraEnv,
  });
  const stores: CountingOutboxStore[] = [];
  const lease: LeaseCounts = { acquires: 0, renewals: 0, releases: 0 };
  let parkedKeyReads = 0;
  const relay = createRelay(
    { ...config, runBudgetMs: options.timeoutMs },
    {
      logger: silent,
      wrapStore: (store) => countingStore(store, stores, () => (parkedKeyReads += 1)),
      wrapLease: (inner) => countingLease(inner, lease),
    },
  );
  const deadline = Date.now() + options.timeoutMs;
  let delivered = 0;
  let runs = 0;
  let shardRuns = 0;
  try {
    for (let hasMore = true; hasMore && runs < MAX_RUNS && Date.now() < deadline; runs += 1) {
      const result = await relay.run(`bench-shard-cost-${runs}`);
      if (result.kind !== 'ran' || result.retryWanted) throw new Error(`a run ended ${result.kind === 'ran' ? result.cause : result.kind}`);
      delivered += result.summary.delivered;
      shardRuns += result.summary.shards?.filter((shard) => shard.delivered !== undefined).length ?? 1;
      hasMore = result.summary.hasMore;
    }
  } finally {
    await relay.close();
  }
  const counts = stores.map((store) => store.snapshot());
  const total = (pick: (c: (typeof counts)[number]) => number): number => counts.reduce((sum, c) => sum + pick(c), 0);
  const straySweeps = total((c) => c.fetchStraysCalls);
  // A sweep: the stray `not-in` query (at least one read) and two counts over the pending events.
  const sweepReads = straySweeps * (1 + 2 * Math.max(1, Math.ceil(options.events / INDEX_ENTRIES_PER_AGGREGATION_READ)));
  const reads = total((c) => c.documentsRead) + total((c) => c.emptyFetches) + total((c) => c.commits) + parkedKeyReads + sweepReads;
  const audits = total((c) => c.auditWrites);
  const writes = total((c) => c.documentsWritten) + audits + lease.acquires + lease.renewals;
  const ttlDeletes = config.deliveredRetentionDays > 0 ? delivered + audits : 0;
  const deletes = lease.releases + ttlDeletes;
  const per = (count: number): number => count / Math.max(1, delivered);
  return {
    shards: options.shards,
    delivered,
    runs,
    shardRuns,
    readsPerEvent: per(reads),
    writesPerEvent: per(writes),
    deletesPerEvent: per(deletes),
  };
}

function countingStore(store: OutboxStore, all: CountingOutboxStore[], onParkedRead: () => void): OutboxStore {
  const counting = new CountingOutboxStore(store, MAX_WRITES_PER_COMMIT);
  all.push(counting);
  return {
    fetchPending: (limit, after, maxBytes) => counting.fetchPending(limit, after, maxBytes),
    fetchStrays: (limit, plan) => counting.fetchStrays(limit, plan),
    fetchParkedKeys: () => {
      onParkedRead();
      return counting.fetchParkedKeys();
    },
    recordOutcomes: (outcomes, lease) => counting.recordOutcomes(outcomes, lease),
    writeAudit: (summary) => counting.writeAudit(summary),
    watchPending: (onChange, onError) => counting.watchPending(onChange, onError),
  };
}

function countingLease(inner: RunLease, counts: LeaseCounts): RunLease {
  return {
    acquire: (owner, ttlMs) => {
      counts.acquires += 1;
      return inner.acquire(owner, ttlMs);
    },
    renew: (held, ttlMs) => {
      counts.renewals += 1;
      return inner.renew(held, ttlMs);
    },
    release: (held) => {
      counts.releases += 1;
      return inner.release(held);
    },
    follow: (held, onHandover) => inner.follow(held, onHandover),
    requestHandover: (requester) => inner.requestHandover(requester),
  };
}
