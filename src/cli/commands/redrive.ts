import { parseArgs } from 'node:util';
import { FieldPath, FieldValue, type Firestore, type QueryDocumentSnapshot } from '@google-cloud/firestore';
import pLimit from 'p-limit';
import type { StoreConfig } from '../../config.js';
import { EventStatus } from '../../core/event.js';
import { count } from '../../core/validate-event.js';
import { UsageError } from '../../errors.js';
import { COMMON_OPTIONS, ExitCode, readArguments, type Command } from '../command.js';
import { shardOf } from '../../core/shard.js';
import { parkedKeyDocumentId } from '../../adapters/firestore-outbox-store.js';

/** What happened to one event asked for; every event gets one, so the operator sees each refusal by id. */
export type RedriveResult =
  | { readonly id: string; readonly outcome: 'redriven'; readonly redriveCount: number }
  | { readonly id: string; readonly outcome: 'refused'; readonly redriveCount: number; readonly reason: string }
  | { readonly id: string; readonly outcome: 'skipped'; readonly reason: string };

/** A redrive's results and the limit they were judged against. */
export interface RedriveReport {
  readonly maxRedrives: number;
  readonly redriven: number;
  readonly refused: number;
  readonly skipped: number;
  readonly results: readonly RedriveResult[];
}

type RedriveConfig = Pick<StoreConfig, 'outboxCollection' | 'maxRedrives'> &
  Partial<Pick<StoreConfig, 'shardCount' | 'parkedKeysCollection'>>;

/** Dead letters read per page by `--all`; each is then redriven in its own transaction. */
export const DEFAULT_REDRIVE_PAGE_SIZE = 200;
/** Transactions in flight at once; they touch distinct documents, so they never contend. */
const REDRIVE_CONCURRENCY = 8;

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
    if (redriveCount >= config.maxRedrives) {
      return {
        id,
        outcome: 'refused',
        redriveCount,
        reason: `redriven ${redriveCount} time(s) already and MAX_REDRIVES is ${config.maxRedrives}; fix the cause, then handle it by hand or raise MAX_REDRIVES`,
      };
    }
    tx.update(ref, {
      status: EventStatus.Pending,
      attempts: 0,
      // Re-derived with today's SHARD_COUNT, so an event left in a shard that no longer exists is drained again.
      shard: shardOf(typeof key === 'string' ? key : id, config.shardCount ?? 1),
      redriveCount: redriveCount + 1,
      redrivenAt: FieldValue.serverTimestamp(),
      nextAttemptAt: FieldValue.delete(),
      deadLetteredAt: FieldValue.delete(),
      deadLetterReason: FieldValue.delete(),
    });
    // Its key waits no longer: the redriven event goes first (it is older), the rest of the key after it.
    if (parkedRef !== undefined && parked?.get('eventId') === id) tx.delete(parkedRef);
    return { id, outcome: 'redriven', redriveCount: redriveCount + 1 };
  });
}

/** Redrives the named events, each on its own, in the order given. */
export async function redriveEvents(firestore: Firestore, config: RedriveConfig, ids: readonly string[]): Promise<RedriveReport> {
  const limit = pLimit(REDRIVE_CONCURRENCY);
  const results = await Promise.all([...new Set(ids)].map((id) => limit(() => redriveEvent(firestore, config, id))));
  return report(config, results);
}

/**
 * Pages through every dead letter by id (refused ones stay dead letters, so the cursor, not the query, moves
 * the scan on) and redrives each; only ids are read, never payloads.
 */
