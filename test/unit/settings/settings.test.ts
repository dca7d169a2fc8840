import { parseConfig } from '../../../src/config.js';
import { ConfigError } from '../../../src/errors.js';
import { REMOVED_SETTINGS } from '../../../src/settings/removed.js';
import { PASSED_THROUGH, SETTINGS } from '../../../src/settings/settings.js';

/*
 * The one declaration of the relay's variables (src/settings/settings.ts): each entry must be usable as it
 * stands by the parser, the README's table and the deploy check, so a new entry needs nothing else.
 */

const declared = Object.values(SETTINGS);
const ROUTER_URL = 'https://router.example.com/events';
/** The environments that read each setting: the router-auth ones only with their ROUTER_AUTH. */
const CONTEXT: Readonly<Record<string, Record<string, string>>> = {
  ROUTER_AUDIENCE: { ROUTER_URL, ROUTER_AUTH: 'google-id-token' },
  ROUTER_HMAC_SECRET: { ROUTER_URL, ROUTER_AUTH: 'hmac', ROUTER_HMAC_SECRET: `whsec_${Buffer.alloc(24, 1).toString('base64')}` },
};

describe('Settings: the declaration', () => {
  it('declares each variable once, named as an environment variable, with a meaning and what it accepts', () => {
    const names = declared.map((setting) => setting.variable);

    expect(new Set(names).size).toBe(names.length);
    expect(names.filter((name) => !/^[A-Z][A-Z0-9_]*$/.test(name))).toEqual([]);
    expect(declared.filter((setting) => setting.meaning.trim() === '' || setting.accepts.trim() === '')).toEqual([]);
  });

  it('declares no variable that was removed, and passes through none it declares', () => {
    const names = new Set(declared.map((setting) => setting.variable));

    expect(REMOVED_SETTINGS.filter((removed) => names.has(removed.variable))).toEqual([]);
    expect(PASSED_THROUGH.filter((passed) => passed.pattern.test('NODE_OPTIONS') && names.has('NODE_OPTIONS'))).toEqual([]);
  });

  it.each(declared.filter((setting) => setting.fallback !== undefined).map((setting) => [setting.variable, setting] as const))(
    '%s accepts its own default, written out as text',
    (variable, setting) => {
      expect(setting.read({ [variable]: String(setting.fallback) })).toEqual(setting.fallback);
      expect(setting.read({})).toEqual(setting.fallback);
    },
  );

  it.each(declared.filter((setting) => setting.required).map((setting) => [setting.variable] as const))(
    'refuses to start without the required %s, naming it',
    (variable) => {
      const env: Record<string, string> = { ROUTER_URL, ...CONTEXT[variable] };
      delete env[variable];

      expect(() => parseConfig(env)).toThrow(ConfigError);
      expect(() => parseConfig(env)).toThrow(new RegExp(`\\b${variable} is required`));
    },
  );

  it('reads every declared variable into the configuration: each changes it when set to a value other than its default', () => {
    const samples: Record<string, string> = {
      ROUTER_URL: 'https://other.example.com/events',
      ROUTER_AUTH: 'google-id-token',
      ROUTER_AUDIENCE: 'https://audience.example.com',
      ROUTER_HMAC_SECRET: `whsec_${Buffer.alloc(24, 3).toString('base64')}`,
      EVENT_SOURCE: '/shop/orders',
      GOOGLE_CLOUD_PROJECT: 'my-project',
      FIRESTORE_EMULATOR_HOST: '127.0.0.1:8080',
      FIRESTORE_DATABASE: 'orders-eu',
      OUTBOX_COLLECTION: 'orders_outbox',
      SHARD_COUNT: '4',
      SHARD_INDEX: '2',
      PREVIOUS_SHARD_COUNT: '2',
      SHARDS_PER_RUN: '2',
      KEY_AFTER_DEAD_LETTER: 'continue',
      LOG_LEVEL: 'DEBUG',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
      FOLLOW_MS: '1000',
      RETRY_MIN_DELAY_MS: '100',
      REDELIVERY_MIN_DELAY_MS: '1000',
    };
    const ignored: string[] = [];
    for (const setting of declared) {
      const context: Record<string, string> = { ROUTER_URL, ...CONTEXT[setting.variable] };
      const value =
        samples[setting.variable] ?? (typeof setting.fallback === 'number' ? String(Math.max(1, setting.fallback - 1)) : undefined);
      if (value === undefined) throw new Error(`give ${setting.variable} a sample value`);
      const unset = JSON.stringify(parseConfig(context));
      // Push needs one shard per deployment: its sample pins one.
      const companions: Record<string, string> = setting.variable === 'PUSH_LINGER_MS' ? { SHARD_INDEX: '0' } : {};
      const set = JSON.stringify(parseConfig({ ...context, SHARD_COUNT: '4', ...companions, [setting.variable]: value }));
      const withShards = JSON.stringify(parseConfig({ ...context, SHARD_COUNT: '4', ...companions }));
      if (set === unset || (setting.variable !== 'SHARD_COUNT' && set === withShards)) ignored.push(setting.variable);
    }

    expect(ignored).toEqual([]);
  });
});
