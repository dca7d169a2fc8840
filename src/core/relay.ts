import { FetchError, describeError } from '../errors.js';
import { ByteBudget } from './byte-budget.js';
import { Checkpointer } from './checkpointer.js';
import { withDeadline } from './deadline.js';
import { decide, type DeliveryResult, type EventRecord, type Fault } from './decide.js';
import { FaultJudge } from './fault-judge.js';
import { deliver, type RetryPolicy } from './delivery.js';
import { settledRead, untilStopped, type Read } from './early-read.js';
import type { OutboxEvent, RunSummary, StoredDocument } from './event.js';
import { followNewEvents } from './follow.js';
import { HandedEvents } from './handed-events.js';
import { KeyedScheduler } from './keyed-scheduler.js';
import { lingerForKicks, type PushPorts } from './linger.js';
import { acquireRunLease } from './lease-acquisition.js';
import { LeaseKeeper } from './lease-keeper.js';
import { PendingAgeScan } from './pending-age.js';
import { PendingPages, type PendingBatch } from './pending-pages.js';
import { ProbeHold } from './probe-hold.js';
import type { Clock, HeldLease, Logger, OutboxStore, RouterClient, RunLease } from './ports.js';
import { reportOutcome } from './outcome-report.js';
import { flushOutcomes, releaseLease, writeAudit } from './run-tail.js';
import { RunState, StopReason } from './run-state.js';
import type { StepContext } from './step-context.js';
import { Instant } from './instant.js';
import { NO_TELEMETRY, type RunTrace, type Telemetry } from './telemetry.js';
import type { ShardMemory } from './shard-memory.js';
import { startSweep, type StartedSweep } from './stray-sweep.js';
import { checkDocument } from './validate-event.js';

/** The settings one run needs; a subset of Config, so the core never reads the environment. */
export interface RelayOptions extends RetryPolicy {
  readonly batchSize: number;
  readonly deliveryConcurrency: number;
  readonly maxAttempts: number;
  readonly runBudgetMs: number;
  readonly checkpointSize: number;
  readonly maxPayloadBytes: number;
  readonly shardCount: number;
  /** Bound on every Firestore call of the run: lease, pages, sweep, checkpoints, flush, audit. */
  readonly firestoreTimeoutMs: number;
  readonly leaseTtlMs: number;
  /** From SIGTERM to the answer, in all (Cloud Run kills the instance 10 s after SIGTERM). */
  readonly shutdownTimeoutMs: number;
  /** JSON bytes of the events a run may hold at once. */
  readonly maxInFlightBytes: number;
  readonly breakerThreshold: number;
  readonly redeliveryMinDelayMs: number;
  readonly redeliveryMaxDelayMs: number;
  readonly parkKeyOnDeadLetter: boolean;
  /** After draining, follow new events this long (docs/follow-mode.md); 0 answers at once. */
  readonly followMs: number;
  /** PREVIOUS_SHARD_COUNT: a run then does not follow, as reshard.ts's hold is read at its start only. */
  readonly previousShardCount?: number;
  /** With push ports, after draining stay this long after the last kick (docs/push.md). */
  readonly pushLingerMs?: number;
}

/** The ports a run works through; the function, the local runner and the benchmark wire them the same way. */
export interface RelayDeps {
  readonly store: OutboxStore;
  readonly lease: RunLease;
  readonly router: RouterClient;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Jitter; injectable so backoff is exact in tests. */
  readonly random?: () => number;
  /** Spans and metrics; none when unset (telemetry off). */
  readonly telemetry?: Telemetry;
  /** What the shard's last runs on this instance left (shard-memory.ts); unset: sweep, and read from the start. */
  readonly memory?: ShardMemory;
  /** Push on commit: kicks fold into the run while it holds the lease (linger.ts). */
  readonly push?: PushPorts;
}

/** What the caller may tell a run while it goes. */
export interface RunControl {
  /** Aborted on SIGTERM: finish within SHUTDOWN_TIMEOUT_MS, recording every acknowledged outcome. */
  readonly shutdown?: AbortSignal;
}

