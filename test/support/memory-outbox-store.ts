import type { EventOutcome, RunSummary, StoredDocument } from '../../src/core/event.js';
import { Instant } from '../../src/core/instant.js';
import type { OutboxPage, OutboxStore, PageCursor } from '../../src/core/ports.js';

/** The project's own store interface over a Map: for core rules that need no Firestore. */
export class MemoryOutboxStore implements OutboxStore {
  readonly documents = new Map<string, Record<string, unknown>>();
  readonly commits: EventOutcome[][] = [];
  readonly audits: RunSummary[] = [];

  /** Adds `count` pending events `evt-0000`…, one millisecond apart. */
  seed(count: number, fields: (i: number) => Record<string, unknown> = () => ({})): void {
    for (let i = 0; i < count; i += 1) {
      const id = `evt-${String(i).padStart(4, '0')}`;
      this.documents.set(id, { type: 'order.created', data: { i }, createdAt: Instant.fromMillis(Date.UTC(2026, 0, 1) + i), status: 'pending', ...fields(i) });
    }
  }

  fetchPending(limit: number, after: PageCursor | undefined): Promise<OutboxPage> {
    // Ordered by (createdAt, id), as Firestore orders the relay's query; the cursor is the last pair.
    const key = (id: string, fields: Record<string, unknown>) => ({ at: (fields.createdAt as Instant).toMillis(), id });
    const isAfter = (a: { at: number; id: string }, b: { at: number; id: string }) => a.at > b.at || (a.at === b.at && a.id > b.id);
    const cursor = after as unknown as { at: number; id: string } | undefined;
    const pending = [...this.documents.entries()]
      .filter(([, f]) => f.status === 'pending' && f.createdAt !== undefined)
      .sort(([a, fa], [b, fb]) => (fa.createdAt as Instant).compare(fb.createdAt as Instant) || a.localeCompare(b))
      .filter(([id, f]) => cursor === undefined || isAfter(key(id, f), cursor))
      .slice(0, limit);
    const documents: StoredDocument[] = pending.map(([id, fields]) => ({ id, fields: { ...fields } }));
    const last = pending.at(-1);
    const next = documents.length === limit && last !== undefined ? (key(last[0], last[1]) as unknown as PageCursor) : undefined;
    return Promise.resolve({ documents, next });
  }

  fetchStrays(): Promise<readonly StoredDocument[]> {
    return Promise.resolve([]);
  }

  recordOutcomes(outcomes: readonly EventOutcome[]): Promise<void> {
    this.commits.push([...outcomes]);
    for (const outcome of outcomes) {
      const current = this.documents.get(outcome.eventId) ?? {};
      const status = outcome.kind === 'delivered' ? 'delivered' : outcome.kind === 'dead_letter' ? 'dead_letter' : current.status;
      this.documents.set(outcome.eventId, { ...current, status, postAttempts: outcome.postAttempts });
    }
    return Promise.resolve();
  }

  writeAudit(summary: RunSummary): Promise<void> {
    this.audits.push(summary);
    return Promise.resolve();
  }

  idsWithStatus(status: string): string[] {
    return [...this.documents.entries()].filter(([, f]) => f.status === status).map(([id]) => id).sort();
  }
}
