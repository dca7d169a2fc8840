import { deployFileProblems } from '../../../src/settings/deploy-file.js';

/*
 * deploy/function.yaml checked against the settings' declaration before the build deploys it (cloudbuild.yaml,
 * step function-config; test/unit/deploy/deploy-config.test.ts runs that step).
 */

const ROUTER_URL = 'https://router.example.com/events';

describe('Function: deployFileProblems', () => {
  it('accepts the declared variables the deploy sets under env, Node’s flags and the OpenTelemetry SDK’s own', () => {
    const file = {
      env: {
        ROUTER_URL,
        ROUTER_AUTH: 'hmac',
        MAX_ATTEMPTS: '12',
        NODE_OPTIONS: '--max-old-space-size=256',
        OTEL_SERVICE_NAME: 'relay',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
      },
      secrets: { ROUTER_HMAC_SECRET: 'outbound-router-hmac:3' },
    };

    expect(deployFileProblems(file)).toEqual([]);
    expect(deployFileProblems({ env: { ROUTER_URL }, secrets: {} })).toEqual([]);
    expect(deployFileProblems({ env: { ROUTER_URL }, secrets: null })).toEqual([]);
  });

  it.each([
    ['a misspelt variable, which the relay would ignore', { env: { ROUTER_URL, MAX_ATEMPTS: '5' } }, 'MAX_ATEMPTS is not a setting'],
    ['a removed variable', { env: { ROUTER_URL, LEASE_TTL_MS: '6000' } }, 'LEASE_TTL_MS is no longer read'],
    ['the HMAC key as plain text', { env: { ROUTER_URL, ROUTER_HMAC_SECRET: 'whsec_x' } }, 'ROUTER_HMAC_SECRET is a secret'],
    ['SHARD_INDEX, which each build passes', { env: { ROUTER_URL, SHARD_INDEX: '1' } }, 'SHARD_INDEX differs per shard'],
    ['the emulator', { env: { ROUTER_URL, FIRESTORE_EMULATOR_HOST: '127.0.0.1:8080' } }, 'FIRESTORE_EMULATOR_HOST is for local runs'],
    ['a number that is not text', { env: { ROUTER_URL, MAX_ATTEMPTS: 5 } }, "MAX_ATTEMPTS must be text (quote it: MAX_ATTEMPTS: '5')"],
    ['a lower-case name', { env: { ROUTER_URL, router_url: ROUTER_URL } }, 'router_url is not a variable name'],
    ['a secret the relay does not read', { env: { ROUTER_URL }, secrets: { API_KEY: 'key:1' } }, 'API_KEY is not a secret'],
    ['a secret without a version', { env: { ROUTER_URL }, secrets: { ROUTER_HMAC_SECRET: 'hmac' } }, 'must be SECRET:VERSION'],
    ['a key other than env and secrets', { env: { ROUTER_URL }, region: 'europe-west1' }, 'sets region'],
    ['env as a list', { env: ['ROUTER_URL'] }, 'env must be a map'],
  ])('refuses %s, naming it', (_case, file, problem) => {
    expect(deployFileProblems(file).join('\n')).toContain(problem);
  });
});
