import {
  DEFAULT_FIRESTORE_TIMEOUT_MS,
  DEFAULT_LEASE_TTL_MS,
  DEFAULT_POST_TIMEOUT_MS,
  DEFAULT_RETRY_MIN_DELAY_MS,
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  longestRunMs,
} from '../../../src/config.js';
import { Instant } from '../../../src/core/instant.js';
import { Doorbell, armingDoorbell } from '../../../src/core/doorbell.js';
import { kick } from '../../../src/core/kick-runs.js';
import type { Logger, RunLease } from '../../../src/core/ports.js';
import { runRelay, type RelayDeps, type RelayOptions, type RunControl, type RunResult } from '../../../src/core/relay.js';
import { runShards, shardRunId, shareOfBudgets } from '../../../src/core/shard-runs.js';
import { FOLLOW_CHECKPOINT_INTERVAL_MS } from '../../../src/core/follow.js';
import { FOLLOW_FULL_READ_INTERVAL_MS } from '../../../src/core/pending-pages.js';
import {
  BrokenPromise,
  Promises,
  type EventFacts,
  type FollowProbe,
  type RunFacts,
  type ShardRunFacts,
  type WorldFacts,
} from '../invariants.js';
import { withOverrides } from '../../support/store-overrides.js';
import { SimFirestore, SimOutboxStore, SimRunLease } from './sim-firestore.js';
import { RouterModes, SimRouter, type PostRecord } from './sim-router.js';
import { SimClock, SimScheduler, drainMicrotasks, settle, type Completion } from './sim-scheduler.js';
import { ROLL_EVERY, ShardDeployment, shardsOf, type RelayRelease, type SimShards } from './sim-shards.js';

/** One step of a history: `action` picks what happens (0 is plain progress), `pick` what it happens to. */
export interface Step {
  readonly action: number;
  readonly pick: number;
}

/** Actions below this are plain progress: the oldest I/O completes, or else the next timer fires. */
export const PLAIN_PROGRESS_BELOW = 40;

/** The world's shape for one history. */
export interface WorldConfig {
  /** Each instance's clock offset from the store's, ms (2 or 3 instances). */
  readonly clockOffsetsMs: readonly number[];
  readonly followMs: number;
  /**
   * Push on commit (PUSH_LINGER_MS; unset or 0: off): every commit kicks an instance (the kick may come late, out
   * of order or never), a drained run lingers for kicks, and kicks elsewhere leave wake-ups on the lease.
   */
  readonly pushLingerMs?: number;
  /** Seeds the relay's jitter. */
  readonly jitterSeed: number;
  /** Several shards, runs over several of them, and a reshard in flight (sim-shards.ts); unset: one shard. Push off. */
  readonly shards?: SimShards;
}

/** Bugs known and being fixed on main: the world avoids the paths that show them until they are removed. */
export interface KnownOpen {
  /** SIGTERM during acquireLease is missed: no SIGTERM reaches an instance whose run is still acquiring. */
  readonly sigtermBeforeLease: boolean;
  /** BREAKER_THRESHOLD poison events open the circuit in every run: fewer poison events than that. */
  readonly poisonEvents: boolean;
  /**
   * A Firestore call in flight when SIGTERM comes (the parked-keys read) keeps its whole FIRESTORE_TIMEOUT_MS:
   * the shutdown bound is held loosened by FIRESTORE_TIMEOUT_MS.
   */
  readonly sigtermDuringFirestoreCall: boolean;
  /**
   * With SHARDS_PER_RUN below the shard count, a deliverable event of one shard is still pending after
   * LIVENESS_RUNS runs on a healthy router: every run takes all shards its release drains.
   */
  readonly shardsPerRunLiveness: boolean;
}

/**
 * The relay's settings in the simulation: the defaults' timeouts, TTL and shutdown time (their proportions decide
 * which races exist), with pages, concurrency, attempts and the breaker small enough that a few hundred steps reach
 * every one of them.
 */
export const SIM_OPTIONS: RelayOptions = {
  batchSize: 5,
  deliveryConcurrency: 3,
  maxAttempts: 4,
  runBudgetMs: 60_000,
  checkpointSize: 4,
  maxPayloadBytes: 10_000,
  shardCount: 1,
  postRetries: 1,
  retryMinDelayMs: DEFAULT_RETRY_MIN_DELAY_MS,
  retryMaxDelayMs: 2_000,
  firestoreTimeoutMs: DEFAULT_FIRESTORE_TIMEOUT_MS,
  leaseTtlMs: DEFAULT_LEASE_TTL_MS,
  shutdownTimeoutMs: DEFAULT_SHUTDOWN_TIMEOUT_MS,
  maxInFlightBytes: 100_000,
  breakerThreshold: 3,
  redeliveryMinDelayMs: 1_000,
  redeliveryMaxDelayMs: 20_000,
  parkKeyOnDeadLetter: true,
  followMs: 0,
};
/** The router client's POST_TIMEOUT_MS. */
export const SIM_POST_TIMEOUT_MS = DEFAULT_POST_TIMEOUT_MS;
/** Cloud Scheduler's period. */
const TICK_MS = 60_000;
/** Cloud Run's SIGKILL after SIGTERM. */
const KILL_AFTER_SIGTERM_MS = 10_000;
/** Runs on a healthy router after the history within which every deliverable event must be delivered. */
export const LIVENESS_RUNS = SIM_OPTIONS.maxAttempts + 3;
const KEYS = ['k0', 'k1', 'k2', 'k3'];
const START_MS = Date.UTC(2026, 0, 1, 12);
/**
 * The follow-latency bound: a following run reads from the start at least every FOLLOW_FULL_READ_INTERVAL_MS, at
 * one of its wakes, which come at least every FOLLOW_CHECKPOINT_INTERVAL_MS (follow.ts, pending-pages.ts).
 */
