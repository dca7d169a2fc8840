import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { PageCursor } from '../../../src/core/ports.js';
import { readStart, WAITING_REREAD_INTERVAL_MS, type ReadCarry } from '../../../src/core/read-start.js';
import { PROJECT_ROOT } from '../../support/project-root.js';

const NOW = Date.UTC(2026, 0, 1, 12);
const carry = (overrides: Partial<ReadCarry> = {}): ReadCarry => ({
  end: { at: NOW - 1_000, id: 'evt-9' } as unknown as PageCursor,
  endCreatedAtMs: NOW - 1_000,
  heldKeys: new Set(['A']),
  parkedKeys: new Set(['P']),
  dueAtMs: NOW + 60_000,
  fullReadAtMs: NOW - 60_000,
  leftPending: 3,
  ...overrides,
});

describe('Function: readStart', () => {
  it.each([
    ['nothing carried (first run, or the last one stopped early)', undefined, new Set(['P']), 'start:first'],
    ['an event left behind is due now', carry({ dueAtMs: NOW }), new Set(['P']), 'start:due'],
    ['an event left behind was due before now', carry({ dueAtMs: NOW - 1 }), new Set(['P']), 'start:due'],
    [
      'the last read from the start was WAITING_REREAD_INTERVAL_MS ago',
      carry({ fullReadAtMs: NOW - WAITING_REREAD_INTERVAL_MS }),
      new Set(['P']),
      'start:interval',
    ],
    ['a key parked then is released', carry(), new Set<string>(), 'start:released'],
    ['the last event read has a createdAt ahead of now', carry({ endCreatedAtMs: NOW + 1 }), new Set(['P']), 'start:future'],
    ['nothing due, read from the start recently, keys still parked', carry(), new Set(['P']), 'resume'],
    ['another key parked since', carry(), new Set(['P', 'Q']), 'resume'],
    ['just inside the interval', carry({ fullReadAtMs: NOW - WAITING_REREAD_INTERVAL_MS + 1 }), new Set(['P']), 'resume'],
  ])('when %s: reads from %s', (_case, carried, parked, expected) => {
    const start = readStart(carried, NOW, parked);

    expect(start.kind === 'start' ? `start:${start.reason}` : 'resume').toBe(expected);
  });
});

describe('The table of read-start.ts (written into docs/failure-semantics.md)', () => {
  it('names the interval readStart applies', () => {
    const source = readFileSync(path.join(PROJECT_ROOT, 'src/core/read-start.ts'), 'utf8');
    const minutes = Number(/WAITING_REREAD_INTERVAL_MS \((\d+) min\)/.exec(source)?.[1]);

    expect(minutes * 60_000).toBe(WAITING_REREAD_INTERVAL_MS);
  });
});
