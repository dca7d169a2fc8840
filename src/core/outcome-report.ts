import type { DeliveryResult, EventRecord, Fault } from './decide.js';
import type { EventOutcome } from './event.js';
import type { Logger } from './ports.js';
import type { RunCounts } from './run-state.js';

/**
 * Counts a decided outcome in the run's summary and logs it: ids, reasons and counts only, never payloads; a
 * dead letter and a failure the next run retries are WARNINGs, a delivery DEBUG.
 */
export function reportOutcome(
  counts: RunCounts,
  log: Logger['log'],
  event: EventRecord,
  result: DeliveryResult,
  outcome: EventOutcome | undefined,
  fault: Fault,
): void {
  const eventId = event.id;
  if (outcome === undefined) {
    counts.waiting += 1;
  } else if (outcome.kind === 'delivered') {
    counts.delivered += 1;
    log('DEBUG', 'event delivered', { eventId, posts: 'posts' in result ? result.posts : 0 });
  } else if (outcome.kind === 'dead_letter') {
    counts.deadLettered += 1;
    log('WARNING', 'event dead-lettered', { eventId, reason: outcome.reason, parkedKey: outcome.parkKey !== undefined });
  } else {
    counts.failed += 1;
    log(result.kind === 'interrupted' ? 'INFO' : 'WARNING', 'event left for a later run', {
      eventId,
      attempts: outcome.attempts,
      reason: outcome.error,
      nextAttemptAt: outcome.nextAttemptAt?.toRfc3339(),
      fault,
    });
  }
}
