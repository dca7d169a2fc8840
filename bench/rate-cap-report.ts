import type { BenchResult } from './bench-result.js';
import type { RateCapDrain } from './rate-cap-scenario.js';

const fixed = (value: number, digits: number): string => value.toFixed(digits);

/** The median of a non-empty list; the mean of the middle two for an even count. */
function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/** Whether a measured rate is within `tolerance` (a fraction) of `cap`: the verdict the issue asks for. */
export function withinCap(measured: number | undefined, cap: number, tolerance: number): boolean {
  return measured !== undefined && Math.abs(measured - cap) <= cap * tolerance;
}

/** The rate cap section of docs/performance.md: ROUTER_MAX_RPS against the POSTs/s the router saw, per cap and round. */
export function rateCapSection(result: Pick<BenchResult, 'rateCap' | 'machine' | 'date'>): string | undefined {
  const measured = result.rateCap;
  if (measured === undefined || measured.drains.length === 0) return undefined;
  const caps = [...new Set(measured.drains.map((drain) => drain.cap))];
  const rounds = (cap: number): RateCapDrain[] => measured.drains.filter((drain) => drain.cap === cap);
  const loads = measured.drains.map((drain) => drain.loadAverage);
  return [
    `\`ROUTER_MAX_RPS\` on one deployment of ${measured.shards} shards served by ${measured.instances} Functions Framework instances ` +
      `(\`SHARDS_PER_RUN=${measured.shardsPerRun}\`), each triggered back to back until the outbox is empty; cap × 20 s of pending events per ` +
      `drain, router answering after ${measured.latencyMs} ms, \`DELIVERY_CONCURRENCY=${measured.concurrency}\` per instance, so uncapped the ` +
      `deployment would POST far faster than any cap here. The rate is counted at the router: POSTs per second between the first and ` +
      `last of the middle ${fixed(100 - 2 * 100 * measured.trim, 0)} % of the drain's POSTs (the runs taking their leases at the start ` +
      `and the last shards finishing at the end left out). ${Math.max(...rounds(caps[0] ?? 0).map((drain) => drain.round)) + 1} round(s) per cap; ` +
      `measured ${result.date} on ${result.machine.cores} cores with the emulator, load average ${fixed(Math.min(...loads), 1)}–${fixed(Math.max(...loads), 1)}.`,
    '',
    `| ROUTER_MAX_RPS | POSTs/s at the router, steady part (median) | within ±${fixed(measured.tolerance * 100, 0)} % | each round (POSTs/s over s; load; machine busy cores) | events/s over the whole drain | duplicate POSTs |`,
    '|---|---|---|---|---|---|',
    ...caps.map((cap) => {
      const of = rounds(cap);
      const steady = of.map((drain) => drain.steadyPerSecond).filter((rate): rate is number => rate !== undefined);
      const typical = steady.length === 0 ? undefined : median(steady);
      return `| ${cap} | ${typical === undefined ? 'n/a' : fixed(typical, 1)} | ${withinCap(typical, cap, measured.tolerance) ? 'yes' : 'NO'} | ${of
        .map(
          (drain) =>
            `${drain.steadyPerSecond === undefined ? 'n/a' : fixed(drain.steadyPerSecond, 1)} over ${fixed(drain.steadySeconds, 1)} s; ` +
            `${fixed(drain.loadAverage, 1)}; ${fixed(drain.machineBusyCores, 2)}${drain.drained ? '' : ' (not drained)'}`,
        )
        .join(
          ' · ',
        )} | ${fixed(median(of.map((drain) => drain.wholeDrainPerSecond)), 1)} | ${of.reduce((sum, drain) => sum + drain.duplicates, 0)} |`;
    }),
  ].join('\n');
}
