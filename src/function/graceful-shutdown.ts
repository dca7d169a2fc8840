import type { Logger } from '../core/ports.js';

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;
type ShutdownSignal = (typeof SIGNALS)[number];
type Listener = (signal: NodeJS.Signals) => void;

/**
 * SIGTERM for a served function: Cloud Run sends it, then SIGKILL 10 s later, and the Functions Framework's
 * own handler exits at once, which would lose every acknowledged outcome of a run in flight and keep its lease.
 * This takes the signal over: it tells the runs in flight to stop (they start no new POSTs, record what was
 * acknowledged, release the lease and answer within SHUTDOWN_TIMEOUT_MS), waits for their answers to be
 * sent, then hands the signal back to the listeners it displaced (the framework's, which exit).
 */
export class GracefulShutdown {
  private readonly controller = new AbortController();
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly displaced = new Map<ShutdownSignal, Listener[]>();
  private readonly listener: Listener = (signal) => void this.onSignal(signal as ShutdownSignal);

  constructor(
    private readonly logger: Logger,
    /** Longest wait for runs in flight before handing the signal on regardless. */
    private readonly maxWaitMs: number,
    private readonly processRef: NodeJS.Process = process,
  ) {}

  /** Aborted when the instance is told to shut down. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /**
   * Takes SIGTERM and SIGINT over from whoever listens now. Called on every request, because the Functions
   * Framework registers its handlers only once the server listens, after this module was loaded.
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

  /** Keeps the process up until `work` (a run and its answer) has finished. */
  track<T>(work: Promise<T>): Promise<T> {
    const tracked = work.finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
    return tracked;
  }

  private async onSignal(signal: ShutdownSignal): Promise<void> {
    if (!this.controller.signal.aborted) {
      this.logger.log('INFO', `${signal}: finishing the runs in flight before exiting`, { runs: this.inFlight.size });
      this.controller.abort();
    }
    const timer = new Promise<void>((resolve) => setTimeout(resolve, this.maxWaitMs).unref());
    await Promise.race([Promise.allSettled([...this.inFlight]), timer]);
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
