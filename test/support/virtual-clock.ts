import type { Clock } from '../../src/core/ports.js';

interface Timer {
  readonly at: number;
  readonly resolve: () => void;
}

/**
 * Time for core specs, exactly and without waiting: sleeps are timers on a virtual timeline, and `run(work)`
 * advances the timeline to the next timer whenever nothing else can happen (every promise settled), until
 * `work` is done. In-memory ports answer through promises, so "nothing else can happen" is a macrotask turn.
 */
export class VirtualClock implements Clock {
  private nowMs: number;
  private timers: Timer[] = [];

  constructor(startMs = Date.UTC(2026, 0, 1, 12)) {
    this.nowMs = startMs;
  }

  now(): number {
    return this.nowMs;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted === true) return Promise.resolve();
    return new Promise((resolve) => {
      const timer: Timer = { at: this.nowMs + Math.max(0, ms), resolve };
      this.timers.push(timer);
      signal?.addEventListener(
        'abort',
        () => {
          this.timers = this.timers.filter((t) => t !== timer);
          resolve();
        },
        { once: true },
      );
    });
  }

  /** Moves time forward by `ms`, firing the timers due on the way in order. */
  async advance(ms: number): Promise<void> {
    const until = this.nowMs + ms;
    for (;;) {
      await settle();
      const next = this.earliest();
      if (next === undefined || next.at > until) break;
      this.fire(next);
    }
    this.nowMs = until;
    await settle();
  }

  /** Runs `work` to completion, jumping to the next timer whenever it is idle; fails after `limitMs` of virtual time. */
  async run<T>(work: Promise<T>, limitMs = 24 * 60 * 60_000): Promise<T> {
    let done = false;
    const tracked = work.finally(() => {
      done = true;
    });
    // Handled here, so a rejection while time is still being advanced is not reported as unhandled.
    tracked.catch(() => undefined);
    const deadline = this.nowMs + limitMs;
    for (let idle = 0; !done;) {
      await settle();
      if (done) break;
      const next = this.earliest();
      if (next === undefined) {
        // Nothing scheduled and not done: real I/O, or a deadlock, which a spec should report rather than hang on.
        idle += 1;
        if (idle > 2000) throw new Error('the work is stuck: not done, and no timer left to advance to');
        await new Promise((resolve) => setTimeout(resolve, 1));
        continue;
      }
      idle = 0;
      if (next.at > deadline) throw new Error(`virtual time ran past ${limitMs} ms without the work finishing`);
      this.fire(next);
    }
    return tracked;
  }

  private earliest(): Timer | undefined {
    return this.timers.reduce<Timer | undefined>((first, timer) => (first === undefined || timer.at < first.at ? timer : first), undefined);
  }

  private fire(timer: Timer): void {
    this.timers = this.timers.filter((t) => t !== timer);
    this.nowMs = Math.max(this.nowMs, timer.at);
    timer.resolve();
  }
}

/** Lets every pending promise and immediate callback run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i += 1) await new Promise((resolve) => setImmediate(resolve));
}
