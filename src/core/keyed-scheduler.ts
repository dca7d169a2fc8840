import pLimit, { type LimitFunction } from 'p-limit';

/**
 * Runs tasks with bounded parallelism while tasks that share a key run strictly one after another,
 * in the order they were submitted; tasks free to start (no key, or none of theirs before them) start in
 * submission order as slots free up.
 */
export class KeyedScheduler {
  private readonly limit: LimitFunction;
  private readonly tails = new Map<string, Promise<void>>();
  private readonly outstanding = new Set<Promise<void>>();
  /** Waiters of waitBelow, woken each time a task finishes (cheaper than racing every outstanding task). */
  private wakeUps: (() => void)[] = [];

  constructor(concurrency: number) {
    this.limit = pLimit(concurrency);
  }

  /** Changes how many tasks may run at once; queued tasks start as slots free up. */
  setConcurrency(concurrency: number): void {
    if (this.limit.concurrency !== concurrency) this.limit.concurrency = concurrency;
  }

  /** Tasks submitted and not yet finished, queued or running. */
  get size(): number {
    return this.outstanding.size;
  }

  /** Queues a task; it must handle its own errors (a rejection is swallowed, never lost as unhandled). */
  submit(key: string | undefined, task: () => Promise<void>): void {
    const run = (): Promise<void> => this.limit(task).catch(() => undefined);
    // A task whose key has nothing before it is queued at once, as a task without a key is: tasks start in the order
    // submitted (a probe order of the run's first events holds), not keyed ones a microtask behind.
    const previous = key === undefined ? undefined : this.tails.get(key);
    const done = previous === undefined ? run() : previous.then(run);
    if (key !== undefined) this.tails.set(key, done);
    this.outstanding.add(done);
    void done.finally(() => {
      this.outstanding.delete(done);
      if (key !== undefined && this.tails.get(key) === done) this.tails.delete(key);
      const waiters = this.wakeUps;
      this.wakeUps = [];
      for (const wake of waiters) wake();
    });
  }

  /** Backpressure: resolves once fewer than `count` tasks are outstanding. */
  async waitBelow(count: number): Promise<void> {
    while (this.outstanding.size >= count) await new Promise<void>((resolve) => this.wakeUps.push(resolve));
  }

  /** Resolves when every submitted task has finished. */
  async drain(): Promise<void> {
    await this.waitBelow(1);
  }
}