export const FOLLOW_READ_BOUND_MS = FOLLOW_FULL_READ_INTERVAL_MS + FOLLOW_CHECKPOINT_INTERVAL_MS;
/** Runs the healthy tail may start before the world calls it stuck (LIVENESS_RUNS need far fewer). */
const TAIL_RUN_LIMIT = 400;
/** Steps the healthy tail may take before the world calls it stuck. */
const TAIL_STEP_LIMIT = 50_000;

interface Instance {
  readonly name: string;
  readonly slot: number;
  readonly clock: SimClock;
  alive: boolean;
  terminating: boolean;
  readonly shutdown: AbortController;
  readonly runs: RunFacts[];
  /** Push: kicks to this instance fold into its run holding the lease. */
  readonly doorbell: Doorbell;
  /** A sharded world: the relay release the instance runs (its SHARD_COUNT, PREVIOUS_SHARD_COUNT). */
  readonly release: RelayRelease | undefined;
}

const SILENT: Logger = { log: () => undefined };

/**
 * The simulated world: instances running the real core (runRelay) on simulated ports, producers, an operator,
 * Cloud Scheduler's ticks; every wait and I/O completion ordered by the history's steps through SimScheduler.
 */
export class World implements WorldFacts {
  readonly scheduler = new SimScheduler(START_MS);
  readonly db: SimFirestore;
  readonly router: SimRouter;
  readonly events = new Map<string, EventFacts>();
  readonly accepted = new Set<string>();
  readonly recordedDelivered = new Set<string>();
  readonly skippedByOperator = new Set<string>();
  readonly purged = new Set<string>();
  /** Keys and the dead letter named for them whose second dead letter the operator answered. */
  private readonly alerted = new Set<string>();
  /** Redriven events not POSTed since their redrive. */
  private readonly redrivenUntried = new Set<string>();
  /** Events written so that they can never be delivered (no createdAt, no type, no shard). */
  private readonly malformed = new Set<string>();
  /** Malformed events no page returns (no createdAt; sharded, no shard): only a sweep finds them. */
  readonly strays = new Set<string>();
  /** What happened, one line per step that was not plain progress. */
  readonly history: string[] = [];
  readonly promises: Promises;
  private readonly instances: Instance[] = [];
  private readonly runs: RunFacts[] = [];
  private readonly runsById = new Map<string, RunFacts>();
  /** A sharded world: each shard's part of a run, by its shard run id (the router client's run id). */
  private readonly shardRuns = new Map<string, ShardRunFacts>();
  /** A sharded world: the relay release deployed and the count producers stamp. */
  private readonly deployment: ShardDeployment | undefined;
  private readonly options: RelayOptions;
  private counter = 0;
  private runCount = 0;
  private ticks = 0;
  private generation = 0;
  private random: () => number;
  /** Set by a broken promise noticed inside a callback of the core; thrown at the end of the step. */
  private broken: BrokenPromise | undefined;
  private healthySince: number | undefined;
  /** Dead letters recorded while one I/O completes (completeIo), for the operator's redrive at once. */
  private lastDeadLetters: string[] | undefined;
  /** The healthy tail's follow probe, once committed (follow-latency). */
  private followProbe: FollowProbe | undefined;
  /** Set by a step that lets time run on: timers fire one by one up to it. */
  private jumpUntil: number | undefined;

  constructor(
    private readonly config: WorldConfig,
    private readonly knownOpen: KnownOpen,
    private readonly logger: Logger = SILENT,
  ) {
    // Push needs one shard per deployment (parseConfig checks it).
    const push = (config.pushLingerMs ?? 0) > 0 && config.shards === undefined ? { pushLingerMs: config.pushLingerMs } : {};
    this.deployment = config.shards === undefined ? undefined : new ShardDeployment(config.shards);
    this.options = { ...SIM_OPTIONS, followMs: config.followMs, ...push };
    this.random = mulberry32(config.jitterSeed);
    this.db = new SimFirestore(this.scheduler, {
      recordedDelivered: (id) => this.guard(() => this.onRecordedDelivered(id)),
      recordedDeadLetter: (id) =>
        this.guard(() => {
          this.lastDeadLetters?.push(id);
          this.promises.deadLettered(id, !this.redrivenUntried.has(id), this.malformed.has(id));
        }),
    });
    this.router = new SimRouter(
      this.scheduler,
      {
        postStarted: (post) => this.guard(() => this.onPostStarted(post)),
        accepted: (post) => this.guard(() => this.onAccepted(post)),
        notAcknowledged: (post) =>
          this.withRun(post.runId, (run) => {
            run.sawFailedPost = true;
            if (post.oneByOne === 'failed') run.eventsFailed.add(post.eventId);
            else if (post.oneByOne === 'refused') run.eventsRefused.add(post.eventId);
            else run.routerFailed = true;
          }),
        answered: (post) => this.withRun(post.runId, (run) => run.acknowledged.add(post.eventId)),
      },
      SIM_POST_TIMEOUT_MS,
    );
    this.promises = new Promises(this, {
      longestRunMs: longestRunMs({
        runBudgetMs: this.options.runBudgetMs,
        postTimeoutMs: SIM_POST_TIMEOUT_MS,
        firestoreTimeoutMs: this.options.firestoreTimeoutMs,
      }),
      shutdownTimeoutMs: this.options.shutdownTimeoutMs + (knownOpen.sigtermDuringFirestoreCall ? this.options.firestoreTimeoutMs : 0),
    });
    config.clockOffsetsMs.forEach((offset, slot) => this.instances.push(this.newInstance(slot, offset)));
    this.scheduleTick();
  }

