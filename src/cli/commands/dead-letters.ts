import { parseArgs } from 'node:util';
import { FieldPath, Timestamp, type Firestore } from '@google-cloud/firestore';
import { z } from 'zod';
import type { StoreConfig } from '../../config.js';
import { EventStatus } from '../../core/event.js';
import { count } from '../../core/validate-event.js';
import { UsageError } from '../../errors.js';
import { COMMON_OPTIONS, ExitCode, readArguments, type Command } from '../command.js';

/** One dead letter as an operator needs it to decide on a redrive; never its data. */
export interface DeadLetter {
  readonly id: string;
  readonly type: string | null;
  readonly deadLetteredAt: string | null;
  /** Failed runs recorded before it was dead-lettered. */
  readonly attempts: number;
  /** Redrives so far; at MAX_REDRIVES the event is not redriven again. */
  readonly redriveCount: number;
  readonly reason: string | null;
}

/** A page of dead letters and how many there are in all. */
export interface DeadLetterList {
  readonly collection: string;
  readonly total: number;
  /** Newest first, at most the limit asked for. */
  readonly deadLetters: readonly DeadLetter[];
}

/** Enough to see the shape of an incident on one screen; --limit shows more. */
export const DEFAULT_DEAD_LETTER_LIMIT = 50;
const MAX_DEAD_LETTER_LIMIT = 10_000;
/** Where the text form cuts a reason; `--json` has it whole. */
const REASON_WIDTH = 120;

/** Newest first, because after an incident the recent failures are the ones to look at. */
export async function listDeadLetters(
  firestore: Firestore,
  config: Pick<StoreConfig, 'outboxCollection'>,
  limit: number = DEFAULT_DEAD_LETTER_LIMIT,
): Promise<DeadLetterList> {
  const deadLetters = firestore.collection(config.outboxCollection).where('status', '==', EventStatus.DeadLetter);
  const [total, page] = await Promise.all([
    deadLetters.count().get(),
    deadLetters
      .orderBy('deadLetteredAt', 'desc')
      .orderBy(FieldPath.documentId(), 'desc')
      .limit(limit)
      .select('type', 'deadLetteredAt', 'attempts', 'redriveCount', 'deadLetterReason')
      .get(),
  ]);
  return {
    collection: config.outboxCollection,
    total: total.data().count,
    deadLetters: page.docs.map((doc) => {
      const type: unknown = doc.get('type');
      const at: unknown = doc.get('deadLetteredAt');
      const reason: unknown = doc.get('deadLetterReason');
      return {
        id: doc.id,
        type: typeof type === 'string' ? type : null,
        deadLetteredAt: at instanceof Timestamp ? at.toDate().toISOString() : null,
        attempts: count(doc.get('attempts')),
        redriveCount: count(doc.get('redriveCount')),
        reason: typeof reason === 'string' ? reason : null,
      };
    }),
  };
}

const HELP = `Usage: outbox-ops dead-letters [--limit N] [--json]

Lists dead-lettered events, newest first: id, type, when, failed runs, redrives so far and the reason.
Event data is never printed.

Options:
  --limit N   show at most N events (default ${DEFAULT_DEAD_LETTER_LIMIT}, at most ${MAX_DEAD_LETTER_LIMIT})
  --json      print one JSON document instead of text
  -h, --help  show this help

Environment: OUTBOX_COLLECTION, GOOGLE_CLOUD_PROJECT, FIRESTORE_EMULATOR_HOST.
Exit codes: 0 ok, 1 Firestore failed, 2 usage or configuration error.`;

const limitSchema = z.coerce.number().int().min(1).max(MAX_DEAD_LETTER_LIMIT);

/** `outbox-ops dead-letters`: what to look at before deciding to redrive. */
export const deadLettersCommand: Command = {
  name: 'dead-letters',
  summary: 'list dead-lettered events with their reason',
  help: HELP,
  parse(argv) {
    const { values } = readArguments('dead-letters', () =>
      parseArgs({ args: [...argv], options: { ...COMMON_OPTIONS, limit: { type: 'string' } }, strict: true }),
    );
    if (values.help === true) return { kind: 'help' };
    let limit = DEFAULT_DEAD_LETTER_LIMIT;
    if (values.limit !== undefined) {
      const parsed = limitSchema.safeParse(values.limit);
      if (!parsed.success)
        throw new UsageError(`--limit must be a whole number from 1 to ${MAX_DEAD_LETTER_LIMIT} (got "${values.limit}")`, 'dead-letters');
      limit = parsed.data;
    }
    return {
      kind: 'run',
      json: values.json === true,
      async execute(firestore, config) {
        const list = await listDeadLetters(firestore, config, limit);
        return { exitCode: ExitCode.Ok, json: list, text: describeList(list) };
      },
    };
  },
};

function describeList(list: DeadLetterList): string {
  if (list.total === 0) return `no dead letters in ${list.collection}`;
  const shown = list.deadLetters.length;
  const header = `${list.total} dead letter(s) in ${list.collection}${shown < list.total ? `, newest ${shown} shown` : ''}:`;
  const rows = list.deadLetters.map((d) => [
    d.id,
    d.type ?? '-',
    d.deadLetteredAt ?? '-',
    String(d.attempts),
    String(d.redriveCount),
    oneLine(d.reason ?? '-', REASON_WIDTH),
  ]);
  return [header, ...table([['ID', 'TYPE', 'DEAD-LETTERED AT', 'ATTEMPTS', 'REDRIVES', 'REASON'], ...rows])].join('\n');
}

function table(rows: readonly string[][]): string[] {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0))) ?? [];
  return rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0))).join('  '));
}

function oneLine(text: string, width: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= width ? flat : `${flat.slice(0, width - 1)}…`;
}
