import { HandedEvents } from '../../../src/core/handed-events.js';
import { Instant } from '../../../src/core/instant.js';
import { FOLLOW_FULL_READ_INTERVAL_MS, PendingPages } from '../../../src/core/pending-pages.js';
import { MemoryOutboxStore } from '../../support/memory-outbox-store.js';

const t = (ms: number) => Instant.fromMillis(Date.UTC(2026, 0, 1) + ms);
/** Wake times a full read apart, after every createdAt the specs write (but the one dated in the future). */
let wakeMs = Date.UTC(2026, 0, 1) + 60_000;
const fullReadDue = (): number => (wakeMs += FOLLOW_FULL_READ_INTERVAL_MS);

/** One pass over the pending set, as a following run reads it at each wake. */
async function pass(pages: PendingPages): Promise<string[]> {
  const ids: string[] = [];
  for (;;) {
    const batch = await pages.next(2, Number.POSITIVE_INFINITY);
    ids.push(...batch.documents.map((d) => d.id));
    if (batch.done) return ids;
  }
}

describe('Class: PendingPages re-read from the start (FOLLOW_MS) with HandedEvents', () => {
  it('reads on from where it ended between full reads, and from the start when that end is dated in the future', async () => {
    const store = new MemoryOutboxStore();
    store.put('b', { status: 'pending', createdAt: t(5) });
    const pages = new PendingPages(store, new HandedEvents(() => undefined));
    await pass(pages);
    pages.restart(fullReadDue());
    await pass(pages);
    store.put('a-past', { status: 'pending', createdAt: t(1) });
    store.put('future', { status: 'pending', createdAt: t(3_600_000) });
    const reads = store.pageReads.length;

    pages.restart(wakeMs + 1);
    const readingOn = await pass(pages);
    const onlyOnePage = store.pageReads.length - reads;
    store.put('c', { status: 'pending', createdAt: t(10) });
    pages.restart(wakeMs + 2);
    const afterTheFuture = await pass(pages);

    expect(readingOn).toEqual(['future']);
    expect(onlyOnePage).toBe(1);
    expect(afterTheFuture).toEqual(['a-past', 'c']);
  });

  it('hands out only what is new on each pass, wherever its createdAt sorts', async () => {
    const store = new MemoryOutboxStore();
    store.put('b', { status: 'pending', createdAt: t(5) });
    store.put('future', { status: 'pending', createdAt: t(3_600_000) });
    const pages = new PendingPages(store, new HandedEvents(() => undefined));
    const first = await pass(pages);
    store.put('a-past', { status: 'pending', createdAt: t(1) });
    store.put('c', { status: 'pending', createdAt: t(10) });

    pages.restart(fullReadDue());
    const second = await pass(pages);

    expect(first).toEqual(['b', 'future']);
    expect(second).toEqual(['a-past', 'c']);
  });

  it('forgets what left the pending set, and hands out again an event that comes back to it under its id', async () => {
    const store = new MemoryOutboxStore();
    store.put('x', { status: 'pending', createdAt: t(1) });
    const pages = new PendingPages(store, new HandedEvents(() => undefined));
    await pass(pages);
    store.put('x', { status: 'delivered', createdAt: t(1) });
    pages.restart(fullReadDue());
    await pass(pages);
    store.put('x', { status: 'pending', createdAt: t(1) });

    pages.restart(fullReadDue());

    expect(await pass(pages)).toEqual(['x']);
  });

  it('tells, naming both, when an event sorts before one of its key handed out earlier', async () => {
    const store = new MemoryOutboxStore();
    const told: unknown[] = [];
    store.put('k-2', { status: 'pending', createdAt: t(5), orderingKey: 'k' });
    const pages = new PendingPages(store, new HandedEvents((found) => told.push(found)));
    await pass(pages);
    store.put('k-1', { status: 'pending', createdAt: t(1), orderingKey: 'k' });
    store.put('other', { status: 'pending', createdAt: t(2), orderingKey: 'other' });

    pages.restart(fullReadDue());
    await pass(pages);

    expect(told).toEqual([{ eventId: 'k-1', after: 'k-2' }]);
  });
});
