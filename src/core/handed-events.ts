import type { StoredDocument } from './event.js';
import { Instant } from './instant.js';

/** Told when a pending event turns up behind a later event of its key that the run has already handed out. */
export type OutOfOrder = (found: { readonly eventId: string; readonly after: string }) => void;

/**
 * What a following run (FOLLOW_MS) has handed out for delivery, so that re-reading the pending set from its
 * start hands out only what is new: an event in flight, or failed and still pending, is not handed out twice.
 * Each pass over the whole pending set forgets the events it no longer found (they left the pending set), so
 * the memory held is about the pending set, not everything the run delivered.
 */
export class HandedEvents {
  private handed = new Set<string>();
  private found = new Set<string>();
  /** Per ordering key, the newest event handed out: its createdAt and id. */
  private readonly newest = new Map<string, { readonly at: Instant; readonly id: string }>();

  constructor(private readonly outOfOrder: OutOfOrder) {}

  /** A pass over the pending set starts, from its start. */
  startPass(): void {
    this.found = new Set();
  }

  /** The documents of a page, in order, less those handed out before; the rest are remembered as handed out. */
  take(documents: readonly StoredDocument[]): StoredDocument[] {
    const fresh: StoredDocument[] = [];
    for (const document of documents) {
      this.found.add(document.id);
      if (this.handed.has(document.id)) continue;
      this.handed.add(document.id);
      this.checkOrder(document);
      fresh.push(document);
    }
    return fresh;
  }

  /** The pass read the whole pending set: what it did not find is no longer pending and never comes back as it was. */
  endPass(): void {
    for (const id of this.handed) if (!this.found.has(id)) this.handed.delete(id);
  }

  /**
   * An event older than one already handed out of its key can only be a createdAt the producer wrote itself (not
   * the commit time), or a commit that became visible late: it is still delivered, and the lost order is told.
   */
  private checkOrder(document: StoredDocument): void {
    const { orderingKey, createdAt } = document.fields;
    if (typeof orderingKey !== 'string' || !(createdAt instanceof Instant)) return;
    const newest = this.newest.get(orderingKey);
    if (newest !== undefined && createdAt.compare(newest.at) < 0) {
      this.outOfOrder({ eventId: document.id, after: newest.id });
      return;
    }
    this.newest.set(orderingKey, { at: createdAt, id: document.id });
  }
}
