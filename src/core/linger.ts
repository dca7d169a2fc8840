import { describeError } from '../errors.js';
import type { Doorbell } from './doorbell.js';
import type { Clock, LeaseWakeUps, Logger } from './ports.js';

/**
 * While a run lingers it also reads on this often without a kick, and records what it delivered: a kick queued
 * behind another (the emulator sends one at a time) or lost on the way then costs at most this much.
 */
export const LINGER_READ_INTERVAL_MS = 1_000;

/** What a run of a push deployment (PUSH_LINGER_MS) is kicked through. */
export interface PushPorts {
  readonly doorbell: Doorbell;
  readonly wakeUps: LeaseWakeUps;
}

/** Why lingering ended. */
export type LingerEnd =
  /** PUSH_LINGER_MS passed without a kick, and the lease is closed: kicks from now start the next run. */
  | 'quiet'
  /** RUN_BUDGET_MS is spent: the lease was closed all the same, so later kicks start the next run. */
  | 'budget_spent'
  /** The run stopped for a reason of its own (SIGTERM, lease trouble, breaker, a failed checkpoint). */
  | 'stopped';

/** What lingering needs from its run; delivery stays the run's (pages, scheduler, checkpoints). */
export interface LingerContext {
  readonly clock: Clock;
  /** PUSH_LINGER_MS: how long after its last kick the run stays. */
  readonly lingerMs: number;
  /** The run's budget: no read on after it. */
  readonly untilMs: number;
  readonly stopped: AbortSignal;
  /** Kicks to this instance, and wake-ups other instances leave on the lease document. */
  readonly push: PushPorts;
  /** Closes the lease (LeaseWakeUps.close), bounded by the run. */
  readonly close: () => Promise<'closed' | 'woken'>;
  /** Reads on (pending-pages.ts) and delivers what the run has not handed out yet; answers how many it found. */
  readonly readNew: () => Promise<number>;
  /** Starts writing the outcomes buffered so far. */
  readonly checkpoint: () => void;
  readonly log: (severity: Parameters<Logger['log']>[0], message: string, fields?: Readonly<Record<string, unknown>>) => void;
}

/**
 * Push on commit: a drained run stays PUSH_LINGER_MS after its last kick, or the last new event its reads found,
 * so the kicks of a burst fold into it, and reads on at each one. Kicks to this instance ring the doorbell (no Firestore call); kicks elsewhere leave a
 * wake-up on the lease. Before it lets go the run closes the lease under its version: a wake-up that landed first
 * makes it read on again; one that comes after finds the lease closing, and its kick runs once the lease is free.
 * So no event committed while a run ends waits for the next Scheduler run.
 */
export async function lingerForKicks(context: LingerContext): Promise<LingerEnd> {
  const { clock, stopped } = context;
  const { doorbell, wakeUps } = context.push;
  let kicked = false;
  let wake = new AbortController();
  const ring = (): void => {
    kicked = true;
    wake.abort();
  };
  const stopListening = doorbell.listen(ring);
  const stopWatching = wakeUps.watch(ring, (error) =>
    context.log('WARNING', 'the listener on lease wake-ups failed; the run sees them when it closes its lease', {
      error: describeError(error),
    }),
  );
  let quietAtMs = Math.min(clock.now() + context.lingerMs, context.untilMs);
  let nextReadAtMs = clock.now() + LINGER_READ_INTERVAL_MS;
  let lookedLast = false;
  try {
    while (!stopped.aborted) {
      const nowMs = clock.now();
      // What was delivered is recorded every interval, kicks or not: kicks that never pause would otherwise
      // starve the read below, and the outcomes would wait for a full checkpoint (BATCH_SIZE) or the run's end.
      if (nowMs >= nextReadAtMs) context.checkpoint();
      if (kicked && nowMs < context.untilMs) {
        kicked = false;
        lookedLast = false;
        wake = new AbortController();
        quietAtMs = Math.min(nowMs + context.lingerMs, context.untilMs);
        if (nowMs >= nextReadAtMs) nextReadAtMs = nowMs + LINGER_READ_INTERVAL_MS;
        await context.readNew();
      } else if ((nowMs >= nextReadAtMs && nowMs < quietAtMs) || (nowMs >= quietAtMs && !lookedLast && nowMs < context.untilMs)) {
        // Every interval, and once more before letting go: new events found without their kicks (late, lost, or
        // queued behind others at Eventarc) keep the run PUSH_LINGER_MS longer, so a burst stays one run.
        nextReadAtMs = nowMs + LINGER_READ_INTERVAL_MS;
        lookedLast = nowMs >= quietAtMs;
        if ((await context.readNew()) > 0) {
          quietAtMs = Math.min(clock.now() + context.lingerMs, context.untilMs);
          lookedLast = false;
        }
      } else if (nowMs >= quietAtMs) {
        const closed = await closeLease(context, () => kicked);
        if (closed !== 'woken') return nowMs >= context.untilMs ? 'budget_spent' : 'quiet';
        kicked = nowMs < context.untilMs;
        if (kicked) continue;
        context.log('WARNING', 'a kick came as RUN_BUDGET_MS ran out; the next run delivers its event');
        await closeLease(context, () => false);
        return 'budget_spent';
      } else {
        await clock.sleep(Math.min(quietAtMs, nextReadAtMs) - nowMs, AbortSignal.any([wake.signal, stopped]));
      }
    }
    return 'stopped';
  } finally {
    stopListening();
    stopWatching();
  }
}

/**
 * Shuts the doorbell, then closes the lease: 'woken' when a kick came meanwhile or a wake-up was on the lease (the
 * doorbell is open again), 'closed' otherwise. A close that fails is logged: the lease is released all the same,
 * and a wake-up left on it waits for the next Scheduler run.
 */
async function closeLease(context: LingerContext, kickedMeanwhile: () => boolean): Promise<'closed' | 'woken' | 'failed'> {
  const { doorbell } = context.push;
  doorbell.shut();
  if (kickedMeanwhile()) {
    doorbell.reopen();
    return 'woken';
  }
  try {
    const closed = await context.close();
    if (closed === 'woken') doorbell.reopen();
    return closed;
  } catch (error) {
    context.log('WARNING', 'closing the run lease failed; a wake-up left on it waits for the next run', { error: describeError(error) });
    return 'failed';
  }
}
