import type { Verdict } from './classify.js';
import { decide, type DeliveryResult, type Fault, type FatePolicy } from './decide.js';
import type { OutboxEvent } from './event.js';
import { RouterHealth, faultAtRunEnd, type BreakerLimits, type RouterSignal } from './router-health.js';

/** What the judge does to the run: the run's own steps, passed in so the judge knows nothing else of it. */
export interface FaultJudgeHooks {
  /** Applies decide() to a delivery whose fault is now known. */
  readonly settle: (event: OutboxEvent, result: DeliveryResult, fault: Fault) => void;
  /** Holds back the later events of a key in this run. */
  readonly holdKey: (key: string | undefined) => void;
  /** The POSTs allowed in flight changed. */
  readonly setWindow: (window: number) => void;
  /** The circuit opened, for the reason given: the run starts no new POSTs. */
  readonly opened: (reason: string) => void;
  readonly fatePolicy: () => FatePolicy;
  readonly now: () => number;
}

/** A delivery that ended in failure while the breaker could not yet say whose fault it was. */
interface Undecided {
  readonly event: OutboxEvent;
  readonly result: DeliveryResult;
}

/** What an answer says about the router: a transient answer naming its time to come back is a refusal. */
export function signalOf(verdict: Exclude<Verdict, { kind: 'cancelled' }>): RouterSignal {
  if (verdict.kind === 'delivered') return 'delivered';
  return verdict.kind === 'transient' && verdict.retryAfterMs !== undefined ? 'refused' : 'failed';
}

/**
 * Whose fault each failed delivery of a run was, by the breaker (router-health.ts): a failure that comes while
 * the breaker cannot yet tell waits for its verdict (the next success, the circuit opening, or the run's end),
 * and the later events of its key are held meanwhile.
 */
export class FaultJudge {
  private readonly health: RouterHealth;
  private undecided: Undecided[] = [];

  constructor(
    limits: BreakerLimits,
    private readonly hooks: FaultJudgeHooks,
  ) {
    this.health = new RouterHealth(limits);
  }

  /** Whether the circuit opened in this run. */
  get open(): boolean {
    return this.health.open;
  }

  /** POSTs allowed in flight now. */
  get window(): number {
    return this.health.window;
  }

  /** Whether the router delivered any event in this run. */
  get succeeded(): boolean {
    return this.health.succeeded;
  }

  /** Every POST's verdict feeds the breaker; it may settle the failures that were waiting for it. */
  observe(event: Pick<OutboxEvent, 'id' | 'postAttempts'>, verdict: Verdict): void {
    if (verdict.kind === 'cancelled') return;
    const change = this.health.observe(event.id, signalOf(verdict), event.postAttempts > 0);
    this.hooks.setWindow(this.health.window);
    if (change === 'recovered') this.judgeUndecided('event');
    if (change === 'opened') {
      const { failed, refused } = this.health.counts;
      const last = verdict.kind === 'delivered' ? '' : verdict.reason;
      this.judgeUndecided('router');
      this.hooks.opened(
        `${failed + refused} distinct events failed in a row with no success (${failed} failed, ${refused} refused with Retry-After; last: ${last}); the router is failing, not the events`,
      );
    }
  }

  /** A failure waits for the breaker's verdict while failures since the last success are undecided. */
  conclude(event: OutboxEvent, result: DeliveryResult): void {
    this.health.concluded(event.id);
    this.hooks.setWindow(this.health.window);
    if (result.kind === 'delivered' || result.kind === 'interrupted') this.hooks.settle(event, result, 'event');
    else if (this.health.open) this.hooks.settle(event, result, 'router');
    else if (this.health.undecided) {
      this.undecided.push({ event, result });
      // Later events of the key cannot be un-skipped: hold them now if the event's own verdict will. (Should the
      // verdict be the router's, the circuit opens and the run starts no new POSTs at all.)
      if (decide(event, result, 'event', this.hooks.fatePolicy(), this.hooks.now(), 0.5).holdsKey) this.hooks.holdKey(event.orderingKey);
    } else this.hooks.settle(event, result, 'event');
  }

  /** The run ends: failures still undecided are judged by faultAtRunEnd(). */
  endRun(): void {
    this.judgeUndecided(faultAtRunEnd(this.health.succeeded));
  }

  private judgeUndecided(fault: Fault): void {
    const waiting = this.undecided;
    this.undecided = [];
    for (const { event, result } of waiting) this.hooks.settle(event, result, fault);
  }
}
