import { approximateSize } from './approximate-size.js';
import type { StoredDocument } from './event.js';

/**
 * The rule that ends a page where the run's room does (OutboxStore.fetchPending): documents are offered in
 * order as they arrive and taken while their approximateSize fits in `maxBytes`, the first always; once one
 * does not fit, none after it is taken. One place for it, so every store cuts pages alike.
 */
export class PageRoom {
  private taken = 0;
  private filled = 0;
  private largest = 0;
  private full = false;

  constructor(private readonly maxBytes: number) {}

  /** Whether `document` belongs to the page. */
  take(document: StoredDocument): boolean {
    if (this.full) return false;
    const size = approximateSize(document.fields);
    this.largest = Math.max(this.largest, size);
    if (this.taken > 0 && this.filled + size > this.maxBytes) {
      this.full = true;
      return false;
    }
    this.filled += size;
    this.taken += 1;
    return true;
  }

  /** A document was left out: the page ended before the store's last one, so more may follow. */
  get cut(): boolean {
    return this.full;
  }

  /** approximateSize of the documents taken. */
  get bytes(): number {
    return this.filled;
  }

  /** approximateSize of the largest document offered, the first left out included (OutboxPage.largestDocumentBytes). */
  get largestDocumentBytes(): number {
    return this.largest;
  }
}
