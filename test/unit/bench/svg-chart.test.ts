import { ChartSpecError, lineChartSvg, tickLabel, type ChartSpec } from '../../../bench/svg-chart.js';

const shards: ChartSpec = {
  title: 'Events/s against shards',
  xLabel: 'shards',
  yLabel: 'events/s',
  series: [
    {
      name: '1 instance',
      points: [
        [1, 300],
        [2, 560],
        [4, 900],
      ],
    },
    {
      name: '2 instances & <more>',
      points: [
        [1, 310],
        [2, 600],
        [4, 1150],
      ],
    },
  ],
};

const circles = (svg: string): { cx: number; cy: number }[] =>
  [...svg.matchAll(/<circle cx="([\d.]+)" cy="([\d.]+)"/g)].map((m) => ({ cx: Number(m[1]), cy: Number(m[2]) }));

describe('Function: lineChartSvg (the charts the benchmark writes for the docs)', () => {
  it('draws one line and one legend entry per series, names escaped', () => {
    const svg = lineChartSvg(shards);

    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.match(/<polyline /g)).toHaveLength(2);
    expect(svg).toContain('>1 instance</text>');
    expect(svg).toContain('>2 instances &amp; &lt;more&gt;</text>');
    expect(svg).not.toContain('<more>');
  });

  it('places a larger value higher and further right (SVG y grows downwards)', () => {
    const [first, second, third] = circles(lineChartSvg(shards));

    expect(second!.cx).toBeGreaterThan(first!.cx);
    expect(third!.cx).toBeGreaterThan(second!.cx);
    expect(second!.cy).toBeLessThan(first!.cy);
    expect(third!.cy).toBeLessThan(second!.cy);
  });

  it('spaces decades evenly on a log scale', () => {
    const svg = lineChartSvg({
      ...shards,
      xScale: 'log',
      series: [
        {
          name: 'latency',
          points: [
            [1, 1],
            [10, 2],
            [100, 3],
          ],
        },
      ],
    });
    const [a, b, c] = circles(svg);

    expect(b!.cx - a!.cx).toBeCloseTo(c!.cx - b!.cx, 1);
  });

  it('refuses what it cannot draw truthfully, naming the chart', () => {
    expect(() => lineChartSvg({ ...shards, series: [] })).toThrow(ChartSpecError);
    expect(() => lineChartSvg({ ...shards, yScale: 'log', series: [{ name: 'zero', points: [[1, 0]] }] })).toThrow(
      /Events\/s against shards: y: a log scale needs values above 0/,
    );
    expect(() => lineChartSvg({ ...shards, series: [{ name: 'nan', points: [[1, Number.NaN]] }] })).toThrow(/finite number/);
  });

  it.each([
    [1200, '1.2k'],
    [2_500_000, '2.5M'],
    [0.25, '0.25'],
    [40, '40'],
  ])('labels tick %p as %p', (value, label) => {
    expect(tickLabel(value)).toBe(label);
  });
});
