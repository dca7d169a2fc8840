/** Every error this project raises: one base class, each says what happened and what to do next. */
export class OutboxError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A variable of the environment is missing or invalid; the function cannot run until it is fixed. */
export class ConfigError extends OutboxError {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`Invalid configuration: ${variable} ${problem}. Fix the function's environment and redeploy.`);
  }
}

/** An outbox document that can never be delivered as written; it is dead-lettered with this reason. */
export class MalformedEventError extends OutboxError {
  constructor(
    readonly eventId: string,
    readonly field: string,
    problem: string,
  ) {
    super(`event ${eventId}: ${field} ${problem}`);
  }
}

/** Reading pending events failed; nothing was POSTed, so Cloud Scheduler may simply retry the run. */
export class FetchError extends OutboxError {
  constructor(cause: unknown) {
    super(`Fetching pending events failed: ${describeError(cause)}. Nothing was POSTed; the run will be retried.`, {
      cause,
    });
  }
}

/** Recording delivery progress failed; the affected events stay pending and are POSTed again next run. */
export class FlushError extends OutboxError {
  constructor(
    readonly eventCount: number,
    cause: unknown,
  ) {
    super(
      `Recording ${eventCount} delivery outcome(s) failed: ${describeError(cause)}. Those events stay pending and will be POSTed again.`,
      { cause },
    );
  }
}

/** The final audit update did not complete in time; delivery itself succeeded. */
export class AuditTimeoutError extends OutboxError {
  constructor(readonly timeoutMs: number) {
    super(`The audit update did not finish within ${timeoutMs} ms`);
  }
}

/** A short, single-line description of any thrown value, safe to log (never a payload). */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message.split('\n')[0] ?? error.name;
  return String(error);
}

/** The router answered in a way that retrying will not change (a 4xx other than 408/425/429); dead-letter the event. */
export class PermanentDeliveryError extends OutboxError {
  constructor(
    readonly eventId: string,
    readonly deliveryAttempt: number,
    readonly reason: string,
  ) {
    super(`event ${eventId} was rejected on attempt ${deliveryAttempt}: ${reason}`);
  }
}

/** The router did not take the event this time (5xx, 408, 425, 429, timeout, connection error); retry later. */
export class TransientDeliveryError extends OutboxError {
  constructor(
    readonly eventId: string,
    readonly deliveryAttempt: number,
    readonly reason: string,
    readonly retryAfterMs: number | undefined,
  ) {
    super(`event ${eventId} failed on attempt ${deliveryAttempt}: ${reason}`);
  }
}
