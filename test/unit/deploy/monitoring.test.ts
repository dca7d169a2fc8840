import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CLOUD_MONITORING_METRIC_PREFIX, RELAY_METRICS, type InstrumentKind } from '../../../src/adapters/otel-metrics.js';
import { logAnswer, RUN_ANSWERED } from '../../../src/function/outbound-event-handler.js';
import { PROJECT_ROOT } from '../../support/project-root.js';

/*
 * deploy/monitoring holds the Cloud Monitoring dashboard and alert policies (API shapes, applied with gcloud as
 * docs/observability.md shows). Nothing in Google Cloud checks them until someone applies them, so this does:
 * their structure, and that every metric they name is one the relay emits, aligned as its kind allows.
 */

const DIR = path.join(PROJECT_ROOT, 'deploy', 'monitoring');
type Json = Record<string, unknown>;
const read = (file: string): Json => JSON.parse(readFileSync(path.join(DIR, file), 'utf8')) as Json;
const files = readdirSync(DIR).filter((file) => file.endsWith('.json'));
const alertFiles = files.filter((file) => file.startsWith('alert-'));
const logMetricFiles = files.filter((file) => file.startsWith('log-metric-'));
/** Metrics Cloud Logging derives from the function's own log lines (log-metric-*.json): no collector needed. */
const LOG_METRIC_PREFIX = 'logging.googleapis.com/user/';
const LOG_METRICS = new Map(logMetricFiles.map((file) => [String(read(file).name), read(file)]));

const KIND_OF = new Map<string, InstrumentKind>(Object.values(RELAY_METRICS).map((m) => [m.name, m.kind]));
/** Aligners Cloud Monitoring accepts per metric kind: CUMULATIVE counters and distributions need a delta or rate. */
const ALIGNERS: Record<InstrumentKind, readonly string[]> = {
  counter: ['ALIGN_DELTA', 'ALIGN_RATE'],
  histogram: ['ALIGN_DELTA', 'ALIGN_RATE', 'ALIGN_PERCENTILE_50', 'ALIGN_PERCENTILE_95', 'ALIGN_PERCENTILE_99'],
  gauge: ['ALIGN_MAX', 'ALIGN_MIN', 'ALIGN_MEAN', 'ALIGN_NEXT_OLDER'],
};

/** Every (filter, aggregation) pair in a file, wherever the API shape puts it. */
function queries(node: unknown, found: { filter: string; aggregations: Json[] }[] = []): { filter: string; aggregations: Json[] }[] {
  if (Array.isArray(node)) for (const item of node) queries(item, found);
  else if (node !== null && typeof node === 'object') {
    const object = node as Json;
    if (typeof object.filter === 'string') {
      const aggregations =
        (object.aggregations as Json[] | undefined) ?? (object.aggregation === undefined ? [] : [object.aggregation as Json]);
      found.push({ filter: object.filter, aggregations });
    }
    for (const value of Object.values(object)) queries(value, found);
  }
  return found;
}

function metricOf(filter: string): string {
  const match = /metric\.type\s*=\s*"([^"]+)"/.exec(filter);
  return match?.[1] ?? '';
}