/** How a run ended, which decides the answer to Cloud Scheduler. */
export type RunResult =
  /** Another run holds the lease: nothing to do, answered 200. */
  | { readonly kind: 'skipped'; readonly runId: string; readonly heldBy: string; readonly untilMs: number }
  /** The lease could not be read or written: nothing was POSTed, answered 500 so Scheduler retries. */
  | { readonly kind: 'not_started'; readonly runId: string; readonly error: string }
  /** `retryWanted` (a delivery failed, or a bug) → 500; otherwise 200, whatever failed after the POSTs. */
  | {
      readonly kind: 'ran';
      readonly summary: RunSummary;
      readonly retryWanted: boolean;
      /** What the answer names: the stop reason, `delivery_failed`, or `drained`. */
      readonly cause: string;
      readonly error: string | undefined;
    };

/** Events kept in hand beyond the page being read: enough to keep every slot busy. */
const QUEUED_PER_SLOT = 2;

/**
 * One scheduled run, as named steps over one RunState: acquire the lease, read parked keys, sweep strays,
 * page and deliver, flush, then audit and release. Every Firestore call is bounded in time; nothing after the
 * POSTs can turn the answer into a 500.
 */
export async function runRelay(runId: string, deps: RelayDeps, options: RelayOptions, control: RunControl = {}): Promise<RunResult> {
  return new RelayRun(runId, { ...deps, random: deps.random ?? Math.random }, options, control).execute();
}

class RelayRun {
  private readonly run: RunState;
  /** The circuit breaker, and the failures waiting for its verdict. */
  private readonly judge: FaultJudge;
  private readonly scheduler: KeyedScheduler;
  private readonly budget: ByteBudget;
  private readonly probes: ProbeHold;
  private readonly checkpointer: Checkpointer;
  /** The run's reads of the pending set: one pass, and with FOLLOW_MS one more from its start at each wake. */
  private readonly pages: PendingPages;
  private readonly cancelPosts = new AbortController();
  private readonly trace: RunTrace;
  private readonly pendingAges = new PendingAgeScan();
  /** Holds the run's lease from acquireLease on; every write is guarded by its token. */
  private keeper: LeaseKeeper | undefined;
  /** Set on SIGTERM: every wait of the run's tail ends by then. */
  private hardDeadlineMs = Number.POSITIVE_INFINITY;

  constructor(
    runId: string,
    private readonly deps: RelayDeps & { readonly random: () => number },
    private readonly options: RelayOptions,
    private readonly control: RunControl,
  ) {
    const now = deps.clock.now();
    this.run = new RunState(runId, now, now + options.runBudgetMs);
    this.judge = new FaultJudge(
      { threshold: options.breakerThreshold, concurrency: options.deliveryConcurrency },
      {
        settle: (event, result, fault) => this.settle(event, result, fault),
        holdKey: (key) => this.run.holdKey(key),
        setWindow: (window) => this.scheduler.setConcurrency(window),
        opened: (reason) => {
          this.log('ERROR', 'circuit open: starting no new POSTs', { error: reason });
          this.trace.breakerOpened();
          this.run.stopWith(StopReason.RouterFailing, reason);
        },
        fatePolicy: () => this.fatePolicy(),
        now: () => this.deps.clock.now(),
      },
    );
    this.scheduler = new KeyedScheduler(this.judge.window);
    this.budget = new ByteBudget(options.maxInFlightBytes, options.maxPayloadBytes);
    this.probes = new ProbeHold(this.budget);
    this.trace = (deps.telemetry ?? NO_TELEMETRY).startRun(runId);
    const outOfOrder = (found: { eventId: string; after: string }): void =>
      this.log('WARNING', 'a pending event sorts before one of its key already handed out', found);
    this.pages = new PendingPages(deps.store, options.followMs > 0 || deps.push ? new HandedEvents(outOfOrder) : undefined);
    this.checkpointer = new Checkpointer(
      (outcomes) => this.bounded(this.deps.store.recordOutcomes(outcomes, this.lease), 'recording outcomes'),
      options.checkpointSize,
      (error) => {
        this.log('ERROR', 'checkpoint failed; starting no new POSTs', { error: error.message });
        this.run.stopWith(StopReason.CheckpointFailed, error.message);
      },
    );
  }

