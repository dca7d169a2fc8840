import { ConfigError } from './errors.js';
import { readSettings, type Env, type SettingValues } from './settings/declare.js';
import { refuseRemovedSettings } from './settings/removed.js';
import {
  AUTH_SETTING_KEYS,
  SETTINGS,
  STORE_SETTING_KEYS,
  type AuthSettingKey,
  type SettingKey,
  type StoreSettingKey,
} from './settings/settings.js';

/*
 * The environment, parsed once into a frozen Config. Each variable is declared once, in src/settings/settings.ts
 * (name, default, range, meaning, how the deploy sets it); this file turns the values read into the Config the
 * code uses: the values that follow from others (the lease, checkpoints, collection names), the router's
 * authentication, and the checks of settings that only make sense together.
 */

/** Defaults, with their unit in the name, for code that needs one as a constant; each is its setting's default. */
export const DEFAULT_OUTBOX_COLLECTION = SETTINGS.outboxCollection.fallback;
export const DEFAULT_EVENT_SOURCE = SETTINGS.defaultSource.fallback;
export const DEFAULT_BATCH_SIZE = SETTINGS.batchSize.fallback;
export const DEFAULT_DELIVERY_CONCURRENCY = SETTINGS.deliveryConcurrency.fallback;
export const DEFAULT_POST_TIMEOUT_MS = SETTINGS.postTimeoutMs.fallback;
export const DEFAULT_POST_RETRIES = SETTINGS.postRetries.fallback;
export const DEFAULT_RETRY_MIN_DELAY_MS = SETTINGS.retryMinDelayMs.fallback;
export const DEFAULT_RETRY_MAX_DELAY_MS = SETTINGS.retryMaxDelayMs.fallback;
export const DEFAULT_MAX_ATTEMPTS = SETTINGS.maxAttempts.fallback;
export const DEFAULT_REDELIVERY_MIN_DELAY_MS = SETTINGS.redeliveryMinDelayMs.fallback;
export const DEFAULT_REDELIVERY_MAX_DELAY_MS = SETTINGS.redeliveryMaxDelayMs.fallback;
export const DEFAULT_BREAKER_THRESHOLD = SETTINGS.breakerThreshold.fallback;
export const DEFAULT_RUN_BUDGET_MS = SETTINGS.runBudgetMs.fallback;
export const DEFAULT_FIRESTORE_TIMEOUT_MS = SETTINGS.firestoreTimeoutMs.fallback;
export const DEFAULT_MAX_PAYLOAD_BYTES = SETTINGS.maxPayloadBytes.fallback;
export const DEFAULT_MAX_IN_FLIGHT_BYTES = SETTINGS.maxInFlightBytes.fallback;
export const DEFAULT_MAX_REDRIVES = SETTINGS.maxRedrives.fallback;
export const DEFAULT_SHARD_COUNT = SETTINGS.shardCount.fallback;
export const DEFAULT_DELIVERED_RETENTION_DAYS = SETTINGS.deliveredRetentionDays.fallback;
export const DEFAULT_FIRESTORE_DATABASE = SETTINGS.firestoreDatabase.fallback;
export const DEFAULT_FOLLOW_MS = SETTINGS.followMs.fallback;
export const DEFAULT_PUSH_LINGER_MS = SETTINGS.pushLingerMs.fallback;
export const DEFAULT_ROUTER_SOCKET_IDLE_MS = SETTINGS.routerSocketIdleMs.fallback;

/** The run lease lasts this many FIRESTORE_TIMEOUT_MS: renewed every third of it, two renewals may time out before it lapses. */
export const LEASE_TTL_PER_FIRESTORE_TIMEOUT = 3;
/** The lease with the default FIRESTORE_TIMEOUT_MS: under a minute, so a crashed run's shard is drained by the next minute's run. */
export const DEFAULT_LEASE_TTL_MS = LEASE_TTL_PER_FIRESTORE_TIMEOUT * DEFAULT_FIRESTORE_TIMEOUT_MS;
/** Cloud Run sends SIGTERM, then SIGKILL 10 s later (fixed by the platform): the run answers 2 s before. */
export const SHUTDOWN_TIMEOUT_MS = 8_000;
/** The same bound under the name earlier versions exported. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = SHUTDOWN_TIMEOUT_MS;
/** With telemetry on, spans and metrics get this long to export before the run answers (less during a shutdown). */
export const DEFAULT_TELEMETRY_FLUSH_TIMEOUT_MS = 2_000;
/** FOLLOW_MS leaves at least this much of RUN_BUDGET_MS to the drain before following. */
export const FOLLOW_MARGIN_MS = 5_000;

