/** How an instrument aggregates, which decides the Cloud Monitoring metric kind it lands as. */
export type InstrumentKind = 'histogram' | 'counter' | 'gauge';

/** One metric the relay emits: its OpenTelemetry name, kind, unit, meaning and the attributes it carries. */
export interface MetricDefinition {
  readonly name: string;
  readonly kind: InstrumentKind;
  readonly unit: string;
  readonly description: string;
  readonly attributes: readonly string[];
}

/**
 * Every metric the relay emits, in one place, so the dashboard and alert policies in deploy/monitoring can be
 * checked against it (a unit test fails when they name a metric that is not here). Attributes are bounded
 * sets, never event ids or payloads.
 */
export const RELAY_METRICS = {
  deliveryLatency: {
    name: 'outbox.relay.delivery.latency',
    kind: 'histogram',
    unit: 'ms',
    description: "From the event's commit (createdAt) to the router's acknowledgement",
    attributes: [],
  },
  deliveries: {
    name: 'outbox.relay.deliveries',
    kind: 'counter',
    unit: '{event}',
    description: 'Events settled by a run, by outcome: delivered, failed (stays pending) or dead_letter',
    attributes: ['outcome'],
  },
  attempts: {
    name: 'outbox.relay.attempts',
    kind: 'counter',
    unit: '{post}',
    description: 'POSTs to the router, by verdict: delivered, transient, permanent, cancelled or error',
    attributes: ['verdict'],
  },
  deadLetters: {
    name: 'outbox.relay.dead_letters',
    kind: 'counter',
    unit: '{event}',
    description: 'Events dead-lettered',
    attributes: [],
  },
  parkedKeys: {
    name: 'outbox.relay.parked_keys',
    kind: 'gauge',
    unit: '{key}',
    description: 'Ordering keys parked behind a dead letter, at the start of the last run',
    attributes: [],
  },
  oldestPendingAge: {
    name: 'outbox.relay.oldest_pending.age',
    kind: 'gauge',
    unit: 'ms',
    description: 'Age of the oldest pending event that is due, neither on its backoff nor behind a parked key, in the last run (0: none)',
    attributes: [],
  },
  oldestWaitingAge: {
    name: 'outbox.relay.oldest_waiting.age',
    kind: 'gauge',
    unit: 'ms',
    description: 'Age of the oldest pending event that waits by design, by reason: backoff (its own or its key’s) or parked (0: none)',
    attributes: ['reason'],
  },
  runDuration: {
    name: 'outbox.relay.run.duration',
    kind: 'histogram',
    unit: 'ms',
    description: 'Run duration, start to answer, by outcome',
    attributes: ['outcome'],
  },
  runs: {
    name: 'outbox.relay.runs',
    kind: 'counter',
    unit: '{run}',
    description: 'Runs, by outcome (drained, a stop reason, delivery_failed, skipped, not_started) and whether they answered 500',
    attributes: ['outcome', 'failing'],
  },
  runFailing: {
    name: 'outbox.relay.run.failing',
    kind: 'gauge',
    unit: '1',
    description: 'Whether the last run answered 500 (1) or 200 (0): consecutive 1s are consecutive failed runs',
    attributes: [],
  },
  breakerOpen: {
    name: 'outbox.relay.breaker.open',
    kind: 'gauge',
    unit: '1',
    description: 'Whether the circuit breaker was open (1) when the last run ended, or is open now',
    attributes: [],
  },
} as const satisfies Record<string, MetricDefinition>;

/**
 * Where the metrics land in Cloud Monitoring, as deploy/monitoring assumes: OTLP into an OpenTelemetry collector
 * whose `googlecloud` exporter writes them as `workload.googleapis.com/<name>` (its default prefix); see
 * docs/observability.md for other routes.
 */
export const CLOUD_MONITORING_METRIC_PREFIX = 'workload.googleapis.com/';

/** The names above, for checks that compare what deploy files use with what the code emits. */
export const RELAY_METRIC_NAMES: readonly string[] = Object.values(RELAY_METRICS).map((metric) => metric.name);
