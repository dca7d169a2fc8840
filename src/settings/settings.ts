import { z } from 'zod';
import type { Severity } from '../core/ports.js';
import { isUriReference } from '../core/uri-reference.js';
import { choice, integer, optionalInteger, optionalText, requiredText, text, type Setting } from './declare.js';

/*
 * Every environment variable of the relay, declared once, in the order the README's configuration table lists
 * them. parseConfig (src/config.ts) reads each entry into the Config field of its key; `npm run docs` writes the
 * table from it; the build checks deploy/function.yaml against it (src/settings/deploy-file.ts).
 *
 * Adding a setting is one entry here: `myLimitMs: integer('MY_LIMIT_MS', { fallback, min, max, meaning })`
 * gives `config.myLimitMs: number`, its row in the README after `npm run docs`, and its place in
 * deploy/function.yaml. Wrap it in `store(...)` when the producer API and outbox-ops read it too.
 */

/** Marks a setting the tools without a router read too (parseStoreConfig: the producer API, outbox-ops). */
function store<S extends Setting<unknown>>(setting: S): S & { readonly scope: 'store' } {
  return { ...setting, scope: 'store' };
}

/** Marks a setting parseConfig reads only for one ROUTER_AUTH, into Config.routerAuth. */
function auth<S extends Setting<unknown>>(setting: S): S & { readonly scope: 'auth' } {
  return { ...setting, scope: 'auth' };
}

const httpUrl = z.url({ protocol: /^https?$/ });
const HTTP_URL = 'an http:// or https:// URL';
/** Firestore's database ids: `(default)`, or 4-63 lowercase letters, digits and hyphens, from a letter to a letter or digit. */
const databaseId = z.string().regex(/^(?:\(default\)|[a-z][a-z0-9-]{2,61}[a-z0-9])$/);
/** Standard Webhooks secrets: "whsec_" and base64 of at least 24 bytes. */
const hmacSecret = z.string().regex(/^whsec_[A-Za-z0-9+/]{32,}={0,2}$/);
const severity = z.enum(['DEBUG', 'INFO', 'WARNING', 'ERROR']) satisfies z.ZodType<Severity>;

