import { admit, type Admission, type Decision, type EventRecord } from './decide.js';
import type { RunSummary } from './event.js';
import { LeftBehind } from './left-behind.js';

/** Why a run stopped starting POSTs before it had delivered everything it could. */
export const StopReason = {
  /** A bug: whatever was acknowledged is still recorded, then the run answers 500. */
  InternalError: 'internal_error',
  /** Another run took the lease: this run's writes would be refused anyway. */
  LeaseLost: 'lease_lost',
  /** The circuit opened: failures of distinct events in a row, so the router is failing, not the events. */
  RouterFailing: 'router_failing',
  /** Recording progress failed: more POSTs would only add to what must be sent again. */
  CheckpointFailed: 'checkpoint_failed',
  /** Reading pending events (or parked keys) failed or timed out. */
  FetchFailed: 'fetch_failed',
  /** Renewals kept failing; another run could take the lease soon. */
  LeaseExpiring: 'lease_expiring',
  /** SIGTERM: the instance is going away within seconds. */
  Shutdown: 'shutdown',
  /** RUN_BUDGET_MS is spent: the rest is the next run's. */
  BudgetSpent: 'budget_spent',
  /** Following new events (FOLLOW_MS), the run handed its lease to a newer run, which delivers from here. */
  HandedOver: 'handed_over',
} as const;
export type StopReason = (typeof StopReason)[keyof typeof StopReason];

/** Most telling first: when several stop a run (a shutdown during an outage), the run reports the first of these. */
const PRECEDENCE: readonly StopReason[] = [
  StopReason.InternalError,
  StopReason.LeaseLost,
  StopReason.RouterFailing,
  StopReason.CheckpointFailed,
  StopReason.FetchFailed,
  StopReason.LeaseExpiring,
  StopReason.Shutdown,
  StopReason.BudgetSpent,
  StopReason.HandedOver,
];

/** Counts a run reports; each event of the run lands in exactly one of the last four. */
export interface RunCounts {
  fetched: number;
  delivered: number;
  deadLettered: number;
  failed: number;
  waiting: number;
}

/** The state of one run that outlives any single step: counts, held keys, why it stopped, what failed. */
export class RunState {
  readonly counts: RunCounts = { fetched: 0, delivered: 0, deadLettered: 0, failed: 0, waiting: 0 };
  /** Later events of these ordering keys are not attempted in this run. */
  readonly heldKeys = new Set<string>();
  /** What the run leaves pending, and when it may be attempted: the next run may read on past it. */
  readonly leftBehind = new LeftBehind();
  /** Keys waiting for a dead letter across runs (read at the start of the run). */
  parkedKeys: ReadonlySet<string> = new Set();
  /** Deliveries that failed and stay pending: one is enough for the run to answer 500. */
  failedDeliveries = 0;
  /** The first of them, for the answer's message. */
  firstFailure: string | undefined;
  /** The outbox may hold events this run did not reach. */
  hasMore = false;
  /** Aborted when the run starts no new POSTs; retry waits end with it. */
  readonly stopping = new AbortController();
  private stop: { readonly reason: StopReason; readonly error: string } | undefined;

  constructor(
    readonly runId: string,
    readonly startedAtMs: number,
    /** No POST starts at or after this. */
    readonly deadlineMs: number,
  ) {}

  get stopReason(): StopReason | undefined {
    return this.stop?.reason;
  }

  get stopError(): string | undefined {
    return this.stop?.error;
  }

  /** What the answer names as the cause: why the run stopped, or that deliveries failed. */
  get cause(): { readonly error: string; readonly message: string | undefined } {
    const reason = this.stopReason;
    // Failed deliveries name a 500 unless the stop itself explains it (a bug, an open circuit).
    if (this.failedDeliveries > 0 && reason !== StopReason.InternalError && reason !== StopReason.RouterFailing) {
      const also = reason === undefined ? '' : ` (the run then stopped: ${reason})`;
      return {
        error: 'delivery_failed',
        message: `${this.failedDeliveries} deliver${this.failedDeliveries === 1 ? 'y' : 'ies'} failed and stay pending for a later run${also}; the first: ${this.firstFailure ?? ''}`,
      };
    }
    if (this.stop !== undefined) return { error: this.stop.reason, message: this.stop.error };
    return { error: 'drained', message: undefined };
  }

  /** Counts a failed delivery (it stays pending) for the answer rule. */
  failDelivery(description: string): void {
    this.failedDeliveries += 1;
    this.firstFailure ??= description;
  }

  /** Starts no new POSTs from now; the more telling reason is kept when several arrive. */
  stopWith(reason: StopReason, error: string): void {
    if (this.stop === undefined || PRECEDENCE.indexOf(reason) < PRECEDENCE.indexOf(this.stop.reason)) this.stop = { reason, error };
    this.stopping.abort();
  }

  /**
   * admit() for this run: an event not admitted waits for a later run and holds its key; one reached after the
   * run stopped waits too ('stopped'). Both are counted as waiting.
   */
  admits(record: Pick<EventRecord, 'orderingKey' | 'nextAttemptAt'>, nowMs: number): Admission | { readonly kind: 'stopped' } {
    const admission = admit(record, this, nowMs);
    if (admission.kind === 'wait') {
      this.holdKey(record.orderingKey);
      this.leftBehind.waited(record, admission);
    }
    const stopped = admission.kind === 'attempt' && this.stopping.signal.aborted;
    if (admission.kind === 'wait' || stopped) this.counts.waiting += 1;
    return stopped ? { kind: 'stopped' } : admission;
  }

  /** What decide() means for the rest of the run: keys held, failed deliveries counted, what stays pending. */
  apply(event: EventRecord, decision: Decision, nowMs: number): void {
    const { outcome } = decision;
    if (decision.holdsKey) this.holdKey(event.orderingKey);
    if (decision.failedDelivery && outcome?.kind === 'failed') this.failDelivery(`event ${event.id}: ${outcome.error}`);
    if (outcome !== undefined) this.leftBehind.settled(event.orderingKey, outcome, nowMs);
  }

  holdKey(key: string | undefined): void {
    if (key !== undefined) this.heldKeys.add(key);
  }

  /**
   * The answer rule: a 500 exists only to make Scheduler retry deliveries that failed (an open circuit is
   * that, even when every delivery in flight was cut short before its own verdict). Also for a bug, and for
   * a run that could not read the outbox before delivering anything (a retry then costs nothing). Never for a
   * failure after the POSTs succeeded: a retry would POST them all again.
   */
  get retryWanted(): boolean {
    const reason = this.stopReason;
    if (this.failedDeliveries > 0 || reason === StopReason.InternalError || reason === StopReason.RouterFailing) return true;
    return this.stopReason === StopReason.FetchFailed && this.counts.delivered === 0;
  }

  summary(extra: Pick<RunSummary, 'unrecorded' | 'stale' | 'auditFailed' | 'durationMs'>): RunSummary {
    return { runId: this.runId, stoppedBy: this.stopReason ?? 'drained', ...this.counts, hasMore: this.hasMore, ...extra };
  }
}
