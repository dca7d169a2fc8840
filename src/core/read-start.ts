import type { PageCursor } from './ports.js';

/** Events left waiting (on backoff, behind a parked or held key) are read again at least this often. */
export const WAITING_REREAD_INTERVAL_MS = 10 * 60_000;

/**
 * What a run that read the pending set to its end, and settled everything it read, leaves to the next run of
 * its instance: every event still pending up to `end` waits, on its backoff or its key, and none is due before
 * `dueAtMs`.
 */
export interface ReadCarry {
  /** The last event that read saw: the next run reads on after it. */
  readonly end: PageCursor;
  /** That event's createdAt, in milliseconds. */
  readonly endCreatedAtMs: number;
  /** Ordering keys with an event left pending up to `end`: their later events wait in the next run too. */
  readonly heldKeys: ReadonlySet<string>;
  /** Parked keys events were left behind: a release (or a redrive that frees one) ends the carry. */
  readonly parkedKeys: ReadonlySet<string>;
  /** The earliest any event left behind may be attempted again. */
  readonly dueAtMs: number;
  /** When the pending set was last read from its start. */
  readonly fullReadAtMs: number;
  /** How many events were left pending up to `end`: a run reading on past them still counts them as waiting. */
  readonly leftPending: number;
}

/** Where a run's first page starts: the start of the pending set, or after what the last run left waiting. */
export type ReadStart =
  | { readonly kind: 'start'; readonly reason: 'first' | 'due' | 'interval' | 'released' | 'future' }
  | { readonly kind: 'resume'; readonly carry: ReadCarry };

/**
 * Where a run reads the pending set from, as a table (first match wins):
 *
 * | carried from the last run of this instance                  | the run reads from                        |
 * |--------------------------------------------------------------|-------------------------------------------|
 * | nothing: the instance's first run, or the last run stopped  | the start (`first`)                       |
 * | early, left outcomes unrecorded, or follows (FOLLOW_MS)     |                                           |
 * | an event left behind is due (its backoff ended)             | the start (`due`)                         |
 * | WAITING_REREAD_INTERVAL_MS (10 min) since the last read     | the start (`interval`)                    |
 * | from the start                                              |                                           |
 * | a key parked then is no longer parked (released, redriven)  | the start (`released`)                    |
 * | the last event read has a createdAt ahead of now            | the start (`future`)                      |
 * | otherwise                                                   | after it (`resume`), holding its keys     |
 *
 * Reading on skips only events that cannot be attempted yet, and their keys stay held, so order holds. What the
 * carry cannot see (a dead letter redriven without a parked key, an event written with an old createdAt, an
 * event another instance failed) is read by the next read from the start, within WAITING_REREAD_INTERVAL_MS.
 */
export function readStart(carry: ReadCarry | undefined, nowMs: number, parkedKeys: ReadonlySet<string>): ReadStart {
  if (carry === undefined) return { kind: 'start', reason: 'first' };
  if (nowMs >= carry.dueAtMs) return { kind: 'start', reason: 'due' };
  if (nowMs - carry.fullReadAtMs >= WAITING_REREAD_INTERVAL_MS) return { kind: 'start', reason: 'interval' };
  for (const key of carry.parkedKeys) if (!parkedKeys.has(key)) return { kind: 'start', reason: 'released' };
  if (carry.endCreatedAtMs > nowMs) return { kind: 'start', reason: 'future' };
  return { kind: 'resume', carry };
}
