import type { PendingPages } from './pending-pages.js';
import { readStart, type ReadCarry, type ReadStart } from './read-start.js';
import type { RunState } from './run-state.js';

/**
 * One instance's memory of where the last run's read ended (wired once in createRelay, not when following; with
 * max-instances 1 per shard, the shard's): events on backoff or behind a parked key are then read once per
 * WAITING_REREAD_INTERVAL_MS or when due, not at every run. Without it every run reads from the start.
 */
export class ReadResume {
  private carry: ReadCarry | undefined;
  /** The carry the running read started from (resumed), to merge into the next. */
  private resumed: ReadCarry | undefined;
  private startedAtMs = 0;

  /**
   * Before the first page, with the parked keys read: reads on past what the last run left waiting, its keys
   * held in `run`, when readStart allows; otherwise from the start.
   */
  begin(nowMs: number, run: RunState, pages: PendingPages): ReadStart {
    const start = readStart(this.carry, nowMs, run.parkedKeys);
    this.carry = undefined;
    this.resumed = start.kind === 'resume' ? start.carry : undefined;
    this.startedAtMs = nowMs;
    if (start.kind === 'resume') {
      // Not read again, they still wait: the run's summary counts them as it did when it read them.
      run.counts.waiting += start.carry.leftPending;
      for (const key of start.carry.heldKeys) run.holdKey(key);
      pages.resumeAfter(start.carry.end);
    }
    return start;
  }

  /**
   * After the flush: keeps what the next run needs to read on past the events left waiting, only when the read
   * reached the end of the pending set, the run stopped for nothing and every outcome was recorded.
   */
  end(run: RunState, pages: PendingPages, unwritten: number, nowMs: number): void {
    const previous = this.resumed;
    this.resumed = undefined;
    const last = pages.lastRead ?? (previous === undefined ? undefined : { cursor: previous.end, createdAtMs: previous.endCreatedAtMs });
    if (!pages.done || run.stopReason !== undefined || unwritten > 0 || last === undefined) return;
    const { heldKeys, leftBehind } = run;
    const accounted = new Set([...(previous?.heldKeys ?? []), ...(previous?.parkedKeys ?? [])]);
    const dueAtMs = Math.min(leftBehind.dueAtMs(heldKeys, accounted, nowMs), previous?.dueAtMs ?? Number.POSITIVE_INFINITY);
    // Nothing left waiting: reading from the start costs nothing more, and sees a redrive at once.
    if (dueAtMs === Number.POSITIVE_INFINITY && heldKeys.size === 0) return;
    this.carry = {
      end: last.cursor,
      endCreatedAtMs: last.createdAtMs,
      heldKeys: new Set(heldKeys),
      parkedKeys: new Set([...(previous?.parkedKeys ?? []), ...leftBehind.parkedKeys]),
      dueAtMs,
      fullReadAtMs: previous?.fullReadAtMs ?? this.startedAtMs,
      leftPending: run.counts.waiting + run.counts.failed,
    };
  }
}
