import type { EmulatorGlobals } from './global-setup.js';

/** Stops the emulator that global-setup started; leaves an externally provided one alone. */
export default async function globalTeardown(): Promise<void> {
  const globals = globalThis as EmulatorGlobals;
  const emulator = globals.__FIRESTORE_EMULATOR__;
  if (!emulator) return;
  delete globals.__FIRESTORE_EMULATOR__;
  await emulator.stop();
}
