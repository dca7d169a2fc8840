/**
 * A point in time with Firestore's precision (nanoseconds): a Date keeps milliseconds only, which would cut
 * `ce-time` short and could reorder events committed within one millisecond.
 */
export class Instant {
  private constructor(
    /** Whole seconds since the Unix epoch. */
    readonly seconds: number,
    /** Nanoseconds within the second, 0 to 999,999,999. */
    readonly nanos: number,
  ) {}

  /** From seconds and nanoseconds, as a Firestore Timestamp holds them. */
  static of(seconds: number, nanos: number): Instant {
    if (!Number.isSafeInteger(seconds) || !Number.isInteger(nanos) || nanos < 0 || nanos > 999_999_999) {
      throw new RangeError(`not an instant: ${seconds} s ${nanos} ns`);
    }
    return new Instant(seconds, nanos);
  }

  /** From milliseconds since the epoch (what Clock.now() answers). */
  static fromMillis(ms: number): Instant {
    const seconds = Math.floor(ms / 1000);
    return Instant.of(seconds, Math.round((ms - seconds * 1000) * 1_000_000));
  }

  toMillis(): number {
    return this.seconds * 1000 + Math.floor(this.nanos / 1_000_000);
  }

  /** Negative, zero or positive, as `this` is before, equal to or after `other`. */
  compare(other: Instant): number {
    return this.seconds - other.seconds || this.nanos - other.nanos;
  }

  /** RFC 3339 in UTC with as many fraction digits as the value needs: 3, 6 or 9. */
  toRfc3339(): string {
    const base = new Date(this.seconds * 1000).toISOString().slice(0, 19);
    const nanos = String(this.nanos).padStart(9, '0');
    const digits = nanos.endsWith('000000') ? 3 : nanos.endsWith('000') ? 6 : 9;
    return `${base}.${nanos.slice(0, digits)}Z`;
  }
}
