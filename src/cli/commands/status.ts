import { parseArgs } from 'node:util';
import { FieldPath, Timestamp, type Firestore } from '@google-cloud/firestore';
import type { StoreConfig } from '../../config.js';
import { parkedDeadLetters } from '../../adapters/firestore-outbox-store.js';
import { EventStatus } from '../../core/event.js';
import { UsageError } from '../../errors.js';
import { COMMON_OPTIONS, ExitCode, readArguments, type Command } from '../command.js';
import { formatDuration } from '../format-duration.js';

/** How far the outbox is behind, at a glance: what an operator checks first when the router is late. */
export interface OutboxStatus {
  readonly collection: string;
  readonly counts: Readonly<Record<EventStatus, number>>;
  /** Documents whose status is none of the known ones; the relay dead-letters them as strays. */
  readonly otherStatus: number;
  /** The event the relay takes next; null when nothing is pending. */
  readonly oldestPending: { readonly id: string; readonly createdAt: string; readonly ageMs: number } | null;
  /** Pending events waiting out their backoff after a failed attempt (nextAttemptAt still ahead). */
  readonly onBackoff: number;
  /** Ordering keys held back by a dead letter (KEY_AFTER_DEAD_LETTER=park), the longest-parked first. */
  readonly parkedKeys: { readonly count: number; readonly keys: readonly ParkedKey[] };
  /** With SHARD_COUNT above 1 (or while resharding): each shard's pending events, oldest age and lease holder. */
  readonly shards?: readonly ShardStatus[];
  /** While resharding (PREVIOUS_SHARD_COUNT set): events of the previous count still pending; 0 means it may end. */
  readonly reshard?: { readonly from: number; readonly to: number; readonly pendingOfPreviousCount: number };
}

/** One shard at a glance. */
export interface ShardStatus {
  readonly shard: number;
  readonly pending: number;
  readonly oldestPendingAgeMs: number | null;
  /** The run holding its lease, when the lease was renewed within its TTL (by this machine's clock). */
  readonly leaseHolder: string | null;
}

/** One parked key: its later events wait until the dead letter is redriven or the key is released. */
export interface ParkedKey {
  readonly orderingKey: string;
  /** The dead letter it parked behind first. */
  readonly eventId: string;
  /** Every dead letter holding it, that one first: the key stays parked while any of them remains. */
  readonly deadLetters: readonly string[];
  readonly parkedAt: string | null;
}

/** Parked keys listed by status; --json has the same cut, `count` says how many there are. */
const PARKED_KEYS_LISTED = 20;

/** Counts with aggregation queries, so a large outbox costs one read per 1000 documents counted, not one per document. */
export async function readOutboxStatus(
  firestore: Firestore,
  config: Pick<StoreConfig, 'outboxCollection' | 'parkedKeysCollection'> &
    Partial<Pick<StoreConfig, 'leaseCollection' | 'shardCount' | 'previousShardCount'>>,
  nowMs: number = Date.now(),
): Promise<OutboxStatus> {
  const [status, shards] = await Promise.all([readTotals(firestore, config, nowMs), readShards(firestore, config, nowMs)]);
  return { ...status, ...shards };
}

/** Each shard's pending count, oldest age and lease holder, and a reshard in progress; nothing with one shard. */
async function readShards(
  firestore: Firestore,
  config: Pick<StoreConfig, 'outboxCollection'> & Partial<Pick<StoreConfig, 'leaseCollection' | 'shardCount' | 'previousShardCount'>>,
  nowMs: number,
): Promise<Pick<OutboxStatus, 'shards' | 'reshard'>> {
  const count = config.shardCount ?? 1;
  const drained = Math.max(count, config.previousShardCount ?? 0);
  if (drained <= 1 || config.leaseCollection === undefined) return {};
  const pending = firestore.collection(config.outboxCollection).where('status', '==', EventStatus.Pending);
  const leases = firestore.collection(config.leaseCollection);
  const shards = await Promise.all(
    Array.from({ length: drained }, async (_unused, shard): Promise<ShardStatus> => {
      const ofShard = pending.where('shard', '==', shard);
      const [n, oldest, lease] = await Promise.all([
        ofShard.count().get(),
        ofShard.orderBy('createdAt').orderBy(FieldPath.documentId()).limit(1).select('createdAt').get(),
        leases.doc(`${config.outboxCollection}.shard-${shard}`).get(),
      ]);
      const createdAt: unknown = oldest.docs[0]?.get('createdAt');
      const renewedAt: unknown = lease.get('renewedAt');
      const ttlMs: unknown = lease.get('ttlMs');
      const held = renewedAt instanceof Timestamp && typeof ttlMs === 'number' && renewedAt.toMillis() + ttlMs > nowMs;
      return {
        shard,
        pending: n.data().count,
        oldestPendingAgeMs: createdAt instanceof Timestamp ? Math.max(0, nowMs - createdAt.toMillis()) : null,
        leaseHolder: held ? String(lease.get('owner')) : null,
      };
    }),
  );
  const previous = config.previousShardCount;
  if (previous === undefined) return { shards };
  const old = await pending.where('shardCount', '==', previous).count().get();
  return { shards, reshard: { from: previous, to: count, pendingOfPreviousCount: old.data().count } };
}

