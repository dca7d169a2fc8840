/**
 * Bounds the run's memory by bytes, not only by count: events in hand (fetched and not yet finished) may hold
 * at most `maxBytes` of JSON between them. A page may bring only the room left (the store ends it before the
 * first document that would not fit), and asks for as many documents as fit at the size of the last page's
 * largest; the first page of a run assumes the largest accepted size, so a run of large events does not
 * start by reading far more than it keeps.
 */
export class ByteBudget {
  private held = 0;
  private wakeUps: (() => void)[] = [];
  /** What the next page expects each document to take: the last page's largest, at first the largest accepted. */
  private expectedBytes: number;

  constructor(
    private readonly maxBytes: number,
    private readonly largestEventBytes: number,
  ) {
    this.expectedBytes = largestEventBytes;
  }

  /** Bytes of the events in hand. */
  get heldBytes(): number {
    return this.held;
  }

  /** Bytes the next page may bring. */
  get roomBytes(): number {
    return Math.max(0, this.maxBytes - this.held);
  }

  /** How many documents to ask for: as many as fit in the room at the expected size (at least one). */
  pageLimit(batchSize: number): number {
    return Math.max(1, Math.min(batchSize, Math.floor(this.roomBytes / this.expectedBytes)));
  }

  /** The page just read: the next one expects documents the size of its largest. */
  observePage(largestDocumentBytes: number): void {
    if (largestDocumentBytes > 0) this.expectedBytes = largestDocumentBytes;
  }

  /** Whether `bytes` more held would still leave room for an event of the largest accepted size. */
  fits(bytes: number): boolean {
    return this.held + bytes + this.largestEventBytes <= this.maxBytes;
  }

  hold(bytes: number): void {
    this.held += bytes;
  }

  release(bytes: number): void {
    this.held -= bytes;
    const waiters = this.wakeUps;
    this.wakeUps = [];
    for (const wake of waiters) wake();
  }

  /** Resolves once an event of the largest accepted size fits, or nothing is held (a page of one always fits). */
  async waitForRoom(): Promise<void> {
    while (this.held > 0 && this.held + this.largestEventBytes > this.maxBytes) {
      await new Promise<void>((resolve) => this.wakeUps.push(resolve));
    }
  }
}
