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
    remedy = "Set it in the environment (the function's, or your shell's for the CLI) and try again.",
  ) {
    super(`Invalid configuration: ${variable} ${problem}. ${remedy}`);
  }
}

/** A variable earlier versions read is still set: refused, so a setting that no longer exists is never silently ignored. */
export class RemovedSettingError extends ConfigError {
  constructor(
    variable: string,
    readonly replacedBy: string,
  ) {
    super(
      variable,
      `is no longer read: ${replacedBy}`,
      "Remove it from the environment (deploy/function.yaml for the function, your shell's for the CLI) and try again.",
    );
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

/** Reading pending events or parked keys failed; the run starts no more POSTs, and what it did not read stays pending. */
export class FetchError extends OutboxError {
  constructor(cause: unknown) {
    super(`Fetching pending events failed: ${describeError(cause)}. No further event is POSTed in this run; those not read stay pending.`, {
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

/** A call the run waits for did not finish in time (Firestore hanging or unreachable); the run goes on without it. */
export class DeadlineError extends OutboxError {
  constructor(
    readonly what: string,
    readonly timeoutMs: number,
  ) {
    super(`${what} did not finish within ${timeoutMs} ms (FIRESTORE_TIMEOUT_MS); Firestore may be unreachable`);
  }
}

/** A short, single-line description of any thrown value, safe to log (never a payload). */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message.split('\n')[0] ?? error.name;
  return String(error);
}

/** A producer tried to enqueue an event that breaks the outbox contract; it was not written, so nothing will deliver it. */
export class InvalidEventError extends OutboxError {
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`Cannot enqueue the event: ${field} ${problem}. The event was not written; fix it and enqueue it again.`);
  }
}

/** createOutbox was given settings it cannot write correct events with; the producer's code or configuration must change. */
export class OutboxOptionsError extends OutboxError {
  constructor(
    readonly option: string,
    problem: string,
  ) {
    super(`Invalid outbox option: ${option} ${problem}. Fix the options passed to createOutbox.`);
  }
}

/** The ops CLI was called with arguments it cannot act on; nothing was read or changed. */
export class UsageError extends OutboxError {
  constructor(
    problem: string,
    readonly command: string | undefined,
  ) {
    super(`${problem.replace(/\.$/, '')}. Run "outbox-ops${command === undefined ? '' : ` ${command}`} --help" for usage.`);
  }
}

/** The inbox or a business-key helper was given an option or id it cannot key records by; the consumer's code must change. */
export class InvalidInboxArgumentError extends OutboxError {
  constructor(
    readonly argument: string,
    problem: string,
  ) {
    super(`Invalid inbox argument: ${argument} ${problem}. Fix the calling code; nothing was read or written.`);
  }
}

/** A consumer lost its in-progress lease (taken over, released or already processed); its transaction must not commit, the message is redelivered. */
export class InboxLeaseLostError extends OutboxError {
  constructor(
    readonly consumer: string,
    readonly messageId: string,
    readonly reason: string,
  ) {
    super(
      `Consumer ${consumer} no longer holds message ${messageId}: ${reason}. The transaction was rolled back; ` +
        'do not apply the effect, the message will be redelivered or was handled by another attempt.',
    );
  }
}

/** The inbox could not be read or written; answer with a 5xx so the sender redelivers (an effect that did commit is then a duplicate). */
export class InboxStoreError extends OutboxError {
  constructor(
    readonly consumer: string,
    readonly messageId: string,
    cause: unknown,
  ) {
    super(
      `The inbox of ${consumer} could not handle message ${messageId}: ${describeError(cause)}. ` +
        'Answer with a 5xx so it is redelivered; if it was applied, the redelivery is told it is a duplicate.',
      { cause },
    );
  }
}

/** An inbox or business-key document does not have the shape this package writes; repair or delete it, then redeliver. */
export class InvalidInboxRecordError extends OutboxError {
  constructor(
    readonly documentPath: string,
    problem: string,
  ) {
    super(`The record ${documentPath} is not one this package wrote (${problem}). Repair or delete it, then redeliver the message.`);
  }
}

/** Another run took this run's lease (it outlived its lease, 3 × FIRESTORE_TIMEOUT_MS); this run's writes are refused so it cannot overwrite newer progress. */
export class LeaseLostError extends OutboxError {
  constructor(
    readonly leaseId: string,
    readonly token: string,
  ) {
    super(
      `The run lease ${leaseId} is no longer held by this run; its progress was not recorded and the events will be POSTed again by the run that holds it. If this repeats, raise FIRESTORE_TIMEOUT_MS (the lease lasts 3 × it) or look for what stalled the run.`,
    );
  }
}

/**
 * A POST that says it is an Eventarc Firestore event (`ce-type: google.cloud.firestore.document.v1.…`) but cannot
 * be read as one: it is answered 400 with this reason and starts nothing (a retry of the same request would not help).
 */
export class MalformedKickError extends OutboxError {
  constructor(readonly reason: string) {
    super(`Malformed Firestore event: ${reason}`);
  }
}
