import { DeadlineError } from '../errors.js';
import type { Clock } from './ports.js';

/** A later, shorter bound: when `signal` aborts while the work waits, the wait ends within `ms()` of that moment. */
export interface DeadlineCut {
  readonly signal: AbortSignal;
  readonly ms: () => number;
}

/**
 * Waits for `work` at most `ms` (by the injected clock), so a Firestore that hangs or refuses connections holds
 * the run for a bounded time; `cut`, when given, shortens a wait already going (a SIGTERM arriving meanwhile).
 * The work itself cannot be cancelled and may still finish later: every write the relay makes is safe to land
 * late (lease-token and document-version checks).
 */
export async function withDeadline<T>(work: Promise<T>, ms: number, clock: Clock, what: string, cut?: DeadlineCut): Promise<T> {
  const timer = new AbortController();
  const expiry = (afterMs: number): Promise<void> =>
    clock.sleep(Math.max(0, afterMs), timer.signal).then(() => {
      if (!timer.signal.aborted) throw new DeadlineError(what, afterMs);
    });
  const waits: Promise<unknown>[] = [work, expiry(ms)];
  if (cut !== undefined && !cut.signal.aborted)
    waits.push(
      new Promise<never>((_resolve, reject) => {
        cut.signal.addEventListener('abort', () => void expiry(cut.ms()).catch(reject), { once: true, signal: timer.signal });
      }),
    );
  try {
    return (await Promise.race(waits)) as T;
  } finally {
    timer.abort();
    // A late rejection of the abandoned work must not become an unhandled rejection.
    work.catch(() => undefined);
  }
}