  async execute(): Promise<RunResult> {
    // Listening first: a SIGTERM while the lease is being taken ends that wait too.
    const stopListening = this.listenForShutdown();
    const acquired = await this.acquireLease();
    if (acquired.kind !== 'ran') {
      stopListening();
      this.endTrace(acquired.kind, acquired.kind === 'not_started', undefined);
      return acquired;
    }
    try {
      // A sweep (when due) goes out with the parked keys; the first page only once they are read: a redrive landing
      // between the two reads is then either in the page or still parks its key (never a page without it).
      const sweep = startSweep(this.deps.memory?.sweeps, this.deps.clock.now(), (limit, plan) =>
        this.startReading(this.deps.store.fetchStrays(limit, plan), 'looking for stray documents'),
      );
      await this.readParkedKeys();
      this.deps.memory?.reads?.begin(this.deps.clock.now(), this.run, this.pages);
      const firstPage = this.run.stopping.signal.aborted ? undefined : this.startReading(this.readPage(), 'fetching pending events');
      await this.sweepStrays(sweep);
      await this.deliverPending(firstPage);
      await this.follow();
    } catch (error) {
      this.run.stopWith(StopReason.InternalError, describeError(error));
    }
    await this.scheduler.drain();
    this.judge.endRun();
    const unrecorded = await flushOutcomes(this.checkpointer, this.steps);
    this.keeper?.stop();
    const stale = this.checkpointer.stale.length;
    this.deps.memory?.reads?.end(this.run, this.pages, unrecorded + stale, this.deps.clock.now());
    const summary = this.run.summary({ unrecorded, stale, auditFailed: false, durationMs: this.elapsedMs() });
    const [auditOk] = await Promise.all([
      writeAudit(this.deps.store, summary, this.steps),
      releaseLease(this.deps.lease, this.lease, this.options.leaseTtlMs, this.steps),
    ]);
    stopListening();
    const final: RunSummary = { ...summary, auditFailed: !auditOk, durationMs: this.elapsedMs() };
    const { retryWanted, cause } = this.run;
    this.log(retryWanted ? 'ERROR' : 'INFO', 'run finished', { ...final, retryWanted, cause: cause.error, error: cause.message });
    this.endTrace(cause.error, retryWanted, final);
    return { kind: 'ran', summary: final, retryWanted, cause: cause.error, error: cause.message };
  }

  // ── Steps ────────────────────────────────────────────────────────────────────────────────────────────

  /** The lease first (lease-acquisition.ts): with another run delivering, this one has nothing to do. */
  private async acquireLease(): Promise<RunResult | { kind: 'ran' }> {
    const { runId } = this.run;
    const { leaseTtlMs: ttlMs, followMs, firestoreTimeoutMs: callTimeoutMs } = this.options;
    const { lease, clock } = this.deps;
    const { deadlineMs, stopping } = this.run;
    const context = { runId, lease, clock, ttlMs, askFollower: followMs > 0, deadlineMs, stopped: stopping.signal, ...this.steps };
    const acquired = await acquireRunLease(context);
    if (acquired.kind !== 'acquired') return { ...acquired, runId };
    this.keeper = new LeaseKeeper(acquired.lease, lease, clock, { ttlMs, callTimeoutMs, bounded: this.steps.bounded }, (trouble) => {
      this.log('ERROR', 'run lease in trouble; starting no new POSTs', { ...trouble });
      this.run.stopWith(trouble.kind === 'lost' ? StopReason.LeaseLost : StopReason.LeaseExpiring, trouble.error);
    });
    this.log('INFO', 'run started', { batchSize: this.options.batchSize, concurrency: this.options.deliveryConcurrency });
    return { kind: 'ran' };
  }

