import type { Logger } from '../core/ports.js';
import type { RunControl, RunResult } from '../core/relay.js';
import type { Relay } from '../create-relay.js';
import type { Kick } from './firestore-kick.js';
import type { Answer } from './outbound-event-handler.js';

/** How a kick was answered, and whether the answer is a run's (logged as `run answered`, which the alert counts). */
export interface KickAnswer {
  readonly answer: Answer;
  /** Set when the kick ran the relay, or could not (a 5xx): the answer line is logged as for a Scheduler run. */
  readonly runAnswer: boolean;
}

/**
 * The answer to an Eventarc Firestore event: 4xx for a malformed one (a retry would not help), 2xx for one this
 * deployment ignores or that folded into a run, the run's own answer when the kick ran the relay (the same rules as
 * a Scheduler run), and 500 when the lease could not be reached, so Eventarc retries a kick that did nothing.
 */
export async function answerKick(
  kick: Exclude<Kick, { kind: 'scheduled' }>,
  relay: Pick<Relay, 'kick'>,
  run: { readonly newRunId: () => string; readonly control: RunControl; readonly answerFor: (result: RunResult) => Answer },
  logger: Logger,
): Promise<KickAnswer> {
  const quiet = (body: object): KickAnswer => ({ answer: { status: 200, body }, runAnswer: false });
  switch (kick.kind) {
    case 'malformed':
      logger.log('WARNING', 'a malformed Firestore event was refused', { reason: kick.reason });
      return { answer: { status: 400, body: { error: 'malformed_kick', message: kick.reason } }, runAnswer: false };
    case 'ignored':
      logger.log('DEBUG', 'a Firestore event was ignored', { reason: kick.reason });
      return quiet({ kick: 'ignored', reason: kick.reason });
    case 'kick':
      break;
  }
  if (relay.kick === undefined) {
    // The trigger is deployed but push is off: say so rather than start a run per event.
    logger.log('WARNING', 'a Firestore trigger kicked the function but PUSH_LINGER_MS is 0; ignored, the scheduled runs deliver', {
      eventId: kick.documentId,
    });
    return quiet({ kick: 'ignored', reason: 'PUSH_LINGER_MS is 0: push on commit is off' });
  }
  const outcome = await relay.kick(kick.documentId, run.newRunId, run.control);
  switch (outcome.kind) {
    case 'folded':
    case 'not_pending':
      return quiet({ kick: outcome.kind });
    case 'woke_holder':
      return quiet({ kick: outcome.kind, heldBy: outcome.heldBy });
    case 'ran':
      return { answer: run.answerFor(outcome.result), runAnswer: true };
    case 'unavailable':
      return { answer: { status: 500, body: { error: 'lease_unavailable', message: outcome.error } }, runAnswer: true };
  }
}