  // ── WorldFacts ────────────────────────────────────────────────────────────────────────────────────────

  now(): number {
    return this.scheduler.now();
  }

  lease(shard = 0): { token: string; expiresAt: number } | undefined {
    return this.db.leases.get(shard);
  }

  status(id: string): unknown {
    return this.db.documents.get(id)?.fields.status;
  }

  deliverable(id: string): boolean {
    const doc = this.db.documents.get(id);
    if (doc?.fields.status !== 'pending' || this.refused(id)) return false;
    const key = doc.fields.orderingKey;
    if (typeof key !== 'string') return true;
    if (this.db.parked.has(key)) return false;
    // Behind an event of its key that the router refuses, still pending: an earlier one (it waits for that one's
    // dead letter), or, while resharding, one in another shard than the run that reads it (reshard.ts holds the
    // key there; a stray, without createdAt or shard, is read by shard 0's sweep and has no place in the order).
    const order = this.events.get(id)?.order ?? 0;
    const stray = this.deployment !== undefined && (!(doc.fields.createdAt instanceof Instant) || doc.fields.shard === undefined);
    const shard = stray ? 0 : doc.fields.shard;
    return ![...this.events.values()].some(
      (other) =>
        other.key === key &&
        this.refused(other.id) &&
        this.status(other.id) === 'pending' &&
        (other.order < order || this.db.documents.get(other.id)?.fields.shard !== shard),
    );
  }

  /** The router's consumers refuse it for good (poison) or as long as the history lasts (a claim held). */
  private refused(id: string): boolean {
    return this.router.poison.has(id) || this.router.claimed.has(id) || this.router.rejected.has(id);
  }

  // ── Running a history ─────────────────────────────────────────────────────────────────────────────────

  /** Plays the steps, then heals the world and lets it run until the liveness bound; throws BrokenPromise. */
  async play(steps: readonly Step[]): Promise<void> {
    for (const [index, step] of steps.entries()) {
      const resharding = this.reshardStep(index);
      if (resharding !== undefined) this.history.push(`#${index} t+${((this.now() - START_MS) / 1000).toFixed(1)}s ${resharding}`);
      await this.afterStep();
      const said = await this.apply(step);
      if (said !== undefined) this.history.push(`#${index} t+${((this.now() - START_MS) / 1000).toFixed(1)}s ${said}`);
      await this.afterStep();
      const alert = this.answerSecondDeadLetter();
      if (alert !== undefined) this.history.push(`#${index} t+${((this.now() - START_MS) / 1000).toFixed(1)}s ${alert}`);
      // Time running on: each timer fires in turn, and what it sets off runs before the next one.
      if (this.jumpUntil !== undefined) {
        await this.fireDue(this.jumpUntil);
        if (this.jumpUntil > this.now()) {
          this.scheduler.pass(this.jumpUntil - this.now());
          await this.afterStep();
        }
      }
      this.jumpUntil = undefined;
    }
    await this.healthyTail();
  }

  /**
   * Fires every timer due by `untilMs`, one by one, each after what the last set off has run: time never moves past
   * a timer that is due (a run's deadline at SIGTERM + SHUTDOWN_TIMEOUT_MS fires before a commit 1 ms later).
   */
  private async fireDue(untilMs: number): Promise<void> {
    for (;;) {
      await settle();
      if ((this.scheduler.nextTimerAt() ?? Number.POSITIVE_INFINITY) > untilMs) return;
      this.scheduler.fireNext();
      await this.afterStep();
    }
  }

  /**
   * A reshard in flight, before step `index`: the new release rolls out (an old instance gets SIGTERM every
   * ROLL_EVERY steps, Cloud Run starting a new one in its slot), then producers switch count once no old relay is left.
   */
  private reshardStep(index: number): string | undefined {
    const deployment = this.deployment;
    if (deployment === undefined) return undefined;
    const said: string[] = [];
    if (deployment.rollOutAt(index)) said.push(`the relay's new release rolls out (SHARD_COUNT ${JSON.stringify(deployment.release())})`);
    const rollout = deployment.shards.reshard;
    if (deployment.rolling && rollout !== undefined && (index - rollout.rolloutAt) % ROLL_EVERY === 0) {
      const old = this.instances.find(
        (instance) => instance.alive && !instance.terminating && instance.release?.previousCount === undefined,
      );
      if (old !== undefined) said.push(`rollout: ${this.sigterm(old) ?? ''}`);
    }
    const oldLeft = this.instances.some((instance) => instance.alive && instance.release?.previousCount === undefined);
    if (deployment.switchProducers(index, oldLeft)) said.push(`producers switch to shardCount ${deployment.producerCount()}`);
    return said.length === 0 ? undefined : said.join('; ');
  }

