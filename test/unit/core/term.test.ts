import { remainingMs, type StoredTerm } from '../../../src/core/term.js';

const NOW = Date.UTC(2026, 0, 1);

describe('Function: remainingMs', () => {
  it.each<[string, StoredTerm, number]>([
    ['a lease renewed 10 s ago for 30 s has 20 s left', { renewedAtMs: NOW - 10_000, ttlMs: 30_000 }, 20_000],
    ['a lease renewed 30 s ago for 30 s has lapsed', { renewedAtMs: NOW - 30_000, ttlMs: 30_000 }, 0],
    ['a lease renewed 5 minutes ago for 30 s has lapsed, not gone negative', { renewedAtMs: NOW - 300_000, ttlMs: 30_000 }, 0],
    [
      'the stamped renewal wins over an absolute expiry written by an older version',
      { renewedAtMs: NOW, ttlMs: 30_000, expiresAtMs: NOW - 1 },
      30_000,
    ],
    ['an absolute expiry counts when no renewal is stamped', { expiresAtMs: NOW + 5_000 }, 5_000],
    ['an absolute expiry in the past has lapsed', { expiresAtMs: NOW - 5_000 }, 0],
    ['a renewal without a TTL falls back to the absolute expiry', { renewedAtMs: NOW, expiresAtMs: NOW + 1_000 }, 1_000],
    ['a zero TTL falls back to the absolute expiry', { renewedAtMs: NOW, ttlMs: 0 }, 0],
    ['a term that says nothing has lapsed, so it can be taken', {}, 0],
    ['a NaN renewal has lapsed', { renewedAtMs: Number.NaN, ttlMs: 30_000 }, 0],
  ])('%s', (_, term, expected) => {
    expect(remainingMs(term, NOW)).toBe(expected);
  });

  it('depends only on the times it is given, so every machine reading the same document agrees', () => {
    const term = { renewedAtMs: NOW, ttlMs: 30_000 };

    expect(remainingMs(term, NOW + 2_000)).toBe(28_000);
    expect(remainingMs(term, NOW + 2_000)).toBe(remainingMs(term, NOW + 2_000));
  });
});
