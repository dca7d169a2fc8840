import { z } from 'zod';
import type { Severity } from './core/ports.js';
import { isUriReference } from './core/uri-reference.js';
import { ConfigError } from './errors.js';

/** Defaults, with their unit in the name; the README's configuration table lists the same values. */
export const DEFAULT_OUTBOX_COLLECTION = 'outbound_events';
export const DEFAULT_AUDIT_COLLECTION = 'outbound_event_runs';
export const DEFAULT_EVENT_SOURCE = '/outbound-event-handler';
export const DEFAULT_BATCH_SIZE = 200;
export const DEFAULT_DELIVERY_CONCURRENCY = 16;
export const DEFAULT_POST_TIMEOUT_MS = 10_000;
export const DEFAULT_POST_RETRIES = 3;
export const DEFAULT_RETRY_MIN_DELAY_MS = 250;
export const DEFAULT_RETRY_MAX_DELAY_MS = 10_000;
/** With the redelivery defaults below, the attempts of one event span at least 24 hours (backoff.ts). */
export const DEFAULT_MAX_ATTEMPTS = 24;
export const DEFAULT_REDELIVERY_MIN_DELAY_MS = 30_000;
export const DEFAULT_REDELIVERY_MAX_DELAY_MS = 2 * 60 * 60_000;
export const DEFAULT_BREAKER_THRESHOLD = 5;
export const DEFAULT_RUN_BUDGET_MS = 240_000;
export const DEFAULT_FIRESTORE_TIMEOUT_MS = 10_000;
export const DEFAULT_CHECKPOINT_SIZE = 200;
export const DEFAULT_MAX_PAYLOAD_BYTES = 512 * 1024;
/**
 * 16 MiB of event JSON in hand: with decoding and copies the run's peak RSS stays near 225 MiB with events of
 * 480 KiB under a 256 MiB heap (32 MiB measured 246 MiB), inside a 256 MiB instance.
 */
export const DEFAULT_MAX_IN_FLIGHT_BYTES = 16 * 1024 * 1024;
/** Cloud Run sends SIGTERM, then SIGKILL 10 s later: the run answers well before. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 8_000;
export const DEFAULT_LEASE_COLLECTION = 'outbound_event_leases';
export const DEFAULT_PARKED_KEYS_COLLECTION = 'outbound_event_parked_keys';
/** Renewed every third of it while the run lives, so a crashed run frees its shard before the next minute's run. */
export const DEFAULT_LEASE_TTL_MS = 30_000;
export const DEFAULT_MAX_REDRIVES = 3;
export const DEFAULT_SHARD_COUNT = 1;
export const DEFAULT_DELIVERED_RETENTION_DAYS = 7;
/** With telemetry on, spans and metrics get this long to export before the run answers (less during a shutdown). */
export const DEFAULT_TELEMETRY_FLUSH_TIMEOUT_MS = 2_000;
/** The database every project has; a named one is set with FIRESTORE_DATABASE. */
export const DEFAULT_FIRESTORE_DATABASE = '(default)';
/** 0: a run drains the backlog and answers; above 0 it then follows new events for that long (docs/follow-mode.md). */
export const DEFAULT_FOLLOW_MS = 0;
/** FOLLOW_MS leaves at least this much of RUN_BUDGET_MS to the drain before following. */
export const FOLLOW_MARGIN_MS = 5_000;
/**
 * A keep-alive socket idle this long is closed rather than reused: below the idle timeouts of common load
 * balancers and NATs (5 s and more), so the relay never writes a POST into a connection a middlebox dropped.
 */
export const DEFAULT_ROUTER_SOCKET_IDLE_MS = 4_000;

