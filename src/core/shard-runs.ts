import { withDeadline } from './deadline.js';
import { acquireRunLease } from './lease-acquisition.js';
import type { RunSummary, ShardOutcome } from './event.js';
import type { Clock, LeaseAttempt, Logger, RunLease } from './ports.js';
import { runRelay, type RelayDeps, type RelayOptions, type RunControl, type RunResult } from './relay.js';

/** Which shards a deployment drains and how many of them one run takes at most. */
export interface ShardPlan {
  /** Every shard the deployment may drain (one, when SHARD_INDEX pins it). */
  readonly shards: readonly number[];
  /** SHARDS_PER_RUN: the rest are left to runs on other instances. */
  readonly perRun: number;
}

/** What one run over several shards works through: each shard's own ports, and the run's clock and log. */
export interface ShardRunsDeps {
  /** The store, lease, router and telemetry of one shard's run; the same objects for a shard across runs. */
  readonly shardDeps: (shard: number) => RelayDeps;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Where in the shard list this run starts, so runs of several instances spread out; injectable for tests. */
  readonly random?: () => number;
}

/** One shard's part of a run: what its lease attempt or its relay run came to. */
export interface ShardResult {
  readonly shard: number;
  readonly result: RunResult;
}

/**
 * One scheduled run of a deployment that drains several shards: it takes every shard lease it can (up to
 * SHARDS_PER_RUN, starting at a random shard so that runs on other instances take the shards still free), then
 * runs one relay run per held shard side by side, each with its share of DELIVERY_CONCURRENCY and
 * MAX_IN_FLIGHT_BYTES, so the instance stays within the budgets one run has. A shard drained before the run's
 * budget is spent hands its share to a shard the run has not tried yet (nextFreeShard), so with SHARDS_PER_RUN
 * below the shard count a free shard does not wait for a later run. The answer combines them.
 */
export async function runShards(
  runId: string,
  plan: ShardPlan,
  deps: ShardRunsDeps,
  options: RelayOptions,
  control: RunControl = {},
): Promise<RunResult> {
  const startedAtMs = deps.clock.now();
  const order = rotated(plan.shards, deps.random ?? Math.random);
  const taken = await takeShardLeases(runId, order, plan.perRun, deps, options, control);
  const held = taken.filter((entry): entry is HeldShard => entry.attempt?.acquired === true);
  const shared = shareOfBudgets(options, held.length);
  if (held.length > 0)
    deps.logger.log('INFO', 'delivering shards side by side', {
      runId,
      shards: held.map((entry) => entry.shard),
      concurrency: shared.deliveryConcurrency,
      maxInFlightBytes: shared.maxInFlightBytes,
    });
  const untried = order.filter((shard) => !taken.some((entry) => entry.shard === shard));
  // Shard runs of this run that failed with nothing delivered (their circuit opened, or every POST failed).
  let failingShards = 0;
  const runHeld = async ({ shard, attempt }: HeldShard, budget: RelayOptions): Promise<ShardResult> => {
    const shardDeps = deps.shardDeps(shard);
    const lease = alreadyAcquired(shardDeps.lease, attempt);
    const result = await runRelay(shardRunId(runId, shard), { ...shardDeps, lease }, budget, control);
    if (result.kind === 'ran' && result.retryWanted && result.summary.delivered === 0 && result.summary.failed > 0) failingShards += 1;
    return { shard, result };
  };
  // Each held shard's share of the budgets is a slot: once its shard is drained, the slot takes the next free one.
  const ran = await Promise.all(
    held.map(async (first): Promise<ShardResult[]> => {
      const results = [await runHeld(first, shared)];
      for (;;) {
        const last = results[results.length - 1]?.result;
        const budget = { ...shared, runBudgetMs: options.runBudgetMs - (deps.clock.now() - startedAtMs) };
        if (!nextFreeShardWanted(last, budget, control, failingShards)) return results;
        const shard = untried.shift();
        if (shard === undefined) return results;
        const entry = await tryShardLease(runId, shard, deps, budget, control);
        taken.push(entry);
        if (entry.attempt?.acquired !== true) continue;
        deps.logger.log('INFO', 'a drained shard hands its share to a free shard', { runId, shard, runBudgetMs: budget.runBudgetMs });
        results.push(await runHeld({ shard, attempt: entry.attempt }, budget));
      }
    }),
  );
  const ranShards = ran.flat();
  // Shards this run did not try (SHARDS_PER_RUN reached) are left to other runs and not part of its answer.
  const others = taken.filter((entry) => entry.attempt?.acquired !== true).map((entry) => notRun(runId, entry));
  return combineShardResults(
    runId,
    [...ranShards, ...others].sort((a, b) => a.shard - b.shard),
  );
}

