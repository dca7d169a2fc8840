import { Timestamp, type Firestore } from '@google-cloud/firestore';
import { MAX_WRITES_PER_COMMIT, parkedKeyDocumentId } from '../dist/adapters/firestore-outbox-store.js';
import { systemClock } from '../dist/adapters/system-clock.js';
import { outboxCollections, parseConfig } from '../dist/config.js';
import type { Clock, Logger } from '../dist/core/ports.js';
import { createRelay } from '../dist/create-relay.js';
import { autoId, BENCH_EVENT_TYPE, benchEventData } from './bench-events.js';
import { CountingOutboxStore } from './counting-store.js';
import { collectionsFor, withRouter, type ScenarioContext } from './scenario-context.js';
import { countPending } from './seed-outbox.js';
import { INDEX_ENTRIES_PER_AGGREGATION_READ } from './store-cost.js';

const MINUTE_MS = 60_000;
/** Share of each minute's events that arrive on a backoff longer than the measurement (as if they had failed). */
const BACKOFF_SHARE = 0.1;

/** One variant of the measurement: runs a minute apart on one relay instance, new events before each. */
export interface WaitingReadsVariant {
  readonly label: string;
  readonly runs: number;
  readonly delivered: number;
  /** Events still pending at the end: on backoff, or behind the parked key. */
  readonly waitingAtEnd: number;
  /** Documents the pages and sweeps returned (each a billed read). */
  readonly documentsRead: number;
  readonly sweeps: number;
  readonly wholeOutboxCounts: number;
  /** Documents a relay that reads every pending event at every run would have read. */
  readonly readingEveryRun: number;
  /** documentsRead per delivered event. */
  readonly readsPerEvent: number;
  /** With what the interface cannot see, per the pricing rules (see `billedNote`). */
  readonly billedReadsPerEvent: number;
  readonly readingEveryRunPerEvent: number;
}

/** Reads per delivered event with events waiting, next to the clean figure (docs/performance.md#reads). */
export interface WaitingReadsResult {
  readonly minutes: number;
  readonly eventsPerMinute: number;
  readonly clean: WaitingReadsVariant;
  readonly waiting: WaitingReadsVariant;
  readonly billedNote: string;
}

const silent: Logger = { log: () => undefined };

/**
 * Runs of one relay instance a (virtual) minute apart, as Cloud Scheduler triggers them, each after a minute's
 * worth of new events: once clean, once with 10 % of the events arriving on a backoff longer than the
 * measurement and one parked key receiving an event every minute. Every store call is counted.
 */
export async function measureWaitingReads(context: ScenarioContext): Promise<WaitingReadsResult> {
  const { config, progress } = context;
  const minutes = config.quick ? 12 : 30;
  const eventsPerMinute = config.quick ? 50 : 200;
  const clean = await measureVariant(context, 'clean', minutes, eventsPerMinute, false);
  progress(`  clean: ${clean.readsPerEvent.toFixed(4)} reads per delivered event over ${clean.runs} runs`);
  const waiting = await measureVariant(context, 'waiting', minutes, eventsPerMinute, true);
  progress(
    `  10 % on backoff + one parked key: ${waiting.readsPerEvent.toFixed(4)} reads per delivered event ` +
      `(reading every pending event at every run: ${waiting.readingEveryRunPerEvent.toFixed(4)})`,
  );
  return {
    minutes,
    eventsPerMinute,
    clean,
    waiting,
    billedNote:
      'billed = documents read + 1 read per empty page + per run: lease acquire/release (2 reads) and the parked-key query (1) + 1 lease read ' +
      'per checkpoint commit + per sweep: the two status queries (2) and two counts over the pending events (1 read per 1,000) + per whole ' +
      'count: two counts over every document (1 read per 1,000)',
  };
}

