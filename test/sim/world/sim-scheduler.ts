import type { Clock } from '../../../src/core/ports.js';

/** How the simulation lets one pending I/O end. */
export type Completion = 'ok' | 'fail' | 'commit-then-fail' | 'hang';

/** One I/O in flight: a Firestore call, a POST's answer, a listener's notification. */
export interface PendingIo {
  readonly seq: number;
  /** The instance whose process made the call: a crash drops it. */
  readonly owner: string;
  readonly label: string;
  /** Whether its effect can land and its answer be lost (a write, a POST). */
  readonly write: boolean;
  finish(completion: Completion): void;
}

interface Timer {
  readonly seq: number;
  readonly owner: string;
  readonly at: number;
  readonly fire: () => void;
}

/**
 * The one place the simulated world's time and I/O move: nothing completes and no timer fires except when a
 * step of the history tells this scheduler to, so a seed replays one interleaving exactly. Time is the
 * store's ("true") time; each instance sees it through its own SimClock, offset as its clock disagrees.
 */
export class SimScheduler {
  private nowMs: number;
  private seq = 0;
  readonly pending: PendingIo[] = [];
  /** Calls that hung: they may still land late, when a step says so. */
  readonly hung: PendingIo[] = [];
  private timers: Timer[] = [];

  constructor(startMs: number) {
    this.nowMs = startMs;
  }

  /** The store's time (Firestore's clock). */
  now(): number {
    return this.nowMs;
  }

  /**
   * An I/O whose effect `apply` happens when the scheduler completes it, not when it is called. A failure
   * rejects with `failure()`; commit-then-fail applies the effect and still rejects (the answer was lost).
   */
  io<T>(owner: string, label: string, apply: () => T, failure: () => Error, write: boolean): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const entry: PendingIo = {
        seq: (this.seq += 1),
        owner,
        label,
        write,
        finish: (completion) => {
          if (completion === 'hang') {
            this.hung.push(entry);
            return;
          }
          if (completion === 'fail') {
            reject(failure());
            return;
          }
          try {
            const value = apply();
            if (completion === 'ok') resolve(value);
            else reject(failure());
          } catch (error) {
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        },
      };
      this.pending.push(entry);
    });
  }

  /** Completes the pending I/O at `index` (taken off the queue first, so its effect may queue more). */
  complete(index: number, completion: Completion): PendingIo | undefined {
    const [entry] = this.pending.splice(index, 1);
    entry?.finish(completion);
    return entry;
  }

  /** A call that hung lands after all (its answer long abandoned by the caller). */
  land(index: number): PendingIo | undefined {
    const [entry] = this.hung.splice(index, 1);
    entry?.finish('ok');
    return entry;
  }

  /** A timer at store time `at`; `signal` cancels it. */
  timer(owner: string, at: number, fire: () => void, signal?: AbortSignal): void {
    if (signal?.aborted === true) {
      fire();
      return;
    }
    const timer: Timer = { seq: (this.seq += 1), owner, at: Math.max(at, this.nowMs), fire };
    this.timers.push(timer);
    signal?.addEventListener(
      'abort',
      () => {
        const index = this.timers.indexOf(timer);
        if (index >= 0) this.timers.splice(index, 1);
        fire();
      },
      { once: true },
    );
  }

  /**
   * Time passes with nothing answered (timers due meanwhile fire at the next step); a commit takes 1 ms, so two
   * commits never share a server timestamp, as in Firestore, whose commit times are microseconds apart.
   */
  pass(ms: number): void {
    this.nowMs += ms;
  }

  /** When the next timer is due, if any. */
  nextTimerAt(): number | undefined {
    return this.earliest()?.at;
  }

  /** Fires the earliest timer (and every other due at that same instant), moving time to it. */
  fireNext(): boolean {
    const first = this.earliest();
    if (first === undefined) return false;
    this.nowMs = Math.max(this.nowMs, first.at);
    const due = this.timers.filter((timer) => timer.at <= this.nowMs).sort((a, b) => a.at - b.at || a.seq - b.seq);
    this.timers = this.timers.filter((timer) => timer.at > this.nowMs);
    for (const timer of due) timer.fire();
    return true;
  }

  /** A crash: the instance's calls in flight and its timers are gone with its memory. */
  dropOwner(owner: string): void {
    const keep = (entry: { owner: string }) => entry.owner !== owner;
    this.pending.splice(0, this.pending.length, ...this.pending.filter(keep));
    this.hung.splice(0, this.hung.length, ...this.hung.filter(keep));
    this.timers = this.timers.filter(keep);
  }

  private earliest(): Timer | undefined {
    let first: Timer | undefined;
    for (const timer of this.timers)
      if (first === undefined || timer.at < first.at || (timer.at === first.at && timer.seq < first.seq)) first = timer;
    return first;
  }
}

/** An instance's clock: the store's time shifted by how far this machine's clock is off. */
export class SimClock implements Clock {
  constructor(
    private readonly scheduler: SimScheduler,
    private readonly owner: string,
    readonly offsetMs: number,
  ) {}

  now(): number {
    return this.scheduler.now() + this.offsetMs;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => this.scheduler.timer(this.owner, this.scheduler.now() + Math.max(0, ms), resolve, signal));
  }
}

/** Promise reactions per step: enough for the core's longest chain between two I/Os (deterministic either way). */
const MICROTASK_TURNS = 16;

/** Lets the promise reactions the last step set off run, without a turn of the event loop. */
export async function drainMicrotasks(): Promise<void> {
  for (let i = 0; i < MICROTASK_TURNS; i += 1) await Promise.resolve();
}

/** Lets everything the last step set off run: a full turn of the event loop. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