/** What every tool that touches the outbox needs: the relay, the producer API and the ops CLI. */
export interface StoreConfig {
  /** OUTBOX_COLLECTION: the producers' outbox collection. */
  readonly outboxCollection: string;
  /** AUDIT_COLLECTION: one document per run, the run's last write. */
  readonly auditCollection: string;
  /** LEASE_COLLECTION: one lease document per shard, so one run at a time delivers it. */
  readonly leaseCollection: string;
  /** PARKED_KEYS_COLLECTION: one document per ordering key held back by a dead letter. */
  readonly parkedKeysCollection: string;
  /** GOOGLE_CLOUD_PROJECT: the Firestore project; the client's own discovery is used when unset. */
  readonly projectId: string | undefined;
  /** FIRESTORE_EMULATOR_HOST: set to talk to the emulator instead of Firestore. */
  readonly firestoreEmulatorHost: string | undefined;
  /** FIRESTORE_DATABASE: the Firestore database of the project that holds the outbox, `(default)` unless named. */
  readonly firestoreDatabase: string;
  /** MAX_ATTEMPTS: failed attempts charged to an event (each after its backoff) before it is dead-lettered. */
  readonly maxAttempts: number;
  /** MAX_REDRIVES: how often one event may be redriven from the dead letters, so redrive loops end. */
  readonly maxRedrives: number;
  /** SHARD_COUNT: events are spread over this many shards at enqueue; one deployment drains them all (or SHARD_INDEX one). */
  readonly shardCount: number;
  /**
   * PREVIOUS_SHARD_COUNT: set while resharding, until no event enqueued under that count is pending: the relay then
   * drains the shards of both counts and holds each key's new-count events until its old-count ones are delivered.
   */
  readonly previousShardCount: number | undefined;
}

/** How POSTs prove who sent them: ROUTER_AUTH, with ROUTER_AUDIENCE or ROUTER_HMAC_SECRET. */
export type RouterAuthConfig =
  | { readonly kind: 'none' }
  /** A Google-signed ID token for the audience: for routers on Cloud Run or Cloud Functions with IAM. */
  | { readonly kind: 'google-id-token'; readonly audience: string }
  /** Standard Webhooks signatures (webhook-id, webhook-timestamp, webhook-signature) with a shared secret. */
  | { readonly kind: 'hmac'; readonly secret: string };