  /** Keys parked by a dead letter; unreadable, the run cannot keep their order, so it delivers nothing. */
  private async readParkedKeys(): Promise<void> {
    // A SIGTERM ends the wait (the read is bounded by FIRESTORE_TIMEOUT_MS, which the shutdown must not wait out).
    const read = await untilStopped(this.startReading(this.deps.store.fetchParkedKeys(), 'reading parked keys'), this.run.stopping.signal);
    if (read === undefined) return;
    if (!read.ok) return this.run.stopWith(StopReason.FetchFailed, new FetchError(read.error).message);
    this.run.parkedKeys = read.value;
    this.trace.parkedKeys(read.value.size);
  }

  /** Housekeeping before delivery: documents no page returns are dead-lettered; a failed sweep holds up no delivery. */
  private async sweepStrays(sweep: StartedSweep): Promise<void> {
    const { found, error } = await sweep.take(this.run.stopping.signal, this.deps.clock);
    if (error !== undefined) this.log('WARNING', 'stray sweep failed; delivering the rest', { error: describeError(error) });
    this.run.counts.fetched += found.length;
    for (const document of found) this.submit(document);
  }

  /**
   * Pages of pending events, oldest first, as long as the budget lasts and memory has room; `firstPage`, when
   * given, is the first of them, already on its way.
   */
  private async deliverPending(firstPage?: Promise<Read<PendingBatch>>): Promise<void> {
    const maxQueued = Math.max(this.options.batchSize, this.options.deliveryConcurrency * QUEUED_PER_SLOT);
    let reading = firstPage;
    let abandoned = false;
    while (!this.run.stopping.signal.aborted) {
      if (this.deps.clock.now() >= this.run.deadlineMs) {
        this.run.stopWith(StopReason.BudgetSpent, `RUN_BUDGET_MS (${this.options.runBudgetMs} ms) spent`);
        break;
      }
      if (reading === undefined) {
        await this.budget.waitForRoom();
        if (this.run.stopping.signal.aborted) break;
      }
      const pending = reading ?? this.startReading(this.readPage(), 'fetching pending events');
      reading = undefined;
      const batch = await untilStopped(pending, this.run.stopping.signal);
      if (batch === undefined) {
        abandoned = true;
        break;
      }
      if (!batch.ok) {
        // Cut short by a shutdown, a read is not what stopped the run; any other failure to read is reported.
        if (this.run.stopReason !== StopReason.Shutdown) this.run.stopWith(StopReason.FetchFailed, new FetchError(batch.error).message);
        break;
      }
      this.budget.observePage(batch.value.largestDocumentBytes);
      this.traceOldestPending(batch.value.documents);
      this.run.counts.fetched += batch.value.documents.length;
      // Until the run's first success, events that failed last time go last, a page later if need be (probe-hold.ts).
      for (const document of this.probes.take(batch.value.documents, batch.value.done, this.judge.succeeded)) this.submit(document);
      if (batch.value.done) break;
      await this.scheduler.waitBelow(maxQueued);
    }
    // A page read but never handed out (the run stopped before it came) leaves the outbox as it was: more to do.
    this.run.hasMore = !this.pages.done || reading !== undefined || abandoned;
  }

  /** The next page, as large as BATCH_SIZE and the room for memory allow. */
  private readPage(): Promise<PendingBatch> {
    return this.pages.next(this.budget.pageLimit(this.options.batchSize), this.budget.roomBytes);
  }

  /** Starts a bounded read now, to be awaited later (early-read.ts). */
  private startReading<T>(work: Promise<T>, what: string): Promise<Read<T>> {
    return settledRead(this.bounded(work, what));
  }