/** The collections named after the outbox, so two outboxes in one database never share leases, audits or parked keys. */
export interface OutboxCollections {
  /** One document per run, the run's last write. */
  readonly auditCollection: string;
  /** One lease document per shard, so one run at a time delivers it. */
  readonly leaseCollection: string;
  /** One document per ordering key held back by a dead letter. */
  readonly parkedKeysCollection: string;
}

/**
 * The outbox's companion collections: its name without a final "s", then `_runs`, `_leases`, `_parked_keys`, so
 * the default outbox `outbound_events` keeps the names earlier versions used (`outbound_event_runs`, …).
 */
export function outboxCollections(outboxCollection: string): OutboxCollections {
  const stem = outboxCollection.endsWith('s') ? outboxCollection.slice(0, -1) : outboxCollection;
  return { auditCollection: `${stem}_runs`, leaseCollection: `${stem}_leases`, parkedKeysCollection: `${stem}_parked_keys` };
}

/** The default outbox's companion collections, as earlier versions named them. */
export const DEFAULT_AUDIT_COLLECTION = outboxCollections(DEFAULT_OUTBOX_COLLECTION).auditCollection;
export const DEFAULT_LEASE_COLLECTION = outboxCollections(DEFAULT_OUTBOX_COLLECTION).leaseCollection;
export const DEFAULT_PARKED_KEYS_COLLECTION = outboxCollections(DEFAULT_OUTBOX_COLLECTION).parkedKeysCollection;

/** What every tool that touches the outbox needs: the relay, the producer API and the ops CLI. */
export type StoreConfig = SettingValues<Pick<typeof SETTINGS, StoreSettingKey>> & OutboxCollections;

/** How POSTs prove who sent them: ROUTER_AUTH, with ROUTER_AUDIENCE or ROUTER_HMAC_SECRET. */
export type RouterAuthConfig =
  | { readonly kind: 'none' }
  /** A Google-signed ID token for the audience: for routers on Cloud Run or Cloud Functions with IAM. */
  | { readonly kind: 'google-id-token'; readonly audience: string }
  /** Standard Webhooks signatures (webhook-id, webhook-timestamp, webhook-signature) with a shared secret. */
  | { readonly kind: 'hmac'; readonly secret: string };

/** Settings read as they are; ROUTER_AUTH and KEY_AFTER_DEAD_LETTER are turned into the fields below. */
type ReadAsIs = Exclude<SettingKey, AuthSettingKey | 'routerAuthKind' | 'keyAfterDeadLetter' | 'shardsPerRun'>;

/** The relay's settings, parsed once at cold start and frozen: each variable's value, and what follows from them. */
export type Config = SettingValues<Pick<typeof SETTINGS, ReadAsIs>> &
  StoreConfig & {
    /** ROUTER_AUTH with ROUTER_AUDIENCE (default ROUTER_URL's origin) or ROUTER_HMAC_SECRET. */
    readonly routerAuth: RouterAuthConfig;
    /** KEY_AFTER_DEAD_LETTER=park: later events of a dead letter's key wait for its redrive or release. */
    readonly parkKeyOnDeadLetter: boolean;
    /** 3 × FIRESTORE_TIMEOUT_MS: how long a run's lease lasts unless renewed (every third of it while the run lives). */
    readonly leaseTtlMs: number;
    /** BATCH_SIZE: acknowledged events recorded per Firestore commit while the run goes on. */
    readonly checkpointSize: number;
    /** From SIGTERM to the run's answer, in all (SHUTDOWN_TIMEOUT_MS). */
    readonly shutdownTimeoutMs: number;
    /**
     * SHARDS_PER_RUN: shard leases one run holds at once at most; by default every shard drained, or fewer when
     * MAX_IN_FLIGHT_BYTES shared among them would not hold an event of MAX_PAYLOAD_BYTES each.
     */
    readonly shardsPerRun: number;
  };

