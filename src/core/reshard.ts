/** A pending event enqueued under the previous SHARD_COUNT, as the reshard rule needs it. */
export interface OldCountEvent {
  readonly orderingKey: unknown;
  readonly shard: unknown;
}

/**
 * While resharding, the ordering keys a run of `shard` must hold back: those with an event enqueued under the
 * previous count still pending in another shard. Every such event was committed before any event of its key under
 * the new count, so holding the key's events in this shard until those are delivered keeps the key's order; its
 * old-count events in this shard itself come first by this shard's own oldest-first order and are never held.
 */
export function keysHeldByReshard(shard: number, oldCountEvents: readonly OldCountEvent[]): ReadonlySet<string> {
  const held = new Set<string>();
  for (const event of oldCountEvents) {
    if (typeof event.orderingKey !== 'string') continue;
    if (event.shard !== shard) held.add(event.orderingKey);
  }
  return held;
}
