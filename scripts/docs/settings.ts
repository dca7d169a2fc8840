import type { Config } from '../../src/config.js';
import { bytes, code, duration, table } from './format.js';
import type { Product } from './product.js';

type Env = Record<string, string | undefined>;

/** One environment variable of parseConfig, as the tables describe it; the default is read from the code. */
interface Setting {
  readonly variable: string;
  /** The Config field it sets; its value under an environment without the variable is the default shown. */
  readonly key?: keyof Config;
  /** The default as an environment value, when it is not simply the Config field's value. */
  readonly show?: (config: Readonly<Config>) => string;
  /** What a text variable accepts (integers show the range src/config.ts checks). */
  readonly accepts?: string;
  readonly meaning: string;
}

/** A router URL the environments below use to make parseConfig succeed. */
const ROUTER_URL = 'https://router.example/events';
const HMAC_SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
/**
 * Environments under which parseConfig reads every variable it knows: some are read only for one ROUTER_AUTH.
 * The first one that reads a variable is where its default is looked up.
 */
export const CONTEXTS: readonly Readonly<Env>[] = [
  { ROUTER_URL },
  { ROUTER_URL, ROUTER_AUTH: 'google-id-token' },
  { ROUTER_URL, ROUTER_AUTH: 'hmac', ROUTER_HMAC_SECRET: HMAC_SECRET },
];

