import type { DocumentVersion, StoredDocument } from '../../../src/core/event.js';
import { Instant } from '../../../src/core/instant.js';
import { probeOrder } from '../../../src/core/probe-order.js';

/** A pending document; `attemptedAt` is when the relay last attempted it (lastAttemptAt), if ever. */
const doc = (id: string, orderingKey: string | undefined, attemptedAt?: number): StoredDocument => ({
  id,
  version: 1 as unknown as DocumentVersion,
  fields: {
    status: 'pending',
    ...(orderingKey === undefined ? {} : { orderingKey }),
    ...(attemptedAt === undefined ? {} : { lastAttemptAt: Instant.fromMillis(attemptedAt) }),
  },
});
const ids = (documents: readonly StoredDocument[]): string[] => documents.map((d) => d.id);

describe('Function: probeOrder (the order a run without a success yet tries a page)', () => {
  it('keeps the page as it is when nothing in it was attempted before', () => {
    const page = [doc('a1', 'a'), doc('b1', 'b'), doc('a2', 'a'), doc('c1', undefined)];
    expect(ids(probeOrder(page))).toEqual(['a1', 'b1', 'a2', 'c1']);
  });

  it('tries keys whose first event was never attempted first, then the rest, least recently attempted first', () => {
    const page = [doc('p1', 'p', 3_000), doc('q1', 'q', 1_000), doc('a1', 'a'), doc('n1', undefined, 2_000), doc('b1', 'b')];
    expect(ids(probeOrder(page))).toEqual(['a1', 'b1', 'q1', 'n1', 'p1']);
  });

  it('moves every event of a key with its first one, so each key keeps its order', () => {
    const page = [doc('p1', 'p', 5_000), doc('a1', 'a'), doc('p2', 'p'), doc('a2', 'a', 9_000), doc('p3', 'p')];
    const order = ids(probeOrder(page));
    expect(order).toEqual(['a1', 'a2', 'p1', 'p2', 'p3']);
  });
});
