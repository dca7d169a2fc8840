/** A read started early and awaited later: what it found, or why it failed. */
export type Read<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

/** Turns a read into one that never rejects, so a read started early and left unawaited cannot go unhandled. */
export function settledRead<T>(work: Promise<T>): Promise<Read<T>> {
  return work.then(
    (value): Read<T> => ({ ok: true, value }),
    (error: unknown): Read<T> => ({ ok: false, error }),
  );
}

/**
 * Waits for a read, or until `stopped` aborts (then undefined): a read started before a SIGTERM is bounded by
 * FIRESTORE_TIMEOUT_MS, which the shutdown's own bound must not wait out.
 */
export function untilStopped<T>(reading: Promise<T>, stopped: AbortSignal): Promise<T | undefined> {
  if (stopped.aborted) return Promise.resolve(undefined);
  return new Promise<T | undefined>((resolve) => {
    const stop = (): void => resolve(undefined);
    stopped.addEventListener('abort', stop, { once: true });
    void reading.then((value) => {
      stopped.removeEventListener('abort', stop);
      resolve(value);
    });
  });
}
