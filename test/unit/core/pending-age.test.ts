import type { DocumentVersion, StoredDocument } from '../../../src/core/event.js';
import { Instant } from '../../../src/core/instant.js';
import { PendingAgeScan, pendingState, type WaitReason } from '../../../src/core/pending-age.js';

const NOW = Date.UTC(2026, 0, 1, 12);
const PARKED = new Set(['parked-key']);

describe('Function: pendingState', () => {
  it.each<[string, Record<string, unknown>, [string, WaitReason][], 'due' | WaitReason]>([
    ['an event without key or backoff', {}, [], 'due'],
    ['an event whose backoff is over', { nextAttemptAt: Instant.fromMillis(NOW - 1) }, [], 'due'],
    ['an event whose backoff ends exactly now', { nextAttemptAt: Instant.fromMillis(NOW) }, [], 'due'],
    ['an event still on its backoff', { nextAttemptAt: Instant.fromMillis(NOW + 1) }, [], 'backoff'],
    ['an event whose key is parked', { orderingKey: 'parked-key' }, [], 'parked'],
    ['a parked key’s event on backoff too', { orderingKey: 'parked-key', nextAttemptAt: Instant.fromMillis(NOW + 1) }, [], 'parked'],
    ['an event behind an earlier one of its key on backoff', { orderingKey: 'k' }, [['k', 'backoff']], 'backoff'],
    ['an event behind an earlier one of its key that is parked', { orderingKey: 'k' }, [['k', 'parked']], 'parked'],
    ['an event of another key than the one waiting', { orderingKey: 'other' }, [['k', 'backoff']], 'due'],
    ['an event with an empty key (no key)', { orderingKey: '' }, [['', 'backoff']], 'due'],
  ])('judges %s', (_case, fields, waiting, expected) => {
    expect(pendingState(fields, PARKED, new Map(waiting), NOW)).toBe(expected);
  });
});

describe('Class: PendingAgeScan', () => {
  const doc = (ageMs: number, fields: Record<string, unknown> = {}): StoredDocument => ({
    id: `evt-${ageMs}`,
    fields: { createdAt: Instant.fromMillis(NOW - ageMs), ...fields },
    version: {} as DocumentVersion,
  });

  it('keeps the oldest event of each kind across the pages of a run, oldest first', () => {
    const scan = new PendingAgeScan();

    const first = scan.add(
      [doc(900, { orderingKey: 'k', nextAttemptAt: Instant.fromMillis(NOW + 5) }), doc(800, { orderingKey: 'k' })],
      PARKED,
      NOW,
    );
    const second = scan.add([doc(700, { orderingKey: 'parked-key' }), doc(600), doc(500)], PARKED, NOW);
    const third = scan.add([doc(400)], PARKED, NOW);

    expect([first, second, third]).toEqual([true, true, false]);
    expect(scan.ages).toEqual({ dueMs: 600, backoffMs: 900, parkedMs: 700 });
  });

  it('reports zeros for an empty first page, and says so once', () => {
    const scan = new PendingAgeScan();

    expect(scan.add([], PARKED, NOW)).toBe(true);
    expect(scan.add([], PARKED, NOW)).toBe(false);
    expect(scan.ages).toEqual({ dueMs: 0, backoffMs: 0, parkedMs: 0 });
  });
});
