import type { Admission, EventRecord } from './decide.js';
import type { EventOutcome } from './event.js';

/**
 * What one run leaves pending among the events it read, and when the first of them may be attempted again: the
 * next run of the instance may then read on past them (read-start.ts) instead of reading them all again.
 */
export class LeftBehind {
  private earliestDueMs = Number.POSITIVE_INFINITY;
  /** Keys whose wait is accounted for: by a due time, or by a parked key. */
  private readonly explained = new Set<string>();
  private readonly parked = new Set<string>();

  /** An event not admitted: on backoff until its nextAttemptAt, or behind a parked key or a held one. */
  waited(record: Pick<EventRecord, 'orderingKey' | 'nextAttemptAt'>, admission: Extract<Admission, { kind: 'wait' }>): void {
    const key = record.orderingKey;
    if (admission.reason === 'backoff' && record.nextAttemptAt !== undefined) this.dueAt(key, record.nextAttemptAt.toMillis());
    if (admission.reason === 'key-parked' && key !== undefined) this.parkedKey(key);
    // 'key-held': the event goes after its key's earlier one, whose own wait is accounted for (or not) by itself.
  }

  /** An outcome recorded: a failed event waits for its backoff (none: due at once), a dead letter may park its key. */
  settled(key: string | undefined, outcome: EventOutcome, nowMs: number): void {
    if (outcome.kind === 'failed') this.dueAt(key, outcome.nextAttemptAt?.toMillis() ?? nowMs);
    if (outcome.kind === 'dead_letter' && outcome.parkKey !== undefined) this.parkedKey(outcome.parkKey);
  }

  /** Parked keys events were left behind. */
  get parkedKeys(): ReadonlySet<string> {
    return this.parked;
  }

  /**
   * The earliest an event left behind may be attempted: a held key whose wait nothing here accounts for (a
   * dead letter that did not park it, an interruption) makes that now, so the next run reads from the start.
   */
  dueAtMs(heldKeys: ReadonlySet<string>, accounted: ReadonlySet<string>, nowMs: number): number {
    for (const key of heldKeys) if (!this.explained.has(key) && !accounted.has(key)) return Math.min(this.earliestDueMs, nowMs);
    return this.earliestDueMs;
  }

  private dueAt(key: string | undefined, atMs: number): void {
    this.earliestDueMs = Math.min(this.earliestDueMs, atMs);
    if (key !== undefined) this.explained.add(key);
  }

  private parkedKey(key: string): void {
    this.parked.add(key);
    this.explained.add(key);
  }
}