describe('Deploy files: deploy/monitoring', () => {
  it('holds a dashboard, the five alert policies the runbook names and the log-based metric one of them needs', () => {
    expect(files.sort()).toEqual([
      'alert-breaker-open.json',
      'alert-dead-letters.json',
      'alert-failed-runs.json',
      'alert-oldest-pending.json',
      'alert-runs-stopped.json',
      'dashboard.json',
      'log-metric-run-answers.json',
    ]);
  });

  it.each(files.filter((file) => !logMetricFiles.includes(file)))(
    '%s names only metrics the relay emits, under the Cloud Monitoring prefix, aligned as their kind allows',
    (file) => {
      const found = queries(read(file));

      expect(found.length).toBeGreaterThan(0);
      for (const { filter, aggregations } of found) {
        const type = metricOf(filter);
        if (type.startsWith(LOG_METRIC_PREFIX)) {
          expect({ type, defined: LOG_METRICS.has(type.slice(LOG_METRIC_PREFIX.length)) }).toEqual({ type, defined: true });
          for (const aggregation of aggregations) expect(aggregation.perSeriesAligner).toBe('ALIGN_DELTA');
          continue;
        }
        expect(type.startsWith(CLOUD_MONITORING_METRIC_PREFIX)).toBe(true);
        const kind = KIND_OF.get(type.slice(CLOUD_MONITORING_METRIC_PREFIX.length));
        expect({ type, emitted: kind !== undefined }).toEqual({ type, emitted: true });
        for (const aggregation of aggregations) {
          expect(ALIGNERS[kind as InstrumentKind]).toContain(aggregation.perSeriesAligner);
          expect(aggregation.alignmentPeriod).toMatch(/^\d+s$/);
        }
      }
    },
  );

  it('counts, in the log-based metric, the line the function writes once per answer, labelled by the field holding its status', () => {
    const metric = read('log-metric-run-answers.json');
    const lines: { severity: string; message: string; fields: Record<string, unknown> }[] = [];
    logAnswer({ log: (severity, message, fields = {}) => void lines.push({ severity, message, fields }) }, 'run-1', {
      status: 500,
      body: { error: 'delivery_failed' },
    });

    expect(metric.filter).toContain(`jsonPayload.message="${RUN_ANSWERED}"`);
    expect(lines).toEqual([
      { severity: 'ERROR', message: RUN_ANSWERED, fields: { runId: 'run-1', status: 500, error: 'delivery_failed' } },
    ]);
    expect(metric.labelExtractors).toEqual({ status: 'EXTRACT(jsonPayload.status)' });
    expect((metric.metricDescriptor as Json).metricKind).toBe('DELTA');
  });

  it('alerts without a collector when runs stop (no answer logged) or keep answering 500', () => {
    const policy = read('alert-runs-stopped.json');
    const conditions = policy.conditions as Json[];
    const absent = conditions.find((condition) => condition.conditionAbsent !== undefined)?.conditionAbsent as Json | undefined;
    const failing = conditions.find((condition) => condition.conditionThreshold !== undefined)?.conditionThreshold as Json | undefined;

    expect(queries(policy).every(({ filter }) => metricOf(filter).startsWith(LOG_METRIC_PREFIX))).toBe(true);
    expect(absent?.duration).toMatch(/^\d+s$/);
    expect(failing?.filter).toContain('metric.label.status="500"');
    expect(metricOf(String(failing?.denominatorFilter))).toBe(metricOf(String(failing?.filter)));
  });

  it('lays the dashboard out on its 12-column grid without overlapping tiles', () => {
    const dashboard = read('dashboard.json');
    const layout = dashboard.mosaicLayout as {
      columns: number;
      tiles: { xPos?: number; yPos?: number; width: number; height: number; widget: Json }[];
    };

    expect(typeof dashboard.displayName).toBe('string');
    expect(layout.columns).toBe(12);
    const cells = new Set<string>();
    for (const tile of layout.tiles) {
      expect(typeof tile.widget.title).toBe('string');
      expect((tile.xPos ?? 0) + tile.width).toBeLessThanOrEqual(12);
      for (let x = tile.xPos ?? 0; x < (tile.xPos ?? 0) + tile.width; x += 1)
        for (let y = tile.yPos ?? 0; y < (tile.yPos ?? 0) + tile.height; y += 1) {
          expect(cells.has(`${x},${y}`)).toBe(false);
          cells.add(`${x},${y}`);
        }
    }
  });

  it('charts every metric the relay emits on the dashboard', () => {
    const charted = new Set(
      queries(read('dashboard.json')).map(({ filter }) => metricOf(filter).slice(CLOUD_MONITORING_METRIC_PREFIX.length)),
    );

    expect([...charted].sort()).toEqual(
      Object.values(RELAY_METRICS)
        .map((m) => m.name)
        .sort(),
    );
  });

  it.each(alertFiles)('%s is an alert policy with threshold conditions and a runbook', (file) => {
    const policy = read(file);

    expect(typeof policy.displayName).toBe('string');
    expect(['OR', 'AND']).toContain(policy.combiner);
    expect((policy.documentation as Json).mimeType).toBe('text/markdown');
    expect((policy.documentation as Json).content).toMatch(/docs\//);
    const conditions = policy.conditions as { displayName: string; conditionThreshold?: Json; conditionAbsent?: Json }[];
    expect(conditions.length).toBeGreaterThan(0);
    for (const { displayName, conditionThreshold, conditionAbsent } of conditions) {
      expect(typeof displayName).toBe('string');
      if (conditionAbsent !== undefined) {
        // Absence: no data for `duration`, at least two minutes as Cloud Monitoring requires.
        expect(Number(/^(\d+)s$/.exec(String(conditionAbsent.duration))?.[1])).toBeGreaterThanOrEqual(120);
        continue;
      }
      expect(['COMPARISON_GT', 'COMPARISON_LT']).toContain(conditionThreshold?.comparison);
      expect(typeof conditionThreshold?.thresholdValue).toBe('number');
      expect(conditionThreshold?.duration).toMatch(/^\d+s$/);
    }
  });
});
