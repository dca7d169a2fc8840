import { setTimeout as delay } from 'node:timers/promises';
import { InboxLeaseLostError } from '../errors.js';

/**
 * Runs `work` while renewing its claim every `intervalMs` (Node's timers: the process's monotonic clock), so
 * a handler slower than the claim's TTL keeps the message and a redelivery meanwhile answers `in_progress`.
 * When a renewal finds the claim gone (InboxLeaseLostError) the signal passed to `work` aborts with that
 * error: another attempt may be running the effect, so the work should stop, and markProcessed will refuse it.
 * A renewal that fails otherwise (Firestore unavailable) is tried again at the next interval. No renewal is in
 * flight once this settles.
 */
export async function whileRenewing<T>(
  renew: () => Promise<unknown>,
  intervalMs: number,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const lost = new AbortController();
  const done = new AbortController();
  const renewing = (async () => {
    while (!done.signal.aborted && !lost.signal.aborted) {
      await delay(intervalMs, undefined, { signal: done.signal }).catch(() => undefined);
      if (done.signal.aborted) return;
      try {
        await renew();
      } catch (error) {
        if (error instanceof InboxLeaseLostError) lost.abort(error);
      }
    }
  })();
  try {
    return await work(lost.signal);
  } finally {
    done.abort();
    await renewing;
  }
}
