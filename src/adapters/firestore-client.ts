import { Firestore } from '@google-cloud/firestore';
import { DEFAULT_FIRESTORE_DATABASE, type Config } from '../config.js';

/**
 * One Firestore client per instance, reused across runs. With FIRESTORE_EMULATOR_HOST set the client itself
 * switches to the emulator (no credentials), so the same code runs locally, in tests and in production.
 * The database is FIRESTORE_DATABASE's (`(default)` unless named). `exactIntegers` reads every integer as a bigint (the relay's client), so data beyond 2^53 is sent unchanged.
 */
export function createFirestore(
  config: Pick<Config, 'projectId' | 'firestoreEmulatorHost'> & Partial<Pick<Config, 'firestoreDatabase'>>,
  options: { readonly exactIntegers?: boolean } = {},
): Firestore {
  const projectId = config.projectId ?? (config.firestoreEmulatorHost === undefined ? undefined : 'demo-outbound');
  const databaseId = config.firestoreDatabase ?? DEFAULT_FIRESTORE_DATABASE;
  return new Firestore({
    ...(projectId === undefined ? {} : { projectId }),
    // FIRESTORE_DATABASE: a named database of the project; the client's own default is `(default)`.
    ...(databaseId === DEFAULT_FIRESTORE_DATABASE ? {} : { databaseId }),
    // With the emulator, naming the universe domain keeps the client from probing the GCE metadata server.
    ...(config.firestoreEmulatorHost === undefined
      ? {}
      : { host: config.firestoreEmulatorHost, ssl: false, universeDomain: 'googleapis.com' }),
    ignoreUndefinedProperties: true,
    ...(options.exactIntegers === true ? { useBigInt: true } : {}),
  });
}