/** Every variable of parseConfig, in the order the configuration table lists them. */
export const SETTINGS: readonly Setting[] = [
  {
    variable: 'ROUTER_URL',
    key: 'routerUrl',
    accepts: 'http(s) URL, no `user:pass@`',
    meaning: 'where every event is POSTed; credentials in it are refused (use `ROUTER_AUTH`)',
  },
  {
    variable: 'ROUTER_AUTH',
    show: (config) => config.routerAuth.kind,
    accepts: '`none`, `google-id-token`, `hmac`',
    meaning: 'how POSTs prove their sender: nothing, a Google ID token, or a Standard Webhooks signature',
  },
  {
    variable: 'ROUTER_AUDIENCE',
    show: () => '`ROUTER_URL`’s origin',
    accepts: 'http(s) URL',
    meaning: 'the ID token’s audience, with `google-id-token`: Cloud Run’s service URL or a custom audience',
  },
  {
    variable: 'ROUTER_HMAC_SECRET',
    accepts: '`whsec_` + base64 of ≥ 24 bytes',
    meaning: 'the signing key, with `hmac`; mount it from Secret Manager',
  },
  { variable: 'EVENT_SOURCE', key: 'defaultSource', accepts: 'URI reference', meaning: '`ce-source` of events that carry no `source`' },
  {
    variable: 'GOOGLE_CLOUD_PROJECT',
    key: 'projectId',
    accepts: 'project id',
    meaning: 'the Firestore project; unset, the client discovers it',
  },
  {
    variable: 'FIRESTORE_EMULATOR_HOST',
    key: 'firestoreEmulatorHost',
    accepts: 'host:port',
    meaning: 'talk to the Firestore emulator instead',
  },
  {
    variable: 'FIRESTORE_DATABASE',
    key: 'firestoreDatabase',
    accepts: '`(default)` or a database id',
    meaning: 'the project’s Firestore database holding the outbox, its leases and audits',
  },
  { variable: 'OUTBOX_COLLECTION', key: 'outboxCollection', accepts: 'collection id', meaning: 'the producers’ outbox' },
  { variable: 'AUDIT_COLLECTION', key: 'auditCollection', accepts: 'collection id', meaning: 'one audit document per run' },
  { variable: 'LEASE_COLLECTION', key: 'leaseCollection', accepts: 'collection id', meaning: 'one run-lease document per shard' },
  {
    variable: 'PARKED_KEYS_COLLECTION',
    key: 'parkedKeysCollection',
    accepts: 'collection id',
    meaning: 'one document per ordering key parked behind a dead letter',
  },
  {
    variable: 'DELIVERED_RETENTION_DAYS',
    key: 'deliveredRetentionDays',
    meaning: 'delivered events and run audits get `expireAt` this many days ahead, for a TTL policy; `0` sets none',
  },
  { variable: 'SHARD_COUNT', key: 'shardCount', meaning: 'shards the outbox is split into (producers use the same number)' },
  {
    variable: 'PREVIOUS_SHARD_COUNT',
    key: 'previousShardCount',
    meaning:
      'while resharding: the count producers used before; the relay drains both counts’ shards and delivers each key’s old-count events first ([deploy](docs/deploy.md#resharding))',
  },
  {
    variable: 'SHARD_INDEX',
    key: 'shardIndex',
    accepts: '0 – `SHARD_COUNT` − 1',
    meaning: 'pins the deployment to this one shard; unset, each run drains every shard whose lease it can take',
  },
  {
    variable: 'SHARDS_PER_RUN',
    show: (config) => `\`${config.shardsPerRun}\`: \`SHARD_COUNT\`, at most \`MAX_IN_FLIGHT_BYTES\` / \`MAX_PAYLOAD_BYTES\``,
    accepts: '1 – 64',
    meaning: 'shard leases one run takes and delivers side by side, sharing its concurrency and memory; the rest go to other instances',
  },
  { variable: 'BATCH_SIZE', key: 'batchSize', meaning: 'events read per Firestore page (fewer when memory is short)' },
  { variable: 'DELIVERY_CONCURRENCY', key: 'deliveryConcurrency', meaning: 'POSTs in flight at once; one at a time per `orderingKey`' },
  {
    variable: 'POST_TIMEOUT_MS',
    key: 'postTimeoutMs',
    meaning: 'bound on one POST, connection to status line (a 2xx acknowledges; its body is not awaited)',
  },
  {
    variable: 'ROUTER_MAX_RPS',
    key: 'routerMaxRps',
    meaning:
      'POSTs per second of the whole deployment at most, each shard an equal part; a 429 or 503 with `Retry-After` pauses the instance’s POSTs; `0`: no cap',
  },
  {
    variable: 'ROUTER_SOCKET_IDLE_MS',
    key: 'routerSocketIdleMs',
    meaning: 'a keep-alive connection idle this long is closed, not reused; keep it below any proxy’s or NAT’s',
  },
  { variable: 'POST_RETRIES', key: 'postRetries', meaning: 'retries of one event within a run after a transient failure' },
  { variable: 'RETRY_MIN_DELAY_MS', key: 'retryMinDelayMs', meaning: 'first wait between those retries (doubling, jittered)' },
  {
    variable: 'RETRY_MAX_DELAY_MS',
    key: 'retryMaxDelayMs',
    meaning: 'longest wait within a run; a longer `Retry-After` leaves the event to a later run',
  },
  { variable: 'MAX_ATTEMPTS', key: 'maxAttempts', meaning: 'failed attempts charged to an event before it is dead-lettered' },
  {
    variable: 'REDELIVERY_MIN_DELAY_MS',
    key: 'redeliveryMinDelayMs',
    meaning: 'wait after an event’s first failed attempt (doubling, jittered); `0` with the max: at once',
  },
  { variable: 'REDELIVERY_MAX_DELAY_MS', key: 'redeliveryMaxDelayMs', meaning: 'longest wait between two attempts of one event' },
  {
    variable: 'BREAKER_THRESHOLD',
    key: 'breakerThreshold',
    meaning: 'distinct events failing in a row that mean the router, not the events, is failing',
  },
  {
    variable: 'KEY_AFTER_DEAD_LETTER',
    show: (config) => (config.parkKeyOnDeadLetter ? 'park' : 'continue'),
    accepts: '`park`, `continue`',
    meaning: '`park`: later events of a dead letter’s key wait for its redrive or release',
  },
  { variable: 'MAX_REDRIVES', key: 'maxRedrives', meaning: 'redrives allowed per event (`outbox-ops redrive`), so redrive loops end' },
  { variable: 'RUN_BUDGET_MS', key: 'runBudgetMs', meaning: 'after this long a run starts no new POSTs and answers with `hasMore`' },
  {
    variable: 'FOLLOW_MS',
    key: 'followMs',
    meaning: 'after draining, follow new events this long (docs/follow-mode.md); at most `RUN_BUDGET_MS` − 5 s',
  },
  { variable: 'FIRESTORE_TIMEOUT_MS', key: 'firestoreTimeoutMs', meaning: 'bound on each Firestore call of a run' },
  {
    variable: 'LEASE_TTL_MS',
    key: 'leaseTtlMs',
    meaning: 'run lease expiry, renewed every third of it; at least 3 × `FIRESTORE_TIMEOUT_MS`',
  },
  { variable: 'SHUTDOWN_TIMEOUT_MS', key: 'shutdownTimeoutMs', meaning: 'from SIGTERM to the run’s answer; below Cloud Run’s 10 s' },
  { variable: 'CHECKPOINT_SIZE', key: 'checkpointSize', meaning: 'outcomes recorded per Firestore commit while the run goes on' },
  {
    variable: 'MAX_IN_FLIGHT_BYTES',
    key: 'maxInFlightBytes',
    meaning: 'JSON bytes of the events a run holds at once; at least `MAX_PAYLOAD_BYTES`',
  },
  { variable: 'MAX_PAYLOAD_BYTES', key: 'maxPayloadBytes', meaning: 'events whose JSON `data` is larger are dead-lettered' },
  {
    variable: 'LOG_LEVEL',
    key: 'logLevel',
    accepts: '`DEBUG`, `INFO`, `WARNING`, `ERROR`',
    meaning: 'least severe entry written; `DEBUG` logs every delivered event',
  },
  {
    variable: 'OTEL_EXPORTER_OTLP_ENDPOINT',
    key: 'otlpEndpoint',
    accepts: 'http(s) URL',
    meaning: 'OTLP/HTTP endpoint for spans and metrics ([observability](docs/observability.md)); unset: off',
  },
];