export async function redriveAllDeadLetters(
  firestore: Firestore,
  config: RedriveConfig,
  pageSize: number = DEFAULT_REDRIVE_PAGE_SIZE,
): Promise<RedriveReport> {
  const deadLetters = firestore
    .collection(config.outboxCollection)
    .where('status', '==', EventStatus.DeadLetter)
    .orderBy(FieldPath.documentId())
    .select()
    .limit(pageSize);
  const limit = pLimit(REDRIVE_CONCURRENCY);
  const results: RedriveResult[] = [];
  let after: QueryDocumentSnapshot | undefined;
  for (;;) {
    const page = await (after === undefined ? deadLetters : deadLetters.startAfter(after)).get();
    results.push(...(await Promise.all(page.docs.map((doc) => limit(() => redriveEvent(firestore, config, doc.id))))));
    after = page.docs.at(-1);
    if (page.size < pageSize) break;
  }
  return report(config, results);
}

function report(config: RedriveConfig, results: readonly RedriveResult[]): RedriveReport {
  const tally = (outcome: RedriveResult['outcome']): number => results.filter((r) => r.outcome === outcome).length;
  return { maxRedrives: config.maxRedrives, redriven: tally('redriven'), refused: tally('refused'), skipped: tally('skipped'), results };
}

const HELP = `Usage: outbox-ops redrive <id>... [--json]
       outbox-ops redrive --all [--json]

Puts dead-lettered events back to pending so the relay delivers them again: attempts reset to 0,
redriveCount + 1, redrivenAt set, deadLetteredAt and deadLetterReason removed; an ordering key parked
behind the event is released with it, so the event goes first and the rest of its key after it. Each event is changed
in its own transaction and only if it is still a dead letter. Events already redriven MAX_REDRIVES
times are refused, so an event that keeps failing cannot loop forever.

Options:
  --all       redrive every dead letter
  --json      print one JSON document instead of text
  -h, --help  show this help

Environment: OUTBOX_COLLECTION, PARKED_KEYS_COLLECTION, MAX_REDRIVES (default 3), GOOGLE_CLOUD_PROJECT,
FIRESTORE_EMULATOR_HOST.
Exit codes: 0 every event redriven, 1 some refused, not found or not a dead letter (or Firestore failed),
2 usage or configuration error.`;

/** `outbox-ops redrive`: the way back from the dead letters once the cause is fixed. */
export const redriveCommand: Command = {
  name: 'redrive',
  summary: 'put dead letters back to pending (by id or --all), up to MAX_REDRIVES times each',
  help: HELP,
  parse(argv) {
    const { values, positionals } = readArguments('redrive', () =>
      parseArgs({ args: [...argv], options: { ...COMMON_OPTIONS, all: { type: 'boolean' } }, allowPositionals: true, strict: true }),
    );
    if (values.help === true) return { kind: 'help' };
    const all = values.all === true;
    if (all && positionals.length > 0) throw new UsageError('give either event ids or --all, not both', 'redrive');
    if (!all && positionals.length === 0) throw new UsageError('name the events to redrive, or pass --all', 'redrive');
    const invalid = positionals.find((id) => id === '' || id.includes('/'));
    if (invalid !== undefined) throw new UsageError(`"${invalid}" is not an event id (ids are non-empty and have no "/")`, 'redrive');
    return {
      kind: 'run',
      json: values.json === true,
      async execute(firestore, config) {
        const result = all ? await redriveAllDeadLetters(firestore, config) : await redriveEvents(firestore, config, positionals);
        const complete = result.refused === 0 && result.skipped === 0;
        return { exitCode: complete ? ExitCode.Ok : ExitCode.Failed, json: result, text: describeReport(result, all) };
      },
    };
  },
};

function describeReport(report: RedriveReport, all: boolean): string {
  if (all && report.results.length === 0) return 'no dead letters to redrive';
  const width = Math.max(...report.results.map((r) => r.id.length));
  const lines = report.results.map((r) => {
    const id = r.id.padEnd(width);
    if (r.outcome === 'redriven') return `${id}  redriven (redrive ${r.redriveCount} of ${report.maxRedrives})`;
    return `${id}  ${r.outcome}: ${r.reason}`;
  });
  lines.push(`redriven ${report.redriven}, refused ${report.refused}, skipped ${report.skipped}`);
  return lines.join('\n');
}