/** The relay's variables, each with its default, what it accepts, what it means and how the deploy sets it. */
export const SETTINGS = {
  routerUrl: requiredText('ROUTER_URL', {
    schema: httpUrl,
    expected: HTTP_URL,
    accepts: 'http(s) URL, no `user:pass@`',
    meaning: 'where every event is POSTed; credentials in it are refused (use `ROUTER_AUTH`)',
  }),
  routerAuthKind: choice('ROUTER_AUTH', {
    values: ['none', 'google-id-token', 'hmac'],
    fallback: 'none',
    meaning: 'how POSTs prove their sender: nothing, a Google ID token, or a Standard Webhooks signature',
  }),
  routerAudience: auth(
    optionalText('ROUTER_AUDIENCE', {
      schema: httpUrl,
      expected: HTTP_URL,
      accepts: 'http(s) URL',
      fallbackNote: '`ROUTER_URL`’s origin',
      meaning: 'the ID token’s audience, with `google-id-token`: Cloud Run’s service URL or a custom audience',
    }),
  ),
  routerHmacSecret: auth(
    requiredText('ROUTER_HMAC_SECRET', {
      schema: hmacSecret,
      expected: 'a Standard Webhooks secret: "whsec_" followed by base64 of at least 24 bytes',
      accepts: '`whsec_` + base64 of ≥ 24 bytes',
      meaning: 'the signing key, with `hmac`; mount it from Secret Manager',
      whenMissing: 'when ROUTER_AUTH=hmac (mount it from Secret Manager)',
      deployedBy: 'secret',
    }),
  ),
  defaultSource: text('EVENT_SOURCE', {
    schema: z.string().refine(isUriReference),
    expected: 'a URI reference, e.g. "/shop/orders"',
    accepts: 'URI reference',
    fallback: '/outbound-event-handler',
    meaning: '`ce-source` of events that carry no `source`',
  }),
  projectId: store(
    optionalText('GOOGLE_CLOUD_PROJECT', {
      schema: z.string(),
      expected: 'a project id',
      accepts: 'project id',
      meaning: 'the Firestore project; unset, the client discovers it',
    }),
  ),
  firestoreEmulatorHost: store(
    optionalText('FIRESTORE_EMULATOR_HOST', {
      schema: z.string(),
      expected: 'host:port',
      accepts: 'host:port',
      meaning: 'talk to the Firestore emulator instead (local runs and tests only)',
      deployedBy: 'local',
    }),
  ),
  firestoreDatabase: store(
    text('FIRESTORE_DATABASE', {
      schema: databaseId,
      expected: 'a Firestore database id: (default), or 4-63 lowercase letters, digits and hyphens',
      accepts: '`(default)` or a database id',
      fallback: '(default)',
      meaning: 'the project’s Firestore database holding the outbox, its leases and audits',
    }),
  ),
  outboxCollection: store(
    text('OUTBOX_COLLECTION', {
      schema: z.string().regex(/^[A-Za-z0-9_-]{1,100}$/),
      expected: 'a collection id (1-100 letters, digits, _ or -)',
      accepts: 'collection id',
      fallback: 'outbound_events',
      meaning: 'the producers’ outbox; its runs, leases and parked keys are named after it (`…_runs`)',
    }),
  ),
  deliveredRetentionDays: integer('DELIVERED_RETENTION_DAYS', {
    fallback: 7,
    min: 0,
    max: 3650,
    meaning: 'delivered events and run audits get `expireAt` this many days ahead, for a TTL policy; `0` sets none',
  }),
  shardCount: store(
    integer('SHARD_COUNT', { fallback: 1, min: 1, max: 64, meaning: 'shards the outbox is split into (producers use the same number)' }),
  ),
  previousShardCount: store(
    optionalInteger('PREVIOUS_SHARD_COUNT', {
      min: 1,
      max: 64,
      fallbackNote: '— (no reshard)',
      meaning:
        'while resharding: the count producers used before; the relay drains both counts’ shards, each key’s old events first (docs/deploy.md)',
    }),
  ),
  shardIndex: optionalInteger('SHARD_INDEX', {
    min: 0,
    max: 63,
    accepts: '0 – `SHARD_COUNT` − 1',
    fallbackNote: '— (every shard)',
    meaning: 'pins the deployment to this one shard; unset, a run drains every shard it can lease',
    deployedBy: 'build',
  }),
  shardsPerRun: optionalInteger('SHARDS_PER_RUN', {
    min: 1,
    max: 64,
    fallbackNote: 'every shard (fewer if memory is short)',
    meaning:
      'shard leases one run holds at once at most, side by side; a drained shard’s place goes to one not yet tried; the rest are left to other instances',
  }),
  routerMaxRps: integer('ROUTER_MAX_RPS', {
    fallback: 0,
    min: 0,
    max: 100_000,
    meaning: 'POSTs per second of the whole deployment at most, across shards and instances; honours `Retry-After`; `0`: no cap',
  }),
  batchSize: integer('BATCH_SIZE', {
    fallback: 200,
    min: 1,
    max: 500,
    meaning: 'events read per Firestore page (fewer when memory is short), and outcomes recorded per commit',
  }),
  deliveryConcurrency: integer('DELIVERY_CONCURRENCY', {
    fallback: 16,
    min: 1,
    max: 256,
    meaning: 'POSTs in flight at once; one at a time per `orderingKey`',
  }),
  postTimeoutMs: integer('POST_TIMEOUT_MS', {
    fallback: 10_000,
    min: 1,
    max: 600_000,
    meaning: 'bound on one POST, connection to status line (a 2xx acknowledges; its body is not awaited)',
  }),
  routerSocketIdleMs: integer('ROUTER_SOCKET_IDLE_MS', {
    // Below the idle timeouts of common load balancers and NATs (5 s and more), so no POST goes into a dropped connection.
    fallback: 4_000,
    min: 100,
    max: 600_000,
    meaning: 'a keep-alive connection idle this long is closed, not reused; keep it below any proxy’s or NAT’s',
  }),
  postRetries: integer('POST_RETRIES', {
    fallback: 3,
    min: 0,
    max: 20,
    meaning: 'retries of one event within a run after a transient failure',
  }),
  retryMinDelayMs: integer('RETRY_MIN_DELAY_MS', {
    fallback: 250,
    min: 0,
    max: 600_000,
    meaning: 'first wait between those retries (doubling, jittered)',
  }),
  retryMaxDelayMs: integer('RETRY_MAX_DELAY_MS', {
    fallback: 10_000,
    min: 0,
    max: 600_000,
    meaning: 'longest wait within a run; a longer `Retry-After` leaves the event to a later run',
  }),
  maxAttempts: store(
    // With the redelivery defaults below, the attempts of one event span at least 24 hours (backoff.ts).
    integer('MAX_ATTEMPTS', {
      fallback: 24,
      min: 1,
      max: 1000,
      meaning: 'failed attempts charged to an event before it is dead-lettered',
    }),
  ),
  redeliveryMinDelayMs: integer('REDELIVERY_MIN_DELAY_MS', {
    fallback: 30_000,
    min: 0,
    max: 86_400_000,
    meaning: 'wait after an event’s first failed attempt (doubling, jittered); `0` with the max: at once',
  }),
  redeliveryMaxDelayMs: integer('REDELIVERY_MAX_DELAY_MS', {
    fallback: 2 * 60 * 60_000,
    min: 0,
    max: 7 * 86_400_000,
    meaning: 'longest wait between two attempts of one event',
  }),
  breakerThreshold: integer('BREAKER_THRESHOLD', {
    fallback: 5,
    min: 1,
    max: 1000,
    meaning: 'distinct events failing in a row that mean the router, not the events, is failing',
  }),
  keyAfterDeadLetter: choice('KEY_AFTER_DEAD_LETTER', {
    values: ['park', 'continue'],
    fallback: 'park',
    meaning: '`park`: later events of a dead letter’s key wait for its redrive or release',
  }),
  maxRedrives: store(
    integer('MAX_REDRIVES', {
      fallback: 3,
      min: 0,
      max: 1000,
      meaning: 'redrives allowed per event (`outbox-ops redrive`), so redrive loops end',
    }),
  ),
  runBudgetMs: integer('RUN_BUDGET_MS', {
    fallback: 240_000,
    min: 1,
    max: 3_600_000,
    meaning: 'after this long a run starts no new POSTs and answers with `hasMore`',
  }),
  followMs: integer('FOLLOW_MS', {
    fallback: 0,
    min: 0,
    max: 3_600_000,
    meaning: 'after draining, follow new events this long (docs/follow-mode.md); at most `RUN_BUDGET_MS` − 5 s',
  }),
  pushLingerMs: integer('PUSH_LINGER_MS', {
    fallback: 0,
    min: 0,
    max: 60_000,
    meaning:
      'push on commit ([docs/push.md](docs/push.md)): a run stays this long after its last kick; `0`: kicks are ignored; not with `FOLLOW_MS`',
  }),
  firestoreTimeoutMs: integer('FIRESTORE_TIMEOUT_MS', {
    fallback: 10_000,
    min: 100,
    max: 120_000,
    meaning: 'bound on each Firestore call of a run; the run lease lasts 3 × this, renewed every third of it',
  }),
  maxInFlightBytes: integer('MAX_IN_FLIGHT_BYTES', {
    // 16 MiB of event JSON in hand: with decoding and copies the run's peak RSS stays near 225 MiB with events of
    // 480 KiB under a 256 MiB heap (32 MiB measured 246 MiB), inside a 256 MiB instance.
    fallback: 16 * 1024 * 1024,
    min: 1024,
    max: 1_073_741_824,
    meaning: 'JSON bytes of the events a run holds at once; at least `MAX_PAYLOAD_BYTES`',
  }),
  maxPayloadBytes: integer('MAX_PAYLOAD_BYTES', {
    fallback: 512 * 1024,
    min: 1,
    max: 1_048_576,
    meaning: 'events whose JSON `data` is larger are dead-lettered',
  }),
  logLevel: text('LOG_LEVEL', {
    schema: severity,
    expected: 'one of DEBUG, INFO, WARNING, ERROR',
    accepts: '`DEBUG`, `INFO`, `WARNING`, `ERROR`',
    fallback: 'INFO',
    meaning: 'least severe entry written; `DEBUG` logs every delivered event',
  }),
  otlpEndpoint: optionalText('OTEL_EXPORTER_OTLP_ENDPOINT', {
    schema: httpUrl,
    expected: HTTP_URL,
    accepts: 'http(s) URL',
    meaning: 'OTLP/HTTP endpoint for spans and metrics ([observability](docs/observability.md)); unset: off',
  }),
} as const;

