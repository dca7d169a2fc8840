import { Instant } from '../../../src/core/instant.js';
import { PendingPages } from '../../../src/core/pending-pages.js';
import { MemoryOutboxStore } from '../../support/memory-outbox-store.js';

async function readAll(store: MemoryOutboxStore, limit: number): Promise<string[][]> {
  const pages = new PendingPages(store);
  const batches: string[][] = [];
  for (;;) {
    const batch = await pages.next(limit, Number.POSITIVE_INFINITY);
    batches.push(batch.documents.map((d) => d.id));
    if (batch.done) return batches;
  }
}

describe('Class: PendingPages', () => {
  it('hands out every pending event once, oldest first', async () => {
    const store = new MemoryOutboxStore();
    store.seed(7);

    expect((await readAll(store, 3)).flat()).toEqual(store.idsWithStatus('pending'));
  });

  it('holds back the events sharing a full page’s last createdAt, and orders that commit by sequence', async () => {
    const store = new MemoryOutboxStore();
    const t = (ms: number) => Instant.fromMillis(Date.UTC(2026, 0, 1) + ms);
    store.put('a-first', { status: 'pending', createdAt: t(0) });
    // One commit of three, natural ids sorting against their enqueue order.
    store.put('c-one', { status: 'pending', createdAt: t(5), sequence: 1 });
    store.put('b-two', { status: 'pending', createdAt: t(5), sequence: 2 });
    store.put('a-three', { status: 'pending', createdAt: t(5), sequence: 3 });
    store.put('z-last', { status: 'pending', createdAt: t(9) });

    const batches = await readAll(store, 2);

    expect(batches.flat()).toEqual(['a-first', 'c-one', 'b-two', 'a-three', 'z-last']);
    expect(batches[0]).toEqual(['a-first']);
  });
});
