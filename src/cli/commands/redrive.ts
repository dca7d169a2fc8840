import { parseArgs } from 'node:util';
import { FieldPath, FieldValue, Timestamp, type Firestore, type QueryDocumentSnapshot } from '@google-cloud/firestore';
import pLimit from 'p-limit';
import type { StoreConfig } from '../../config.js';
import { EventStatus } from '../../core/event.js';
import { count } from '../../core/validate-event.js';
import { UsageError } from '../../errors.js';
import { COMMON_OPTIONS, ExitCode, readArguments, type Command } from '../command.js';
import { shardOf } from '../../core/shard.js';
import { parkedDeadLetters, parkedKeyDocumentId } from '../../adapters/firestore-outbox-store.js';

/** What happened to one event asked for; every event gets one, so the operator sees each refusal by id. */
export type RedriveResult =
  | {
      readonly id: string;
      readonly outcome: 'redriven';
      readonly redriveCount: number;
      /** Set when this shell's SHARD_COUNT would put the event in another shard than the one it was kept in. */
      readonly note?: string;
      /** The other dead letters of its key that keep the key parked (the event waits behind them too). */
      readonly keyStillParkedBy?: readonly string[];
    }
  /** --dry-run: the event would be redriven, and would then have this redriveCount. */
  | { readonly id: string; readonly outcome: 'would_redrive'; readonly redriveCount: number }
  | { readonly id: string; readonly outcome: 'refused'; readonly redriveCount: number; readonly reason: string }
  | { readonly id: string; readonly outcome: 'skipped'; readonly reason: string };

/** A redrive's results and the limit they were judged against. */
export interface RedriveReport {
  /** Set by --dry-run: nothing was changed, and `wouldRedrive` counts what a real run would have redriven. */
  readonly dryRun?: true;
  readonly wouldRedrive?: number;
  readonly maxRedrives: number;
  readonly redriven: number;
  readonly refused: number;
  readonly skipped: number;
  readonly results: readonly RedriveResult[];
}

type RedriveConfig = Pick<StoreConfig, 'outboxCollection' | 'maxRedrives'> &
  Partial<Pick<StoreConfig, 'shardCount' | 'previousShardCount' | 'parkedKeysCollection'>>;

/** Dead letters read per page by `--all`; each is then redriven in its own transaction. */
export const DEFAULT_REDRIVE_PAGE_SIZE = 200;
/** Transactions in flight at once; they touch distinct documents, so they never contend. */
const REDRIVE_CONCURRENCY = 8;

/**
 * Which dead letters a filtered redrive takes; unset fields match every one. Matched on the fields the page
 * reads (never the data), so a filtered redrive reads what `--all` reads and needs no index of its own.
 */
export interface DeadLetterFilter {
  readonly type?: string;
  readonly orderingKey?: string;
  /** A substring of deadLetterReason, case-sensitive. */
  readonly reason?: string;
  /** deadLetteredAt at or after this instant (ms). */
  readonly sinceMs?: number;
  /** deadLetteredAt before this instant (ms). */
  readonly untilMs?: number;
}

/** How a redrive over the dead letters runs: which ones, and whether anything is written. */
export interface RedriveSelection {
  readonly filter?: DeadLetterFilter;
  /** Reports what would be redriven (and refused) and changes nothing. */
  readonly dryRun?: boolean;
}

/** The fields of a dead letter a filter looks at, as the page reads them. */
const FILTERED_FIELDS = ['type', 'orderingKey', 'deadLetterReason', 'deadLetteredAt'] as const;

/** Whether a dead letter's fields match the filter; a field the filter names that is missing matches nothing. */
export function matchesFilter(get: (field: (typeof FILTERED_FIELDS)[number]) => unknown, filter: DeadLetterFilter): boolean {
  if (filter.type !== undefined && get('type') !== filter.type) return false;
  if (filter.orderingKey !== undefined && get('orderingKey') !== filter.orderingKey) return false;
  if (filter.reason !== undefined) {
    const reason = get('deadLetterReason');
    if (typeof reason !== 'string' || !reason.includes(filter.reason)) return false;
  }
  if (filter.sinceMs !== undefined || filter.untilMs !== undefined) {
    const at = get('deadLetteredAt');
    if (!(at instanceof Timestamp)) return false;
    const ms = at.toMillis();
    if (filter.sinceMs !== undefined && ms < filter.sinceMs) return false;
    if (filter.untilMs !== undefined && ms >= filter.untilMs) return false;
  }
  return true;
}

