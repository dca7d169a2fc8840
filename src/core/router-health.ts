/** What one answered POST changed in the relay's view of the router. */
export type HealthChange = 'none' | 'recovered' | 'opened';

/**
 * The circuit breaker: tells a failing router from failing events. Failed POSTs of `threshold` distinct
 * events with no success between them mean the router is failing (the circuit opens for the rest of the
 * run); any success means the failures before it were the events' own. While the router has not proven
 * itself in this run, or has failed since, only as many POSTs are let in flight as could still be judged,
 * so an outage costs `threshold` probing events per run, not DELIVERY_CONCURRENCY.
 */
export class RouterHealth {
  /** Distinct events with a failed POST since the last success. */
  private readonly failing = new Set<string>();
  private succeeded = false;
  private isOpen = false;

  constructor(
    private readonly threshold: number,
    private readonly concurrency: number,
  ) {}

  get open(): boolean {
    return this.isOpen;
  }

  /** Failures since the last success wait for a verdict: the next success, or the circuit opening. */
  get undecided(): boolean {
    return !this.isOpen && this.failing.size > 0;
  }

  /** POSTs allowed in flight now. */
  get window(): number {
    if (this.isOpen) return 1;
    if (this.succeeded && this.failing.size === 0) return this.concurrency;
    return Math.max(1, Math.min(this.concurrency, this.threshold - this.failing.size));
  }

  /** Counts one answered POST (a cancelled one says nothing about the router and is not passed here). */
  observe(eventId: string, ok: boolean): HealthChange {
    if (this.isOpen) return 'none';
    if (ok) {
      this.succeeded = true;
      const hadFailures = this.failing.size > 0;
      this.failing.clear();
      return hadFailures ? 'recovered' : 'none';
    }
    this.failing.add(eventId);
    if (this.failing.size < this.threshold) return 'none';
    this.isOpen = true;
    return 'opened';
  }
}
