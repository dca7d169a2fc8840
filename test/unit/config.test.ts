import {
  DEFAULT_BATCH_SIZE,
  DEFAULT_OUTBOX_COLLECTION,
  DEFAULT_TELEMETRY_FLUSH_TIMEOUT_MS,
  longestRunMs,
  parseConfig,
  parseStoreConfig,
} from '../../src/config.js';
import { ConfigError, RemovedSettingError } from '../../src/errors.js';

const VALID = { ROUTER_URL: 'https://router.example.com/events' };

describe('Function: parseConfig', () => {
  it('applies the documented defaults when only ROUTER_URL is set', () => {
    const config = parseConfig(VALID);

    expect(config).toMatchObject({
      routerUrl: VALID.ROUTER_URL,
      outboxCollection: DEFAULT_OUTBOX_COLLECTION,
      batchSize: DEFAULT_BATCH_SIZE,
      shardIndex: undefined,
      shardsPerRun: 1,
    });
  });

  it('drains every shard by default, as many per run as MAX_IN_FLIGHT_BYTES has room for events of MAX_PAYLOAD_BYTES', () => {
    expect(parseConfig({ ...VALID, SHARD_COUNT: '8' })).toMatchObject({ shardIndex: undefined, shardsPerRun: 8 });
    expect(parseConfig({ ...VALID, SHARD_COUNT: '64' })).toMatchObject({ shardsPerRun: 32 });
    expect(parseConfig({ ...VALID, SHARD_COUNT: '8', SHARD_INDEX: '3' })).toMatchObject({ shardIndex: 3 });
    expect(parseConfig({ ...VALID, SHARD_COUNT: '8', SHARDS_PER_RUN: '2' })).toMatchObject({ shardsPerRun: 2 });
    // Resharding 4 → 2: the shards of the previous count are drained too.
    expect(parseConfig({ ...VALID, SHARD_COUNT: '2', PREVIOUS_SHARD_COUNT: '4' })).toMatchObject({
      previousShardCount: 4,
      shardsPerRun: 4,
    });
    expect(parseConfig({ ...VALID, SHARD_COUNT: '2', PREVIOUS_SHARD_COUNT: '4', SHARD_INDEX: '3' })).toMatchObject({ shardIndex: 3 });
  });

  it('returns a frozen object', () => {
    expect(Object.isFrozen(parseConfig(VALID))).toBe(true);
  });

  it('reads every number from its variable', () => {
    const config = parseConfig({ ...VALID, BATCH_SIZE: '50', DELIVERY_CONCURRENCY: '4', POST_TIMEOUT_MS: '1500', MAX_ATTEMPTS: '3' });

    expect(config).toMatchObject({ batchSize: 50, deliveryConcurrency: 4, postTimeoutMs: 1500, maxAttempts: 3 });
  });

  it.each([
    [{}, 'ROUTER_URL', 'is required'],
    [{ ROUTER_URL: 'not a url' }, 'ROUTER_URL', 'http:// or https://'],
    [{ ROUTER_URL: 'https://user:pass@router.example.com/events' }, 'ROUTER_URL', 'use ROUTER_AUTH'],
    [{ ROUTER_URL: 'https://token@router.example.com/events' }, 'ROUTER_URL', 'must not carry credentials'],
    [{ ...VALID, ROUTER_SOCKET_IDLE_MS: '50' }, 'ROUTER_SOCKET_IDLE_MS', 'from 100 to 600000'],
    [{ ...VALID, BATCH_SIZE: '501' }, 'BATCH_SIZE', 'from 1 to 500'],
    [{ ...VALID, BATCH_SIZE: '2.5' }, 'BATCH_SIZE', 'integer'],
    [{ ...VALID, POST_RETRIES: '-1' }, 'POST_RETRIES', 'from 0 to 20'],
    [{ ...VALID, OUTBOX_COLLECTION: 'a/b' }, 'OUTBOX_COLLECTION', 'collection id'],
    [{ ...VALID, LOG_LEVEL: 'LOUD' }, 'LOG_LEVEL', 'one of'],
    [{ ...VALID, SHARD_COUNT: '4', SHARD_INDEX: '4' }, 'SHARD_INDEX', 'from 0 to 3'],
    [{ ...VALID, SHARDS_PER_RUN: '0' }, 'SHARDS_PER_RUN', 'from 1 to 64'],
    [{ ...VALID, SHARD_COUNT: '4', PREVIOUS_SHARD_COUNT: '4' }, 'PREVIOUS_SHARD_COUNT', 'must differ from SHARD_COUNT (4)'],
    [{ ...VALID, SHARD_COUNT: '2', PREVIOUS_SHARD_COUNT: '4', SHARD_INDEX: '4' }, 'SHARD_INDEX', 'from 0 to 3'],
    [
      { ...VALID, SHARD_COUNT: '8', SHARDS_PER_RUN: '8', MAX_IN_FLIGHT_BYTES: '2097152' },
      'SHARDS_PER_RUN',
      'at most MAX_IN_FLIGHT_BYTES / MAX_PAYLOAD_BYTES (4)',
    ],
    [{ ...VALID, EVENT_SOURCE: 'not a uri' }, 'EVENT_SOURCE', 'a URI reference'],
    [{ ...VALID, FOLLOW_MS: '-1' }, 'FOLLOW_MS', 'from 0 to'],
    [{ ...VALID, RUN_BUDGET_MS: '60000', FOLLOW_MS: '58000' }, 'FOLLOW_MS', 'at most RUN_BUDGET_MS - 5000 (55000 ms)'],
    [{ ...VALID, PUSH_LINGER_MS: '60001' }, 'PUSH_LINGER_MS', 'from 0 to 60000'],
    [{ ...VALID, PUSH_LINGER_MS: '2000', FOLLOW_MS: '1000' }, 'PUSH_LINGER_MS', 'choose push on commit or follow mode'],
    [{ ...VALID, RUN_BUDGET_MS: '6000', PUSH_LINGER_MS: '2000' }, 'PUSH_LINGER_MS', 'at most RUN_BUDGET_MS - 5000 (1000 ms)'],
    [
      { ...VALID, REDELIVERY_MIN_DELAY_MS: '5000', REDELIVERY_MAX_DELAY_MS: '1000' },
      'REDELIVERY_MAX_DELAY_MS',
      'at least REDELIVERY_MIN_DELAY_MS',
    ],
    [{ ...VALID, MAX_IN_FLIGHT_BYTES: '4096' }, 'MAX_IN_FLIGHT_BYTES', 'at least MAX_PAYLOAD_BYTES'],
    [{ ...VALID, SHARD_COUNT: '64', SHARD_INDEX: '64' }, 'SHARD_INDEX', 'from 0 to 63'],
    [{ ...VALID, KEY_AFTER_DEAD_LETTER: 'skip' }, 'KEY_AFTER_DEAD_LETTER', 'park or continue'],
    [{ ...VALID, BREAKER_THRESHOLD: '0' }, 'BREAKER_THRESHOLD', 'from 1 to 1000'],
    [{ ...VALID, ROUTER_AUTH: 'basic' }, 'ROUTER_AUTH', 'one of none, google-id-token, hmac'],
    [{ ...VALID, ROUTER_AUTH: 'hmac' }, 'ROUTER_HMAC_SECRET', 'is required when ROUTER_AUTH=hmac'],
    [{ ...VALID, ROUTER_AUTH: 'hmac', ROUTER_HMAC_SECRET: 'hunter2' }, 'ROUTER_HMAC_SECRET', 'Standard Webhooks secret'],
    [{ ...VALID, ROUTER_AUTH: 'google-id-token', ROUTER_AUDIENCE: 'router' }, 'ROUTER_AUDIENCE', 'URL'],
  ])('rejects %j naming %s', (env, variable, problem) => {
    let thrown: unknown;
    try {
      parseConfig(env);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).variable).toBe(variable);
    expect((thrown as ConfigError).message).toContain(problem);
  });

  it('reads the outage settings: breaker, redelivery backoff, parking, deadlines', () => {
    const config = parseConfig({
      ...VALID,
      BREAKER_THRESHOLD: '8',
      REDELIVERY_MIN_DELAY_MS: '0',
      REDELIVERY_MAX_DELAY_MS: '0',
      KEY_AFTER_DEAD_LETTER: 'continue',
      FIRESTORE_TIMEOUT_MS: '2000',
    });

    expect(config).toMatchObject({
      breakerThreshold: 8,
      redeliveryMinDelayMs: 0,
      redeliveryMaxDelayMs: 0,
      parkKeyOnDeadLetter: false,
      firestoreTimeoutMs: 2000,
    });
  });

  it('derives the values that follow from others: the lease from FIRESTORE_TIMEOUT_MS, checkpoints from BATCH_SIZE', () => {
    expect(parseConfig({ ...VALID, FIRESTORE_TIMEOUT_MS: '2000', BATCH_SIZE: '50' })).toMatchObject({
      leaseTtlMs: 6000,
      checkpointSize: 50,
    });
    expect(parseConfig(VALID)).toMatchObject({ leaseTtlMs: 30_000, checkpointSize: 200, shutdownTimeoutMs: 8_000 });
  });

  it.each([
    ['outbound_events', 'outbound_event_runs', 'outbound_event_leases', 'outbound_event_parked_keys'],
    ['orders_outbox', 'orders_outbox_runs', 'orders_outbox_leases', 'orders_outbox_parked_keys'],
    ['payments', 'payment_runs', 'payment_leases', 'payment_parked_keys'],
  ])('names the runs, leases and parked keys of outbox %s after it', (outbox, audit, leases, parked) => {
    const expected = { outboxCollection: outbox, auditCollection: audit, leaseCollection: leases, parkedKeysCollection: parked };

    expect(parseConfig({ ...VALID, OUTBOX_COLLECTION: outbox })).toMatchObject(expected);
    expect(parseStoreConfig({ OUTBOX_COLLECTION: outbox })).toMatchObject(expected);
  });

  it.each([
    ['LEASE_TTL_MS', '6000', 'FIRESTORE_TIMEOUT_MS'],
    ['CHECKPOINT_SIZE', '10', 'BATCH_SIZE'],
    ['SHUTDOWN_TIMEOUT_MS', '5000', 'SIGKILL'],
    ['AUDIT_COLLECTION', 'runs', 'OUTBOX_COLLECTION'],
    ['LEASE_COLLECTION', 'leases', 'OUTBOX_COLLECTION'],
    ['PARKED_KEYS_COLLECTION', 'parked', 'OUTBOX_COLLECTION'],
  ])('refuses to start when the removed %s is still set, naming it and what replaced it', (variable, value, replacement) => {
    let thrown: unknown;
    try {
      parseConfig({ ...VALID, [variable]: value });
    } catch (error) {
      thrown = error;
    }

    expect(thrown).toBeInstanceOf(RemovedSettingError);
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).variable).toBe(variable);
    expect((thrown as ConfigError).message).toContain(`${variable} is no longer read`);
    expect((thrown as RemovedSettingError).replacedBy).toContain(replacement);
  });

  it('refuses the removed collection variables in the tools too (producer API, outbox-ops), and lets them ignore the relay-only ones', () => {
    expect(() => parseStoreConfig({ PARKED_KEYS_COLLECTION: 'parked' })).toThrow(RemovedSettingError);
    expect(parseStoreConfig({ LEASE_TTL_MS: '6000' }).outboxCollection).toBe(DEFAULT_OUTBOX_COLLECTION);
  });

  it('turns telemetry on only when OTEL_EXPORTER_OTLP_ENDPOINT is set, to an http(s) URL', () => {
    expect(parseConfig(VALID).otlpEndpoint).toBeUndefined();
    expect(parseConfig({ ...VALID, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }).otlpEndpoint).toBe('http://127.0.0.1:4318');
    expect(() => parseConfig({ ...VALID, OTEL_EXPORTER_OTLP_ENDPOINT: 'grpc://collector:4317' })).toThrow(/OTEL_EXPORTER_OTLP_ENDPOINT/);
  });

  it('adds the telemetry flush to the longest run only when telemetry is on', () => {
    const off = parseConfig(VALID);
    const on = parseConfig({ ...VALID, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' });

    expect(longestRunMs(on) - longestRunMs(off)).toBe(DEFAULT_TELEMETRY_FLUSH_TIMEOUT_MS);
  });

  it.each([
    ['https://router-xyz.a.run.app/events', 'https://router-xyz.a.run.app'],
    ['https://router-xyz.a.run.app/', 'https://router-xyz.a.run.app'],
    ['https://router.example.com:8443/v1/events?tenant=a', 'https://router.example.com:8443'],
    ['http://127.0.0.1:8080/events', 'http://127.0.0.1:8080'],
  ])(
    'asks for ID tokens for the router’s origin, as Cloud Run checks them, when ROUTER_URL is %s and ROUTER_AUDIENCE unset',
    (url, origin) => {
      expect(parseConfig({ ROUTER_URL: url, ROUTER_AUTH: 'google-id-token' }).routerAuth).toEqual({
        kind: 'google-id-token',
        audience: origin,
      });
    },
  );

  it('asks for ID tokens for ROUTER_AUDIENCE, path included, when it is set (a custom audience)', () => {
    const config = parseConfig({ ...VALID, ROUTER_AUTH: 'google-id-token', ROUTER_AUDIENCE: 'https://events.example.com/relay' });

    expect(config.routerAuth).toEqual({ kind: 'google-id-token', audience: 'https://events.example.com/relay' });
  });

  it('reads the outbox from the (default) database unless FIRESTORE_DATABASE names another', () => {
    expect(parseConfig(VALID).firestoreDatabase).toBe('(default)');
    expect(parseConfig({ ...VALID, FIRESTORE_DATABASE: 'orders-eu' }).firestoreDatabase).toBe('orders-eu');
  });

  it.each(['Orders', 'db', 'orders_eu', '-orders', 'orders-', '(other)'])('refuses FIRESTORE_DATABASE=%s, naming the variable', (id) => {
    expect(() => parseConfig({ ...VALID, FIRESTORE_DATABASE: id })).toThrow(/FIRESTORE_DATABASE/);
  });

  it('never echoes a secret', () => {
    expect(() => parseConfig({ ...VALID, ROUTER_AUTH: 'hmac', ROUTER_HMAC_SECRET: 'whsec_short-s3cret' })).toThrow(/^(?!.*s3cret)/s);
  });

  it('refuses ROUTER_URL with credentials before deriving the ID-token audience from it, never echoing them', () => {
    expect(() => parseConfig({ ROUTER_URL: 'https://user:s3cret@router.example.com/', ROUTER_AUTH: 'google-id-token' })).toThrow(
      /^(?!.*s3cret).*ROUTER_URL must not carry credentials/s,
    );
  });

  it('closes idle router sockets after ROUTER_SOCKET_IDLE_MS, 4 s unless set', () => {
    expect(parseConfig(VALID).routerSocketIdleMs).toBe(4_000);
    expect(parseConfig({ ...VALID, ROUTER_SOCKET_IDLE_MS: '1500' }).routerSocketIdleMs).toBe(1_500);
  });

  it('never echoes a text value, which may hold credentials', () => {
    expect(() => parseConfig({ ROUTER_URL: 'ftp://user:s3cret@router' })).toThrow(/^(?!.*s3cret)/s);
  });
});
