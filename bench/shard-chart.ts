import { writeFile } from 'node:fs/promises';
import { shardPoints } from './shard-points.js';
import type { ShardScalingResult } from './shard-scenario.js';
import { lineChartSvg, type ChartSeries, type ChartSpec } from './svg-chart.js';

/**
 * The chart docs/performance.md shows beside the shard table: events/s against shards, one line per instance count,
 * or, when every shard had an instance of its own, that line and the 1-shard rate times the shards beside it.
 */
export function shardChartSpec(scaling: ShardScalingResult): ChartSpec {
  const points = shardPoints(scaling.rounds);
  const line = (name: string, chosen: typeof points): ChartSeries => ({
    name,
    points: [...chosen]
      .sort((a, b) => a.shards - b.shards)
      .map((point) => [point.shards, Number(point.eventsPerSecond.toFixed(1))] as const),
  });
  const perShard = points.length > 0 && points.every((point) => point.instances === point.shards);
  const one = points.find((point) => point.shards === 1);
  const series = perShard
    ? [
        line('one instance per shard (measured)', points),
        ...(one === undefined
          ? []
          : [
              line(
                '1 shard\u2019s rate \u00d7 shards',
                points.map((point) => ({ ...point, eventsPerSecond: one.eventsPerSecond * point.shards })),
              ),
            ]),
      ]
    : [...new Set(points.map((point) => point.instances))]
        .sort((a, b) => a - b)
        .map((instances) =>
          line(
            `${instances} instance${instances === 1 ? '' : 's'}`,
            points.filter((point) => point.instances === instances),
          ),
        );
  return {
    title: `One deployment, router at ${scaling.latencyMs} ms: events/s by shards (median of ${scaling.roundsPerPoint} round(s))`,
    xLabel: 'shards (SHARD_COUNT)',
    yLabel: 'events/s',
    series,
  };
}

/** Writes the shard chart (SVG) from a result, so the figure in the docs is always the measured one. */
export async function writeShardChart(scaling: ShardScalingResult, file: string): Promise<void> {
  await writeFile(file, lineChartSvg(shardChartSpec(scaling)));
}
