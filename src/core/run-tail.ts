import { FlushError, describeError } from '../errors.js';
import type { Checkpointer } from './checkpointer.js';
import type { RunSummary } from './event.js';
import type { HeldLease, OutboxStore, RunLease } from './ports.js';
import type { StepContext } from './step-context.js';

// The end of a run, after its last POST. None of these steps can turn the answer into a 500 (the second rule:
// every POST succeeded, so nothing afterwards fails the run), and each waits a bounded time.

/** Every acknowledged outcome still buffered, within one bounded wait; returns how many stay unrecorded. */
export async function flushOutcomes(checkpointer: Checkpointer, { bounded, log }: StepContext): Promise<number> {
  try {
    await bounded(checkpointer.flush(), 'recording outcomes', 0.5);
  } catch (error) {
    const message = error instanceof FlushError ? error.message : describeError(error);
    // Logged, never a 500: a retry would POST every acknowledged event again.
    log('ERROR', 'recording delivery progress failed; those events stay pending and are sent again', {
      error: message,
      unrecorded: checkpointer.unwritten,
    });
  }
  const { stale } = checkpointer;
  if (stale.length > 0)
    log('WARNING', 'outcomes not recorded: the documents changed or vanished while in flight', {
      stale: stale.slice(0, 20),
      count: stale.length,
    });
  return checkpointer.unwritten;
}

/** The audit is a record, not a delivery: a failure or a hang here is logged and never fails the run. */
export async function writeAudit(store: OutboxStore, summary: RunSummary, { bounded, log }: StepContext): Promise<boolean> {
  try {
    await bounded(store.writeAudit(summary), 'writing the run audit');
    return true;
  } catch (error) {
    log('ERROR', 'audit update failed after delivery; answering without it', { error: describeError(error) });
    return false;
  }
}

/** A lease that cannot be released simply expires (LEASE_TTL_MS); the answer does not change. */
export async function releaseLease(lease: RunLease, held: HeldLease, ttlMs: number, { bounded, log }: StepContext): Promise<void> {
  try {
    await bounded(lease.release(held), 'releasing the run lease');
  } catch (error) {
    log('WARNING', 'releasing the run lease failed; it will expire', { error: describeError(error), ttlMs });
  }
}
