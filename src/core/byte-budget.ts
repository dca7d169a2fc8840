/**
 * Bounds the run's memory by bytes, not only by count: events in hand (fetched and not yet finished) may hold
 * at most `maxBytes` of JSON between them, and a page is only as large as the room left for events of the
 * largest accepted size, so BATCH_SIZE events at MAX_PAYLOAD_BYTES cannot all arrive at once.
 */
export class ByteBudget {
  private held = 0;
  private wakeUps: (() => void)[] = [];

  constructor(
    private readonly maxBytes: number,
    private readonly largestEventBytes: number,
  ) {}

  /** Bytes of the events in hand. */
  get heldBytes(): number {
    return this.held;
  }

  /** How many more events a page may bring: room for that many events of the largest accepted size (at least one). */
  pageLimit(batchSize: number): number {
    return Math.max(1, Math.min(batchSize, Math.floor((this.maxBytes - this.held) / this.largestEventBytes)));
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
