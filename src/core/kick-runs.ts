import { describeError } from '../errors.js';
import { withDeadline } from './deadline.js';
import type { Doorbell } from './doorbell.js';
import { HANDOVER_POLL_MS } from './follow.js';
import type { Clock, LeaseWakeUps, Logger } from './ports.js';
import type { RunControl, RunResult } from './relay.js';

/** What became of one kick (a pending event committed); the function turns it into its answer. */
export type KickOutcome =
  /** Folded into the run of this instance that holds the lease: it reads on. No Firestore call. */
  | { readonly kind: 'folded' }
  /** The event is no longer pending (a run already delivered it): nothing to do. */
  | { readonly kind: 'not_pending' }
  /** The run of another instance holds the lease and will read on before it lets go. */
  | { readonly kind: 'woke_holder'; readonly heldBy: string }
  /** This kick ran the relay itself; the run's answer is the kick's, by the same rules as a Scheduler run. */
  | { readonly kind: 'ran'; readonly result: RunResult }
  /** The lease could not be read or written: answered 500, so Eventarc retries the kick (nothing was POSTed). */
  | { readonly kind: 'unavailable'; readonly error: string };

/** The ports and settings a kick goes through; create-relay.ts wires them. */
export interface KickRunsDeps {
  readonly doorbell: Doorbell;
  readonly wakeUps: LeaseWakeUps;
  readonly clock: Clock;
  readonly logger: Logger;
  /** One relay run (the deployment's, with its push ports). */
  readonly run: (runId: string, control?: RunControl) => Promise<RunResult>;
  readonly newRunId: () => string;
  /** Whether the outbox document is still pending: one read, so a kick for a delivered event costs no run. */
  readonly isPending: (documentId: string) => Promise<boolean>;
  /** LEASE_TTL_MS: the longest a closing holder can keep the lease, so the longest a kick waits for it. */
  readonly leaseTtlMs: number;
  readonly firestoreTimeoutMs: number;
}

/**
 * Push on commit: what one kick does. It folds into this instance's run when one holds the lease; otherwise, when
 * its event is still pending, it runs the relay; a run elsewhere holding the lease gets a wake-up it sees before
 * it lets go, and a lease being closed is waited for (polled every HANDOVER_POLL_MS, at most LEASE_TTL_MS), then
 * run: so the event is delivered by a run that reads after its commit, never left for the next Scheduler tick.
 */
export async function kick(documentId: string, deps: KickRunsDeps, control: RunControl = {}): Promise<KickOutcome> {
  if (deps.doorbell.ring()) return { kind: 'folded' };
  const bounded = <T>(work: Promise<T>, what: string): Promise<T> => withDeadline(work, deps.firestoreTimeoutMs, deps.clock, what);
  try {
    if (!(await bounded(deps.isPending(documentId), 'reading the kicked event'))) return { kind: 'not_pending' };
  } catch (error) {
    // The run decides: it reads the outbox under its lease anyway, and answers by the rules if Firestore is down.
    deps.logger.log('WARNING', 'the kicked event could not be read; running the relay', {
      eventId: documentId,
      error: describeError(error),
    });
  }
  const untilMs = deps.clock.now() + deps.leaseTtlMs;
  for (;;) {
    const runId = deps.newRunId();
    const result = await deps.run(runId, control);
    if (result.kind !== 'skipped') return { kind: 'ran', result };
    // This instance's own run may have taken the lease since.
    if (deps.doorbell.ring()) return { kind: 'folded' };
    for (;;) {
      let attempt;
      try {
        attempt = await bounded(deps.wakeUps.wake(runId), 'leaving a wake-up on the run lease');
      } catch (error) {
        return { kind: 'unavailable', error: `the run lease could not be woken: ${describeError(error)}. Nothing was POSTed.` };
      }
      if (attempt.kind === 'woken') return { kind: 'woke_holder', heldBy: attempt.owner };
      if (deps.clock.now() >= untilMs || control.shutdown?.aborted === true) return { kind: 'ran', result };
      if (attempt.kind === 'free') break;
      // Closing: the holder flushes and releases; run once it has let go (a crashed one's lease lapses by then).
      await deps.clock.sleep(HANDOVER_POLL_MS, control.shutdown);
    }
  }
}
