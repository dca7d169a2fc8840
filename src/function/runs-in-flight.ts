import type { Clock } from '../core/ports.js';

/**
 * The runs a served process has started and not yet answered, so that whatever ends the process (SIGTERM, an
 * uncaught exception) can first let them record what the router acknowledged, release their leases and answer.
 */
export class RunsInFlight {
  private readonly runs = new Set<Promise<unknown>>();

  constructor(private readonly clock: Clock) {}

  /** How many runs have not answered yet. */
  get size(): number {
    return this.runs.size;
  }

  /** Counts `work` (a run and its answer) as in flight until it settles. */
  track<T>(work: Promise<T>): Promise<T> {
    const tracked = work.finally(() => this.runs.delete(tracked));
    this.runs.add(tracked);
    return tracked;
  }

  /**
   * Resolves once every run in flight now has answered, or after `maxWaitMs` regardless, so a run that cannot
   * wind down never keeps the process past Cloud Run's SIGKILL. Never rejects.
   */
  async answered(maxWaitMs: number): Promise<void> {
    const timeUp = new AbortController();
    await Promise.race([Promise.allSettled([...this.runs]), this.clock.sleep(maxWaitMs, timeUp.signal)]);
    timeUp.abort();
  }
}
