import { ConfigError, type Severity } from 'outbound-event-handler';

/** The example router's settings (its own deployment, its own entry point), read once like the relay's. */
export interface ExampleRouterConfig {
  readonly projectId: string | undefined;
  readonly firestoreEmulatorHost: string | undefined;
  /** INBOX_COLLECTION: the consumer's inbox records (put a TTL policy on `expireAt`). */
  readonly inboxCollection: string;
  /** INBOX_CONSUMER: this consumer's name in the inbox. */
  readonly consumer: string;
  /** LEDGER_COLLECTION: the example's accounts. */
  readonly ledgerCollection: string;
  /** LOG_LEVEL: the least severe entry written. */
  readonly logLevel: Severity;
}

export const DEFAULT_INBOX_COLLECTION = 'inbox';
export const DEFAULT_INBOX_CONSUMER = 'example-router';
export const DEFAULT_LEDGER_COLLECTION = 'example_ledger';

type Env = Readonly<Record<string, string | undefined>>;

const COLLECTION_ID = [/^[A-Za-z0-9_-]{1,100}$/, 'a collection id (1-100 letters, digits, _ or -)'] as const;
const CONSUMER = [/^[A-Za-z0-9_.-]{1,100}$/, '1-100 letters, digits, _, . or -'] as const;
const SEVERITIES: readonly Severity[] = ['DEBUG', 'INFO', 'WARNING', 'ERROR'];

/** Validates the example router's environment; a bad value throws the package's ConfigError naming the variable. */
export function parseExampleRouterConfig(env: Env = process.env): Readonly<ExampleRouterConfig> {
  const raw = (variable: string): string | undefined => env[variable]?.trim() || undefined;
  const text = (variable: string, [pattern, expected]: readonly [RegExp, string], fallback: string): string => {
    const value = raw(variable) ?? fallback;
    // Values are not echoed, as the relay does not echo them.
    if (!pattern.test(value)) throw new ConfigError(variable, `must be ${expected}`);
    return value;
  };
  const logLevel = SEVERITIES.find((level) => level === (raw('LOG_LEVEL') ?? 'INFO'));
  if (logLevel === undefined) throw new ConfigError('LOG_LEVEL', `must be one of ${SEVERITIES.join(', ')}`);
  return Object.freeze({
    projectId: raw('GOOGLE_CLOUD_PROJECT'),
    firestoreEmulatorHost: raw('FIRESTORE_EMULATOR_HOST'),
    inboxCollection: text('INBOX_COLLECTION', COLLECTION_ID, DEFAULT_INBOX_COLLECTION),
    consumer: text('INBOX_CONSUMER', CONSUMER, DEFAULT_INBOX_CONSUMER),
    ledgerCollection: text('LEDGER_COLLECTION', COLLECTION_ID, DEFAULT_LEDGER_COLLECTION),
    logLevel,
  });
}
