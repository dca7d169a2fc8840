import { DeadlineError } from '../errors.js';
import type { Clock } from './ports.js';

/**
 * Waits for `work` at most `ms` (by the injected clock), so a Firestore that hangs or refuses connections holds
 * the run for a bounded time. The work itself cannot be cancelled and may still finish later: every write the
 * relay makes is safe to land late (lease-token and document-version checks).
 */
export async function withDeadline<T>(work: Promise<T>, ms: number, clock: Clock, what: string): Promise<T> {
  const timer = new AbortController();
  const expired = clock.sleep(Math.max(0, ms), timer.signal).then(() => {
    if (!timer.signal.aborted) throw new DeadlineError(what, ms);
  });
  try {
    return (await Promise.race([work, expired])) as T;
  } finally {
    timer.abort();
    // A late rejection of the abandoned work must not become an unhandled rejection.
    work.catch(() => undefined);
  }
}
