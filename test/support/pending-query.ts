import type { DocumentVersion, StoredDocument } from '../../src/core/event.js';
import { Instant } from '../../src/core/instant.js';
import { PageRoom } from '../../src/core/page-room.js';
import type { OutboxPage, PageCursor } from '../../src/core/ports.js';

/** A document as the in-memory stores keep it: its fields and a version number. */
export interface KeptDocument {
  readonly fields: Readonly<Record<string, unknown>>;
  readonly version: number;
}

/** The cursor both in-memory stores hand out: the (createdAt, id) pair of a page's last document. */
interface Position {
  readonly at: Instant;
  readonly id: string;
}

const order = (a: Position, b: Position): number => a.at.compare(b.at) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** A copy of a kept document, as a store hands it to the relay. */
export function storedDocument(id: string, kept: KeptDocument): StoredDocument {
  return { id, fields: { ...kept.fields }, version: kept.version as unknown as DocumentVersion };
}

/**
 * The relay's page query as Firestore answers it, for the in-memory stores (unit specs and the simulation):
 * pending documents with a createdAt, ordered by (createdAt, id), after the cursor, at most `limit`, cut where
 * the bytes run out by the Firestore store's own rule (PageRoom). `bytes` is what the page holds.
 */
export function pendingPage(
  documents: ReadonlyMap<string, KeptDocument>,
  limit: number,
  after: PageCursor | undefined,
  maxBytes: number,
): OutboxPage & { readonly bytes: number } {
  const cursor = after as unknown as Position | undefined;
  const pending = [...documents.entries()]
    .filter(([, d]) => d.fields.status === 'pending' && d.fields.createdAt instanceof Instant)
    .map(([id, d]) => ({ id, at: d.fields.createdAt as Instant, d }))
    .sort(order)
    .filter((entry) => cursor === undefined || order(entry, cursor) > 0)
    .slice(0, limit);
  const room = new PageRoom(maxBytes);
  const kept = pending.filter(({ id, d }) => room.take(storedDocument(id, d)));
  const last = kept.at(-1);
  const end = last === undefined ? undefined : ({ at: last.at, id: last.id } as unknown as PageCursor);
  const next = (room.cut || kept.length === limit) && last !== undefined ? end : undefined;
  return {
    documents: kept.map(({ id, d }) => storedDocument(id, d)),
    next,
    last: end,
    largestDocumentBytes: room.largestDocumentBytes,
    bytes: room.bytes,
  };
}