  /** Steps taken, the healthy tail's included. */
  stepsTaken = 0;

  private async afterStep(): Promise<void> {
    this.stepsTaken += 1;
    await drainMicrotasks();
    this.rethrow();
    for (const run of this.runs) this.promises.answersInTime(run);
    const probe = this.followProbe;
    if (probe !== undefined) this.promises.readWhileFollowing(probe, this.following(probe.run), FOLLOW_READ_BOUND_MS);
  }

  /** Whether `run` holds the lease and follows new events (its mark on the lease document). */
  private following(run: RunFacts): boolean {
    const lease = this.db.lease;
    return run.answeredAt === undefined && !run.crashed && lease?.token === run.token && lease?.following !== undefined;
  }

  /**
   * The healthy tail's follow probe: once a run follows, a writer commits an event with a createdAt 20 s behind
   * (before where the run's reads end), and the run must read it within FOLLOW_READ_BOUND_MS (follow-latency).
   */
  private placeFollowProbe(): void {
    if (this.followProbe !== undefined || this.options.followMs <= 0 || this.options.pushLingerMs !== undefined) return;
    // The probe is a direct write without a shard: a sharded world's runs would never read it.
    if (this.deployment !== undefined) return;
    const run = this.runs.find((candidate) => this.following(candidate));
    if (run === undefined) return;
    // A call of its instance that hung before the healing may hold the run's next read for FIRESTORE_TIMEOUT_MS:
    // the bound is for a run whose reads answer.
    const instance = this.instances.find((candidate) => candidate.runs.includes(run));
    if (instance === undefined || this.scheduler.hung.some((io) => io.owner === instance.name)) return;
    const id = this.nextId();
    this.events.set(id, { id, key: undefined, order: this.counter });
    this.db.put(id, {
      type: 'order.imported',
      data: { n: this.counter },
      createdAt: Instant.fromMillis(this.now() - 20_000),
      status: 'pending',
    });
    this.followProbe = { id, committedAt: this.now(), run, readAt: undefined };
    this.history.push(
      `tail t+${((this.now() - START_MS) / 1000).toFixed(1)}s: ${run.runId} follows; a writer commits ${id} (createdAt 20 s behind)`,
    );
  }

  /** A page a run read: the follow probe's first read by its run. */
  private onPageRead(run: RunFacts, ids: readonly string[]): void {
    const probe = this.followProbe;
    if (probe !== undefined && probe.readAt === undefined && probe.run === run && ids.includes(probe.id)) probe.readAt = this.now();
  }

  private rethrow(): void {
    if (this.broken !== undefined) throw this.broken;
  }

  /** Router healthy, consumers still refusing what they refuse, Firestore answering: within LIVENESS_RUNS runs every deliverable event must go. */
  private async healthyTail(): Promise<void> {
    this.router.mode = 'healthy';
    this.history.push(
      `end t+${((this.now() - START_MS) / 1000).toFixed(1)}s: router healthy (its consumers' refusals stay), no more faults`,
    );
    this.healthySince = this.runCount;
    for (let steps = 0; ; steps += 1) {
      // Runs that held the lease: a kick's run that found the lease held (skipped) delivers nothing by design.
      const finished = this.runs.filter(
        (run, i) => i >= (this.healthySince ?? 0) && run.answeredAt !== undefined && run.token !== undefined,
      ).length;
      if (finished >= LIVENESS_RUNS && this.runs.every((run) => run.answeredAt !== undefined || run.crashed)) break;
      if (steps > TAIL_STEP_LIMIT)
        throw new BrokenPromise('liveness', `the world did not settle within ${TAIL_STEP_LIMIT} steps after healing`);
      // Runs that start and end without delivering (a kick's run spinning on a lease it cannot take) are a stall too.
      if (this.runs.length - (this.healthySince ?? 0) > TAIL_RUN_LIMIT)
        throw new BrokenPromise('liveness', `more than ${TAIL_RUN_LIMIT} runs started after healing without the world settling`);
      this.placeFollowProbe();
      await this.progress();
      await this.afterStep();
      // The operator still answers a key's second dead letter: the liveness bound counts again from the redrive.
      const alert = this.answerSecondDeadLetter();
      if (alert === undefined) continue;
      this.history.push(`tail t+${((this.now() - START_MS) / 1000).toFixed(1)}s ${alert}`);
      this.healthySince = this.runCount;
    }
    this.promises.nothingVanished();
    this.promises.allDelivered(LIVENESS_RUNS);
  }