async function measureVariant(
  context: ScenarioContext,
  label: string,
  minutes: number,
  eventsPerMinute: number,
  withWaiting: boolean,
): Promise<WaitingReadsVariant> {
  const { session } = context;
  const collections = collectionsFor(`reads_${label}`);
  const parkedCollection = outboxCollections(collections.outbox).parkedKeysCollection;
  let offsetMs = 0;
  // The relay's own time runs a minute on between runs; Firestore's (the lease) stays real, and each run
  // releases its lease, so nothing waits for it.
  const clock: Clock = { now: () => systemClock.now() + offsetMs, sleep: (ms, signal) => systemClock.sleep(ms, signal) };
  if (withWaiting) {
    await session.firestore
      .collection(parkedCollection)
      .doc(parkedKeyDocumentId('parked'))
      .set({ orderingKey: 'parked', eventId: 'dead-letter', deadLetters: ['dead-letter'], reason: 'bench', parkedAt: Timestamp.now() });
  }
  return withRouter(0, async (router) => {
    const relayConfig = parseConfig({
      ROUTER_URL: router.url,
      FIRESTORE_EMULATOR_HOST: session.host,
      GOOGLE_CLOUD_PROJECT: session.projectId,
      OUTBOX_COLLECTION: collections.outbox,
      DELIVERY_CONCURRENCY: String(context.config.concurrency),
      ...context.config.relayEnv,
    });
    let counting: CountingOutboxStore | undefined;
    const relay = createRelay(relayConfig, {
      logger: silent,
      clock,
      wrapStore: (store) => (counting = new CountingOutboxStore(store, MAX_WRITES_PER_COMMIT)),
    });
    let delivered = 0;
    let readingEveryRun = 0;
    let runs = 0;
    let sweepPendingReads = 0;
    let wholeCountReads = 0;
    let emptyPages = 0;
    try {
      for (let minute = 0; minute < minutes; minute += 1, runs += 1) {
        await seedMinute(session.firestore, collections.outbox, clock.now(), eventsPerMinute, withWaiting, minute);
        const pending = await countPending(session.firestore, collections.outbox);
        readingEveryRun += pending;
        const before = counting?.snapshot();
        const result = await relay.run(`bench-reads-${label}-${minute}`);
        if (result.kind !== 'ran' || result.retryWanted) throw new Error(`run ${minute} of the ${label} variant ended ${result.kind}`);
        delivered += result.summary.delivered;
        const after = counting?.snapshot();
        const perThousand = (n: number) => Math.max(1, Math.ceil(n / INDEX_ENTRIES_PER_AGGREGATION_READ));
        if (after !== undefined && before !== undefined) {
          const swept = after.fetchStraysCalls - before.fetchStraysCalls;
          sweepPendingReads += swept * (2 + 2 * perThousand(pending));
          const whole = after.wholeOutboxCounts - before.wholeOutboxCounts;
          wholeCountReads += whole * 2 * perThousand((minute + 1) * eventsPerMinute);
          emptyPages += after.emptyFetches - before.emptyFetches;
        }
        offsetMs += MINUTE_MS;
      }
    } finally {
      await relay.close();
    }
    const counts = counting?.snapshot();
    if (counts === undefined) throw new Error('the relay never made its store');
    const waitingAtEnd = await countPending(session.firestore, collections.outbox);
    const billedReads = counts.documentsRead + emptyPages + runs * 3 + counts.commits + sweepPendingReads + wholeCountReads;
    return {
      label,
      runs,
      delivered,
      waitingAtEnd,
      documentsRead: counts.documentsRead,
      sweeps: counts.fetchStraysCalls,
      wholeOutboxCounts: counts.wholeOutboxCounts,
      readingEveryRun,
      readsPerEvent: counts.documentsRead / delivered,
      billedReadsPerEvent: billedReads / delivered,
      readingEveryRunPerEvent: readingEveryRun / delivered,
    };
  });
}

/** A minute's new events, committed now; with `withWaiting`, 10 % on a long backoff and one of the parked key. */
async function seedMinute(
  firestore: Firestore,
  collection: string,
  nowMs: number,
  count: number,
  withWaiting: boolean,
  minute: number,
): Promise<void> {
  const outbox = firestore.collection(collection);
  const backoff = withWaiting ? Math.round(count * BACKOFF_SHARE) : 0;
  const batch = firestore.batch();
  for (let index = 0; index < count; index += 1) {
    const waits = index < backoff;
    const parked = withWaiting && index === backoff;
    batch.create(outbox.doc(autoId()), {
      type: BENCH_EVENT_TYPE,
      data: benchEventData(minute * count + index),
      createdAt: Timestamp.fromMillis(nowMs - count + index),
      status: 'pending',
      ...(waits ? { attempts: 1, nextAttemptAt: Timestamp.fromMillis(nowMs + 24 * 60 * MINUTE_MS) } : {}),
      ...(parked ? { orderingKey: 'parked' } : {}),
    });
  }
  await batch.commit();
}
