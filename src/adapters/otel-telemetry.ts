import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  defaultTextMapGetter,
  defaultTextMapSetter,
  trace,
  type Attributes,
  type Context,
  type Counter,
  type Gauge,
  type Histogram,
  type Span,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { OutboxEvent } from '../core/event.js';
import type { PendingAges } from '../core/pending-age.js';
import type { AttemptTrace, AttemptVerdict, RunEnd, RunTrace, SettledOutcome, Telemetry } from '../core/telemetry.js';
import { RELAY_METRICS } from './otel-metrics.js';

/** What the OpenTelemetry adapter needs; the SDK reads the other standard OTEL_* variables (headers, service name) itself. */
export interface OtelTelemetryOptions {
  /** OTEL_EXPORTER_OTLP_ENDPOINT: the base URL; traces go to /v1/traces and metrics to /v1/metrics under it. */
  readonly endpoint: string;
  readonly serviceVersion?: string;
  /** Between periodic metric exports; each run also flushes before it answers. */
  readonly metricIntervalMs?: number;
}

/** The instrumentation scope spans and metrics are reported under. */
export const INSTRUMENTATION_SCOPE = 'outbound-event-handler';
const DEFAULT_METRIC_INTERVAL_MS = 60_000;
/** Spans queued for export at most; beyond it the SDK drops them (a run of tens of thousands of POSTs). */
const MAX_QUEUED_SPANS = 8192;
const SPAN_BATCH = 1024;
/** Closing the exporters flushes them; a collector that does not answer must not hold a tool or a test that long. */
const SHUTDOWN_TIMEOUT_MS = 2_000;

/** Span attribute names: the event's id and type, the attempt and its verdict; never payloads. */
const ATTR = {
  eventId: 'cloudevents.event_id',
  eventType: 'cloudevents.event_type',
  attempt: 'outbox.delivery.attempt',
  verdict: 'outbox.delivery.verdict',
  runId: 'outbox.run.id',
  outcome: 'outbox.run.outcome',
} as const;

/**
 * Telemetry through the OpenTelemetry SDK, exported as OTLP over HTTP (JSON). Loaded by dynamic import only
 * when OTEL_EXPORTER_OTLP_ENDPOINT is set. It registers nothing globally: an application embedding the relay
 * keeps its own providers, and the delivery span's parent is taken from the event's stored traceparent.
 */
export function createOtelTelemetry(options: OtelTelemetryOptions): Telemetry {
  const base = options.endpoint.replace(/\/+$/, '');
  const resource = defaultResource()
    .merge(
      resourceFromAttributes({
        [ATTR_SERVICE_NAME]: INSTRUMENTATION_SCOPE,
        ...(options.serviceVersion === undefined ? {} : { [ATTR_SERVICE_VERSION]: options.serviceVersion }),
      }),
    )
    // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, as the SDK reads them, win over the defaults.
    .merge(detectResources({ detectors: [envDetector] }));
  const tracerProvider = new TracerProvider({
    resource,
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: new OTLPTraceExporter({ url: `${base}/v1/traces` }),
        maxQueueSize: MAX_QUEUED_SPANS,
        maxExportBatchSize: SPAN_BATCH,
      }),
    ],
  });
  const meterProvider = new MeterProvider({
    resource,
    readers: [
      new PeriodicExportingMetricReader({
        exporter: new OTLPMetricExporter({ url: `${base}/v1/metrics` }),
        exportIntervalMillis: options.metricIntervalMs ?? DEFAULT_METRIC_INTERVAL_MS,
      }),
    ],
  });
  const tracer = tracerProvider.getTracer(INSTRUMENTATION_SCOPE, options.serviceVersion);
  const meter = meterProvider.getMeter(INSTRUMENTATION_SCOPE, options.serviceVersion);
  const histogram = (m: { name: string; unit: string; description: string }): Histogram =>
    meter.createHistogram(m.name, { unit: m.unit, description: m.description });
  const counter = (m: { name: string; unit: string; description: string }): Counter =>
    meter.createCounter(m.name, { unit: m.unit, description: m.description });
  const gauge = (m: { name: string; unit: string; description: string }): Gauge =>
    meter.createGauge(m.name, { unit: m.unit, description: m.description });
  const instruments: Instruments = {
    deliveryLatency: histogram(RELAY_METRICS.deliveryLatency),
    deliveries: counter(RELAY_METRICS.deliveries),
    attempts: counter(RELAY_METRICS.attempts),
    deadLetters: counter(RELAY_METRICS.deadLetters),
    parkedKeys: gauge(RELAY_METRICS.parkedKeys),
    oldestPendingAge: gauge(RELAY_METRICS.oldestPendingAge),
    oldestWaitingAge: gauge(RELAY_METRICS.oldestWaitingAge),
    runDuration: histogram(RELAY_METRICS.runDuration),
    runs: counter(RELAY_METRICS.runs),
    runFailing: gauge(RELAY_METRICS.runFailing),
    breakerOpen: gauge(RELAY_METRICS.breakerOpen),
  };
  const propagator = new W3CTraceContextPropagator();

  return {
    startRun: (runId) =>
      new OtelRunTrace(tracer.startSpan('outbox.relay.run', { attributes: { [ATTR.runId]: runId } }), tracer, instruments, propagator),
    flush: (timeoutMs) => settleWithin(Promise.all([tracerProvider.forceFlush(), meterProvider.forceFlush()]), timeoutMs),
    shutdown: () => settleWithin(Promise.all([tracerProvider.shutdown(), meterProvider.shutdown()]), SHUTDOWN_TIMEOUT_MS),
  };
}

