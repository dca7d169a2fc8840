/** What one answered POST changed in the relay's view of the router. */
export type HealthChange = 'none' | 'recovered' | 'opened';

/**
 * What one answered POST says about the router: it took the event; it `failed` (a 5xx or 4xx without a time to
 * come back, a timeout, a refused or reset connection); or it `refused` the event for now, naming when to come
 * back (`Retry-After`): the router is up and speaking for that one event, as a consumer does for an event
 * whose message another attempt still holds.
 */
export type RouterSignal = 'delivered' | 'failed' | 'refused';

/** Distinct events answered since the last success, by their latest answer. */
export interface Streak {
  readonly failed: number;
  readonly refused: number;
  /** Of those, the ones still being delivered (waiting to retry in the run): each holds a slot, already judged. */
  readonly inFlight: number;
}

/** The settings the breaker judges by: BREAKER_THRESHOLD and DELIVERY_CONCURRENCY. */
export interface BreakerLimits {
  readonly threshold: number;
  readonly concurrency: number;
}

/** The breaker's state read from its evidence: whether the router is failing, and POSTs allowed in flight now. */
export interface BreakerState {
  readonly open: boolean;
  readonly window: number;
}

/**
 * Distinct events refused in a row (with `Retry-After`) that mean the router is failing: more than one run can
 * have had in flight at once, so more than a consumer that crashed holding its claims on them could refuse.
 */
export function refusalLimit(limits: BreakerLimits): number {
  return Math.max(limits.threshold, limits.concurrency + 1);
}

/**
 * The one rule of the circuit breaker, read as a table (router-health.test.ts states it row by row):
 *
 * | since the last success                                                 | circuit | POSTs in flight                     |
 * |------------------------------------------------------------------------|---------|-------------------------------------|
 * | `failed` distinct events ≥ BREAKER_THRESHOLD                           | open    | none new                            |
 * | `failed` + `refused` distinct events ≥ max(THRESHOLD, CONCURRENCY + 1) | open    | none new                            |
 * | nothing, and a success in the run                                      | closed  | DELIVERY_CONCURRENCY                |
 * | otherwise (no success yet, or failures since)                          | closed  | as many as could still be judged,   |
 * |                                                                        |         | plus the streak's events retrying   |
 *
 * A success between failures resets the streak: the failures before it were the events' own. A failure that
 * ownFailure() calls the event's own (POSTed in an earlier run, and the router delivered others in this one)
 * never joins the streak. An event of the
 * streak still retrying in the run holds its slot but is counted already, so it does not stop further probes
 * (six oldest events waiting out their Retry-After do not keep the run from reaching the seventh).
 */
export function breakerState(streak: Streak, succeeded: boolean, limits: BreakerLimits): BreakerState {
  const { threshold, concurrency } = limits;
  const distinct = streak.failed + streak.refused;
  if (streak.failed >= threshold || distinct >= refusalLimit(limits)) return { open: true, window: 1 };
  if (succeeded && distinct === 0) return { open: false, window: concurrency };
  const judgeable = Math.min(threshold - streak.failed, refusalLimit(limits) - distinct);
  return { open: false, window: Math.max(1, Math.min(concurrency, judgeable + streak.inFlight)) };
}

/**
 * Whose fault the failures still undecided when the run ends were: with a success in the run the router was
 * working, so they are the events' own; with none, nothing tells the events from the router (a quiet outbox
 * whose few events a moved route answers 404), so none is charged.
 */
export function faultAtRunEnd(succeeded: boolean): 'event' | 'router' {
  return succeeded ? 'event' : 'router';
}

/**
 * Whether a failure is the event's own whatever the streak says: the event failed in an earlier run too (it was
 * POSTed before), and the router has delivered other events in this run. Runs try such events last until their
 * first success (probe-order.ts), so events that fail one by one (poison payloads) at the head of the outbox are
 * charged and reach their dead letters, instead of opening the circuit run after run with nobody charged.
 */
export function ownFailure(postedBefore: boolean, succeededInRun: boolean): boolean {
  return postedBefore && succeededInRun;
}

/**
 * The circuit breaker: tells a failing router from failing events by breakerState(), over the distinct events
 * answered since the last success. Once open it stays open for the rest of the run.
 */
export class RouterHealth {
  /** Distinct events answered without success since the last success, by their latest answer. */
  private readonly streak = new Map<string, Exclude<RouterSignal, 'delivered'>>();
  /** Events of the streak whose delivery has not ended yet (retrying in the run). */
  private readonly retrying = new Set<string>();
  private anySuccess = false;
  private state: BreakerState;

  constructor(private readonly limits: BreakerLimits) {
    this.state = breakerState({ failed: 0, refused: 0, inFlight: 0 }, false, limits);
  }

  get open(): boolean {
    return this.state.open;
  }

  /** Whether the router delivered any event in this run. */
  get succeeded(): boolean {
    return this.anySuccess;
  }

  /** Failures since the last success wait for a verdict: the next success, the circuit opening, or the run's end. */
  get undecided(): boolean {
    return !this.state.open && this.streak.size > 0;
  }

  /** POSTs allowed in flight now. */
  get window(): number {
    return this.state.window;
  }

  /** The distinct events of the current streak, by their latest answer. */
  get counts(): Streak {
    let refused = 0;
    for (const signal of this.streak.values()) if (signal === 'refused') refused += 1;
    return { failed: this.streak.size - refused, refused, inFlight: this.retrying.size };
  }

  /**
   * Counts one answered POST (a cancelled one says nothing about the router and is not passed here). A failure of
   * an event POSTed in an earlier run, once the router has delivered others in this one, is that event's own
   * (ownFailure()) and leaves the streak alone.
   */
  observe(eventId: string, signal: RouterSignal, postedBefore = false): HealthChange {
    if (this.state.open) return 'none';
    if (signal !== 'delivered' && ownFailure(postedBefore, this.anySuccess)) return 'none';
    const hadFailures = this.streak.size > 0;
    if (signal === 'delivered') {
      this.anySuccess = true;
      this.streak.clear();
      this.retrying.clear();
    } else {
      this.streak.set(eventId, signal);
      this.retrying.add(eventId);
    }
    this.state = breakerState(this.counts, this.anySuccess, this.limits);
    if (this.state.open) return 'opened';
    return signal === 'delivered' && hadFailures ? 'recovered' : 'none';
  }

  /** One event's delivery in this run ended: it no longer holds a slot. */
  concluded(eventId: string): void {
    if (!this.retrying.delete(eventId) || this.state.open) return;
    this.state = breakerState(this.counts, this.anySuccess, this.limits);
  }
}
