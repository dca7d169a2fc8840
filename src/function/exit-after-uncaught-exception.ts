import type { Logger } from '../core/ports.js';
import { describeError } from '../errors.js';
import type { RunsInFlight } from './runs-in-flight.js';

/** The exit code the Functions Framework's own uncaughtException handler exits with. */
export const UNCAUGHT_EXCEPTION_EXIT_CODE = 16;

/** What this needs of the process: Node's monitor event, and a way to end it. */
export interface ExitingProcess {
  on(event: 'uncaughtExceptionMonitor', listener: (error: Error, origin: NodeJS.UncaughtExceptionOrigin) => void): unknown;
  exit(code: number): void;
}

/**
 * Ends the process after an uncaught exception, as Node's documentation says a process must, but only once the
 * runs in flight have answered: they stop as on SIGTERM (no new POSTs, what the router acknowledged recorded,
 * the lease released) and answer 500, so Cloud Scheduler retries; then the process exits and Cloud Run starts
 * another instance.
 *
 * It watches through `uncaughtExceptionMonitor`, Node's event for observing an uncaught exception without
 * handling it, emitted before any handler: the Functions Framework keeps its own handlers and its per-request
 * `domain`. An error thrown from a callback of a run is caught by that request's domain, and the framework
 * answers that request 500 at once and keeps serving; the other runs answer themselves, then this exits. An
 * error outside every request's domain, or an unhandled rejection, reaches the framework's process handlers,
 * which answer the latest request 500 and exit at once: what was acknowledged and not yet recorded is POSTed
 * again by a later run (the consumer absorbs it), and the lease lapses after LEASE_TTL_MS.
 */
export class ExitAfterUncaughtException {
  private readonly controller = new AbortController();
  private installed = false;

  constructor(
    private readonly logger: Logger,
    private readonly runs: RunsInFlight,
    /** Longest wait for the runs in flight to answer before exiting regardless. */
    private readonly maxWaitMs: number,
    private readonly processRef: ExitingProcess = process,
  ) {}

  /** Aborted, with the error as its reason, once an uncaught exception was seen: runs stop and answer 500. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Starts watching; once per process, however many handlers it serves. */
  install(): void {
    if (this.installed) return;
    this.installed = true;
    this.processRef.on('uncaughtExceptionMonitor', (error, origin) => void this.onUncaught(error, origin));
  }

  private async onUncaught(error: Error, origin: NodeJS.UncaughtExceptionOrigin): Promise<void> {
    if (this.controller.signal.aborted) return;
    this.logger.log('ERROR', 'uncaught exception: the runs in flight stop and answer 500, then the process exits', {
      event: origin,
      runs: this.runs.size,
      error: describeError(error),
    });
    this.controller.abort(error);
    await this.runs.answered(this.maxWaitMs);
    this.processRef.exit(UNCAUGHT_EXCEPTION_EXIT_CODE);
  }
}
