import { AuditTimeoutError, FetchError, FlushError, MalformedEventError, describeError } from '../errors.js';
import { Checkpointer } from './checkpointer.js';
import { deliver, type RetryPolicy } from './delivery.js';
import type { EventOutcome, OutboxEvent, RunSummary, StoredDocument } from './event.js';
import { KeyedScheduler } from './keyed-scheduler.js';
import type { Clock, Logger, OutboxStore, PageCursor, RouterClient } from './ports.js';
import { count, validateEvent } from './validate-event.js';

/** The settings one run needs; a subset of Config, so the core never reads the environment. */
export interface RelayOptions extends RetryPolicy {
  readonly batchSize: number;
  readonly deliveryConcurrency: number;
  readonly maxAttempts: number;
  readonly runBudgetMs: number;
  readonly auditTimeoutMs: number;
  readonly checkpointSize: number;
  readonly maxPayloadBytes: number;
  readonly shardCount: number;
}

export interface RelayDeps {
  readonly store: OutboxStore;
  readonly router: RouterClient;
  readonly clock: Clock;
  readonly logger: Logger;
}

/**
 * How a run ended, which decides the answer to Cloud Scheduler: `completed` → 200 (even when the audit
 * failed); anything else → 500, after every acknowledged event was recorded (or that failed too).
 */
export type RunOutcome = 'completed' | 'delivery_failed' | 'fetch_failed' | 'flush_failed' | 'internal_error';

export interface RunResult {
  readonly outcome: RunOutcome;
  readonly summary: RunSummary;
  /** One line for the 500 body and the log when the outcome is not `completed`. */
  readonly error: string | undefined;
}

