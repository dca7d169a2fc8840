import { approximateSize } from './approximate-size.js';
import type { ByteBudget } from './byte-budget.js';
import type { StoredDocument } from './event.js';
import { Instant } from './instant.js';
import { probeOrder } from './probe-order.js';
import { recordOf } from './validate-event.js';

/** Where a run stands when a page comes in, for probeSplit(). */
export interface ProbeSituation {
  /** The router delivered an event in this run: failures from now on are told apart by the breaker as they come. */
  readonly succeeded: boolean;
  /** The page is the last of the pending set (nothing further to read on to). */
  readonly lastPage: boolean;
  /** Memory would still hold another page with these events kept back (MAX_IN_FLIGHT_BYTES). */
  readonly roomForMore: boolean;
}

/** What to hand out now, and what to keep back until the next page. */
export interface ProbeSplit {
  readonly now: readonly StoredDocument[];
  readonly later: readonly StoredDocument[];
}

/**
 * Which events a run hands out now, of those kept back plus the page just read (in that order), as a table
 * (probe-hold.test.ts states it row by row):
 *
 * | success in the run | last page | room for more | now                                        | kept back           |
 * |--------------------|-----------|---------------|--------------------------------------------|---------------------|
 * | yes                | —         | —             | everything, in the order read              | nothing             |
 * | no                 | yes       | —             | everything, in probeOrder()                | nothing             |
 * | no                 | no        | no            | everything, in probeOrder()                | nothing             |
 * | no                 | no        | yes           | keys whose first event was never attempted | the other keys, all |
 * |                    |           |               | (probeOrder())                             | their events        |
 *
 * Why: until the run's first success the breaker cannot tell failing events from a failing router. A page
 * holding only events that failed before (poison heads, and the events of their keys behind them) would open the
 * circuit with nobody charged, run after run, while a deliverable event waits a page later. Read on, the run tries
 * that one first; once it is delivered, the heads' failures are their own (ownFailure()) and reach their dead
 * letters. A key kept back is kept back whole, so each key keeps its order.
 */
export function probeSplit(documents: readonly StoredDocument[], situation: ProbeSituation): ProbeSplit {
  if (situation.succeeded) return { now: documents, later: [] };
  const ordered = probeOrder(documents);
  if (situation.lastPage || !situation.roomForMore) return { now: ordered, later: [] };
  const headAttempted = new Map<string, boolean>();
  const now: StoredDocument[] = [];
  const later: StoredDocument[] = [];
  for (const document of ordered) {
    const key = recordOf(document).orderingKey ?? `\u0000${document.id}`;
    let attempted = headAttempted.get(key);
    if (attempted === undefined) {
      attempted = document.fields.lastAttemptAt instanceof Instant;
      headAttempted.set(key, attempted);
    }
    (attempted ? later : now).push(document);
  }
  return { now, later };
}

/**
 * The events a run keeps back between pages by probeSplit(), their approximate bytes held in the run's byte
 * budget, so that reading on stays within MAX_IN_FLIGHT_BYTES.
 */
export class ProbeHold {
  private kept: readonly StoredDocument[] = [];
  private keptBytes = 0;

  constructor(private readonly budget: ByteBudget) {}

  /** The page just read: what to hand out now, in order; the rest is kept for the next page. */
  take(page: readonly StoredDocument[], lastPage: boolean, succeeded: boolean): readonly StoredDocument[] {
    if (succeeded && this.kept.length === 0) return page;
    const documents = this.kept.concat(page);
    this.budget.release(this.keptBytes);
    const roomForMore = this.budget.fits(sizeOf(documents));
    const { now, later } = probeSplit(documents, { succeeded, lastPage, roomForMore });
    this.kept = later;
    this.keptBytes = sizeOf(later);
    this.budget.hold(this.keptBytes);
    return now;
  }
}

function sizeOf(documents: readonly StoredDocument[]): number {
  let bytes = 0;
  for (const document of documents) bytes += approximateSize(document.fields);
  return bytes;
}
