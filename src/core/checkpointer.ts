import { FlushError } from '../errors.js';
import type { EventOutcome } from './event.js';
import type { OutboxStore } from './ports.js';

/**
 * Records outcomes in batched writes while the run goes on, so a crash loses at most one checkpoint of
 * progress; writes are serialised, and a failed checkpoint is kept for the final flush to try again.
 */
export class Checkpointer {
  private buffer: EventOutcome[] = [];
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: OutboxStore,
    private readonly checkpointSize: number,
    private readonly onCheckpointFailed: (error: FlushError) => void,
  ) {}

  /** Outcomes waiting to be written. */
  get unwritten(): number {
    return this.buffer.length;
  }

  add(outcome: EventOutcome): void {
    this.buffer.push(outcome);
    if (this.buffer.length >= this.checkpointSize) this.writing = this.writing.then(() => this.writeBuffered());
  }

  /** Writes everything still buffered; rejects with FlushError if any outcome could not be recorded. */
  async flush(): Promise<void> {
    await this.writing;
    const batch = this.buffer;
    if (batch.length === 0) return;
    this.buffer = [];
    try {
      await this.store.recordOutcomes(batch);
    } catch (error) {
      this.buffer = batch.concat(this.buffer);
      throw new FlushError(batch.length, error);
    }
  }

  private async writeBuffered(): Promise<void> {
    const batch = this.buffer.splice(0, this.checkpointSize);
    if (batch.length === 0) return;
    try {
      await this.store.recordOutcomes(batch);
    } catch (error) {
      this.buffer = batch.concat(this.buffer);
      this.onCheckpointFailed(new FlushError(batch.length, error));
    }
  }
}