/** Why an event may not be redriven, as the transaction (or a dry run) sees it; undefined when it may be. */
function refusal(
  id: string,
  snapshot: { readonly exists: boolean; get(field: string): unknown },
  maxRedrives: number,
): RedriveResult | undefined {
  if (!snapshot.exists) return { id, outcome: 'skipped', reason: 'not found' };
  const status: unknown = snapshot.get('status');
  if (status !== EventStatus.DeadLetter) {
    return {
      id,
      outcome: 'skipped',
      reason: `is ${typeof status === 'string' ? `"${status}"` : 'without a status'}, not "${EventStatus.DeadLetter}"`,
    };
  }
  const redriveCount = count(snapshot.get('redriveCount'));
  if (redriveCount >= maxRedrives) {
    return {
      id,
      outcome: 'refused',
      redriveCount,
      reason: `redriven ${redriveCount} time(s) already and MAX_REDRIVES is ${maxRedrives}; fix the cause, then handle it by hand or raise MAX_REDRIVES`,
    };
  }
  return undefined;
}

/** --dry-run for one event: what redriveEvent would answer, read outside any transaction and changing nothing. */
export async function previewRedrive(firestore: Firestore, config: RedriveConfig, id: string): Promise<RedriveResult> {
  const snapshot = await firestore.collection(config.outboxCollection).doc(id).get();
  return (
    refusal(id, snapshot, config.maxRedrives) ?? { id, outcome: 'would_redrive', redriveCount: count(snapshot.get('redriveCount')) + 1 }
  );
}

/**
 * Puts one dead letter back to pending, in a transaction that re-reads it, so an event the relay or another
 * operator changed meanwhile is left alone, and an event at MAX_REDRIVES is refused so redrive loops end.
 */
export async function redriveEvent(firestore: Firestore, config: RedriveConfig, id: string): Promise<RedriveResult> {
  const ref = firestore.collection(config.outboxCollection).doc(id);
  return firestore.runTransaction(async (tx): Promise<RedriveResult> => {
    const snapshot = await tx.get(ref);
    const key: unknown = snapshot.get('orderingKey');
    const parkedRef =
      typeof key === 'string' && config.parkedKeysCollection !== undefined
        ? firestore.collection(config.parkedKeysCollection).doc(parkedKeyDocumentId(key))
        : undefined;
    // Read before any write (Firestore's rule): the key parked behind this dead letter is freed with it.
    const parked = parkedRef === undefined ? undefined : await tx.get(parkedRef);
    const refused = refusal(id, snapshot, config.maxRedrives);
    if (refused !== undefined) return refused;
    const redriveCount = count(snapshot.get('redriveCount'));
    const shardCount = config.shardCount ?? 1;
    const placed = placeInShard(id, key, snapshot.get('shard'), shardCount, Math.max(shardCount, config.previousShardCount ?? 0));
    tx.update(ref, {
      status: EventStatus.Pending,
      attempts: 0,
      ...(placed.write ? { shard: placed.shard, shardCount } : {}),
      redriveCount: redriveCount + 1,
      redrivenAt: FieldValue.serverTimestamp(),
      nextAttemptAt: FieldValue.delete(),
      deadLetteredAt: FieldValue.delete(),
      deadLetterReason: FieldValue.delete(),
    });
    // Its key waits no longer once no other dead letter holds it: the redriven event goes first (it is older),
    // the rest of the key after it. While another remains, the key stays parked, behind the earliest left.
    const holding = parked?.exists === true ? parkedDeadLetters(parked) : [];
    const others = holding.filter((other) => other !== id);
    if (parkedRef !== undefined && holding.includes(id)) {
      if (others.length === 0) tx.delete(parkedRef);
      else tx.update(parkedRef, { eventId: others[0], deadLetters: others });
    }
    return {
      id,
      outcome: 'redriven',
      redriveCount: redriveCount + 1,
      ...(placed.note === undefined ? {} : { note: placed.note }),
      ...(others.length === 0 ? {} : { keyStillParkedBy: others }),
    };
  });
}

/**
 * Where a redriven event goes: back to the shard it was stored in, whatever SHARD_COUNT this shell has (moving
 * it would let its key's later events, in the old shard, go first), and a note says when this shell's
 * SHARD_COUNT would derive another. An event without a usable shard, or with one that this SHARD_COUNT (above 1)
 * does not have, so that no job drains it, gets one derived from its key.
 */