  /**
   * FOLLOW_MS (not while resharding): a drained run keeps delivering events as they are committed (follow.ts), read
   * through deliverPending, until FOLLOW_MS or the budget is spent, the run stops, or a newer run asks for the lease.
   * Push (PUSH_LINGER_MS): it stays that long after its last kick or new event instead (linger.ts).
   */
  private async follow(): Promise<void> {
    if (this.run.stopping.signal.aborted || !this.pages.done) return;
    const { clock, push } = this.deps;
    const reading = {
      clock,
      stopped: this.run.stopping.signal,
      readNew: async (fetched = this.run.counts.fetched) => {
        this.pages.restart(clock.now());
        return this.deliverPending().then(() => this.run.counts.fetched - fetched);
      },
      checkpoint: () => this.checkpointer.checkpoint(),
      log: (...entry: Parameters<RelayRun['log']>) => this.log(...entry),
    };
    const [lingerMs, untilMs] = [this.options.pushLingerMs ?? 0, this.run.deadlineMs];
    const close = () => this.bounded((push as PushPorts).wakeUps.close(this.lease), 'closing the run lease');
    if (push !== undefined && lingerMs > 0) await lingerForKicks({ ...reading, push, lingerMs, untilMs, close });
    if (this.options.followMs <= 0 || push !== undefined || this.options.previousShardCount !== undefined) return;
    await followNewEvents({
      ...reading,
      untilMs: Math.min(clock.now() + this.options.followMs, this.run.deadlineMs),
      watchPending: (onChange, onError) => this.deps.store.watchPending(onChange, onError),
      // Asked to hand over, the run starts no new POST at once; what is in flight finishes and is recorded.
      announce: (onHandover) => {
        const marking = this.deps.lease.follow(this.lease, () => {
          this.run.stopWith(StopReason.HandedOver, 'a newer run took over the lease');
          onHandover();
        });
        return this.bounded(marking, 'marking the lease as following').catch((error: unknown) => {
          // A mark that lands after its deadline has opened a listener all the same: close it then.
          marking.then((stop) => stop()).catch(() => undefined);
          throw error;
        });
      },
    });
  }

  /**
   * Validates a document and queues it behind the earlier events of its key: a valid event to be delivered, a
   * malformed one to be dead-lettered (parking its key) only once those earlier events have had their turn.
   */
  private submit(document: StoredDocument): void {
    const checked = checkDocument(document, this.options);
    const bytes = checked.ok ? checked.event.bodyBytes : 0;
    this.budget.hold(bytes);
    const record = checked.ok ? checked.event : checked.record;
    this.scheduler.submit(record.orderingKey, async () => {
      try {
        const admission = this.run.admits(record, this.deps.clock.now());
        if (admission.kind === 'wait') this.log('DEBUG', 'event waits', { eventId: record.id, reason: admission.reason });
        if (admission.kind !== 'attempt') return;
        if (checked.ok) await this.deliverOne(checked.event);
        else this.settle(checked.record, { kind: 'malformed', reason: checked.reason }, 'event');
      } catch (error) {
        // A bug must not skip the flush: whatever was acknowledged is still recorded before the 500.
        this.run.stopWith(StopReason.InternalError, `event ${record.id}: ${describeError(error)}`);
      } finally {
        this.budget.release(bytes);
      }
    });
  }

  private async deliverOne(event: OutboxEvent): Promise<void> {
    const { clock } = this.deps;
    const result = await deliver(event, this.options, {
      router: this.deps.router,
      clock,
      deadlineMs: this.run.deadlineMs,
      stopped: this.run.stopping.signal,
      cancelPosts: this.cancelPosts.signal,
      onVerdict: (verdict) => this.judge.observe(event, verdict),
      random: this.deps.random,
      trace: this.trace,
    });
    this.judge.conclude(event, result);
  }