/**
 * Whether a slot whose shard run ended with `last` takes another free shard: once its shard is drained, also
 * when some of its events failed (they wait for a later run, holding back only their own keys, so a poison
 * event in one shard does not hold back the others), and when its circuit opened; but not once two shard runs of
 * this run failed with nothing delivered (`failingShards`, this one included): poison heads fail a shard as an
 * outage would, and the next shard's POSTs tell the two apart, so an outage costs one more shard's probes. A
 * shard stopped by its budget, Firestore or a SIGTERM ends the slot. And only while the run's budget left covers
 * at least one Firestore call's bound, so a shard is not taken for less time than its first read may take.
 */
export function nextFreeShardWanted(
  last: RunResult | undefined,
  budget: RelayOptions,
  control: RunControl,
  failingShards: number,
): boolean {
  const stoppedBy = last?.kind === 'ran' ? last.summary.stoppedBy : undefined;
  return (
    (stoppedBy === 'drained' || stoppedBy === 'router_failing') &&
    failingShards <= 1 &&
    control.shutdown?.aborted !== true &&
    budget.runBudgetMs >= budget.firestoreTimeoutMs
  );
}

/** A shard's run id: the run's, suffixed, so each shard's audit document and lease owner are its own. */
export function shardRunId(runId: string, shard: number): string {
  return `${runId}-s${shard}`;
}

/**
 * Each of `held` shards run side by side gets an equal share of the run's POSTs in flight (at least one) and of
 * its memory for events; the config check keeps a share of MAX_IN_FLIGHT_BYTES at least MAX_PAYLOAD_BYTES.
 */
export function shareOfBudgets(options: RelayOptions, held: number): RelayOptions {
  if (held <= 1) return options;
  return {
    ...options,
    deliveryConcurrency: Math.max(1, Math.floor(options.deliveryConcurrency / held)),
    maxInFlightBytes: Math.max(options.maxPayloadBytes, Math.floor(options.maxInFlightBytes / held)),
  };
}

/**
 * The answer of a run over several shards: it ran when any shard ran, and wants Scheduler's retry when any shard
 * run does or a lease could not be read; with no shard run, it skipped (every lease held) or did not start.
 */
export function combineShardResults(runId: string, results: readonly ShardResult[]): RunResult {
  const ran = results.flatMap(({ shard, result }) => (result.kind === 'ran' ? [{ shard, result }] : []));
  const unavailable = results.flatMap(({ shard, result }) => (result.kind === 'not_started' ? [{ shard, error: result.error }] : []));
  if (ran.length === 0) {
    const first = unavailable[0];
    if (first !== undefined) return { kind: 'not_started', runId, error: `shard ${first.shard}: ${first.error}` };
    const skipped = results.flatMap(({ result }) => (result.kind === 'skipped' ? [result] : []));
    const soonest = skipped.reduce<(typeof skipped)[number] | undefined>(
      (a, b) => (a === undefined || b.untilMs < a.untilMs ? b : a),
      undefined,
    );
    return { kind: 'skipped', runId, heldBy: soonest?.heldBy ?? 'nobody: no shard to drain', untilMs: soonest?.untilMs ?? 0 };
  }
  const sum = (field: 'fetched' | 'delivered' | 'deadLettered' | 'failed' | 'waiting' | 'unrecorded' | 'stale'): number =>
    ran.reduce((total, { result }) => total + result.summary[field], 0);
  const failing = ran.find(({ result }) => result.retryWanted)?.result;
  const stopped = ran.find(({ result }) => result.summary.stoppedBy !== 'drained')?.result;
  const summary: RunSummary = {
    runId,
    stoppedBy: stopped?.summary.stoppedBy ?? 'drained',
    fetched: sum('fetched'),
    delivered: sum('delivered'),
    deadLettered: sum('deadLettered'),
    failed: sum('failed'),
    waiting: sum('waiting'),
    unrecorded: sum('unrecorded'),
    stale: sum('stale'),
    hasMore: ran.some(({ result }) => result.summary.hasMore),
    auditFailed: ran.some(({ result }) => result.summary.auditFailed),
    durationMs: Math.max(...ran.map(({ result }) => result.summary.durationMs)),
    shards: results.map(outcomeOf),
  };
  const firstUnavailable = unavailable[0];
  if (failing !== undefined) return { kind: 'ran', summary, retryWanted: true, cause: failing.cause, error: failing.error };
  if (firstUnavailable !== undefined)
    return {
      kind: 'ran',
      summary,
      retryWanted: true,
      cause: 'lease_unavailable',
      error: `shard ${firstUnavailable.shard}: ${firstUnavailable.error}`,
    };
  return { kind: 'ran', summary, retryWanted: false, cause: summary.stoppedBy, error: undefined };
}

