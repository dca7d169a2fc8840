import type { StoredDocument } from './event.js';
import { Instant } from './instant.js';

/** Why a pending event is not due: its own backoff, or its key parked behind a dead letter (or behind either). */
export type WaitReason = 'backoff' | 'parked';

/**
 * The ages (ms) of the oldest pending events a run saw, apart by whether it could POST them: `dueMs` is what
 * "how far behind" means (an event the relay should be delivering); events on their backoff or behind a parked
 * key wait by design and are reported apart. 0 means none of that kind.
 */
export interface PendingAges {
  readonly dueMs: number;
  readonly backoffMs: number;
  readonly parkedMs: number;
}

/** Whether one pending document is due now, as `admit` (decide.ts) will judge it, given the keys waiting before it. */
export function pendingState(
  fields: Readonly<Record<string, unknown>>,
  parkedKeys: ReadonlySet<string>,
  waitingKeys: ReadonlyMap<string, WaitReason>,
  nowMs: number,
): 'due' | WaitReason {
  const key = typeof fields.orderingKey === 'string' && fields.orderingKey !== '' ? fields.orderingKey : undefined;
  if (key !== undefined && parkedKeys.has(key)) return 'parked';
  const before = key === undefined ? undefined : waitingKeys.get(key);
  if (before !== undefined) return before;
  const next = fields.nextAttemptAt;
  if (next instanceof Instant && next.toMillis() > nowMs) return 'backoff';
  return 'due';
}

/**
 * Follows the pages of one run, oldest first, and keeps the first (so oldest) event of each kind: the cost per
 * event is a map lookup. A key whose event waits holds its later events back, for the same reason.
 */
export class PendingAgeScan {
  private readonly waitingKeys = new Map<string, WaitReason>();
  private readonly oldest: { due?: number; backoff?: number; parked?: number } = {};
  private pages = 0;

  /** Takes a page; true when the ages changed (always for the first page), so they are worth reporting. */
  add(documents: readonly StoredDocument[], parkedKeys: ReadonlySet<string>, nowMs: number): boolean {
    let changed = this.pages === 0;
    this.pages += 1;
    for (const { fields } of documents) {
      const state = pendingState(fields, parkedKeys, this.waitingKeys, nowMs);
      if (state !== 'due' && typeof fields.orderingKey === 'string' && fields.orderingKey !== '') {
        this.waitingKeys.set(fields.orderingKey, state);
      }
      if (this.oldest[state] !== undefined || !(fields.createdAt instanceof Instant)) continue;
      this.oldest[state] = Math.max(0, nowMs - fields.createdAt.toMillis());
      changed = true;
    }
    return changed;
  }

  /** The oldest of each kind so far (0 for a kind not seen). */
  get ages(): PendingAges {
    return { dueMs: this.oldest.due ?? 0, backoffMs: this.oldest.backoff ?? 0, parkedMs: this.oldest.parked ?? 0 };
  }
}
