import type { Firestore } from '@google-cloud/firestore';
import { createFirestore } from '../dist/adapters/firestore-client.js';
import { startFirestoreEmulator, type RunningEmulator } from '../build/tools/local/firestore-emulator.js';

/** The emulator the bench talks to: started here, or the one FIRESTORE_EMULATOR_HOST names. */
export interface EmulatorSession {
  /** The value for FIRESTORE_EMULATOR_HOST. */
  readonly host: string;
  readonly projectId: string;
  /** A client for seeding and checking, separate from the clients the relay under test uses. */
  readonly firestore: Firestore;
  /** True when the bench started the emulator, so it may wipe it between measurements. */
  readonly owned: boolean;
  /** The emulator's process group when the bench started it, so its CPU time can be read. */
  readonly processGroup: number | undefined;
  readonly startMs: number;
  /** Deletes every document, so each measurement starts with an emulator holding only its own data. */
  reset(): Promise<void>;
  /** Closes the client and, when the bench started the emulator, stops its whole process group. */
  close(): Promise<void>;
}

/** Reuses FIRESTORE_EMULATOR_HOST when set (and then never wipes it), otherwise starts a fresh emulator. */
export async function openEmulatorSession(env: Readonly<Record<string, string | undefined>>): Promise<EmulatorSession> {
  const projectId = env.GOOGLE_CLOUD_PROJECT ?? 'demo-outbound-bench';
  const startedAt = performance.now();
  const external = env.FIRESTORE_EMULATOR_HOST;
  let emulator: RunningEmulator | undefined;
  if (external === undefined || external === '') emulator = await startFirestoreEmulator();
  const host = emulator?.host ?? external ?? '';
  const startMs = performance.now() - startedAt;
  const firestore = createFirestore({ projectId, firestoreEmulatorHost: host });
  return {
    host,
    projectId,
    firestore,
    owned: emulator !== undefined,
    processGroup: emulator?.pid,
    startMs,
    reset: async () => {
      if (emulator === undefined) return;
      const url = `http://${host}/emulator/v1/projects/${projectId}/databases/(default)/documents`;
      const response = await fetch(url, { method: 'DELETE', signal: AbortSignal.timeout(60_000) });
      if (!response.ok) throw new Error(`wiping the emulator failed: HTTP ${response.status}`);
    },
    close: async () => {
      await firestore.terminate();
      await emulator?.stop();
    },
  };
}
