/**
 * The relay's promises (issue 20), as the simulation checks them: each is one method, named for the promise,
 * called by the world at the moment the promise could first be seen broken (a POST starting, the router
 * committing, a run answering, after every step) or at the end of a history. A broken promise throws
 * BrokenPromise with the promise's name, which the failure report prints with the shrunk history.
 *
 * To add an invariant: add its name to PROMISES, a method here that throws `this.broken(name, …)`, and call it
 * from test/sim/world/world.ts where the fact it needs becomes known (CONTRIBUTING.md, "The simulation").
 */

/** The names of the promises, as failures and KNOWN_OPEN name them. */
export const PROMISES = [
  'acknowledged-not-lost',
  'key-order',
  'liveness',
  'no-needless-duplicate',
  'one-run-per-shard',
  'answer-within-bound',
  'error-only-for-failed-delivery',
  'redrive-honoured',
  'follow-latency',
  'breaker-opens-on-outage',
] as const;
export type PromiseName = (typeof PROMISES)[number];

/** A promise the relay broke in a simulated history. */
export class BrokenPromise extends Error {
  constructor(
    readonly promise: PromiseName,
    readonly detail: string,
  ) {
    super(`broken promise "${promise}": ${detail}`);
  }
}

/** One event as the world enqueued it. */
export interface EventFacts {
  readonly id: string;
  readonly key: string | undefined;
  /** Enqueue order (commit order, then sequence within the commit). */
  readonly order: number;
}

/** One shard's part of a run over several shards (runShards): its own run id and the token of its shard's lease. */
export interface ShardRunFacts {
  readonly runId: string;
  readonly shard: number;
  token: string | undefined;
}

/** One run as the world saw it. */
export interface RunFacts {
  readonly runId: string;
  readonly startedAt: number;
  /** The lease token the run acquired, once it has one. */
  token: string | undefined;
  /** Store time of the SIGTERM its instance got while the run was live. */
  sigtermAt: number | undefined;
  answeredAt: number | undefined;
  /** The run's instance crashed before it answered. */
  crashed: boolean;
  /** Events whose 2xx reached this run. */
  readonly acknowledged: Set<string>;
  /** A POST of this run got no acknowledgement (an error answer, a timeout, a lost answer, a cancel). */
  sawFailedPost: boolean;
  /** A POST of this run got no acknowledgement for a reason of the router's, not one event's (any mode but healthy, a timeout, a lost answer, a cancel). */
  routerFailed: boolean;
  /** Events a consumer failed one by one in this run (poison, rejected payloads), and those it refused (claims held). */
  readonly eventsFailed: Set<string>;
  readonly eventsRefused: Set<string>;
}

/** An event the world commits while a run follows, to time how soon that run reads it. */
export interface FollowProbe {
  readonly id: string;
  readonly committedAt: number;
  /** The run following when it was committed. */
  readonly run: RunFacts;
  /** When that run first read it in a page. */
  readAt: number | undefined;
}

/** What the promises are judged against: the world's record of what happened. */
export interface WorldFacts {
  now(): number;
  readonly events: ReadonlyMap<string, EventFacts>;
  /** Events the router committed, at least once. */
  readonly accepted: ReadonlySet<string>;
  /** Events recorded `delivered` in the store. */
  readonly recordedDelivered: ReadonlySet<string>;
  /** Dead letters an operator let the rest of their key pass (release-key), and purged events. */
  readonly skippedByOperator: ReadonlySet<string>;
  readonly purged: ReadonlySet<string>;
  /** Strays: events no page returns (no createdAt; sharded, no shard), found by a sweep, with no place in their key's order. */
  readonly strays: ReadonlySet<string>;
  /** A shard's lease document as the store holds it (shard 0: the one lease of a world of one shard). */
  lease(shard?: number): { readonly token: string; readonly expiresAt: number } | undefined;
  status(id: string): unknown;
  /** Whether an event can be delivered once the router is healthy: pending, not refused, not behind a parked key. */
  deliverable(id: string): boolean;
}