/** The settings table's keys. */
export type SettingKey = keyof typeof SETTINGS;
type KeysOfScope<Scope> = { [K in SettingKey]: (typeof SETTINGS)[K] extends { readonly scope: Scope } ? K : never }[SettingKey];
/** Settings the producer API and outbox-ops read too (parseStoreConfig). */
export type StoreSettingKey = KeysOfScope<'store'>;
/** Settings read only for one ROUTER_AUTH, into Config.routerAuth. */
export type AuthSettingKey = KeysOfScope<'auth'>;

/** The keys of the settings marked with `store(...)`, for parseStoreConfig. */
export const STORE_SETTING_KEYS = keysOfScope<StoreSettingKey>('store');
/** The keys of the settings marked with `auth(...)`, read by the router-auth step of parseConfig. */
export const AUTH_SETTING_KEYS = keysOfScope<AuthSettingKey>('auth');

function keysOfScope<K extends SettingKey>(scope: string): readonly K[] {
  return (Object.keys(SETTINGS) as SettingKey[]).filter((key) => (SETTINGS[key] as { scope?: string }).scope === scope) as K[];
}

/**
 * Variables the deployed function may set that the relay does not read itself: Node's own flags (the heap the
 * benchmark measured) and the OpenTelemetry SDK's standard variables. The deploy accepts these and nothing else
 * outside SETTINGS.
 */
export const PASSED_THROUGH: readonly { readonly pattern: RegExp; readonly name: string; readonly meaning: string }[] = [
  { pattern: /^NODE_OPTIONS$/, name: 'NODE_OPTIONS', meaning: 'Node’s flags, e.g. the heap size the benchmark measured' },
  { pattern: /^OTEL_[A-Z0-9_]+$/, name: 'OTEL_*', meaning: 'the OpenTelemetry SDK’s standard variables (service name, resource, headers)' },
];