/** The variables parseConfig reads, found by watching it read each context's environment. */
export function variablesRead(parseConfig: Product['parseConfig']): Map<string, Readonly<Env>> {
  const read = new Map<string, Readonly<Env>>();
  for (const context of CONTEXTS) {
    const watched = new Proxy(context, {
      get(target, property, receiver) {
        if (typeof property === 'string' && !read.has(property)) read.set(property, context);
        return Reflect.get(target, property, receiver) as unknown;
      },
    });
    parseConfig(watched);
  }
  return read;
}

/**
 * `read.integer('NAME', default, min, max)` in src/config.ts: the range each integer variable accepts, when its
 * bounds are numbers (a bound that depends on another variable is for the setting's `accepts` to say).
 */
export function integerRanges(configSource: string): Map<string, { readonly min: number; readonly max: number }> {
  const ranges = new Map<string, { min: number; max: number }>();
  for (const match of configSource.matchAll(/read\.integer\('([A-Z_]+)',\s*[^,]+,\s*([^,]+),\s*([^)]+)\)/g)) {
    const [min, max] = [arithmetic(match[2] as string), arithmetic(match[3] as string)];
    if (min !== undefined && max !== undefined) ranges.set(match[1] as string, { min, max });
  }
  return ranges;
}

/** `7 * 86_400_000` → 604800000: the only arithmetic the bounds use; undefined for anything else. */
function arithmetic(expression: string): number | undefined {
  if (!/^[\d_ *]+$/.test(expression.trim())) return undefined;
  return expression.split('*').reduce((result, factor) => result * Number(factor.trim().replaceAll('_', '')), 1);
}

/**
 * The environment value of a setting's default, with its unit for a person: what the code does when the
 * variable is unset in the environment that reads it; `— (required)` when it then refuses to start.
 */
function defaultCell(setting: Setting, product: Product, context: Readonly<Env>): string {
  const env: Env = { ...context };
  delete env[setting.variable];
  let config: Readonly<Config>;
  try {
    config = product.parseConfig(env);
  } catch (error) {
    if ((error as { variable?: unknown }).variable === setting.variable) return '— (required)';
    throw error;
  }
  if (setting.show !== undefined) {
    const shown = setting.show(config);
    return shown.startsWith('`') ? shown : code(shown);
  }
  const value = setting.key === undefined ? undefined : config[setting.key];
  if (value === undefined) return '—';
  if (typeof value !== 'string' && typeof value !== 'number') throw new Error(`${setting.variable}: give it a show() for ${typeof value}`);
  if (typeof value === 'number' && setting.variable.endsWith('_MS') && value > 0) return `${code(value)} (${duration(value)})`;
  if (typeof value === 'number' && setting.variable.endsWith('_BYTES')) return `${code(value)} (${bytes(value)})`;
  return code(value);
}

function acceptsCell(setting: Setting, ranges: ReturnType<typeof integerRanges>): string {
  const range = ranges.get(setting.variable);
  if (range !== undefined) return `${range.min} – ${range.max}`;
  if (setting.accepts === undefined)
    throw new Error(`${setting.variable}: src/config.ts gives no numeric range for it; say what it accepts`);
  return setting.accepts;
}

/**
 * The configuration table: every variable parseConfig reads, its default and what it accepts. Throws when the
 * list above and the code disagree, so a new variable cannot be left out of the README.
 */
export function settingsTable(product: Product, only?: readonly string[]): string {
  const read = variablesRead(product.parseConfig);
  const listed = SETTINGS.map((setting) => setting.variable);
  const unlisted = [...read.keys()].filter((variable) => !listed.includes(variable));
  const unread = listed.filter((variable) => !read.has(variable));
  if (unlisted.length > 0 || unread.length > 0) {
    throw new Error(
      `scripts/docs/settings.ts is out of step with parseConfig: unlisted ${unlisted.join(', ') || '-'}; not read ${unread.join(', ') || '-'}`,
    );
  }
  const ranges = integerRanges(product.files['src/config.ts']);
  const chosen = only === undefined ? SETTINGS : only.map((variable) => setting(variable));
  const rows = chosen.map((s) => [
    code(s.variable),
    defaultCell(s, product, read.get(s.variable) ?? {}),
    acceptsCell(s, ranges),
    s.meaning,
  ]);
  return table(['Variable', 'Default', 'Accepts', 'Meaning'], rows);
}

function setting(variable: string): Setting {
  const found = SETTINGS.find((s) => s.variable === variable);
  if (found === undefined) throw new Error(`no setting ${variable}`);
  return found;
}
