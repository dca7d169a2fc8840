import type { StoredDocument } from './event.js';
import { Instant } from './instant.js';
import { recordOf } from './validate-event.js';

/**
 * The order a run hands out a page while it has had no success yet, so that the breaker's first evidence is
 * not the same few events run after run. Keys whose first event here was never attempted go first, then keys
 * by when their first event was last attempted, least recently first; each key's events keep their order, and
 * so does everything else (the sort is stable).
 *
 * Why: BREAKER_THRESHOLD events the router fails one by one (poison payloads) at the head of the outbox look
 * exactly like an outage, so the circuit opens, nothing is charged, and without this the next run would try
 * the same events first and open again, forever, delivering nothing behind them. Tried last, they meet a
 * router that has just delivered other events, and their failures are charged to them.
 */
export function probeOrder(documents: readonly StoredDocument[]): StoredDocument[] {
  const headAttemptMs = new Map<string, number>();
  const rank = (document: StoredDocument): number => {
    const key = recordOf(document).orderingKey ?? `\u0000${document.id}`;
    let attemptedMs = headAttemptMs.get(key);
    if (attemptedMs === undefined) {
      const { lastAttemptAt } = document.fields;
      attemptedMs = lastAttemptAt instanceof Instant ? lastAttemptAt.toMillis() : Number.NEGATIVE_INFINITY;
      headAttemptMs.set(key, attemptedMs);
    }
    return attemptedMs;
  };
  return documents
    .map((document, index) => ({ document, index, rank: rank(document) }))
    .sort((a, b) => a.rank - b.rank || a.index - b.index)
    .map(({ document }) => document);
}