/** The relay's settings, parsed once at cold start and frozen. */
export interface Config extends StoreConfig {
  /** ROUTER_URL: where every event is POSTed (http or https). Required. */
  readonly routerUrl: string;
  /**
   * ROUTER_MAX_RPS: POSTs per second of the whole deployment at most, across shards and instances (each shard gets
   * an equal part: one run delivers it at a time); a 429 or 503 with Retry-After pauses the instance's POSTs. 0: no cap.
   */
  readonly routerMaxRps: number;
  /** ROUTER_SOCKET_IDLE_MS: a keep-alive connection to the router idle this long is closed, not reused. */
  readonly routerSocketIdleMs: number;
  /** ROUTER_AUTH: none (default), google-id-token (audience ROUTER_AUDIENCE, default ROUTER_URL's origin) or hmac (ROUTER_HMAC_SECRET). */
  readonly routerAuth: RouterAuthConfig;
  /** SHARD_INDEX: pins the deployment to this one shard, from 0 to SHARD_COUNT - 1; unset, a run drains every shard it can lease. */
  readonly shardIndex: number | undefined;
  /**
   * SHARDS_PER_RUN: shard leases one run takes at most, the rest left to other instances; by default SHARD_COUNT, or
   * fewer when MAX_IN_FLIGHT_BYTES shared among them would not hold an event of MAX_PAYLOAD_BYTES each.
   */
  readonly shardsPerRun: number;
  /** LEASE_TTL_MS: how long a run's lease lasts unless renewed (every third of it while the run lives). */
  readonly leaseTtlMs: number;
  /** DELIVERED_RETENTION_DAYS: delivered events get `expireAt` this far ahead, for a Firestore TTL policy; 0 sets none. */
  readonly deliveredRetentionDays: number;
  /** EVENT_SOURCE: CloudEvents `source` for events that do not carry their own. */
  readonly defaultSource: string;
  /** BATCH_SIZE: events read per Firestore page. */
  readonly batchSize: number;
  /** DELIVERY_CONCURRENCY: POSTs in flight at once (events of one orderingKey still go one by one). */
  readonly deliveryConcurrency: number;
  /** POST_TIMEOUT_MS: bound on one POST, so a hung router cannot hold the run. */
  readonly postTimeoutMs: number;
  /** POST_RETRIES: in-run retries of one event after a transient failure. */
  readonly postRetries: number;
  /** RETRY_MIN_DELAY_MS: first in-run backoff delay. */
  readonly retryMinDelayMs: number;
  /** RETRY_MAX_DELAY_MS: longest in-run backoff delay; a longer Retry-After leaves the event to a later run. */
  readonly retryMaxDelayMs: number;
  /** REDELIVERY_MIN_DELAY_MS: wait after an event's first failed attempt before the next (doubling, with jitter). */
  readonly redeliveryMinDelayMs: number;
  /** REDELIVERY_MAX_DELAY_MS: longest wait between two attempts of one event. */
  readonly redeliveryMaxDelayMs: number;
  /** BREAKER_THRESHOLD: distinct events failing in a row that mean the router, not the events, is failing. */
  readonly breakerThreshold: number;
  /** KEY_AFTER_DEAD_LETTER: park (later events of the key wait for a redrive or release) or continue. */
  readonly parkKeyOnDeadLetter: boolean;
  /** RUN_BUDGET_MS: after this long a run starts no new POSTs, flushes and answers 200 with hasMore. */
  readonly runBudgetMs: number;
  /** FOLLOW_MS: after draining, a run keeps delivering new events as they are committed for this long (within RUN_BUDGET_MS); 0 answers at once. */
  readonly followMs: number;
  /** FIRESTORE_TIMEOUT_MS: bound on each Firestore call of a run (lease, pages, sweep, checkpoints, flush, audit). */
  readonly firestoreTimeoutMs: number;
  /** SHUTDOWN_TIMEOUT_MS: from SIGTERM to the run's answer, in all. */
  readonly shutdownTimeoutMs: number;
  /** MAX_IN_FLIGHT_BYTES: JSON bytes of the events a run holds at once (pages shrink to fit). */
  readonly maxInFlightBytes: number;
  /** CHECKPOINT_SIZE: acknowledged events recorded per Firestore commit while the run goes on (≤ 500). */
  readonly checkpointSize: number;
  /** MAX_PAYLOAD_BYTES: events whose JSON data is larger are dead-lettered, never POSTed. */
  readonly maxPayloadBytes: number;
  /** LOG_LEVEL: the least severe entry written (DEBUG logs one line per delivered event). */
  readonly logLevel: Severity;
  /**
   * OTEL_EXPORTER_OTLP_ENDPOINT: where spans and metrics go (OTLP over HTTP, e.g. a collector); unset, telemetry is
   * off and nothing of the OpenTelemetry SDK is loaded. The SDK reads the other standard OTEL_* variables itself.
   */
  readonly otlpEndpoint: string | undefined;
}

type Env = Readonly<Record<string, string | undefined>>;

const httpUrl = z.url({ protocol: /^https?$/ });
const collectionId = z.string().regex(/^[A-Za-z0-9_-]{1,100}$/);
const COLLECTION_ID = 'a collection id (1-100 letters, digits, _ or -)';
const severity = z.enum(['DEBUG', 'INFO', 'WARNING', 'ERROR']);
/** Firestore's database ids: `(default)`, or 4-63 lowercase letters, digits and hyphens, from a letter to a letter or digit. */
const databaseId = z.string().regex(/^(?:\(default\)|[a-z][a-z0-9-]{2,61}[a-z0-9])$/);
const DATABASE_ID = 'a Firestore database id: (default), or 4-63 lowercase letters, digits and hyphens';

