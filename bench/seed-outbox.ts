import { Timestamp, type Firestore } from '@google-cloud/firestore';
import { shardOf } from '../dist/core/shard.js';
import { autoId, BENCH_EVENT_TYPE, benchEventData } from './bench-events.js';

/** Firestore's limit on writes in one batch. */
const BATCH_WRITES = 500;

/** How long seeding took, reported because it bounds how large a backlog the emulator bench can afford. */
export interface SeedResult {
  readonly events: number;
  readonly ms: number;
  readonly eventsPerSecond: number;
}

/**
 * Writes `count` pending events as the producer API would (status, createdAt, shard from the id since they
 * carry no orderingKey), in batches of 500 with a few commits in flight.
 */
export async function seedPending(
  firestore: Firestore,
  collection: string,
  count: number,
  options: { readonly shardCount: number; readonly parallelCommits: number; readonly baseMs?: number },
): Promise<SeedResult> {
  const baseMs = options.baseMs ?? Date.UTC(2026, 0, 1);
  const outbox = firestore.collection(collection);
  const startedAt = performance.now();
  let nextStart = 0;
  const worker = async (): Promise<void> => {
    while (nextStart < count) {
      const start = nextStart;
      nextStart += BATCH_WRITES;
      const batch = firestore.batch();
      for (let index = start; index < Math.min(count, start + BATCH_WRITES); index += 1) {
        const id = autoId();
        batch.create(outbox.doc(id), {
          type: BENCH_EVENT_TYPE,
          data: benchEventData(index),
          createdAt: Timestamp.fromMillis(baseMs + index),
          status: 'pending',
          shard: shardOf(id, options.shardCount),
        });
      }
      await batch.commit();
    }
  };
  await Promise.all(Array.from({ length: options.parallelCommits }, worker));
  const ms = performance.now() - startedAt;
  return { events: count, ms, eventsPerSecond: count / (ms / 1000) };
}

/** Pending events left in a collection, to check that a drain really drained. */
export async function countPending(firestore: Firestore, collection: string): Promise<number> {
  const snapshot = await firestore.collection(collection).where('status', '==', 'pending').count().get();
  return snapshot.data().count;
}