/** The bounds the answers are held to. */
export interface AnswerBounds {
  /** longestRunMs(config): start to answer. */
  readonly longestRunMs: number;
  /** SHUTDOWN_TIMEOUT_MS: SIGTERM to answer. */
  readonly shutdownTimeoutMs: number;
}

/** The relay's promises, checked against one world. */
export class Promises {
  constructor(
    private readonly world: WorldFacts,
    private readonly bounds: AnswerBounds,
  ) {}

  /** Nothing the router acknowledged is lost: `delivered` only after the router committed it. */
  deliveryRecorded(eventId: string): void {
    if (!this.world.accepted.has(eventId))
      throw this.broken('acknowledged-not-lost', `${eventId} was recorded delivered but the router never committed it`);
  }

  /** Nothing enqueued disappears, unless an operator purged it after delivery. */
  nothingVanished(): void {
    for (const id of this.world.events.keys()) {
      if (this.world.status(id) === undefined && !this.world.purged.has(id))
        throw this.broken('acknowledged-not-lost', `${id} is gone from the outbox without a purge`);
      if (this.world.status(id) === 'delivered' && !this.world.accepted.has(id))
        throw this.broken('acknowledged-not-lost', `${id} is delivered but the router never committed it`);
    }
  }

  /**
   * Per ordering key, the router accepts events in the order they were enqueued: when it first commits one,
   * every earlier event of its key was committed before, unless an operator let the key pass it or it is a stray.
   */
  firstAcceptance(eventId: string): void {
    const event = this.world.events.get(eventId);
    if (event?.key === undefined) return;
    for (const earlier of this.world.events.values()) {
      if (earlier.key !== event.key || earlier.order >= event.order) continue;
      if (this.world.accepted.has(earlier.id) || this.world.skippedByOperator.has(earlier.id) || this.world.strays.has(earlier.id))
        continue;
      throw this.broken(
        'key-order',
        `${eventId} (key ${event.key}) was accepted before ${earlier.id}, enqueued earlier (now ${String(this.world.status(earlier.id))})`,
      );
    }
  }

  /**
   * An event is POSTed more than once only after a crash, a lost answer, a timeout or a redrive: never once its
   * delivery is recorded, and never again by a run that saw its 2xx.
   */
  postStarting(eventId: string, run: RunFacts): void {
    if (this.world.recordedDelivered.has(eventId))
      throw this.broken('no-needless-duplicate', `${run.runId} POSTed ${eventId} after its delivery was recorded`);
    if (run.acknowledged.has(eventId)) throw this.broken('no-needless-duplicate', `${run.runId} POSTed ${eventId} again after its own 2xx`);
  }

  /** One run per shard delivers at a time: a POST starts only while its run holds an unexpired lease by the store's clock. */
  oneRunDelivering(eventId: string, run: RunFacts, shard?: ShardRunFacts): void {
    const lease = this.world.lease(shard?.shard);
    const token = shard === undefined ? run.token : shard.token;
    const runId = shard === undefined ? run.runId : shard.runId;
    if (token === undefined || lease?.token !== token)
      throw this.broken(
        'one-run-per-shard',
        `${runId} POSTed ${eventId} without holding the lease${shard === undefined ? '' : ` of shard ${shard.shard}`} (held: ${lease?.token ?? 'nobody'})`,
      );
    if (lease.expiresAt <= this.world.now())
      throw this.broken(
        'one-run-per-shard',
        `${run.runId} POSTed ${eventId} ${this.world.now() - lease.expiresAt} ms after its lease expired`,
      );
  }

