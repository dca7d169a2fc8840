import { parseArgs } from 'node:util';
import { Timestamp, type Firestore } from '@google-cloud/firestore';
import { z } from 'zod';
import { MAX_WRITES_PER_COMMIT } from '../../adapters/firestore-outbox-store.js';
import type { StoreConfig } from '../../config.js';
import { EventStatus } from '../../core/event.js';
import { UsageError } from '../../errors.js';
import { COMMON_OPTIONS, ExitCode, readArguments, type Command } from '../command.js';

/** How many delivered events a purge removed (or, with dryRun, would remove). */
export interface PurgeReport {
  readonly collection: string;
  readonly deliveredBefore: string;
  readonly dryRun: boolean;
  readonly deleted: number;
}

/** Knobs for tests and cautious operators; production passes nothing. */
export interface PurgeOptions {
  /** Count instead of delete. */
  readonly dryRun?: boolean;
  /** Deletes per commit; Firestore allows 500, so larger values count as 500. */
  readonly batchSize?: number;
}

/**
 * Deletes delivered events whose deliveredAt is before the date, one commit of at most 500 at a time, so the
 * outbox (and the relay's index) stays small; pending and dead-lettered events are never touched.
 */
export async function purgeDelivered(
  firestore: Firestore,
  config: Pick<StoreConfig, 'outboxCollection'>,
  deliveredBefore: Date,
  options: PurgeOptions = {},
): Promise<PurgeReport> {
  const dryRun = options.dryRun ?? false;
  const batchSize = Math.min(MAX_WRITES_PER_COMMIT, Math.max(1, Math.floor(options.batchSize ?? MAX_WRITES_PER_COMMIT)));
  const expired = firestore
    .collection(config.outboxCollection)
    .where('status', '==', EventStatus.Delivered)
    .where('deliveredAt', '<', Timestamp.fromDate(deliveredBefore))
    .orderBy('deliveredAt');
  const report = (deleted: number): PurgeReport => ({
    collection: config.outboxCollection,
    deliveredBefore: deliveredBefore.toISOString(),
    dryRun,
    deleted,
  });
  if (dryRun) return report((await expired.count().get()).data().count);

  let deleted = 0;
  for (;;) {
    // Deleted documents leave the query, so every page starts from the top; only ids are read.
    const page = await expired.select().limit(batchSize).get();
    if (page.empty) break;
    const batch = firestore.batch();
    for (const doc of page.docs) batch.delete(doc.ref);
    await batch.commit();
    deleted += page.size;
    if (page.size < batchSize) break;
  }
  return report(deleted);
}

/** A date (UTC midnight) or a date-time with Z or an offset: never the machine's local time zone. */
const instantSchema = z.union([z.iso.date(), z.iso.datetime({ offset: true })]);

const HELP = `Usage: outbox-ops purge --delivered-before <ISO date> [--dry-run] [--json]

Deletes delivered events whose deliveredAt is before the date, in commits of at most ${MAX_WRITES_PER_COMMIT},
and prints how many. Pending and dead-lettered events are never deleted.

Options:
  --delivered-before <date>  2026-01-31 (UTC midnight) or 2026-01-31T12:00:00Z / +02:00; required
  --dry-run                  only count what would be deleted
  --json                     print one JSON document instead of text
  -h, --help                 show this help

Environment: OUTBOX_COLLECTION, GOOGLE_CLOUD_PROJECT, FIRESTORE_EMULATOR_HOST.
Exit codes: 0 ok, 1 Firestore failed, 2 usage or configuration error (e.g. a missing or invalid date).`;

/** `outbox-ops purge`: delivered events are only history; this keeps their cost bounded. */
export const purgeCommand: Command = {
  name: 'purge',
  summary: 'delete delivered events older than a date',
  help: HELP,
  parse(argv) {
    const { values } = readArguments('purge', () =>
      parseArgs({
        args: [...argv],
        options: { ...COMMON_OPTIONS, 'delivered-before': { type: 'string' }, 'dry-run': { type: 'boolean' } },
        strict: true,
      }),
    );
    if (values.help === true) return { kind: 'help' };
    const raw = values['delivered-before'];
    if (raw === undefined) throw new UsageError('--delivered-before <ISO date> is required', 'purge');
    if (!instantSchema.safeParse(raw).success) {
      throw new UsageError(`--delivered-before must be an ISO date such as 2026-01-31 or 2026-01-31T12:00:00Z (got "${raw}")`, 'purge');
    }
    const deliveredBefore = new Date(raw);
    const dryRun = values['dry-run'] === true;
    return {
      kind: 'run',
      json: values.json === true,
      async execute(firestore, config) {
        const result = await purgeDelivered(firestore, config, deliveredBefore, { dryRun });
        const verb = result.dryRun ? 'would delete' : 'deleted';
        return {
          exitCode: ExitCode.Ok,
          json: result,
          text: `${verb} ${result.deleted} delivered event(s) from ${result.collection} delivered before ${result.deliveredBefore}`,
        };
      },
    };
  },
};
