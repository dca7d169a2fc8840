import type { StoredDocument } from './event.js';
import type { HandedEvents } from './handed-events.js';
import { Instant } from './instant.js';
import type { OutboxStore, PageCursor } from './ports.js';

/** A following run reads the whole pending set from its start at least this often (and reads on in between). */
export const FOLLOW_FULL_READ_INTERVAL_MS = 5_000;

/** One step of the read: documents to handle now, in commit order, and whether the outbox may hold more. */
export interface PendingBatch {
  readonly documents: readonly StoredDocument[];
  readonly done: boolean;
  /** approximateSize of the largest document the store returned, to size the next page by. */
  readonly largestDocumentBytes: number;
}

/**
 * Reads pending events oldest first and hands them out in the order they were enqueued. The store orders by
 * (createdAt, id); events of one commit share createdAt, and the producer API numbers them (`sequence`) so
 * natural ids that sort differently still go in enqueue order. A full page may end inside such a commit, so
 * the events sharing its last createdAt are held back and ordered together with the rest of their commit.
 *
 * A run that follows new events (FOLLOW_MS) reads again at each wake (restart): on from where the last read
 * ended, which costs about one read per new event; but from the start of the pending set at least every
 * FOLLOW_FULL_READ_INTERVAL_MS, and whenever the last read ended at a createdAt still in the future, since a
 * position past an event's createdAt would skip it (one written with a createdAt of its own, or a commit that
 * became visible late). `handed` keeps what was handed out from being handed twice.
 */
export class PendingPages {
  private cursor: PageCursor | undefined;
  private carried: StoredDocument[] = [];
  private finished = false;
  /** Where the last read ended, and that document's createdAt. */
  private end: { readonly cursor: PageCursor; readonly at: Instant | undefined } | undefined;
  private fromStartAtMs = Number.NEGATIVE_INFINITY;
  private fromStart = true;

  constructor(
    private readonly store: OutboxStore,
    private readonly handed?: HandedEvents,
  ) {
    handed?.startPass();
  }

  get done(): boolean {
    return this.finished;
  }

  /** Where the last page read ended, and that event's createdAt; undefined before any event was read. */
  get lastRead(): { readonly cursor: PageCursor; readonly createdAtMs: number } | undefined {
    const at = this.end?.at;
    return this.end === undefined || at === undefined ? undefined : { cursor: this.end.cursor, createdAtMs: at.toMillis() };
  }

  /** Before the first page: reads on after `cursor`, past events the last run left waiting (read-resume.ts). */
  resumeAfter(cursor: PageCursor): void {
    this.cursor = cursor;
    this.fromStart = false;
  }

  /** After the last page, reads again (see above); only with `handed` (a following run). */
  restart(nowMs: number): void {
    if (this.handed === undefined) throw new Error('a run that does not follow reads the pending set once');
    const endAtMs = this.end?.at?.toMillis() ?? Number.POSITIVE_INFINITY;
    this.fromStart = this.end === undefined || endAtMs > nowMs || nowMs - this.fromStartAtMs >= FOLLOW_FULL_READ_INTERVAL_MS;
    if (this.fromStart) {
      this.fromStartAtMs = nowMs;
      this.handed.startPass();
    }
    this.cursor = this.fromStart ? undefined : this.end?.cursor;
    this.carried = [];
    this.finished = false;
  }

  /** The next page, of at most `limit` events and `maxBytes`. */
  async next(limit: number, maxBytes: number): Promise<PendingBatch> {
    const page = await this.store.fetchPending(limit, this.cursor, maxBytes);
    const { largestDocumentBytes } = page;
    const documents = this.carried.concat(page.documents);
    if (page.last !== undefined) this.end = { cursor: page.last, at: createdAtOf(page.documents.at(-1)) };
    if (page.next === undefined) {
      this.finished = true;
      this.carried = [];
      const last = this.fresh(inCommitOrder(documents));
      // Only a read of the whole pending set can tell which handed-out events left it.
      if (this.fromStart) this.handed?.endPass();
      return { documents: last, done: true, largestDocumentBytes };
    }
    this.cursor = page.next;
    const split = startOfLastCommit(documents);
    this.carried = documents.slice(split);
    return { documents: this.fresh(inCommitOrder(documents.slice(0, split))), done: false, largestDocumentBytes };
  }

  private fresh(documents: StoredDocument[]): StoredDocument[] {
    return this.handed === undefined ? documents : this.handed.take(documents);
  }
}

/** Index of the first document sharing the last one's createdAt (all of them, when createdAt is unusable). */
function startOfLastCommit(documents: readonly StoredDocument[]): number {
  const last = createdAtOf(documents.at(-1));
  if (last === undefined) return documents.length;
  let start = documents.length - 1;
  while (start > 0 && createdAtOf(documents[start - 1])?.compare(last) === 0) start -= 1;
  return start;
}

/** The store's order, with each run of one createdAt (one commit) put in enqueue order: sequence, then id. */
function inCommitOrder(documents: readonly StoredDocument[]): StoredDocument[] {
  const ordered: StoredDocument[] = [];
  for (let start = 0; start < documents.length;) {
    const at = createdAtOf(documents[start]);
    let end = start + 1;
    while (at !== undefined && end < documents.length && createdAtOf(documents[end])?.compare(at) === 0) end += 1;
    const commit = documents.slice(start, end);
    if (commit.length > 1) commit.sort((a, b) => sequenceOf(a) - sequenceOf(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    ordered.push(...commit);
    start = end;
  }
  return ordered;
}

function createdAtOf(document: StoredDocument | undefined): Instant | undefined {
  const value = document?.fields.createdAt;
  return value instanceof Instant ? value : undefined;
}

function sequenceOf(document: StoredDocument): number {
  const value = document.fields.sequence;
  return typeof value === 'number' && Number.isSafeInteger(value) ? value : 0;
}