interface Instruments {
  readonly deliveryLatency: Histogram;
  readonly deliveries: Counter;
  readonly attempts: Counter;
  readonly deadLetters: Counter;
  readonly parkedKeys: Gauge;
  readonly oldestPendingAge: Gauge;
  readonly oldestWaitingAge: Gauge;
  readonly runDuration: Histogram;
  readonly runs: Counter;
  readonly runFailing: Gauge;
  readonly breakerOpen: Gauge;
}

type Tracer = ReturnType<TracerProvider['getTracer']>;

class OtelRunTrace implements RunTrace {
  constructor(
    private readonly span: Span,
    private readonly tracer: Tracer,
    private readonly instruments: Instruments,
    private readonly propagator: W3CTraceContextPropagator,
  ) {}

  startAttempt(event: OutboxEvent, attempt: number): AttemptTrace {
    const parent = this.producerContext(event);
    const span = this.tracer.startSpan(
      'outbox.deliver',
      {
        kind: SpanKind.PRODUCER,
        attributes: { [ATTR.eventId]: event.id, [ATTR.eventType]: event.type, [ATTR.attempt]: attempt },
        // The run's own trace is another one: a link ties the delivery to the run that made it.
        links: [{ context: this.span.spanContext() }],
      },
      parent,
    );
    const carrier: Record<string, string> = {};
    this.propagator.inject(trace.setSpan(ROOT_CONTEXT, span), carrier, defaultTextMapSetter);
    const { attempts } = this.instruments;
    return {
      traceparent: carrier.traceparent,
      tracestate: carrier.tracestate ?? event.tracestate,
      end(verdict: AttemptVerdict, httpStatus: number | undefined): void {
        const attributes: Attributes = { [ATTR.verdict]: verdict };
        if (httpStatus !== undefined) attributes[ATTR_HTTP_RESPONSE_STATUS_CODE] = httpStatus;
        span.setAttributes(attributes);
        if (verdict !== 'delivered') span.setStatus({ code: SpanStatusCode.ERROR, message: verdict });
        span.end();
        attempts.add(1, { verdict });
      },
    };
  }

  settled(outcome: SettledOutcome, latencyMs: number | undefined): void {
    this.instruments.deliveries.add(1, { outcome });
    if (outcome === 'dead_letter') this.instruments.deadLetters.add(1);
    if (latencyMs !== undefined) this.instruments.deliveryLatency.record(Math.max(0, latencyMs));
  }

  oldestPending(ages: PendingAges): void {
    this.instruments.oldestPendingAge.record(ages.dueMs);
    this.instruments.oldestWaitingAge.record(ages.backoffMs, { reason: 'backoff' });
    this.instruments.oldestWaitingAge.record(ages.parkedMs, { reason: 'parked' });
  }

  parkedKeys(count: number): void {
    this.instruments.parkedKeys.record(count);
  }

  breakerOpened(): void {
    this.instruments.breakerOpen.record(1);
    this.span.addEvent('circuit open');
  }

  end(result: RunEnd): void {
    const { instruments } = this;
    instruments.runs.add(1, { outcome: result.outcome, failing: result.failing });
    instruments.runDuration.record(result.durationMs, { outcome: result.outcome });
    instruments.runFailing.record(result.failing ? 1 : 0);
    instruments.breakerOpen.record(result.breakerOpen ? 1 : 0);
    this.span.setAttributes({
      [ATTR.outcome]: result.outcome,
      'outbox.run.delivered': result.delivered,
      'outbox.run.dead_lettered': result.deadLettered,
      'outbox.run.failed': result.failed,
    });
    if (result.failing) this.span.setStatus({ code: SpanStatusCode.ERROR, message: result.outcome });
    this.span.end();
  }

  /** The producer's context, from the traceparent stored with the event; a fresh trace when it has none. */
  private producerContext(event: OutboxEvent): Context {
    if (event.traceparent === undefined) return ROOT_CONTEXT;
    const carrier: Record<string, string> = { traceparent: event.traceparent };
    if (event.tracestate !== undefined) carrier.tracestate = event.tracestate;
    return this.propagator.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter);
  }
}

/** Resolves when `work` settles or `timeoutMs` passes, whichever is first; never rejects. */
async function settleWithin(work: Promise<unknown>, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
    timer.unref();
  });
  try {
    await Promise.race([
      work.then(
        () => undefined,
        () => undefined,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