  /** Every run answers within longestRunMs, and within SHUTDOWN_TIMEOUT_MS of a SIGTERM. */
  answersInTime(run: RunFacts): void {
    if (run.answeredAt !== undefined || run.crashed) return;
    const now = this.world.now();
    if (now - run.startedAt > this.bounds.longestRunMs)
      throw this.broken(
        'answer-within-bound',
        `${run.runId} has not answered after ${now - run.startedAt} ms (longestRunMs ${this.bounds.longestRunMs})`,
      );
    if (run.sigtermAt !== undefined && now - run.sigtermAt > this.bounds.shutdownTimeoutMs)
      throw this.broken(
        'answer-within-bound',
        `${run.runId} has not answered ${now - run.sigtermAt} ms after SIGTERM (SHUTDOWN_TIMEOUT_MS ${this.bounds.shutdownTimeoutMs})`,
      );
  }

  /**
   * A 500 only when a delivery failed (or nothing could be read or leased: in a run over several shards, a shard
   * whose lease could not be read, left for Scheduler's retry, shard-runs.ts); never for a bug.
   */
  answered(run: RunFacts, answer: { readonly retryWanted: boolean; readonly cause: string }): void {
    if (answer.cause === 'internal_error')
      throw this.broken('error-only-for-failed-delivery', `${run.runId} answered internal_error (a bug)`);
    if (answer.retryWanted && !run.sawFailedPost && answer.cause !== 'fetch_failed' && answer.cause !== 'lease_unavailable')
      throw this.broken(
        'error-only-for-failed-delivery',
        `${run.runId} answered 500 (${answer.cause}) though every POST it made was acknowledged`,
      );
  }

  /**
   * The circuit opens only on an outage: a run stopped as router_failing got a failure of the router's own, or more
   * distinct events failed one by one than BREAKER_THRESHOLD allows, or failed and refused together more than
   * max(BREAKER_THRESHOLD, DELIVERY_CONCURRENCY + 1) (router-health.ts). Counted over the whole run, which only ever
   * allows more than the breaker's streak since its last success, so a correct breaker never breaks it.
   */
  breakerOpenedOnOutage(run: RunFacts, cause: string, limits: { readonly threshold: number; readonly concurrency: number }): void {
    if (cause !== 'router_failing' || run.routerFailed) return;
    const failed = run.eventsFailed.size;
    const distinct = new Set([...run.eventsFailed, ...run.eventsRefused]).size;
    if (failed >= limits.threshold || distinct >= Math.max(limits.threshold, limits.concurrency + 1)) return;
    throw this.broken(
      'breaker-opens-on-outage',
      `${run.runId} opened the circuit on a healthy router: ${failed} event(s) failed one by one, ${distinct - failed} refused with Retry-After`,
    );
  }

  /**
   * An operator's redrive is not undone behind their back: a redriven event is dead-lettered again only after the
   * relay tried it again (a POST started since the redrive), or when it cannot be delivered as written.
   */
  deadLettered(eventId: string, triedSinceRedrive: boolean, malformed: boolean): void {
    if (!triedSinceRedrive && !malformed)
      throw this.broken('redrive-honoured', `${eventId} was dead-lettered again after its redrive without being POSTed since`);
  }

  /**
   * An event committed while a run follows new events is read by that run within `boundMs` (virtual time, so exact),
   * whatever its createdAt: checked while the run still follows, from when the bound has passed.
   */
  readWhileFollowing(probe: FollowProbe, following: boolean, boundMs: number): void {
    if (probe.readAt !== undefined || !following) return;
    const waited = this.world.now() - probe.committedAt;
    if (waited > boundMs)
      throw this.broken(
        'follow-latency',
        `${probe.id}, committed while ${probe.run.runId} followed, was not read by it within ${boundMs} ms (${waited} ms and still following)`,
      );
  }

  /** Once the router is healthy, every deliverable event is delivered within a bounded number of runs. */
  allDelivered(runsSinceHealthy: number): void {
    const stuck = [...this.world.events.keys()].filter((id) => this.world.deliverable(id));
    if (stuck.length > 0)
      throw this.broken(
        'liveness',
        `${stuck.length} deliverable event(s) still pending after ${runsSinceHealthy} runs on a healthy router: ${stuck.slice(0, 5).join(', ')}`,
      );
  }

  private broken(promise: PromiseName, detail: string): BrokenPromise {
    return new BrokenPromise(promise, detail);
  }
}