export function placeInShard(
  id: string,
  orderingKey: unknown,
  stored: unknown,
  shardCount: number,
  drainedShards = shardCount,
): { readonly shard: number; readonly write: boolean; readonly note?: string } {
  const derived = shardOf(typeof orderingKey === 'string' ? orderingKey : id, shardCount);
  if (typeof stored === 'bigint') return placeInShard(id, orderingKey, Number(stored), shardCount, drainedShards);
  if (typeof stored !== 'number' || !Number.isInteger(stored) || stored < 0) return { shard: derived, write: true };
  // While resharding (PREVIOUS_SHARD_COUNT), the shards of both counts are drained: an event stays in its own.
  if (shardCount > 1 && stored >= drainedShards)
    return {
      shard: derived,
      write: true,
      note: `moved from shard ${stored}, which SHARD_COUNT=${shardCount} does not have, to shard ${derived}`,
    };
  if (stored === derived) return { shard: stored, write: false };
  return { shard: stored, write: false, note: `kept in shard ${stored}; SHARD_COUNT=${shardCount} here would put it in shard ${derived}` };
}

/** Redrives the named events, each on its own, in the order given (with `dryRun`, only says what it would do). */
export async function redriveEvents(
  firestore: Firestore,
  config: RedriveConfig,
  ids: readonly string[],
  dryRun = false,
): Promise<RedriveReport> {
  const limit = pLimit(REDRIVE_CONCURRENCY);
  const one = dryRun ? previewRedrive : redriveEvent;
  const results = await Promise.all([...new Set(ids)].map((id) => limit(() => one(firestore, config, id))));
  return report(config, results, dryRun);
}

/**
 * Pages through every dead letter by id (refused ones stay dead letters, so the cursor, not the query, moves
 * the scan on) and redrives each that matches the filter; only the filtered fields are read, never payloads.
 */
export async function redriveAllDeadLetters(
  firestore: Firestore,
  config: RedriveConfig,
  pageSize: number = DEFAULT_REDRIVE_PAGE_SIZE,
  selection: RedriveSelection = {},
): Promise<RedriveReport> {
  const { filter = {}, dryRun = false } = selection;
  const deadLetters = firestore
    .collection(config.outboxCollection)
    .where('status', '==', EventStatus.DeadLetter)
    .orderBy(FieldPath.documentId())
    .select(...FILTERED_FIELDS)
    .limit(pageSize);
  const limit = pLimit(REDRIVE_CONCURRENCY);
  const one = dryRun ? previewRedrive : redriveEvent;
  const results: RedriveResult[] = [];
  let after: QueryDocumentSnapshot | undefined;
  for (;;) {
    const page = await (after === undefined ? deadLetters : deadLetters.startAfter(after)).get();
    const matching = page.docs.filter((doc) => matchesFilter((field) => doc.get(field), filter));
    results.push(...(await Promise.all(matching.map((doc) => limit(() => one(firestore, config, doc.id))))));
    after = page.docs.at(-1);
    if (page.size < pageSize) break;
  }
  return report(config, results, dryRun);
}

function report(config: RedriveConfig, results: readonly RedriveResult[], dryRun: boolean): RedriveReport {
  const tally = (outcome: RedriveResult['outcome']): number => results.filter((r) => r.outcome === outcome).length;
  return {
    ...(dryRun ? { dryRun: true as const, wouldRedrive: tally('would_redrive') } : {}),
    maxRedrives: config.maxRedrives,
    redriven: tally('redriven'),
    refused: tally('refused'),
    skipped: tally('skipped'),
    results,
  };
}

const HELP = `Usage: outbox-ops redrive <id>... [--dry-run] [--json]
       outbox-ops redrive --all [--dry-run] [--json]
       outbox-ops redrive [--type T] [--key K] [--reason TEXT] [--since TIME] [--until TIME] [--dry-run] [--json]

Puts dead-lettered events back to pending so the relay delivers them again: attempts reset to 0,
redriveCount + 1, redrivenAt set, deadLetteredAt and deadLetterReason removed; an ordering key parked
behind the event is released with it once no other dead letter of the key holds it (the result names those
that do), so the event goes first and the rest of its key after it. Each event is changed
in its own transaction and only if it is still a dead letter, and stays in the shard it was stored in
(whatever SHARD_COUNT this shell has; the result notes when it would derive another). Events already redriven MAX_REDRIVES
times are refused, so an event that keeps failing cannot loop forever.

Filters (any of them, together; they select among all dead letters, as --all does):
  --type T        the event's type is T
  --key K         the event's orderingKey is K
  --reason TEXT   the dead-letter reason contains TEXT (case-sensitive)
  --since TIME    dead-lettered at or after TIME (ISO 8601, e.g. 2026-01-02T10:00:00Z)
  --until TIME    dead-lettered before TIME

Options:
  --all       redrive every dead letter
  --dry-run   say what would be redriven or refused, and change nothing
  --json      print one JSON document instead of text
  -h, --help  show this help

Environment: OUTBOX_COLLECTION (its parked keys are named after it), MAX_REDRIVES (default 3), GOOGLE_CLOUD_PROJECT,
FIRESTORE_EMULATOR_HOST.
Exit codes: 0 every event redriven, 1 some refused, not found or not a dead letter (or Firestore failed),
2 usage or configuration error.`;

