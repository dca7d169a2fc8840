import { ByteBudget } from '../../../src/core/byte-budget.js';
import type { DocumentVersion, StoredDocument } from '../../../src/core/event.js';
import { Instant } from '../../../src/core/instant.js';
import { ProbeHold, probeSplit, type ProbeSituation } from '../../../src/core/probe-hold.js';

/** A pending document; `attemptedAt` is when the relay last attempted it (lastAttemptAt), if ever. */
const doc = (id: string, orderingKey: string | undefined, attemptedAt?: number): StoredDocument => ({
  id,
  version: 1 as unknown as DocumentVersion,
  fields: {
    status: 'pending',
    ...(orderingKey === undefined ? {} : { orderingKey }),
    ...(attemptedAt === undefined ? {} : { lastAttemptAt: Instant.fromMillis(attemptedAt) }),
  },
});
const ids = (documents: readonly StoredDocument[]): string[] => documents.map((d) => d.id);

/** Poison heads p1 (key p) and n1 (no key) tried before, p2 behind p1, and a1 (key a) never tried. */
const MIXED = [doc('p1', 'p', 2_000), doc('n1', undefined, 1_000), doc('a1', 'a'), doc('p2', 'p')];
const ALL_TRIED = [doc('p1', 'p', 2_000), doc('n1', undefined, 1_000), doc('p2', 'p')];

describe('Function: probeSplit (what a run without a success yet hands out now, and what a page later)', () => {
  const rows: readonly (readonly [string, ProbeSituation, readonly StoredDocument[], readonly string[], readonly string[]])[] = [
    [
      'a success in the run: everything, as read',
      { succeeded: true, lastPage: false, roomForMore: true },
      MIXED,
      ['p1', 'n1', 'a1', 'p2'],
      [],
    ],
    [
      'no success, last page: everything, in probe order',
      { succeeded: false, lastPage: true, roomForMore: true },
      MIXED,
      ['a1', 'n1', 'p1', 'p2'],
      [],
    ],
    [
      'no success, no room for more: everything, in probe order',
      { succeeded: false, lastPage: false, roomForMore: false },
      MIXED,
      ['a1', 'n1', 'p1', 'p2'],
      [],
    ],
    [
      'no success, more to read: keys never tried now, the others kept whole',
      { succeeded: false, lastPage: false, roomForMore: true },
      MIXED,
      ['a1'],
      ['n1', 'p1', 'p2'],
    ],
    [
      'no success, a page of events tried before only: all kept, the run reads on',
      { succeeded: false, lastPage: false, roomForMore: true },
      ALL_TRIED,
      [],
      ['n1', 'p1', 'p2'],
    ],
    [
      'no success, nothing tried before: everything now',
      { succeeded: false, lastPage: false, roomForMore: true },
      [doc('a1', 'a'), doc('b1', 'b'), doc('a2', 'a', 5)],
      ['a1', 'b1', 'a2'],
      [],
    ],
  ];

  it.each(rows)('%s', (_name, situation, documents, now, later) => {
    const split = probeSplit(documents, situation);

    expect(ids(split.now)).toEqual(now);
    expect(ids(split.later)).toEqual(later);
  });
});

describe('ProbeHold (events kept back between pages, within the byte budget)', () => {
  it('hands out a kept key with its later events once the run succeeded, ahead of the new page, each key in order', () => {
    const hold = new ProbeHold(new ByteBudget(1_000_000, 1_000));

    expect(ids(hold.take(ALL_TRIED, false, false))).toEqual([]);
    expect(ids(hold.take([doc('p3', 'p'), doc('a1', 'a')], false, false))).toEqual(['a1']);
    expect(ids(hold.take([doc('p4', 'p'), doc('b1', 'b')], false, true))).toEqual(['n1', 'p1', 'p2', 'p3', 'p4', 'b1']);
  });

  it('hands out everything kept at the last page, the never-tried keys first', () => {
    const hold = new ProbeHold(new ByteBudget(1_000_000, 1_000));

    expect(ids(hold.take(ALL_TRIED, false, false))).toEqual([]);
    expect(ids(hold.take([doc('a1', 'a')], true, false))).toEqual(['a1', 'n1', 'p1', 'p2']);
  });

  it('holds what it keeps in the byte budget, and hands everything out rather than read past MAX_IN_FLIGHT_BYTES', () => {
    const budget = new ByteBudget(1_000, 900);
    const hold = new ProbeHold(budget);

    expect(ids(hold.take([doc('p1', 'p', 1)], false, false))).toEqual([]);
    expect(budget.heldBytes).toBeGreaterThan(0);
    // Another kept page would leave no room for the largest event: the run probes with what it has.
    expect(ids(hold.take([doc('q1', 'q', 2), doc('q2', 'q')], false, false))).toEqual(['p1', 'q1', 'q2']);
    expect(budget.heldBytes).toBe(0);
  });
});
