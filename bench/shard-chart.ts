import { writeFile } from 'node:fs/promises';
import { shardPoints } from './shard-points.js';
import type { ShardScalingResult } from './shard-scenario.js';
import { lineChartSvg, type ChartSpec } from './svg-chart.js';

/** The chart docs/performance.md shows beside the shard table: events/s against shards, one line per instance count. */
export function shardChartSpec(scaling: ShardScalingResult): ChartSpec {
  const points = shardPoints(scaling.rounds);
  const instanceCounts = [...new Set(points.map((point) => point.instances))].sort((a, b) => a - b);
  return {
    title: `One deployment, router at ${scaling.latencyMs} ms: events/s by shards (median of ${scaling.roundsPerPoint} round(s))`,
    xLabel: 'shards (SHARD_COUNT)',
    yLabel: 'events/s',
    series: instanceCounts.map((instances) => ({
      name: `${instances} instance${instances === 1 ? '' : 's'}`,
      points: points
        .filter((point) => point.instances === instances)
        .sort((a, b) => a.shards - b.shards)
        .map((point) => [point.shards, Number(point.eventsPerSecond.toFixed(1))] as const),
    })),
  };
}

/** Writes the shard chart (SVG) from a result, so the figure in the docs is always the measured one. */
export async function writeShardChart(scaling: ShardScalingResult, file: string): Promise<void> {
  await writeFile(file, lineChartSvg(shardChartSpec(scaling)));
}
