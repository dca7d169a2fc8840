import type { RunningEmulator } from '../../tools/local/firestore-emulator.js';

/** Where setup leaves the emulator handle for teardown; both run in Jest's main process. */
export type EmulatorGlobals = typeof globalThis & { __FIRESTORE_EMULATOR__?: RunningEmulator };

type Harness = typeof import('../../tools/local/firestore-emulator.js');

/**
 * Jest loads globalSetup through Node's own module loader, which ignores moduleNameMapper, so the
 * usual `.js` specifier would not resolve here; Node 22.18+ loads the `.ts` source itself (type stripping).
 */
async function loadHarness(): Promise<Harness> {
  const source = new URL('../../tools/local/firestore-emulator.ts', import.meta.url);
  return (await import(source.href)) as Harness;
}

/** Starts one Firestore emulator for the whole run, unless FIRESTORE_EMULATOR_HOST already points at one. */
export default async function globalSetup(): Promise<void> {
  process.env.GOOGLE_CLOUD_PROJECT ??= 'demo-outbound';
  // Loopback only: no Google client in a test may probe the GCE metadata server.
  process.env.METADATA_SERVER_DETECTION = 'none';
  if (process.env.FIRESTORE_EMULATOR_HOST) return;

  const { startFirestoreEmulator, EmulatorUnavailableError } = await loadHarness();
  const startedAt = performance.now();
  let emulator: RunningEmulator;
  try {
    emulator = await startFirestoreEmulator({
      log: process.env.FIRESTORE_EMULATOR_LOG ? (line) => process.stderr.write(`[emulator] ${line}\n`) : undefined,
    });
  } catch (error) {
    if (error instanceof EmulatorUnavailableError) process.stderr.write(`\n${error.message}\n\n`);
    throw error;
  }
  (globalThis as EmulatorGlobals).__FIRESTORE_EMULATOR__ = emulator;
  process.env.FIRESTORE_EMULATOR_HOST = emulator.host;
  const seconds = ((performance.now() - startedAt) / 1000).toFixed(1);
  process.stderr.write(`\nFirestore emulator ready on ${emulator.host} in ${seconds} s\n`);
}