async function readTotals(
  firestore: Firestore,
  config: Pick<StoreConfig, 'outboxCollection' | 'parkedKeysCollection'>,
  nowMs: number,
): Promise<OutboxStatus> {
  const outbox = firestore.collection(config.outboxCollection);
  const parked = firestore.collection(config.parkedKeysCollection);
  const statuses = Object.values(EventStatus);
  const [total, onBackoff, parkedCount, parkedPage, ...perStatus] = await Promise.all([
    outbox.count().get(),
    outbox.where('status', '==', EventStatus.Pending).where('nextAttemptAt', '>', Timestamp.fromMillis(nowMs)).count().get(),
    parked.count().get(),
    parked.orderBy('parkedAt').limit(PARKED_KEYS_LISTED).select('orderingKey', 'eventId', 'deadLetters', 'parkedAt').get(),
    ...statuses.map((status) => outbox.where('status', '==', status).count().get()),
  ]);
  const counts = Object.fromEntries(statuses.map((status, index) => [status, perStatus[index]?.data().count ?? 0])) as Record<
    EventStatus,
    number
  >;
  const known = Object.values(counts).reduce((sum, n) => sum + n, 0);
  // The relay's own query and order, so the answer is the event it takes next.
  const oldest = await outbox
    .where('status', '==', EventStatus.Pending)
    .orderBy('createdAt')
    .orderBy(FieldPath.documentId())
    .limit(1)
    .select('createdAt')
    .get();
  const first = oldest.docs[0];
  const createdAt: unknown = first?.get('createdAt');
  return {
    collection: config.outboxCollection,
    counts,
    otherStatus: (total?.data().count ?? known) - known,
    onBackoff: onBackoff.data().count,
    parkedKeys: {
      count: parkedCount.data().count,
      keys: parkedPage.docs.map((doc) => {
        const at: unknown = doc.get('parkedAt');
        return {
          orderingKey: String(doc.get('orderingKey')),
          eventId: String(doc.get('eventId')),
          deadLetters: parkedDeadLetters(doc),
          parkedAt: at instanceof Timestamp ? at.toDate().toISOString() : null,
        };
      }),
    },
    oldestPending:
      first !== undefined && createdAt instanceof Timestamp
        ? { id: first.id, createdAt: createdAt.toDate().toISOString(), ageMs: Math.max(0, nowMs - createdAt.toMillis()) }
        : null,
  };
}

/** Between two refreshes of `status --watch` when no interval is given. */
export const DEFAULT_WATCH_INTERVAL_S = 10;
/** Each refresh costs a few aggregation reads: faster than this would only add cost. */
const MIN_WATCH_INTERVAL_S = 1;
const MAX_WATCH_INTERVAL_S = 3600;

const HELP = `Usage: outbox-ops status [--watch [SECONDS]] [--count N] [--json]

Counts the outbox's events by status and shows the oldest pending event and its age, the pending
events waiting out a backoff, the ordering keys parked behind a dead letter, and with several shards each
shard and a reshard in progress.

Options:
  --watch [SECONDS]  refresh every SECONDS (default ${DEFAULT_WATCH_INTERVAL_S}, ${MIN_WATCH_INTERVAL_S}-${MAX_WATCH_INTERVAL_S}) until Ctrl-C; with --json, one JSON line per refresh
  --count N          with --watch: stop after N refreshes
  --json             print one JSON document instead of text
  -h, --help         show this help

Environment: OUTBOX_COLLECTION (its leases and parked keys are named after it), SHARD_COUNT and
PREVIOUS_SHARD_COUNT (each shard's pending events and lease, a reshard in progress), GOOGLE_CLOUD_PROJECT,
FIRESTORE_EMULATOR_HOST.
Exit codes: 0 ok, 1 Firestore failed, 2 usage or configuration error.`;