  /** What a step does; returns its line for the history, or undefined for plain progress. */
  private async apply(step: Step): Promise<string | undefined> {
    const { action: a, pick: b } = step;
    if (a < PLAIN_PROGRESS_BELOW) return this.progress();
    if (a < 52) return this.completeIo(b, 'ok');
    if (a < 58) return this.completeIo(b, (['fail', 'commit-then-fail', 'hang'] as const)[(b >> 8) % 3] ?? 'fail');
    if (a < 60) {
      const landed = this.scheduler.hung.length === 0 ? undefined : this.scheduler.land(b % this.scheduler.hung.length);
      return landed === undefined ? undefined : `late landing: ${landed.label} (${landed.owner})`;
    }
    if (a < 64) return (await this.fireNext()) ? `time passes to t+${((this.now() - START_MS) / 1000).toFixed(1)}s` : undefined;
    if (a < 72) {
      // A commit moves time on by 1 ms: whatever was under way runs first (timers due now included), so no run is
      // late for want of CPU.
      await this.fireDue(this.now());
      return this.produce(b);
    }
    if (a < 74) return this.directWrite(b);
    if (a < 79) return this.startRun(this.instances[b % this.instances.length] as Instance, 'manual run');
    if (a < 81) return this.sigterm(this.instances[b % this.instances.length] as Instance);
    if (a < 83) return this.crash(this.instances[b % this.instances.length] as Instance);
    if (a < 87) {
      this.router.mode = RouterModes[b % RouterModes.length] ?? 'healthy';
      return `router is ${this.router.mode}`;
    }
    if (a < 89) return this.refuse(b);
    if (a < 92) return this.redrive(b);
    if (a < 93) return this.releaseKey(b);
    if (a < 94) {
      const gone = this.db.purge(this.now() - 30_000);
      for (const id of gone) this.purged.add(id);
      return `operator purges delivered events older than 30 s (${gone.length})`;
    }
    this.jumpUntil = this.now() + (b % 30) * 1000;
    return `time runs on ${b % 30} s with no I/O answered`;
  }

  /** Plain progress: the oldest I/O completes, or else the next timer fires. */
  private async progress(): Promise<undefined> {
    if (this.scheduler.pending.length > 0) this.scheduler.complete(0, 'ok');
    else await this.fireNext(false);
    return undefined;
  }

  /**
   * Time moves only once everything the last steps set off has run (a full turn of the event loop), so no
   * run is late for want of CPU; an I/O completing needs only the promise reactions (cheaper, and as exact).
   */
  private async fireNext(evenWithIoPending = true): Promise<boolean> {
    await settle();
    if (!evenWithIoPending && this.scheduler.pending.length > 0) return false;
    return this.scheduler.fireNext();
  }

  private completeIo(pick: number, completion: Completion): string | undefined {
    const { pending } = this.scheduler;
    if (pending.length === 0) return undefined;
    // The operator at their most unlucky: a dead letter whose commit landed while its answer was lost is redriven at
    // once, before the run writes its outcomes again (so a write without its version precondition would undo it).
    const unlucky = pending[pick % pending.length]?.label.endsWith('with a dead letter') === true && (pick >> 10) % 4 === 0;
    this.lastDeadLetters = [];
    const entry = this.scheduler.complete(pick % pending.length, unlucky ? 'commit-then-fail' : completion);
    const written = this.lastDeadLetters;
    this.lastDeadLetters = undefined;
    if (entry === undefined || (completion === 'ok' && !entry.write)) return undefined;
    const said = `${unlucky ? 'commit-then-fail' : completion}: ${entry.label} (${entry.owner})`;
    const redriven = unlucky ? written.find((id) => !this.malformed.has(id)) : undefined;
    if (redriven === undefined || !this.db.redrive(redriven)) return said;
    this.redrivenUntried.add(redriven);
    return `${said}; operator redrives ${redriven} at once`;
  }

  // ── Producers, the operator, the router's consumers ──────────────────────────────────────────────────

  private nextId(): string {
    this.counter += 1;
    return `e${String(this.counter).padStart(5, '0')}`;
  }

  /** A producer's commit through the producer API: 1–3 events, one server createdAt, in sequence. */
  private produce(pick: number): string {
    const key = pick % 5 === 4 ? undefined : KEYS[pick % 5];
    const count = 1 + ((pick >> 4) % 3);
    this.scheduler.pass(1);
    const createdAt = Instant.fromMillis(this.now());
    const ids: string[] = [];
    for (let sequence = 0; sequence < count; sequence += 1) {
      const id = this.nextId();
      ids.push(id);
      this.events.set(id, { id, key, order: this.counter });
      this.db.put(id, {
        type: 'order.updated',
        data: { n: this.counter },
        createdAt,
        sequence,
        status: 'pending',
        ...(key === undefined ? {} : { orderingKey: key }),
        ...(this.deployment?.stamp(key ?? id) ?? {}),
      });
    }
    for (const id of ids) this.sendKick(id);
    return `producer commits ${ids.join(', ')}${key === undefined ? '' : ` (key ${key})`}`;
  }

  /**
   * A writer that skips the producer API: a createdAt ahead or behind, none at all, no type, or (sharded) no
   * shard. A malformed one may have an ordering key: its dead letter parks the key, and a stray (no
   * createdAt, no shard) is dead-lettered by shard 0's sweep while the run of its key's shard may be
   * dead-lettering another event of that key: the key then has two dead letters.
   */
  private directWrite(pick: number): string {
    const id = this.nextId();
    const shape = pick % 4;
    // Keyed half the time, and always in a sharded world, where shard 0's sweep and the key's shard meet.
    const key = shape >= 2 && ((pick >> 4) % 2 === 0 || this.deployment !== undefined) ? KEYS[(pick >> 5) % 4] : undefined;
    const noShard = shape === 3 && this.deployment !== undefined && (pick >> 7) % 2 === 1;
    const fields: Record<string, unknown> = { type: 'order.imported', data: { n: this.counter }, status: 'pending' };
    if (key !== undefined) fields.orderingKey = key;
    // A direct writer in a sharded world stamps the event's shard and the count it used (docs/deploy.md requires
    // the count of every producer before a reshard), or forgets both.
    if (this.deployment !== undefined && !noShard) Object.assign(fields, this.deployment.stamp(key ?? id));
    if (shape === 0) fields.createdAt = Instant.fromMillis(this.now() + 90_000);
    if (shape === 1) fields.createdAt = Instant.fromMillis(this.now() - 20_000);
    if (shape === 3) fields.createdAt = Instant.fromMillis(this.now());
    if (shape === 3 && !noShard) delete fields.type;
    this.events.set(id, { id, key, order: this.counter });
    if (shape >= 2) this.malformed.add(id);
    if (shape === 2 || noShard) this.strays.add(id);
    this.db.put(id, fields);
    this.sendKick(id);
    const what = noShard ? 'no shard' : (['createdAt 90 s ahead', 'createdAt 20 s behind', 'no createdAt', 'no type'][shape] ?? '');
    return `direct writer puts ${id} (${what}${key === undefined ? '' : `, key ${key}`})`;
  }