  /** Applies decide(): records the outcome first, then counts and logs it. */
  private settle(event: EventRecord, result: DeliveryResult, fault: Fault): void {
    const nowMs = this.deps.clock.now();
    const decision = decide(event, result, fault, this.fatePolicy(), nowMs, this.deps.random());
    const { outcome } = decision;
    if (outcome !== undefined) this.checkpointer.add(outcome);
    this.run.apply(event, decision, nowMs);
    if (outcome !== undefined) {
      const createdAt = 'createdAt' in event ? event.createdAt : undefined;
      const sinceCreated = outcome.kind === 'delivered' && createdAt instanceof Instant ? nowMs - createdAt.toMillis() : undefined;
      this.trace.settled(outcome.kind, sinceCreated);
    }
    reportOutcome(this.run.counts, (...entry) => this.log(...entry), event, result, outcome, fault);
  }

  // ── Helpers ──────────────────────────────────────────────────────────────────────────────────────────

  /** How the run ended, for its span and the run metrics. */
  private endTrace(outcome: string, failing: boolean, summary: RunSummary | undefined): void {
    const { delivered = 0, deadLettered = 0, failed = 0 } = summary ?? {};
    this.trace.end({ outcome, failing, durationMs: this.elapsedMs(), delivered, deadLettered, failed, breakerOpen: this.judge.open });
  }

  /** How far the outbox is behind: the oldest event due now, apart from those on backoff or behind a parked key. */
  private traceOldestPending(page: readonly StoredDocument[]): void {
    if (this.pendingAges.add(page, this.run.parkedKeys, this.deps.clock.now())) this.trace.oldestPending(this.pendingAges.ages);
  }

  /** SIGTERM: no new POSTs; POSTs in flight get part of the shutdown time, the tail the rest. */
  private listenForShutdown(): () => void {
    const { shutdown } = this.control;
    if (shutdown === undefined) return () => undefined;
    const begin = (): void => {
      const now = this.deps.clock.now();
      this.hardDeadlineMs = now + this.options.shutdownTimeoutMs;
      this.run.stopWith(StopReason.Shutdown, 'the instance is shutting down (SIGTERM)');
      void this.deps.clock.sleep(this.options.shutdownTimeoutMs * POST_SHARE_OF_SHUTDOWN).then(() => this.cancelPosts.abort());
    };
    if (shutdown.aborted) begin();
    else shutdown.addEventListener('abort', begin, { once: true });
    return () => shutdown.removeEventListener('abort', begin);
  }

  /** What the steps kept in modules of their own use (lease-acquisition.ts, run-tail.ts). */
  private readonly steps: StepContext = {
    bounded: (work, what, share) => this.bounded(work, what, share),
    log: (severity, message, fields) => this.log(severity, message, fields),
  };

  private get lease(): HeldLease {
    if (this.keeper === undefined) throw new Error('the run writes only after acquiring its lease');
    return this.keeper.current;
  }

  /**
   * A Firestore call bounded by FIRESTORE_TIMEOUT_MS, and by `share` of what is left before a shutdown deadline,
   * also when the SIGTERM comes while the call waits.
   */
  private bounded<T>(work: Promise<T>, what: string, share = 1): Promise<T> {
    const { clock } = this.deps;
    const left = (): number => (this.hardDeadlineMs - clock.now()) * share;
    const { shutdown } = this.control;
    const cut = shutdown === undefined ? undefined : { signal: shutdown, ms: left };
    return withDeadline(work, Math.min(this.options.firestoreTimeoutMs, Math.max(0, left())), clock, what, cut);
  }

  private fatePolicy() {
    const { maxAttempts, redeliveryMinDelayMs: minDelayMs, redeliveryMaxDelayMs: maxDelayMs, parkKeyOnDeadLetter } = this.options;
    return { maxAttempts, redelivery: { minDelayMs, maxDelayMs }, parkKeyOnDeadLetter };
  }

  private elapsedMs(): number {
    return this.deps.clock.now() - this.run.startedAtMs;
  }

  private log(severity: Parameters<Logger['log']>[0], message: string, fields: Readonly<Record<string, unknown>> = {}): void {
    this.deps.logger.log(severity, message, { runId: this.run.runId, ...fields });
  }
}

/** Of the shutdown time, what POSTs in flight may take before they are cancelled; the flush, audit and release share the rest. */
const POST_SHARE_OF_SHUTDOWN = 0.4;