/** `outbox-ops status`: the first check when the router says events are late. */
export const statusCommand: Command = {
  name: 'status',
  summary: 'count events by status; oldest pending event, backoff, parked keys',
  help: HELP,
  parse(argv) {
    const { values, positionals } = readArguments('status', () =>
      parseArgs({
        args: [...argv],
        options: { ...COMMON_OPTIONS, watch: { type: 'boolean' }, count: { type: 'string' } },
        allowPositionals: true,
        strict: true,
      }),
    );
    if (values.help === true) return { kind: 'help' };
    const watching = values.watch === true;
    if (!watching && (positionals.length > 0 || values.count !== undefined))
      throw new UsageError('an interval or --count goes with --watch', 'status');
    if (positionals.length > 1) throw new UsageError('--watch takes one interval in seconds', 'status');
    const intervalS =
      positionals[0] === undefined
        ? DEFAULT_WATCH_INTERVAL_S
        : wholeNumber('--watch', positionals[0], MIN_WATCH_INTERVAL_S, MAX_WATCH_INTERVAL_S);
    const count = values.count === undefined ? undefined : wholeNumber('--count', values.count, 1, 1_000_000);
    return {
      kind: 'run',
      json: values.json === true,
      ...(watching ? { repeat: { intervalMs: intervalS * 1000, count } } : {}),
      async execute(firestore, config) {
        const status = await readOutboxStatus(firestore, config);
        return { exitCode: ExitCode.Ok, json: status, text: describeStatus(status) };
      },
    };
  },
};

function wholeNumber(option: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max)
    throw new UsageError(`${option} takes a whole number from ${min} to ${max} (got "${text.slice(0, 20)}")`, 'status');
  return value;
}

function describeStatus(status: OutboxStatus): string {
  const rows: [string, number][] = Object.entries(status.counts);
  if (status.otherStatus > 0) rows.push(['other status', status.otherStatus]);
  const width = Math.max(...rows.map(([, n]) => String(n).length));
  const lines = [`outbox ${status.collection}`, ...rows.map(([name, n]) => `  ${name.padEnd(12)} ${String(n).padStart(width)}`)];
  const oldest = status.oldestPending;
  lines.push(
    oldest === null ? 'nothing pending' : `oldest pending: ${oldest.id}, created ${oldest.createdAt}, ${formatDuration(oldest.ageMs)} ago`,
  );
  lines.push(`waiting on backoff: ${status.onBackoff}`);
  const { parkedKeys } = status;
  lines.push(
    `parked keys: ${parkedKeys.count}${parkedKeys.count > 0 ? ' (release with "outbox-ops release-key <key>", or redrive the dead letter)' : ''}`,
  );
  for (const key of parkedKeys.keys)
    lines.push(
      `  ${key.orderingKey}  behind ${key.deadLetters.join(', ') || key.eventId}${key.parkedAt === null ? '' : ` since ${key.parkedAt}`}`,
    );
  if (parkedKeys.count > parkedKeys.keys.length)
    lines.push(`  … and ${parkedKeys.count - parkedKeys.keys.length} more (--json lists the first ${parkedKeys.keys.length})`);
  for (const shard of status.shards ?? [])
    lines.push(
      `shard ${shard.shard}: ${shard.pending} pending${shard.oldestPendingAgeMs === null ? '' : `, oldest ${formatDuration(shard.oldestPendingAgeMs)}`}, lease ${shard.leaseHolder ?? 'free'}`,
    );
  if (status.reshard !== undefined)
    lines.push(
      `reshard ${status.reshard.from} → ${status.reshard.to} in progress: ${status.reshard.pendingOfPreviousCount} events of the previous count pending${status.reshard.pendingOfPreviousCount === 0 ? ' (remove PREVIOUS_SHARD_COUNT now)' : ''}`,
    );
  return lines.join('\n');
}
