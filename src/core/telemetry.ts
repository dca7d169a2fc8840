import type { OutboxEvent } from './event.js';
import type { PendingAges } from './pending-age.js';

/** What one POST came to, as spans and metrics name it: the classify() verdicts, plus a POST that threw. */
export type AttemptVerdict = 'delivered' | 'transient' | 'permanent' | 'cancelled' | 'error';

/** How an event of the run was settled, as the deliveries metric counts it. */
export type SettledOutcome = 'delivered' | 'failed' | 'dead_letter';

/** One POST as telemetry sees it, from just before it is sent to its verdict. */
export interface AttemptTrace {
  /**
   * The trace context the POST carries: the delivery span's (a child of the producer's context, same trace id)
   * when telemetry is on; undefined when off, and the event's stored traceparent is then sent unchanged.
   */
  readonly traceparent: string | undefined;
  readonly tracestate: string | undefined;
  /** The verdict and, when the router answered, its HTTP status. */
  end(verdict: AttemptVerdict, httpStatus: number | undefined): void;
}

/** How a run ended, for its span and the run metrics. */
export interface RunEnd {
  /** `drained`, a stop reason, `delivery_failed`, `skipped` or `not_started`. */
  readonly outcome: string;
  /** The run answers 500, so Cloud Scheduler retries it. */
  readonly failing: boolean;
  readonly durationMs: number;
  readonly delivered: number;
  readonly deadLettered: number;
  readonly failed: number;
  /** Whether the circuit was open when the run ended. */
  readonly breakerOpen: boolean;
}

/** What one run tells telemetry; every method is cheap and never throws into the run. */
export interface RunTrace {
  startAttempt(event: OutboxEvent, attempt: number): AttemptTrace;
  /** An event's outcome was decided; `latencyMs` (commit → acknowledgement) is set for a delivered event. */
  settled(outcome: SettledOutcome, latencyMs: number | undefined): void;
  /** Ages of the oldest pending events the run has read: due now, on backoff, behind a parked key (0: none). */
  oldestPending(ages: PendingAges): void;
  /** Ordering keys parked behind a dead letter, as the run read them at its start. */
  parkedKeys(count: number): void;
  breakerOpened(): void;
  end(result: RunEnd): void;
}

/**
 * Spans and metrics of the relay, as a port: the core stays free of OpenTelemetry, and with telemetry off
 * (no OTEL_EXPORTER_OTLP_ENDPOINT) the no-op below costs nothing and nothing of the SDK is loaded.
 */
export interface Telemetry {
  startRun(runId: string): RunTrace;
  /** Exports what was recorded; resolves within `timeoutMs` whatever happens, and never rejects. */
  flush(timeoutMs: number): Promise<void>;
  /** Flushes and stops the exporters (tools and tests; the function never needs to). */
  shutdown(): Promise<void>;
}

const NO_ATTEMPT: AttemptTrace = { traceparent: undefined, tracestate: undefined, end: () => undefined };

/** A run that records nothing: what the relay uses when telemetry is off. */
export const NO_RUN_TRACE: RunTrace = {
  startAttempt: () => NO_ATTEMPT,
  settled: () => undefined,
  oldestPending: () => undefined,
  parkedKeys: () => undefined,
  breakerOpened: () => undefined,
  end: () => undefined,
};

/** Telemetry off: the default, with no measurable cost per event. */
export const NO_TELEMETRY: Telemetry = {
  startRun: () => NO_RUN_TRACE,
  flush: () => Promise.resolve(),
  shutdown: () => Promise.resolve(),
};
