/**
 * How long a lease or claim still holds, as stored: the time its holder last wrote it and for how long that
 * write counts, both as Firestore stamped them. Old documents may carry only an absolute expiry.
 */
export interface StoredTerm {
  /** When the holder last took or renewed it: Firestore's commit time (a server timestamp), in ms. */
  readonly renewedAtMs?: number | undefined;
  /** How long each take or renewal counts, from renewedAtMs. */
  readonly ttlMs?: number | undefined;
  /** An absolute expiry, for documents that carry one instead (written from Firestore's time, or by an older version). */
  readonly expiresAtMs?: number | undefined;
}

/**
 * Milliseconds a lease or claim still holds at `serverNowMs` (Firestore's time as a read saw it: a snapshot's
 * readTime), 0 once it lapsed. Both ends come from Firestore's clock, so whether a holder is alive is never
 * decided by comparing two machines' wall clocks. A term that says nothing usable has lapsed: it can be taken.
 */
export function remainingMs(term: StoredTerm, serverNowMs: number): number {
  const { renewedAtMs, ttlMs, expiresAtMs } = term;
  const endMs =
    isFiniteNumber(renewedAtMs) && isFiniteNumber(ttlMs) && ttlMs > 0
      ? renewedAtMs + ttlMs
      : isFiniteNumber(expiresAtMs)
        ? expiresAtMs
        : Number.NEGATIVE_INFINITY;
  return Math.max(0, endMs - serverNowMs);
}

function isFiniteNumber(value: number | undefined): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}