function pick<K extends SettingKey>(keys: readonly K[]): Pick<typeof SETTINGS, K> {
  return Object.fromEntries(keys.map((key) => [key, SETTINGS[key]])) as Pick<typeof SETTINGS, K>;
}

const NOT_AS_IS: readonly string[] = [...AUTH_SETTING_KEYS, 'routerAuthKind', 'keyAfterDeadLetter', 'shardsPerRun'];
const STORE = pick(STORE_SETTING_KEYS);
const READ_AS_IS = pick((Object.keys(SETTINGS) as SettingKey[]).filter((key): key is ReadAsIs => !NOT_AS_IS.includes(key)));

/** The outbox's location and limits, for tools that do not deliver (producer API, ops CLI). */
export function parseStoreConfig(env: Env = process.env): Readonly<StoreConfig> {
  refuseRemovedSettings(env, ['store']);
  const values = readSettings(STORE, env);
  checkReshard(values);
  return Object.freeze({ ...values, ...outboxCollections(values.outboxCollection) });
}

/** PREVIOUS_SHARD_COUNT names the count before a reshard in progress, so it cannot be the count itself. */
function checkReshard(values: Pick<StoreConfig, 'shardCount' | 'previousShardCount'>): void {
  if (values.previousShardCount === values.shardCount)
    throw new ConfigError(
      'PREVIOUS_SHARD_COUNT',
      `must differ from SHARD_COUNT (${values.shardCount}), or be unset once no reshard is in progress`,
    );
}

/** How many shards hold events: while resharding, both counts' shards; otherwise SHARD_COUNT's. */
export function shardsDrained(config: Pick<StoreConfig, 'shardCount' | 'previousShardCount'>): number {
  return Math.max(config.shardCount, config.previousShardCount ?? 0);
}

/** Validates the whole environment once, so a bad deployment fails at start with the variable's name. */
export function parseConfig(env: Env = process.env): Readonly<Config> {
  refuseRemovedSettings(env, ['store', 'relay']);
  const values = readSettings(READ_AS_IS, env);
  const routerUrl = withoutCredentials('ROUTER_URL', values.routerUrl);
  const config: Config = {
    ...values,
    ...outboxCollections(values.outboxCollection),
    routerAuth: parseRouterAuth(env, routerUrl),
    parkKeyOnDeadLetter: SETTINGS.keyAfterDeadLetter.read(env) === 'park',
    leaseTtlMs: LEASE_TTL_PER_FIRESTORE_TIMEOUT * values.firestoreTimeoutMs,
    checkpointSize: values.batchSize,
    shutdownTimeoutMs: SHUTDOWN_TIMEOUT_MS,
    // Unset, a run takes every shard whose share of MAX_IN_FLIGHT_BYTES still holds the largest event.
    shardsPerRun:
      SETTINGS.shardsPerRun.read(env) ??
      Math.max(1, Math.min(shardsDrained(values), Math.floor(values.maxInFlightBytes / values.maxPayloadBytes))),
  };
  checkReshard(values);
  checkTogether(config);
  return Object.freeze(config);
}

/**
 * The longest a run can take, start to answer: the budget (the lease is taken inside it), a last POST (or page
 * read) started just before the budget ran out, the final flush, then the audit and the lease release side by
 * side, then (telemetry on) the flush of spans and metrics. The function timeout and Scheduler's attempt deadline
 * must exceed it (the deploy test checks them).
 */
export function longestRunMs(
  config: Pick<Config, 'runBudgetMs' | 'postTimeoutMs' | 'firestoreTimeoutMs'> & Partial<Pick<Config, 'otlpEndpoint'>>,
): number {
  const telemetryFlushMs = config.otlpEndpoint === undefined ? 0 : DEFAULT_TELEMETRY_FLUSH_TIMEOUT_MS;
  return config.runBudgetMs + Math.max(config.postTimeoutMs, config.firestoreTimeoutMs) + 2 * config.firestoreTimeoutMs + telemetryFlushMs;
}

