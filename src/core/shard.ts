import { createHash } from 'node:crypto';

/**
 * The shard an event belongs to, fixed at enqueue: derived from the orderingKey (or the id when there is
 * none), so all events of one key land in one shard and keep their order while shards drain in parallel.
 */
export function shardOf(orderingKeyOrId: string, shardCount: number): number {
  if (shardCount <= 1) return 0;
  return createHash('sha256').update(orderingKeyOrId).digest().readUInt32BE(0) % shardCount;
}
