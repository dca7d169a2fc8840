import { FlushError } from '../errors.js';
import type { EventOutcome } from './event.js';
import type { RecordReport } from './ports.js';

/** Writes outcomes (the run passes the store call, bound to its lease and deadline). */
export type WriteOutcomes = (outcomes: readonly EventOutcome[]) => Promise<RecordReport>;

/**
 * Records outcomes in batched writes while the run goes on, so a crash loses at most one checkpoint of
 * progress; writes are serialised, and a failed checkpoint is kept for the final flush to try again.
 */
export class Checkpointer {
  private buffer: EventOutcome[] = [];
  private inFlight = 0;
  private writing: Promise<void> = Promise.resolve();
  private readonly staleIds: string[] = [];

  constructor(
    private readonly write: WriteOutcomes,
    private readonly checkpointSize: number,
    private readonly onCheckpointFailed: (error: FlushError) => void,
  ) {}

  /** Outcomes decided and not (yet) recorded. */
  get unwritten(): number {
    return this.buffer.length + this.inFlight;
  }

  /** Events whose outcome was dropped because their document changed or vanished while in flight. */
  get stale(): readonly string[] {
    return this.staleIds;
  }

  add(outcome: EventOutcome): void {
    this.buffer.push(outcome);
    if (this.buffer.length >= this.checkpointSize) {
      this.writing = this.writing.then(() => this.writeBatch(this.buffer.splice(0, this.checkpointSize)).catch(this.onCheckpointFailed));
    }
  }

  /** Starts writing what is buffered, full checkpoint or not (a following run does so every second). */
  checkpoint(): void {
    if (this.buffer.length === 0) return;
    this.writing = this.writing.then(() => this.writeBatch(this.buffer.splice(0, this.checkpointSize)).catch(this.onCheckpointFailed));
  }

  /** Writes everything still buffered; rejects with FlushError if any outcome could not be recorded. */
  async flush(): Promise<void> {
    await this.writing;
    await this.writeBatch(this.buffer.splice(0));
  }

  private async writeBatch(batch: EventOutcome[]): Promise<void> {
    if (batch.length === 0) return;
    this.inFlight += batch.length;
    try {
      const report = await this.write(batch);
      this.staleIds.push(...report.stale);
    } catch (error) {
      this.buffer = batch.concat(this.buffer);
      throw new FlushError(batch.length, error);
    } finally {
      this.inFlight -= batch.length;
    }
  }
}
