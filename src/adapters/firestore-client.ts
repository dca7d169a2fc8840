import { Firestore } from '@google-cloud/firestore';
import type { Config } from '../config.js';

/**
 * One Firestore client per instance, reused across runs. With FIRESTORE_EMULATOR_HOST set the client itself
 * switches to the emulator (no credentials), so the same code runs locally, in tests and in production.
 */
export function createFirestore(config: Pick<Config, 'projectId' | 'firestoreEmulatorHost'>): Firestore {
  const projectId = config.projectId ?? (config.firestoreEmulatorHost === undefined ? undefined : 'demo-outbound');
  return new Firestore({
    ...(projectId === undefined ? {} : { projectId }),
    // With the emulator, naming the universe domain keeps the client from probing the GCE metadata server.
    ...(config.firestoreEmulatorHost === undefined
      ? {}
      : { host: config.firestoreEmulatorHost, ssl: false, universeDomain: 'googleapis.com' }),
    ignoreUndefinedProperties: true,
  });
}
