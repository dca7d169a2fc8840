import { Instant } from '../../../src/core/instant.js';

describe('Class: Instant', () => {
  it.each([
    [0, '2026-01-01T00:00:00.000Z'],
    [5_000_000, '2026-01-01T00:00:00.005Z'],
    [123_456_000, '2026-01-01T00:00:00.123456Z'],
    [123_456_789, '2026-01-01T00:00:00.123456789Z'],
  ])('writes %i ns as %s: every digit the timestamp has, at least milliseconds', (nanos, text) => {
    expect(Instant.of(1_767_225_600, nanos).toRfc3339()).toBe(text);
  });

  it('orders instants within one millisecond by their nanoseconds', () => {
    const early = Instant.of(10, 1_000_001);
    const late = Instant.of(10, 1_000_002);

    expect(early.compare(late)).toBeLessThan(0);
    expect(late.compare(early)).toBeGreaterThan(0);
    expect(early.toMillis()).toBe(late.toMillis());
  });

  it('round-trips milliseconds', () => {
    expect(Instant.fromMillis(1_767_225_600_123).toMillis()).toBe(1_767_225_600_123);
    expect(Instant.fromMillis(1_767_225_600_123).nanos).toBe(123_000_000);
  });
});