  /**
   * A consumer refuses one event: as poison (a 5xx for that payload for good), or holding its claim (a 503 with
   * Retry-After), at most DELIVERY_CONCURRENCY claims at once, as a consumer that crashed holding them would.
   */
  private refuse(pick: number): string | undefined {
    const pending = [...this.events.keys()].filter((id) => this.status(id) === 'pending');
    if (pending.length === 0) return undefined;
    const id = pending[pick % pending.length] as string;
    const refusing = this.router.poison.size + this.router.claimed.size;
    if ((pick >> 8) % 2 === 0) {
      if (this.knownOpen.poisonEvents && refusing >= this.options.breakerThreshold - 1) return undefined;
      // The top bit of the pick: a payload the consumer rejects (422) rather than fails on (500); dead-lettered at once.
      if (pick >> 15 === 1) {
        this.router.rejected.add(id);
        return `the router rejects ${id} for good (422)`;
      }
      this.router.poison.add(id);
      return `the router fails ${id} for good (poison)`;
    }
    if (this.router.claimed.delete(id)) return `a consumer lets go of ${id}'s claim`;
    if (this.router.claimed.size >= this.options.deliveryConcurrency) return undefined;
    if (this.knownOpen.poisonEvents && this.router.poison.size > 0 && refusing >= this.options.breakerThreshold - 1) return undefined;
    this.router.claimed.add(id);
    return `a consumer holds ${id}'s claim (503, Retry-After)`;
  }

  private deadLetters(): string[] {
    return [...this.events.keys()].filter((id) => this.status(id) === 'dead_letter');
  }

  private redrive(pick: number): string | undefined {
    const dead = this.deadLetters();
    if (dead.length === 0) return undefined;
    const id = dead[pick % dead.length] as string;
    // A dead letter whose key was released stays skipped: the operator gave up its place in the key's order.
    this.db.redrive(id);
    this.redrivenUntried.add(id);
    return `operator redrives ${id}`;
  }

  /**
   * The operator answering the alert of a key's second dead letter (the run logs each at WARNING): the dead letter
   * `outbox-ops status` names for the key, the one it parked behind first, is redriven at once, and the key must
   * stay parked by the other. Once per key and named dead letter.
   */
  private answerSecondDeadLetter(): string | undefined {
    for (const [key, parkedBehind] of this.db.parked) {
      const named = parkedBehind[0];
      if (named === undefined || this.alerted.has(`${key} ${named}`) || this.status(named) !== 'dead_letter') continue;
      const holding = this.deadLetters().filter((id) => this.events.get(id)?.key === key && !this.skippedByOperator.has(id));
      if (holding.length < 2) continue;
      this.alerted.add(`${key} ${named}`);
      if (!this.db.redrive(named)) continue;
      this.redrivenUntried.add(named);
      return `operator redrives ${named}, which key ${key} is parked behind, at the alert of its second dead letter`;
    }
    return undefined;
  }

  private releaseKey(pick: number): string | undefined {
    const keys = [...this.db.parked.keys()];
    if (keys.length === 0) return undefined;
    const key = keys[pick % keys.length] as string;
    for (const event of this.events.values())
      if (event.key === key && this.status(event.id) === 'dead_letter') this.skippedByOperator.add(event.id);
    this.db.releaseKey(key);
    return `operator releases key ${key}`;
  }

  // ── Instances and runs ────────────────────────────────────────────────────────────────────────────────

  private newInstance(slot: number, offsetMs: number): Instance {
    this.generation += 1;
    const name = `${String.fromCharCode(65 + slot)}${this.generation}`;
    return {
      name,
      slot,
      clock: new SimClock(this.scheduler, name, offsetMs),
      alive: true,
      terminating: false,
      shutdown: new AbortController(),
      runs: [],
      doorbell: new Doorbell(),
      release: this.deployment?.release(),
    };
  }

  private scheduleTick(): void {
    this.scheduler.timer('world', this.now() + TICK_MS, () => {
      this.ticks += 1;
      const live = this.instances.filter((instance) => instance.alive && !instance.terminating);
      const target = live[this.ticks % Math.max(1, live.length)];
      if (target !== undefined) this.startRun(target, 'Scheduler tick');
      this.scheduleTick();
    });
  }

  private startRun(instance: Instance, why: string): string | undefined {
    if (!instance.alive || instance.terminating) return undefined;
    const runId = this.newRunId();
    void this.runOn(instance, runId, { shutdown: instance.shutdown.signal }).catch((error: unknown) =>
      this.guard(() => {
        throw new BrokenPromise('error-only-for-failed-delivery', `${runId} threw: ${String(error)}`);
      }),
    );
    return `${why} ${runId} on ${instance.name}`;
  }