/** One shard's line in the answer's `shards`. */
function outcomeOf({ shard, result }: ShardResult): ShardOutcome {
  switch (result.kind) {
    case 'skipped':
      return { shard, outcome: 'lease-held', heldBy: result.heldBy };
    case 'not_started':
      return { shard, outcome: 'lease_unavailable' };
    case 'ran':
      return { shard, outcome: result.retryWanted ? result.cause : result.summary.stoppedBy, delivered: result.summary.delivered };
  }
}

/** A shard lease tried: what acquiring found, or why it could not be read or written. */
type TakenShard =
  | { readonly shard: number; readonly attempt: LeaseAttempt; readonly error?: undefined }
  | { readonly shard: number; readonly attempt?: undefined; readonly error: string };

type HeldShard = TakenShard & { readonly attempt: Extract<LeaseAttempt, { acquired: true }> };

/**
 * Takes shard leases in waves, from a random shard on: each wave tries as many as SHARDS_PER_RUN still allows,
 * side by side, each bounded by FIRESTORE_TIMEOUT_MS. Waves stop once a third of LEASE_TTL_MS has gone, so the
 * first lease taken is renewed (every third of it from when it was taken) well before it could lapse.
 */
async function takeShardLeases(
  runId: string,
  order: readonly number[],
  perRun: number,
  deps: ShardRunsDeps,
  options: RelayOptions,
  control: RunControl,
): Promise<TakenShard[]> {
  const startedAtMs = deps.clock.now();
  const taken: TakenShard[] = [];
  let next = 0;
  let held = 0;
  while (
    next < order.length &&
    held < perRun &&
    deps.clock.now() - startedAtMs < options.leaseTtlMs / 3 &&
    control.shutdown?.aborted !== true
  ) {
    const wave = order.slice(next, next + perRun - held);
    next += wave.length;
    const attempts = await Promise.all(wave.map((shard) => tryShardLease(runId, shard, deps, options, control)));
    taken.push(...attempts);
    held += attempts.filter((entry) => entry.attempt?.acquired === true).length;
  }
  return taken;
}

/**
 * One shard's lease, taken as a single-shard run takes its own (lease-acquisition.ts): a SIGTERM ends the wait,
 * and a following run holding the shard is asked to hand over.
 */
async function tryShardLease(
  runId: string,
  shard: number,
  deps: ShardRunsDeps,
  options: RelayOptions,
  control: RunControl,
): Promise<TakenShard> {
  const id = shardRunId(runId, shard);
  const { clock } = deps;
  const acquisition = await acquireRunLease({
    runId: id,
    lease: deps.shardDeps(shard).lease,
    clock,
    ttlMs: options.leaseTtlMs,
    askFollower: options.followMs > 0,
    deadlineMs: clock.now() + options.runBudgetMs,
    stopped: control.shutdown ?? new AbortController().signal,
    bounded: (work, what) => withDeadline(work, options.firestoreTimeoutMs, clock, `${what} of shard ${shard}`),
    log: (severity, message, fields) => deps.logger.log(severity, message, { runId: id, ...fields }),
  });
  switch (acquisition.kind) {
    case 'acquired':
      return { shard, attempt: { acquired: true, lease: acquisition.lease } };
    case 'skipped':
      return { shard, attempt: { acquired: false, owner: acquisition.heldBy, expiresAtMs: acquisition.untilMs } };
    case 'not_started':
      return { shard, error: acquisition.error };
  }
}

/** The shards from a random one on, wrapping round. */
function rotated(shards: readonly number[], random: () => number): number[] {
  const start = Math.min(shards.length - 1, Math.floor(random() * shards.length));
  return [...shards.slice(start), ...shards.slice(0, start)];
}

/** A shard that did not run, as the relay would have answered for it. */
function notRun(runId: string, entry: TakenShard): ShardResult {
  const id = shardRunId(runId, entry.shard);
  if (entry.attempt === undefined) return { shard: entry.shard, result: { kind: 'not_started', runId: id, error: entry.error } };
  if (entry.attempt.acquired) throw new Error(`shard ${entry.shard} was acquired and not run`);
  return { shard: entry.shard, result: { kind: 'skipped', runId: id, heldBy: entry.attempt.owner, untilMs: entry.attempt.expiresAtMs } };
}

/** The shard's lease as its run sees it: the first acquire answers with the lease this run already took. */
function alreadyAcquired(lease: RunLease, attempt: LeaseAttempt): RunLease {
  let taken = false;
  return {
    acquire: (owner, ttlMs) => {
      if (taken) return lease.acquire(owner, ttlMs);
      taken = true;
      return Promise.resolve(attempt);
    },
    renew: (held, ttlMs) => lease.renew(held, ttlMs),
    release: (held) => lease.release(held),
    follow: (held, onHandover) => lease.follow(held, onHandover),
    requestHandover: (requester) => lease.requestHandover(requester),
  };
}
