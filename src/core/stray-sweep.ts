import { untilStopped, type Read } from './early-read.js';
import type { StoredDocument } from './event.js';
import type { Clock } from './ports.js';

/** Stray documents dead-lettered per sweep at most; a sweep that finds this many sweeps again at the next run. */
export const STRAY_LIMIT = 200;
/** An instance sweeps for strays at most this often, besides its first run and a sweep that found STRAY_LIMIT. */
export const STRAY_SWEEP_INTERVAL_MS = 15 * 60_000;
/** Counting the whole outbox (delivered events included) to find documents without a status: at most this often. */
export const WHOLE_OUTBOX_COUNT_INTERVAL_MS = 6 * 60 * 60_000;

/** What an instance remembers of its sweeps; all unset before its first. */
export interface SweepHistory {
  /** When the last sweep that ran to its end ran. */
  readonly sweptAtMs?: number;
  /** When the whole outbox was last counted. */
  readonly countedAtMs?: number;
  /** The last sweep failed, or found a full STRAY_LIMIT (more strays may wait). */
  readonly again?: boolean;
}

/** Whether this run sweeps, and whether the sweep counts the whole outbox; undefined: no sweep. */
export interface SweepPlan {
  readonly wholeOutbox: boolean;
}

/**
 * Whether a run sweeps for strays (shard 0's housekeeping: documents no page returns), as a table:
 *
 * | history                                                 | this run                                        |
 * |---------------------------------------------------------|-------------------------------------------------|
 * | none (the instance's first run)                         | sweeps, counting the whole outbox               |
 * | the last sweep failed or found STRAY_LIMIT strays       | sweeps                                          |
 * | STRAY_SWEEP_INTERVAL_MS (15 min) since the last sweep   | sweeps                                          |
 * | otherwise                                               | no sweep: no stray query, no count              |
 * | a sweep, WHOLE_OUTBOX_COUNT_INTERVAL_MS (6 h) since the | also counts the whole outbox, delivered events  |
 * | last whole count                                        |                                                 |
 * |                                                         | included (2 reads per 1,000 documents)          |
 *
 * A stray is dead-lettered within STRAY_SWEEP_INTERVAL_MS of its write (one without a status within
 * WHOLE_OUTBOX_COUNT_INTERVAL_MS); until then it waits, as it would have forever had no sweep found it.
 */
export function sweepPlan(history: SweepHistory, nowMs: number): SweepPlan | undefined {
  const { sweptAtMs, countedAtMs, again = false } = history;
  const sweeps = sweptAtMs === undefined || again || nowMs - sweptAtMs >= STRAY_SWEEP_INTERVAL_MS;
  if (!sweeps) return undefined;
  return { wholeOutbox: countedAtMs === undefined || nowMs - countedAtMs >= WHOLE_OUTBOX_COUNT_INTERVAL_MS };
}

/**
 * One instance's sweep history across its runs (wired once in createRelay), so shard 0 stops paying a stray
 * sweep, a few queries and counts over the pending set, at every run. A fresh one sweeps at once.
 */
export class StraySweepSchedule {
  private history: SweepHistory = {};

  /** The plan for a run starting now (sweepPlan). */
  plan(nowMs: number): SweepPlan | undefined {
    return sweepPlan(this.history, nowMs);
  }

  /** What the planned sweep came to: the number of strays found, or 'failed' (cut short or rejected). */
  swept(plan: SweepPlan, nowMs: number, found: number | 'failed'): void {
    if (found === 'failed') {
      this.history = { ...this.history, again: true };
      return;
    }
    this.history = {
      sweptAtMs: nowMs,
      countedAtMs: plan.wholeOutbox ? nowMs : this.history.countedAtMs,
      again: found >= STRAY_LIMIT,
    };
  }
}

/** One run's sweep, started with the parked-key read and taken once that is in (relay.ts). */
export interface StartedSweep {
  /** The strays found; none when no sweep was due, the run stopped meanwhile, or the sweep failed (`error`). */
  take(stopped: AbortSignal, clock: Pick<Clock, 'now'>): Promise<{ readonly found: readonly StoredDocument[]; readonly error?: unknown }>;
}

/**
 * Starts the run's sweep when `schedule` (a fresh one when unset: the run sweeps) says one is due, reading at
 * most STRAY_LIMIT strays; what it came to goes back to the schedule when taken.
 */
export function startSweep(
  schedule: StraySweepSchedule | undefined,
  nowMs: number,
  read: (limit: number, plan: SweepPlan) => Promise<Read<readonly StoredDocument[]>>,
): StartedSweep {
  const plan = (schedule ?? new StraySweepSchedule()).plan(nowMs);
  const reading = plan === undefined ? undefined : read(STRAY_LIMIT, plan);
  return {
    async take(stopped, clock) {
      if (plan === undefined || reading === undefined) return { found: [] };
      const strays = await untilStopped(reading, stopped);
      const found = strays?.ok === true && !stopped.aborted ? strays.value : undefined;
      schedule?.swept(plan, clock.now(), found?.length ?? 'failed');
      return strays?.ok === false ? { found: [], error: strays.error } : { found: found ?? [] };
    },
  };
}