  private newRunId(): string {
    this.runCount += 1;
    return `run-${this.runCount}`;
  }

  /** One run of the real core on `instance`'s ports, watched by the world; its answer is checked when it comes. */
  private runOn(instance: Instance, runId: string, control: RunControl): Promise<RunResult> {
    const run: RunFacts = {
      runId,
      startedAt: this.now(),
      token: undefined,
      sigtermAt: instance.terminating ? this.now() : undefined,
      answeredAt: undefined,
      crashed: false,
      acknowledged: new Set(),
      sawFailedPost: false,
      routerFailed: false,
      eventsFailed: new Set(),
      eventsRefused: new Set(),
    };
    this.runs.push(run);
    this.runsById.set(runId, run);
    instance.runs.push(run);
    const answer =
      instance.release === undefined ? this.runOneShard(instance, run, control) : this.runSharded(instance, run, instance.release, control);
    answer.then(
      (result) => this.guard(() => this.onAnswer(run, result)),
      () => undefined,
    );
    return answer;
  }

  /** SHARDS_PER_RUN for a release draining `drained` shards. */
  private perRun(drained: number): number {
    // Known open: with SHARDS_PER_RUN below the shard count, a shard can wait past the liveness bound.
    if (this.knownOpen.shardsPerRunLiveness) return drained;
    return Math.min(drained, this.config.shards?.perRun ?? drained);
  }

  /** The world of one shard: the relay's own run, its lease the one lease. */
  private runOneShard(instance: Instance, run: RunFacts, control: RunControl): Promise<RunResult> {
    const { runId } = run;
    const lease = new SimRunLease(this.db, instance.name, instance.clock);
    const watched = watchedLease(lease, (token) => (run.token = token));
    const pushing = this.options.pushLingerMs !== undefined;
    const store = new SimOutboxStore(this.db, instance.name);
    const deps = {
      store: withOverrides(store, {
        fetchPending: (limit, after, maxBytes) =>
          store.fetchPending(limit, after, maxBytes).then((page) => {
            this.onPageRead(
              run,
              page.documents.map((document) => document.id),
            );
            return page;
          }),
      }),
      lease: pushing ? armingDoorbell(watched, instance.doorbell) : watched,
      router: this.router.client(instance.name, runId, instance.clock),
      clock: instance.clock,
      logger: this.loggerOf(instance),
      random: this.random,
      ...(pushing ? { push: { doorbell: instance.doorbell, wakeUps: lease } } : {}),
    };
    return runRelay(runId, deps, this.options, control);
  }

  /**
   * A sharded world: the real runShards over the shards `release` drains (both counts while resharding), at most
   * SHARDS_PER_RUN of them, each shard's run on its own lease (`<outbox>.shard-<i>`) and store view, watched as its
   * own part of the run (one-run-per-shard is checked against its shard's lease).
   */
  private runSharded(instance: Instance, run: RunFacts, release: RelayRelease, control: RunControl): Promise<RunResult> {
    const shards = shardsOf(release);
    const ofShard = new Map<number, RelayDeps>();
    const shardDeps = (index: number): RelayDeps => {
      const known = ofShard.get(index);
      if (known !== undefined) return known;
      const facts: ShardRunFacts = { runId: shardRunId(run.runId, index), shard: index, token: undefined };
      this.shardRuns.set(facts.runId, facts);
      this.runsById.set(facts.runId, run);
      const lease = new SimRunLease(this.db, instance.name, instance.clock, index);
      const deps: RelayDeps = {
        store: new SimOutboxStore(this.db, instance.name, shards[index]),
        lease: watchedLease(lease, (token) => {
          facts.token = token;
          run.token ??= token;
        }),
        router: this.router.client(instance.name, facts.runId, instance.clock),
        clock: instance.clock,
        logger: this.loggerOf(instance),
        random: this.random,
      };
      ofShard.set(index, deps);
      return deps;
    };
    const plan = { shards: shards.map((shard) => shard.index), perRun: this.perRun(shards.length) };
    // As createRelay: the shards drained, and PREVIOUS_SHARD_COUNT while resharding.
    const options = { ...this.options, shardCount: shards.length, previousShardCount: release.previousCount };
    return runShards(
      run.runId,
      plan,
      { shardDeps, clock: instance.clock, logger: this.loggerOf(instance), random: this.random },
      options,
      control,
    );
  }

  private loggerOf(instance: Instance): Logger {
    return {
      log: (severity, message, fields) => this.logger.log(severity, message, { instance: instance.name, ...fields }),
    };
  }

  /**
   * Push: a commit's kick (Eventarc) is on its way to some instance: an I/O the history completes (late, out of
   * order), fails (the kick lost) or lets hang; on arrival it goes through the real kick() on that instance.
   */
  private sendKick(eventId: string): void {
    if (this.options.pushLingerMs === undefined) return;
    void this.scheduler
      .io(
        'world',
        `kick for ${eventId}`,
        () => this.kickArrives(eventId),
        () => new Error('kick lost'),
        true,
      )
      .catch(() => undefined);
  }

