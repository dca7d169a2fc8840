import { describeError } from '../errors.js';
import { settledRead, untilStopped } from './early-read.js';
import { waitForHandover } from './follow.js';
import type { Clock, HeldLease, LeaseAttempt, RunLease } from './ports.js';
import type { StepContext } from './step-context.js';

/** What taking the run lease came to: the lease, another run's hold, or why the run could not start. */
export type Acquisition =
  | { readonly kind: 'acquired'; readonly lease: HeldLease }
  | { readonly kind: 'skipped'; readonly heldBy: string; readonly untilMs: number }
  | { readonly kind: 'not_started'; readonly error: string };

/** What acquiring needs from its run: the ports, its bounds, and its stop (SIGTERM ends every wait here). */
export interface AcquisitionContext extends StepContext {
  readonly runId: string;
  readonly lease: RunLease;
  readonly clock: Clock;
  readonly ttlMs: number;
  /** FOLLOW_MS > 0: a lease held by a following run is asked to hand over, and waited for. */
  readonly askFollower: boolean;
  /** No wait for a follower's hand-over outlasts this (the run's budget). */
  readonly deadlineMs: number;
  /** The run's stop: a SIGTERM before the lease is taken ends the wait, and the run starts nothing. */
  readonly stopped: AbortSignal;
}

/**
 * The run's first step: the lease, or why not. A SIGTERM while it waits (for Firestore, or for a following run to
 * hand over) answers at once with nothing POSTed; a lease that arrives after that, or after FIRESTORE_TIMEOUT_MS
 * gave up on it, is released, not kept.
 */
export async function acquireRunLease(context: AcquisitionContext): Promise<Acquisition> {
  const { stopped, log } = context;
  const acquiring = takeLease(context);
  const read = await untilStopped(settledRead(acquiring), stopped);
  if (read === undefined) {
    releaseWhenTaken(acquiring, context.lease);
    const message = 'the instance is shutting down (SIGTERM) before the run took its lease. Nothing was POSTed.';
    log('WARNING', 'run not started', { error: message });
    return { kind: 'not_started', error: message };
  }
  if (!read.ok) {
    const message = `the run lease could not be acquired: ${describeError(read.error)}. Nothing was POSTed.`;
    log('ERROR', 'run not started', { error: message });
    return { kind: 'not_started', error: message };
  }
  const attempt = read.value;
  if (attempt.acquired) return { kind: 'acquired', lease: attempt.lease };
  log('INFO', 'another run holds the lease; skipping this one', {
    heldBy: attempt.owner,
    until: new Date(attempt.expiresAtMs).toISOString(),
  });
  return { kind: 'skipped', heldBy: attempt.owner, untilMs: attempt.expiresAtMs };
}

async function takeLease(context: AcquisitionContext): Promise<LeaseAttempt> {
  const taking = context.lease.acquire(context.runId, context.ttlMs);
  let attempt: LeaseAttempt;
  try {
    attempt = await context.bounded(taking, 'acquiring the run lease');
  } catch (error) {
    // The run does not start; a lease that lands after its deadline is released, so no run is kept from it
    // until it lapses, and no kick folds into a run that does not exist (push: doorbell.ts).
    releaseWhenTaken(taking, context.lease);
    throw error;
  }
  return !attempt.acquired && context.askFollower ? takeOverFromFollower(context, attempt) : attempt;
}

/** Releases the lease `taking` brings, if it brings one, whenever it does; nothing to do otherwise. */
function releaseWhenTaken(taking: Promise<LeaseAttempt>, lease: RunLease): void {
  void taking.then((late) => (late.acquired ? lease.release(late.lease) : undefined)).catch(() => undefined);
}

/**
 * FOLLOW_MS: the lease may be held by a run following new events; it is asked to hand over, and the lease is
 * waited for (follow.ts). Failing that, the run skips as it would have without asking: still a 200.
 */
async function takeOverFromFollower(context: AcquisitionContext, held: Extract<LeaseAttempt, { acquired: false }>): Promise<LeaseAttempt> {
  const { runId, lease, clock, bounded, log } = context;
  try {
    const attempt = await waitForHandover(
      {
        clock,
        acquire: () => bounded(lease.acquire(runId, context.ttlMs), 'acquiring the run lease'),
        request: () => bounded(lease.requestHandover(runId), 'asking the following run to hand over'),
        untilMs: Math.min(clock.now() + context.ttlMs, context.deadlineMs),
        stopped: context.stopped,
      },
      held,
    );
    if (attempt.acquired) log('INFO', 'took over the lease from a following run', { from: held.owner });
    return attempt;
  } catch (error) {
    log('WARNING', 'asking the following run to hand over failed; skipping this run', { error: describeError(error) });
    return held;
  }
}