/** The outbox's location and limits, for tools that do not deliver (producer API, ops CLI). */
export function parseStoreConfig(env: Env = process.env): Readonly<StoreConfig> {
  const read = reader(env);
  const config: StoreConfig = {
    outboxCollection: read.text('OUTBOX_COLLECTION', collectionId, COLLECTION_ID, DEFAULT_OUTBOX_COLLECTION),
    auditCollection: read.text('AUDIT_COLLECTION', collectionId, COLLECTION_ID, DEFAULT_AUDIT_COLLECTION),
    leaseCollection: read.text('LEASE_COLLECTION', collectionId, COLLECTION_ID, DEFAULT_LEASE_COLLECTION),
    parkedKeysCollection: read.text('PARKED_KEYS_COLLECTION', collectionId, COLLECTION_ID, DEFAULT_PARKED_KEYS_COLLECTION),
    projectId: read.optional('GOOGLE_CLOUD_PROJECT'),
    firestoreEmulatorHost: read.optional('FIRESTORE_EMULATOR_HOST'),
    firestoreDatabase: read.text('FIRESTORE_DATABASE', databaseId, DATABASE_ID, DEFAULT_FIRESTORE_DATABASE),
    maxAttempts: read.integer('MAX_ATTEMPTS', DEFAULT_MAX_ATTEMPTS, 1, 1000),
    maxRedrives: read.integer('MAX_REDRIVES', DEFAULT_MAX_REDRIVES, 0, 1000),
    shardCount: read.integer('SHARD_COUNT', DEFAULT_SHARD_COUNT, 1, 64),
    previousShardCount: read.optional('PREVIOUS_SHARD_COUNT') === undefined ? undefined : read.integer('PREVIOUS_SHARD_COUNT', 1, 1, 64),
  };
  if (config.previousShardCount === config.shardCount)
    throw new ConfigError(
      'PREVIOUS_SHARD_COUNT',
      `must differ from SHARD_COUNT (${config.shardCount}), or be unset once no reshard is in progress`,
    );
  return Object.freeze(config);
}

