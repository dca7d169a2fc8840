/** A rate over the steady part of a drain: what a cap is judged by, without the ramp at the start and the tail at the end. */
export interface SteadyRate {
  /** POSTs in the steady part, and the seconds from its first to its last. */
  readonly posts: number;
  readonly seconds: number;
  /** (posts − 1) / seconds: the arrivals' own spacing, not counting a gap before the first. */
  readonly perSecond: number;
}

/**
 * The rate of the arrivals (ms, in any order) left after dropping `trim` of them (a fraction) at each end: the
 * start, while runs take their leases, and the end, while the last shards finish one after another, say nothing
 * about a cap. Undefined with fewer than 2 arrivals left or no time between them.
 */
export function steadyRate(arrivals: readonly number[], trim: number): SteadyRate | undefined {
  const sorted = [...arrivals].sort((a, b) => a - b);
  const drop = Math.floor(sorted.length * Math.min(0.49, Math.max(0, trim)));
  const steady = sorted.slice(drop, sorted.length - drop);
  const first = steady[0];
  const last = steady[steady.length - 1];
  if (steady.length < 2 || first === undefined || last === undefined || last <= first) return undefined;
  const seconds = (last - first) / 1000;
  return { posts: steady.length, seconds, perSecond: (steady.length - 1) / seconds };
}