  private kickArrives(eventId: string): void {
    const live = this.instances.filter((instance) => instance.alive && !instance.terminating);
    const instance = live[Number(eventId.slice(1)) % Math.max(1, live.length)];
    if (instance === undefined) return;
    const store = new SimOutboxStore(this.db, instance.name);
    const kicked = kick(
      eventId,
      {
        doorbell: instance.doorbell,
        wakeUps: new SimRunLease(this.db, instance.name, instance.clock),
        clock: instance.clock,
        logger: this.loggerOf(instance),
        run: (runId, control) => this.runOn(instance, runId, control ?? {}),
        newRunId: () => this.newRunId(),
        isPending: (id) => store.isPending(id),
        leaseTtlMs: this.options.leaseTtlMs,
        firestoreTimeoutMs: this.options.firestoreTimeoutMs,
      },
      { shutdown: instance.shutdown.signal },
    );
    kicked.then(
      (outcome) => this.logger.log('INFO', 'sim: kick answered', { instance: instance.name, eventId, outcome: outcome.kind }),
      (error: unknown) =>
        this.guard(() => {
          throw new BrokenPromise('error-only-for-failed-delivery', `the kick for ${eventId} threw: ${String(error)}`);
        }),
    );
  }

  private sigterm(instance: Instance): string | undefined {
    if (!instance.alive || instance.terminating) return undefined;
    const live = instance.runs.filter((run) => run.answeredAt === undefined);
    if (this.knownOpen.sigtermBeforeLease && live.some((run) => run.token === undefined)) return undefined;
    instance.terminating = true;
    for (const run of live) run.sigtermAt = this.now();
    instance.shutdown.abort();
    this.scheduler.timer('world', this.now() + KILL_AFTER_SIGTERM_MS, () => {
      if (instance.alive) this.crash(instance);
    });
    this.replace(instance);
    return `SIGTERM to ${instance.name} (runs ${live.map((run) => run.runId).join(', ') || 'none'})`;
  }

  private crash(instance: Instance): string | undefined {
    if (!instance.alive) return undefined;
    instance.alive = false;
    this.scheduler.dropOwner(instance.name);
    this.db.dropOwner(instance.name);
    const lost = instance.runs.filter((run) => run.answeredAt === undefined);
    for (const run of lost) run.crashed = true;
    if (!instance.terminating) this.replace(instance);
    return `crash of ${instance.name} (runs ${lost.map((run) => run.runId).join(', ') || 'none'})`;
  }

  /** Cloud Run starts another instance in the slot; same machine clock. */
  private replace(instance: Instance): void {
    this.instances[instance.slot] = this.newInstance(instance.slot, instance.clock.offsetMs);
  }

  // ── What the world observes ──────────────────────────────────────────────────────────────────────────

  private onPostStarted(post: PostRecord): void {
    const run = this.runsById.get(post.runId);
    if (run === undefined) return;
    this.promises.oneRunDelivering(post.eventId, run, this.shardRuns.get(post.runId));
    this.promises.postStarting(post.eventId, run);
    this.redrivenUntried.delete(post.eventId);
  }

  private onAccepted(post: PostRecord): void {
    if (this.accepted.has(post.eventId)) return;
    this.promises.firstAcceptance(post.eventId);
    this.accepted.add(post.eventId);
  }

  private onRecordedDelivered(eventId: string): void {
    this.promises.deliveryRecorded(eventId);
    this.recordedDelivered.add(eventId);
  }

  private onAnswer(run: RunFacts, result: RunResult): void {
    run.answeredAt = this.now();
    this.logger.log('INFO', 'sim: run answered', { runId: run.runId, result });
    if (result.kind !== 'ran') return;
    this.promises.answered(run, result);
    // A run over several shards gives each shard run its share of DELIVERY_CONCURRENCY, and each its own breaker:
    // the smallest share (the most shards held at once) allows the fewest, and the run's facts add up its shards'.
    const shards = this.config.shards;
    const heldAtMost = shards === undefined ? 1 : this.perRun(Math.max(shards.count, shards.reshard?.to ?? 0));
    const concurrency = shareOfBudgets(this.options, heldAtMost).deliveryConcurrency;
    const limits = { threshold: this.options.breakerThreshold, concurrency };
    this.promises.breakerOpenedOnOutage(run, result.cause, limits);
  }

  private withRun(runId: string, act: (run: RunFacts) => void): void {
    const run = this.runsById.get(runId);
    if (run !== undefined) act(run);
  }

  /** A broken promise seen inside the core's callbacks is kept, and thrown once the step is over. */
  private guard(check: () => void): void {
    try {
      check();
    } catch (error) {
      this.broken ??=
        error instanceof BrokenPromise ? error : new BrokenPromise('error-only-for-failed-delivery', `the world broke: ${String(error)}`);
    }
  }
}

/** The lease a run uses, telling the world the token it takes. */
function watchedLease(lease: RunLease, took: (token: string) => void): RunLease {
  return {
    acquire: (owner, ttlMs) =>
      lease.acquire(owner, ttlMs).then((attempt) => {
        if (attempt.acquired) took(attempt.lease.token);
        return attempt;
      }),
    renew: (held, ttlMs) => lease.renew(held, ttlMs),
    release: (held) => lease.release(held),
    follow: (held, onHandover) => lease.follow(held, onHandover),
    requestHandover: (requester) => lease.requestHandover(requester),
  };
}

/** A small seeded PRNG for the relay's jitter, so a history replays exactly. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