/** Validates the whole environment once, so a bad deployment fails at start with the variable's name. */
export function parseConfig(env: Env = process.env): Readonly<Config> {
  const store = parseStoreConfig(env);
  const read = reader(env);
  let config: Config = {
    ...store,
    routerUrl: withoutCredentials('ROUTER_URL', read.text('ROUTER_URL', httpUrl, 'an http:// or https:// URL')),
    routerMaxRps: read.integer('ROUTER_MAX_RPS', 0, 0, 100_000),
    routerSocketIdleMs: read.integer('ROUTER_SOCKET_IDLE_MS', DEFAULT_ROUTER_SOCKET_IDLE_MS, 100, 600_000),
    routerAuth: parseRouterAuth(read),
    shardIndex: read.optional('SHARD_INDEX') === undefined ? undefined : read.integer('SHARD_INDEX', 0, 0, shardsDrained(store) - 1),
    shardsPerRun: read.integer('SHARDS_PER_RUN', 0, 1, 64),
    leaseTtlMs: read.integer('LEASE_TTL_MS', DEFAULT_LEASE_TTL_MS, 300, 3_600_000),
    deliveredRetentionDays: read.integer('DELIVERED_RETENTION_DAYS', DEFAULT_DELIVERED_RETENTION_DAYS, 0, 3650),
    defaultSource: read.text(
      'EVENT_SOURCE',
      z.string().refine(isUriReference),
      'a URI reference, e.g. "/shop/orders"',
      DEFAULT_EVENT_SOURCE,
    ),
    batchSize: read.integer('BATCH_SIZE', DEFAULT_BATCH_SIZE, 1, 500),
    deliveryConcurrency: read.integer('DELIVERY_CONCURRENCY', DEFAULT_DELIVERY_CONCURRENCY, 1, 256),
    postTimeoutMs: read.integer('POST_TIMEOUT_MS', DEFAULT_POST_TIMEOUT_MS, 1, 600_000),
    postRetries: read.integer('POST_RETRIES', DEFAULT_POST_RETRIES, 0, 20),
    retryMinDelayMs: read.integer('RETRY_MIN_DELAY_MS', DEFAULT_RETRY_MIN_DELAY_MS, 0, 600_000),
    retryMaxDelayMs: read.integer('RETRY_MAX_DELAY_MS', DEFAULT_RETRY_MAX_DELAY_MS, 0, 600_000),
    redeliveryMinDelayMs: read.integer('REDELIVERY_MIN_DELAY_MS', DEFAULT_REDELIVERY_MIN_DELAY_MS, 0, 86_400_000),
    redeliveryMaxDelayMs: read.integer('REDELIVERY_MAX_DELAY_MS', DEFAULT_REDELIVERY_MAX_DELAY_MS, 0, 7 * 86_400_000),
    breakerThreshold: read.integer('BREAKER_THRESHOLD', DEFAULT_BREAKER_THRESHOLD, 1, 1000),
    parkKeyOnDeadLetter: read.text('KEY_AFTER_DEAD_LETTER', z.enum(['park', 'continue']), 'park or continue', 'park') === 'park',
    runBudgetMs: read.integer('RUN_BUDGET_MS', DEFAULT_RUN_BUDGET_MS, 1, 3_600_000),
    followMs: read.integer('FOLLOW_MS', DEFAULT_FOLLOW_MS, 0, 3_600_000),
    firestoreTimeoutMs: read.integer('FIRESTORE_TIMEOUT_MS', DEFAULT_FIRESTORE_TIMEOUT_MS, 100, 120_000),
    // Below 10 s: Cloud Run kills the instance 10 s after SIGTERM.
    shutdownTimeoutMs: read.integer('SHUTDOWN_TIMEOUT_MS', DEFAULT_SHUTDOWN_TIMEOUT_MS, 100, 9_999),
    maxInFlightBytes: read.integer('MAX_IN_FLIGHT_BYTES', DEFAULT_MAX_IN_FLIGHT_BYTES, 1024, 1_073_741_824),
    checkpointSize: read.integer('CHECKPOINT_SIZE', DEFAULT_CHECKPOINT_SIZE, 1, 500),
    maxPayloadBytes: read.integer('MAX_PAYLOAD_BYTES', DEFAULT_MAX_PAYLOAD_BYTES, 1, 1_048_576),
    logLevel: read.text('LOG_LEVEL', severity, 'one of DEBUG, INFO, WARNING, ERROR', 'INFO'),
    otlpEndpoint:
      read.optional('OTEL_EXPORTER_OTLP_ENDPOINT') === undefined
        ? undefined
        : read.text('OTEL_EXPORTER_OTLP_ENDPOINT', httpUrl, 'an http:// or https:// URL'),
  };
  // Unset, a run takes every shard whose share of MAX_IN_FLIGHT_BYTES still holds the largest event.
  if (config.shardsPerRun === 0)
    config = {
      ...config,
      shardsPerRun: Math.max(1, Math.min(shardsDrained(store), Math.floor(config.maxInFlightBytes / config.maxPayloadBytes))),
    };
  checkTogether(config);
  return Object.freeze(config);
}