/** Settings that only make sense together; each error names the variable to change. */
function checkTogether(config: Config): void {
  if (config.shardIndex !== undefined && config.shardIndex > shardsDrained(config) - 1) {
    throw new ConfigError('SHARD_INDEX', `must be an integer from 0 to ${shardsDrained(config) - 1} (SHARD_COUNT − 1)`);
  }
  const shardsAtOnce = config.shardIndex === undefined ? Math.min(config.shardsPerRun, shardsDrained(config)) : 1;
  if (shardsAtOnce > 1 && Math.floor(config.maxInFlightBytes / shardsAtOnce) < config.maxPayloadBytes) {
    throw new ConfigError(
      'SHARDS_PER_RUN',
      `must be at most MAX_IN_FLIGHT_BYTES / MAX_PAYLOAD_BYTES (${Math.floor(config.maxInFlightBytes / config.maxPayloadBytes)}): shards delivered side by side share MAX_IN_FLIGHT_BYTES, and each needs room for the largest event`,
    );
  }
  if (config.retryMaxDelayMs < config.retryMinDelayMs) {
    throw new ConfigError('RETRY_MAX_DELAY_MS', `must be at least RETRY_MIN_DELAY_MS (${config.retryMinDelayMs})`);
  }
  if (config.redeliveryMaxDelayMs < config.redeliveryMinDelayMs) {
    throw new ConfigError('REDELIVERY_MAX_DELAY_MS', `must be at least REDELIVERY_MIN_DELAY_MS (${config.redeliveryMinDelayMs})`);
  }
  if (config.followMs > 0 && config.followMs > config.runBudgetMs - FOLLOW_MARGIN_MS) {
    throw new ConfigError(
      'FOLLOW_MS',
      `must be at most RUN_BUDGET_MS - ${FOLLOW_MARGIN_MS} (${config.runBudgetMs - FOLLOW_MARGIN_MS} ms), so a run following new events still drains the backlog first`,
    );
  }
  if (config.pushLingerMs > 0 && config.shardIndex === undefined && shardsDrained(config) > 1) {
    throw new ConfigError('PUSH_LINGER_MS', 'needs one shard per deployment: set SHARD_INDEX (kicks fold into one shard’s run)');
  }
  if (config.pushLingerMs > 0 && config.followMs > 0) {
    throw new ConfigError('PUSH_LINGER_MS', 'must be 0 when FOLLOW_MS is above 0: choose push on commit or follow mode (docs/push.md)');
  }
  if (config.pushLingerMs > 0 && config.pushLingerMs > config.runBudgetMs - FOLLOW_MARGIN_MS) {
    throw new ConfigError(
      'PUSH_LINGER_MS',
      `must be at most RUN_BUDGET_MS - ${FOLLOW_MARGIN_MS} (${config.runBudgetMs - FOLLOW_MARGIN_MS} ms), so a run still drains the backlog first`,
    );
  }
  if (config.maxInFlightBytes < config.maxPayloadBytes) {
    throw new ConfigError(
      'MAX_IN_FLIGHT_BYTES',
      `must be at least MAX_PAYLOAD_BYTES (${config.maxPayloadBytes}), or no event of the largest accepted size would fit`,
    );
  }
}

/**
 * A URL with `user:password@` is refused: axios would drop the credentials (every POST answered 401), and an
 * ID-token audience derived from it would carry them to the metadata server. ROUTER_AUTH says how to prove
 * who sends, with the secret mounted apart from the URL.
 */
function withoutCredentials(variable: string, url: string): string {
  const parsed = new URL(url);
  if (parsed.username !== '' || parsed.password !== '')
    throw new ConfigError(
      variable,
      'must not carry credentials (user:password@host): use ROUTER_AUTH (google-id-token or hmac) to authenticate to the router',
    );
  return url;
}

/**
 * The ID-token audience when ROUTER_AUDIENCE is unset: the router's origin, without path or query, because Cloud
 * Run checks `aud` against the service URL (https://SERVICE.a.run.app), so a token for ROUTER_URL's path is refused.
 */
export function defaultAudience(routerUrl: string): string {
  return new URL(routerUrl).origin;
}

function parseRouterAuth(env: Env, routerUrl: string): RouterAuthConfig {
  const kind = SETTINGS.routerAuthKind.read(env);
  if (kind === 'google-id-token') return { kind, audience: SETTINGS.routerAudience.read(env) ?? defaultAudience(routerUrl) };
  if (kind === 'hmac') return { kind, secret: SETTINGS.routerHmacSecret.read(env) };
  return { kind };
}
