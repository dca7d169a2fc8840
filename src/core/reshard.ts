/** A pending event enqueued under the previous SHARD_COUNT, as the reshard rule needs it. */
export interface OldCountEvent {
  readonly orderingKey: unknown;
  readonly shard: unknown;
  /** Whether it has a createdAt: without one, no page returns it. */
  readonly dated: boolean;
}

/**
 * While resharding, the ordering keys a run of `shard` must hold back: those with an event enqueued under the
 * previous count still pending in another shard. Every such event was committed before any event of its key under
 * the new count, so holding the key's events in this shard until those are delivered keeps the key's order; its
 * old-count events in this shard itself come first by this shard's own oldest-first order and are never held.
 * An old-count event no page returns (no createdAt, or a shard none of the `drained` shards is) holds nothing: it
 * is a stray, which shard 0's sweep dead-letters (parking its key); held, it would hold its own key there, and
 * the key's events everywhere, until the reshard ended, which its pending state keeps from ending.
 */
export function keysHeldByReshard(shard: number, drained: number, oldCountEvents: readonly OldCountEvent[]): ReadonlySet<string> {
  const held = new Set<string>();
  for (const event of oldCountEvents) {
    if (typeof event.orderingKey !== 'string' || !event.dated) continue;
    const paged = typeof event.shard === 'number' && Number.isInteger(event.shard) && event.shard >= 0 && event.shard < drained;
    if (paged && event.shard !== shard) held.add(event.orderingKey);
  }
  return held;
}