/** One scheduled run: drain pending events within the budget, record progress as it goes, audit last. */
export async function runRelay(runId: string, deps: RelayDeps, options: RelayOptions): Promise<RunResult> {
  const { store, router, clock, logger } = deps;
  const startedAt = clock.now();
  const deadline = startedAt + options.runBudgetMs;
  const counts = { fetched: 0, delivered: 0, deadLettered: 0, failed: 0 };
  let hasMore = false;
  let stopReason: { outcome: RunOutcome; error: string } | undefined;
  // Aborted when the run decides to start no new POSTs: pending retries and Retry-After waits end at once.
  const stopping = new AbortController();
  const cancelPosts = new AbortController();
  const stop = (outcome: RunOutcome, error: string): void => {
    stopReason ??= { outcome, error };
    stopping.abort();
  };
  /** The router asked us to slow down (or the budget is spent): start nothing new, answer 200 with hasMore. */
  const wrapUp = (): void => {
    hasMore = true;
    stopping.abort();
  };

  const checkpointer = new Checkpointer(store, options.checkpointSize, (error) => {
    logger.log('ERROR', 'checkpoint failed; starting no new POSTs', { runId, error: error.message });
    stop('flush_failed', error.message);
  });
  const record = (outcome: EventOutcome): void => {
    if (outcome.kind === 'delivered') counts.delivered += 1;
    else if (outcome.kind === 'dead_letter') counts.deadLettered += 1;
    else counts.failed += 1;
    checkpointer.add(outcome);
  };
  const deadLetter = (eventId: string, reason: string, attempts: number, postAttempts: number): void => {
    record({ kind: 'dead_letter', eventId, reason, attempts, postAttempts });
    logger.log('WARNING', 'event dead-lettered', { runId, eventId, reason });
  };

  const deliverOne = async (event: OutboxEvent): Promise<void> => {
    if (stopping.signal.aborted) return;
    if (clock.now() >= deadline) {
      wrapUp();
      return;
    }
    const result = await deliver(event, { router, clock }, options, { deadlineMs: deadline, stopped: stopping.signal, cancelPosts: cancelPosts.signal });
    const postAttempts = event.postAttempts + result.posts;
    const charged = event.attempts + 1;
    switch (result.kind) {
      case 'delivered':
        record({ kind: 'delivered', eventId: event.id, postAttempts });
        logger.log('DEBUG', 'event delivered', { runId, eventId: event.id, posts: result.posts });
        return;
      case 'permanent':
        deadLetter(event.id, result.reason, result.posts > 0 ? charged : event.attempts, postAttempts);
        return;
      case 'interrupted':
        // Not the event's fault: recorded for the operator, not counted towards MAX_ATTEMPTS.
        record({ kind: 'failed', eventId: event.id, error: result.reason, attempts: event.attempts, postAttempts });
        logger.log('INFO', 'event left for a later run', { runId, eventId: event.id, reason: result.reason });
        if (result.throttled) wrapUp();
        return;
      case 'transient':
        if (result.countsAsAttempt && charged >= options.maxAttempts) {
          deadLetter(event.id, `max attempts exceeded (${options.maxAttempts}): ${result.reason}`, charged, postAttempts);
          return;
        }
        record({ kind: 'failed', eventId: event.id, error: result.reason, attempts: result.countsAsAttempt ? charged : event.attempts, postAttempts });
        logger.log('WARNING', 'event delivery failed; stopping the run', { runId, eventId: event.id, attempt: charged, reason: result.reason });
        stop('delivery_failed', `event ${event.id} could not be delivered: ${result.reason}`);
        return;
    }
  };

  logger.log('INFO', 'run started', { runId, batchSize: options.batchSize, concurrency: options.deliveryConcurrency });
  const scheduler = new KeyedScheduler(options.deliveryConcurrency);
  const validateOrDeadLetter = (document: StoredDocument): OutboxEvent | undefined => {
    try {
      return validateEvent(document, options);
    } catch (error) {
      if (!(error instanceof MalformedEventError)) throw error;
      deadLetter(document.id, `malformed: ${error.message}`, count(document.fields.attempts), count(document.fields.postAttempts));
      return undefined;
    }
  };
  try {
    const strays = await store.fetchStrays(options.batchSize);
    counts.fetched += strays.length;
    strays.forEach(validateOrDeadLetter);
  } catch (error) {
    // The sweep is housekeeping: failing it must not hold up delivery of the well-formed events.
    logger.log('WARNING', 'looking for stray documents failed; delivering the rest', { runId, error: describeError(error) });
  }

  // A bug must not skip the flush: whatever was acknowledged is still recorded before the 500.
  const deliverSafely = (event: OutboxEvent): Promise<void> =>
    deliverOne(event).catch((error: unknown) => stop('internal_error', `event ${event.id}: ${describeError(error)}`));
  let cursor: PageCursor | undefined;
  try {
    for (;;) {
      if (stopping.signal.aborted) break;
      if (clock.now() >= deadline) {
        wrapUp();
        break;
      }
      let page;
      try {
        page = await store.fetchPending(options.batchSize, cursor);
      } catch (error) {
        stop('fetch_failed', new FetchError(error).message);
        break;
      }
      counts.fetched += page.documents.length;
      for (const document of page.documents) {
        const event = validateOrDeadLetter(document);
        if (event !== undefined) scheduler.submit(event.orderingKey, () => deliverSafely(event));
      }
      if (page.next === undefined) break;
      cursor = page.next;
      // Keep about two pages in hand: enough to keep every slot busy, never the whole outbox in memory.
      await scheduler.waitBelow(Math.max(options.batchSize, options.deliveryConcurrency * 2));
    }
  } catch (error) {
    stop('internal_error', describeError(error));
  }
  await scheduler.drain();

  try {
    await checkpointer.flush();
  } catch (error) {
    const message = error instanceof FlushError ? error.message : describeError(error);
    logger.log('ERROR', 'recording delivery progress failed', { runId, error: message, unrecorded: checkpointer.unwritten });
    stopReason = { outcome: 'flush_failed', error: message };
  }

  const summaryWithoutAudit = { runId, ...counts, hasMore, durationMs: clock.now() - startedAt };
  const auditFailed = !(await writeAudit(deps, { ...summaryWithoutAudit, auditFailed: false }, options.auditTimeoutMs));
  const summary: RunSummary = { ...summaryWithoutAudit, auditFailed, durationMs: clock.now() - startedAt };
  const outcome = stopReason?.outcome ?? 'completed';
  logger.log(outcome === 'completed' ? 'INFO' : 'ERROR', `run ${outcome}`, { ...summary, outcome, error: stopReason?.error });
  return { outcome, summary, error: stopReason?.error };
}

/** The audit is a record, not a delivery: a failure or a hang here is logged and never fails the run. */
async function writeAudit(deps: RelayDeps, summary: RunSummary, timeoutMs: number): Promise<boolean> {
  const cancelTimer = new AbortController();
  const timeout = deps.clock.sleep(timeoutMs, cancelTimer.signal).then(() => {
    throw new AuditTimeoutError(timeoutMs);
  });
  try {
    await Promise.race([deps.store.writeAudit(summary), timeout]);
    return true;
  } catch (error) {
    deps.logger.log('ERROR', 'audit update failed after delivery; answering 200 so nothing is POSTed again', {
      runId: summary.runId,
      error: describeError(error),
    });
    return false;
  } finally {
    cancelTimer.abort();
    timeout.catch(() => undefined);
  }
}
