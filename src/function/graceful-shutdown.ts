import type { Logger } from '../core/ports.js';
import type { RunsInFlight } from './runs-in-flight.js';

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;
type ShutdownSignal = (typeof SIGNALS)[number];
type Listener = (signal: NodeJS.Signals) => void;

/**
 * SIGTERM for a served function: Cloud Run sends it, then SIGKILL 10 s later. The Functions Framework (5.0.5,
 * its latest) has no hook for it: its ErrorHandler, registered once the server listens, answers the latest
 * request 500 and calls process.exit() in the same tick (upstream issue #704), which would lose every
 * acknowledged outcome of a run in flight and keep its lease. So this defers the framework's listener rather
 * than racing it: it tells the runs in flight to stop (no new POSTs, what was acknowledged recorded, the lease
 * released, an answer within SHUTDOWN_TIMEOUT_MS), waits for their answers, then calls the listeners it
 * deferred (the framework's, which exit as designed).
 */
export class GracefulShutdown {
  private readonly controller = new AbortController();
  private readonly displaced = new Map<ShutdownSignal, Listener[]>();
  private readonly listener: Listener = (signal) => void this.onSignal(signal as ShutdownSignal);

  constructor(
    private readonly logger: Logger,
    private readonly runs: RunsInFlight,
    /** Longest wait for runs in flight before handing the signal on regardless. */
    private readonly maxWaitMs: number,
    private readonly processRef: NodeJS.Process = process,
  ) {}

  /** Aborted when the instance is told to shut down. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /**
   * Defers the SIGTERM and SIGINT listeners registered so far. Called on every request, because the Functions
   * Framework registers its listeners only once the server listens, after the function's module was loaded.
   */
  install(): void {
    for (const signal of SIGNALS) {
      const others = (this.processRef.listeners(signal) as Listener[]).filter((listener) => listener !== this.listener);
      if (others.length === 0 && this.processRef.listeners(signal).includes(this.listener)) continue;
      for (const other of others) this.processRef.removeListener(signal, other);
      this.displaced.set(signal, [...(this.displaced.get(signal) ?? []), ...others]);
      if (!this.processRef.listeners(signal).includes(this.listener)) this.processRef.on(signal, this.listener);
    }
  }

  private async onSignal(signal: ShutdownSignal): Promise<void> {
    if (!this.controller.signal.aborted) {
      this.logger.log('INFO', `${signal}: finishing the runs in flight before exiting`, { runs: this.runs.size });
      this.controller.abort();
    }
    await this.runs.answered(this.maxWaitMs);
    const displaced = this.displaced.get(signal) ?? [];
    for (const signalName of SIGNALS) this.processRef.removeListener(signalName, this.listener);
    if (displaced.length === 0) {
      // Nobody else listened: the default action (the process ends), as without this class.
      this.processRef.kill(this.processRef.pid, signal);
      return;
    }
    for (const listener of displaced) listener(signal);
  }
}