/** `outbox-ops redrive`: the way back from the dead letters once the cause is fixed. */
export const redriveCommand: Command = {
  name: 'redrive',
  summary: 'put dead letters back to pending (by id, --all or filters), up to MAX_REDRIVES times each',
  help: HELP,
  parse(argv) {
    const { values, positionals } = readArguments('redrive', () =>
      parseArgs({
        args: [...argv],
        options: {
          ...COMMON_OPTIONS,
          all: { type: 'boolean' },
          'dry-run': { type: 'boolean' },
          type: { type: 'string' },
          key: { type: 'string' },
          reason: { type: 'string' },
          since: { type: 'string' },
          until: { type: 'string' },
        },
        allowPositionals: true,
        strict: true,
      }),
    );
    if (values.help === true) return { kind: 'help' };
    const filter: DeadLetterFilter = {
      ...(values.type === undefined ? {} : { type: values.type }),
      ...(values.key === undefined ? {} : { orderingKey: values.key }),
      ...(values.reason === undefined ? {} : { reason: values.reason }),
      ...(values.since === undefined ? {} : { sinceMs: instant('--since', values.since) }),
      ...(values.until === undefined ? {} : { untilMs: instant('--until', values.until) }),
    };
    const filtered = Object.keys(filter).length > 0;
    const all = values.all === true || filtered;
    const dryRun = values['dry-run'] === true;
    if (filtered && positionals.length > 0) throw new UsageError('give either event ids or filters, not both', 'redrive');
    if (all && positionals.length > 0) throw new UsageError('give either event ids or --all, not both', 'redrive');
    if (!all && positionals.length === 0) throw new UsageError('name the events to redrive, or pass --all or a filter', 'redrive');
    if (filter.sinceMs !== undefined && filter.untilMs !== undefined && filter.untilMs <= filter.sinceMs)
      throw new UsageError('--until must be later than --since', 'redrive');
    const invalid = positionals.find((id) => id === '' || id.includes('/'));
    if (invalid !== undefined) throw new UsageError(`"${invalid}" is not an event id (ids are non-empty and have no "/")`, 'redrive');
    return {
      kind: 'run',
      json: values.json === true,
      async execute(firestore, config) {
        const result = all
          ? await redriveAllDeadLetters(firestore, config, DEFAULT_REDRIVE_PAGE_SIZE, { filter, dryRun })
          : await redriveEvents(firestore, config, positionals, dryRun);
        const complete = result.refused === 0 && result.skipped === 0;
        return {
          exitCode: complete ? ExitCode.Ok : ExitCode.Failed,
          json: filtered ? { ...result, filter } : result,
          text: describeReport(result, all, filtered),
        };
      },
    };
  },
};

/** An ISO 8601 instant for --since / --until; anything Date cannot read is a usage error. */
function instant(option: string, text: string): number {
  const ms = Date.parse(text);
  if (Number.isNaN(ms))
    throw new UsageError(`${option} must be an ISO 8601 time, e.g. 2026-01-02T10:00:00Z (got "${text.slice(0, 40)}")`, 'redrive');
  return ms;
}

function describeReport(report: RedriveReport, all: boolean, filtered: boolean): string {
  if (all && report.results.length === 0) return filtered ? 'no dead letters match the filters' : 'no dead letters to redrive';
  const width = Math.max(...report.results.map((r) => r.id.length));
  const lines = report.results.map((r) => {
    const id = r.id.padEnd(width);
    if (r.outcome === 'redriven') {
      const parked = r.keyStillParkedBy === undefined ? '' : `; its key stays parked behind ${r.keyStillParkedBy.join(', ')}`;
      return `${id}  redriven (redrive ${r.redriveCount} of ${report.maxRedrives})${r.note === undefined ? '' : `; ${r.note}`}${parked}`;
    }
    if (r.outcome === 'would_redrive') return `${id}  would be redriven (redrive ${r.redriveCount} of ${report.maxRedrives})`;
    return `${id}  ${r.outcome}: ${r.reason}`;
  });
  lines.push(
    report.dryRun === true
      ? `dry run, nothing changed: would redrive ${report.wouldRedrive ?? 0}, refused ${report.refused}, skipped ${report.skipped}`
      : `redriven ${report.redriven}, refused ${report.refused}, skipped ${report.skipped}`,
  );
  return lines.join('\n');
}
