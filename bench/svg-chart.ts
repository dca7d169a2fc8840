/** One line of a chart: its legend name and its points, in the order they are drawn. */
export interface ChartSeries {
  readonly name: string;
  readonly points: ReadonlyArray<readonly [number, number]>;
}

/** What a chart shows; the benchmark writes one per figure the docs draw, so no chart is drawn by hand. */
export interface ChartSpec {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly ChartSeries[];
  readonly xScale?: 'linear' | 'log';
  readonly yScale?: 'linear' | 'log';
  readonly width?: number;
  readonly height?: number;
}

/** Thrown for a chart that cannot be drawn truthfully, rather than drawing a misleading one. */
export class ChartSpecError extends Error {
  override readonly name = 'ChartSpecError';
}

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
const MARGIN = { left: 64, right: 16, top: 36, bottom: 48 };
const LEGEND_ROW = 16;

interface Axis {
  readonly min: number;
  readonly max: number;
  readonly ticks: readonly number[];
  readonly scale: 'linear' | 'log';
}

const escapeXml = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A tick label short enough for an axis: 1,200 → 1.2k, 0.25 → 0.25. */
export function tickLabel(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${+(value / 1e6).toPrecision(3)}M`;
  if (abs >= 1e3) return `${+(value / 1e3).toPrecision(3)}k`;
  return String(+value.toPrecision(3));
}

function niceStep(span: number, count: number): number {
  const raw = span / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const unit = raw / power;
  const nice = unit <= 1 ? 1 : unit <= 2 ? 2 : unit <= 5 ? 5 : 10;
  return nice * power;
}

function axisOf(values: readonly number[], scale: 'linear' | 'log', label: string): Axis {
  if (values.some((v) => !Number.isFinite(v))) throw new ChartSpecError(`${label}: every value must be a finite number`);
  if (scale === 'log') {
    if (values.some((v) => v <= 0)) throw new ChartSpecError(`${label}: a log scale needs values above 0`);
    const low = Math.floor(Math.log10(Math.min(...values)));
    const high = Math.max(low + 1, Math.ceil(Math.log10(Math.max(...values))));
    const ticks = Array.from({ length: high - low + 1 }, (_, i) => 10 ** (low + i));
    return { min: 10 ** low, max: 10 ** high, ticks, scale };
  }
  const low = Math.min(0, ...values);
  const high = Math.max(...values);
  const span = high > low ? high - low : 1;
  const step = niceStep(span, 5);
  const min = Math.floor(low / step) * step;
  const max = Math.max(min + step, Math.ceil(high / step) * step);
  const ticks: number[] = [];
  for (let tick = min; tick <= max + step / 2; tick += step) ticks.push(+tick.toPrecision(12));
  return { min, max, ticks, scale };
}

function position(axis: Axis, value: number, from: number, to: number): number {
  const fraction =
    axis.scale === 'log'
      ? (Math.log10(value) - Math.log10(axis.min)) / (Math.log10(axis.max) - Math.log10(axis.min))
      : (value - axis.min) / (axis.max - axis.min);
  return +(from + fraction * (to - from)).toFixed(2);
}

/** A self-contained SVG line chart (axes, ticks, one line with markers per series, legend), no external assets. */
export function lineChartSvg(spec: ChartSpec): string {
  const points = spec.series.flatMap((series) => series.points);
  if (points.length === 0) throw new ChartSpecError(`${spec.title}: no points to draw`);
  const width = spec.width ?? 640;
  const height = spec.height ?? 400;
  const legendHeight = spec.series.length * LEGEND_ROW;
  const x = axisOf(
    points.map(([px]) => px),
    spec.xScale ?? 'linear',
    `${spec.title}: x`,
  );
  const y = axisOf(
    points.map(([, py]) => py),
    spec.yScale ?? 'linear',
    `${spec.title}: y`,
  );
  const left = MARGIN.left;
  const right = width - MARGIN.right;
  const top = MARGIN.top + legendHeight;
  const bottom = height - MARGIN.bottom;
  const px = (v: number): number => position(x, v, left, right);
  const py = (v: number): number => position(y, v, bottom, top);

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<title>${escapeXml(spec.title)}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(spec.title)}</text>`,
  ];
  for (const tick of x.ticks) {
    const at = px(tick);
    out.push(
      `<line x1="${at}" y1="${top}" x2="${at}" y2="${bottom}" stroke="#e5e5e5"/>`,
      `<text x="${at}" y="${bottom + 16}" text-anchor="middle">${tickLabel(tick)}</text>`,
    );
  }
  for (const tick of y.ticks) {
    const at = py(tick);
    out.push(
      `<line x1="${left}" y1="${at}" x2="${right}" y2="${at}" stroke="#e5e5e5"/>`,
      `<text x="${left - 6}" y="${at + 4}" text-anchor="end">${tickLabel(tick)}</text>`,
    );
  }
  out.push(
    `<line x1="${left}" y1="${bottom}" x2="${right}" y2="${bottom}" stroke="#333333"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${bottom}" stroke="#333333"/>`,
    `<text x="${(left + right) / 2}" y="${height - 12}" text-anchor="middle">${escapeXml(spec.xLabel)}</text>`,
    `<text transform="translate(16 ${(top + bottom) / 2}) rotate(-90)" text-anchor="middle">${escapeXml(spec.yLabel)}</text>`,
  );
  spec.series.forEach((series, index) => {
    const colour = COLOURS[index % COLOURS.length] ?? '#000000';
    const coords = series.points.map(([vx, vy]) => `${px(vx)},${py(vy)}`);
    if (coords.length > 1) {
      out.push(`<polyline fill="none" stroke="${colour}" stroke-width="2" points="${coords.join(' ')}"/>`);
    }
    if (series.points.length <= 40) {
      for (const [vx, vy] of series.points) {
        out.push(`<circle cx="${px(vx)}" cy="${py(vy)}" r="3" fill="${colour}"/>`);
      }
    }
    const legendY = MARGIN.top + index * LEGEND_ROW;
    out.push(
      `<line x1="${left + 8}" y1="${legendY}" x2="${left + 28}" y2="${legendY}" stroke="${colour}" stroke-width="2"/>`,
      `<text x="${left + 34}" y="${legendY + 4}">${escapeXml(series.name)}</text>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
