import { describeError } from '../errors.js';
import type { Clock, LeaseAttempt, Logger, Unsubscribe } from './ports.js';

/**
 * How often a following run records what it delivered, so a SIGKILL while following loses at most this much
 * progress; the run also wakes and reads this often, whether or not the listener fired.
 */
export const FOLLOW_CHECKPOINT_INTERVAL_MS = 1_000;
/** How often a run waiting for a follower's hand-over tries the lease. */
export const HANDOVER_POLL_MS = 100;

/** Why the follow phase ended; a stop of the run (SIGTERM, lease trouble, breaker, budget) ends it too. */
export type FollowEnd =
  /** FOLLOW_MS (or what the run budget left of it) is spent: the run answers as a drained one. */
  | 'follow_ms_spent'
  /** A newer run asked for the lease: this one finishes and releases it. */
  | 'handed_over'
  /** The run stopped for a reason of its own (RunState.stopReason says which). */
  | 'stopped'
  /** The real-time listener failed, or the lease could not be marked: the next scheduled run is the safety net. */
  | 'not_followed';

/** What the follow phase needs from its run; delivery itself stays the run's (pages, scheduler, checkpoints). */
export interface FollowContext {
  readonly clock: Clock;
  /** Until when to follow (the run has already capped it by RUN_BUDGET_MS). */
  readonly untilMs: number;
  /** The run's own stop: SIGTERM, lease trouble, an open circuit, a failed checkpoint. */
  readonly stopped: AbortSignal;
  /** The store's real-time listener on the run's pending query. */
  readonly watchPending: (onChange: () => void, onError: (error: unknown) => void) => Unsubscribe;
  /** Marks the lease as following and watches it for a newer run's hand-over request. */
  readonly announce: (onHandover: () => void) => Promise<Unsubscribe>;
  /** Reads again (on, or from the start: pending-pages.ts) and delivers what the run has not handed out yet. */
  readonly readNew: () => Promise<unknown>;
  /** Starts writing the outcomes buffered so far (a checkpoint not yet full). */
  readonly checkpoint: () => void;
  readonly log: (severity: Parameters<Logger['log']>[0], message: string, fields?: Readonly<Record<string, unknown>>) => void;
}

/**
 * The follow phase of a drained run (FOLLOW_MS): a real-time listener wakes the run whenever a pending event may
 * have been committed, and the run reads and delivers it the way it delivers a page of the backlog, so the lease,
 * per-key order, checkpoints, breaker, backoff and byte budget hold as in any run. Outcomes are checkpointed every
 * FOLLOW_CHECKPOINT_INTERVAL_MS. Ends at `untilMs`, on the run's stop, or when a newer run asks for the lease.
 */
export async function followNewEvents(context: FollowContext): Promise<FollowEnd> {
  const { clock, stopped } = context;
  const ended = new AbortController();
  const outcome: { end: FollowEnd } = { end: 'follow_ms_spent' };
  const finish = (why: FollowEnd): void => {
    if (ended.signal.aborted) return;
    outcome.end = why;
    ended.abort();
  };
  let woken = false;
  let wake = new AbortController();
  const stopWatching = context.watchPending(
    () => {
      woken = true;
      wake.abort();
    },
    (error) => {
      context.log('WARNING', 'the real-time listener on pending events failed; following ends, the next run delivers the rest', {
        error: describeError(error),
      });
      finish('not_followed');
    },
  );
  let stopAnnouncing: Unsubscribe = () => undefined;
  try {
    stopAnnouncing = await context.announce(() => {
      context.log('INFO', 'a newer run asked for the lease; handing over');
      finish('handed_over');
    });
  } catch (error) {
    context.log('WARNING', 'the lease could not be marked as following; answering as a drained run', { error: describeError(error) });
    finish('not_followed');
  }
  // Each second also wakes the run: the listener fires for a new newest pending event only, so an event whose
  // createdAt sorts before it (written with a createdAt of its own) is found by a read from the start all the same.
  const checkpoints = checkpointEvery(clock, ended.signal, () => {
    context.checkpoint();
    woken = true;
    wake.abort();
  });
  context.log('INFO', 'following new events', { untilMs: context.untilMs });
  try {
    while (!stopped.aborted && !ended.signal.aborted && clock.now() < context.untilMs) {
      if (!woken) {
        await clock.sleep(context.untilMs - clock.now(), AbortSignal.any([wake.signal, stopped, ended.signal]));
        continue;
      }
      woken = false;
      wake = new AbortController();
      await context.readNew();
    }
  } finally {
    finish(stopped.aborted ? 'stopped' : 'follow_ms_spent');
    stopWatching();
    stopAnnouncing();
    await checkpoints;
  }
  return outcome.end;
}

/** Starts a checkpoint every FOLLOW_CHECKPOINT_INTERVAL_MS until `done` aborts. */
async function checkpointEvery(clock: Clock, done: AbortSignal, checkpoint: () => void): Promise<void> {
  while (!done.aborted) {
    await clock.sleep(FOLLOW_CHECKPOINT_INTERVAL_MS, done);
    if (!done.aborted) checkpoint();
  }
}

/** What waiting for a hand-over needs. */
export interface HandoverContext {
  readonly clock: Clock;
  /** One bounded attempt to take the lease. */
  readonly acquire: () => Promise<LeaseAttempt>;
  /** One bounded request to the follower holding it. */
  readonly request: () => Promise<boolean>;
  /** Give up by then (a lease TTL, within the run's budget): a follower that crashed has lost its lease by then. */
  readonly untilMs: number;
  readonly stopped: AbortSignal;
}

/**
 * A run that finds the lease held asks the holder, when it is following, to finish, and polls the lease every
 * HANDOVER_POLL_MS until it is free: the follower records what it delivered before releasing, so nothing it
 * POSTed is POSTed again, and delivery pauses only for its flush and this run's start. Returns the last attempt.
 */
export async function waitForHandover(context: HandoverContext, held: Extract<LeaseAttempt, { acquired: false }>): Promise<LeaseAttempt> {
  if (!(await context.request())) return held;
  let attempt: LeaseAttempt = held;
  while (!attempt.acquired && !context.stopped.aborted && context.clock.now() < context.untilMs) {
    await context.clock.sleep(HANDOVER_POLL_MS, context.stopped);
    if (context.stopped.aborted) break;
    attempt = await context.acquire();
  }
  return attempt;
}