/** How many shards hold events while resharding (both counts' shards), or SHARD_COUNT's. */
export function shardsDrained(config: Pick<StoreConfig, 'shardCount' | 'previousShardCount'>): number {
  return Math.max(config.shardCount, config.previousShardCount ?? 0);
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
  if (config.retryMaxDelayMs < config.retryMinDelayMs) {
    throw new ConfigError('RETRY_MAX_DELAY_MS', `must be at least RETRY_MIN_DELAY_MS (${config.retryMinDelayMs})`);
  }
  if (config.redeliveryMaxDelayMs < config.redeliveryMinDelayMs) {
    throw new ConfigError('REDELIVERY_MAX_DELAY_MS', `must be at least REDELIVERY_MIN_DELAY_MS (${config.redeliveryMinDelayMs})`);
  }
  // Renewed every third of its TTL, each renewal bounded by FIRESTORE_TIMEOUT_MS: two may fail before it lapses.
  if (config.firestoreTimeoutMs * 3 > config.leaseTtlMs) {
    throw new ConfigError(
      'LEASE_TTL_MS',
      `must be at least 3 × FIRESTORE_TIMEOUT_MS (${config.firestoreTimeoutMs * 3} ms), so renewals that time out leave the lease time to be renewed`,
    );
  }
  if (config.followMs > 0 && config.followMs > config.runBudgetMs - FOLLOW_MARGIN_MS) {
    throw new ConfigError(
      'FOLLOW_MS',
      `must be at most RUN_BUDGET_MS - ${FOLLOW_MARGIN_MS} (${config.runBudgetMs - FOLLOW_MARGIN_MS} ms), so a run following new events still drains the backlog first`,
    );
  }
  if (config.maxInFlightBytes < config.maxPayloadBytes) {
    throw new ConfigError(
      'MAX_IN_FLIGHT_BYTES',
      `must be at least MAX_PAYLOAD_BYTES (${config.maxPayloadBytes}), or no event of the largest accepted size would fit`,
    );
  }
  const shardsAtOnce = config.shardIndex === undefined ? Math.min(config.shardsPerRun, shardsDrained(config)) : 1;
  if (shardsAtOnce > 1 && Math.floor(config.maxInFlightBytes / shardsAtOnce) < config.maxPayloadBytes) {
    throw new ConfigError(
      'SHARDS_PER_RUN',
      `must be at most MAX_IN_FLIGHT_BYTES / MAX_PAYLOAD_BYTES (${Math.floor(config.maxInFlightBytes / config.maxPayloadBytes)}): shards delivered side by side share MAX_IN_FLIGHT_BYTES, and each needs room for the largest event`,
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

/** Standard Webhooks secrets: "whsec_" and base64 of at least 24 bytes. */
const HMAC_SECRET = /^whsec_[A-Za-z0-9+/]{32,}={0,2}$/;

function parseRouterAuth(read: Reader): RouterAuthConfig {
  const kind = read.text('ROUTER_AUTH', z.enum(['none', 'google-id-token', 'hmac']), 'one of none, google-id-token, hmac', 'none');
  if (kind === 'google-id-token') {
    return {
      kind,
      audience: read.text(
        'ROUTER_AUDIENCE',
        httpUrl,
        'an http:// or https:// URL',
        defaultAudience(read.text('ROUTER_URL', httpUrl, 'an http:// or https:// URL')),
      ),
    };
  }
  if (kind === 'hmac') {
    const secret = read.optional('ROUTER_HMAC_SECRET');
    if (secret === undefined)
      throw new ConfigError('ROUTER_HMAC_SECRET', 'is required when ROUTER_AUTH=hmac (mount it from Secret Manager)');
    if (!HMAC_SECRET.test(secret))
      throw new ConfigError('ROUTER_HMAC_SECRET', 'must be a Standard Webhooks secret: "whsec_" followed by base64 of at least 24 bytes');
    return { kind, secret };
  }
  return { kind };
}

type Reader = ReturnType<typeof reader>;

/** Typed readers over one environment; each names its variable in the error. */
function reader(env: Env) {
  const raw = (variable: string): string | undefined => {
    const value = env[variable]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  return {
    optional: raw,
    text<T extends string>(variable: string, schema: z.ZodType<T>, expected: string, fallback?: T): T {
      const value = raw(variable);
      if (value === undefined) {
        if (fallback === undefined) throw new ConfigError(variable, 'is required');
        return fallback;
      }
      const result = schema.safeParse(value);
      // Text values are not echoed: a URL may carry credentials.
      if (!result.success) throw new ConfigError(variable, `must be ${expected}`);
      return result.data;
    },
    integer(variable: string, fallback: number, min: number, max: number): number {
      const value = raw(variable);
      if (value === undefined) return fallback;
      const result = z.coerce.number().int().min(min).max(max).safeParse(value);
      if (!result.success) throw new ConfigError(variable, `must be an integer from ${min} to ${max} (got "${value.slice(0, 40)}")`);
      return result.data;
    },
  };
}
