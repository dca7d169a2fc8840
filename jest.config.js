/**
 * Jest runs the TypeScript sources as native ES modules (p-retry and p-limit are ESM-only), in four tiers
 * that scripts/dev.sh runs one after another (`npm test`), or alone (`npm run test:unit` …):
 * - unit: core logic, config, adapters and deploy files; no Java, no emulator, no globalSetup.
 * - emulator: everything that talks to Firestore, on one emulator this tier starts; files run in parallel.
 * - e2e: real processes (`npm start`, the CLI bin, fault injection) on the built dist/ and build/; in band.
 * - sim: the deterministic simulation (test/sim): the real core on simulated ports, thousands of seeded histories.
 */
const shared = {
  testEnvironment: 'node',
  testMatch: ['**/*.test.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: {
    // The examples import the product as a user would; in tests that is its source, as tsconfig.json's paths say.
    '^outbound-event-handler$': '<rootDir>/src/lib.ts',
    '^outbound-event-handler/(.*)$': '<rootDir>/src/$1/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }] },
};

const withEmulator = {
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
};

export default {
  // A global option: jest-circus reads it from the global config only, never from a project's.
  testTimeout: 30000,
  projects: [
    { ...shared, displayName: 'unit', roots: ['<rootDir>/test/unit'] },
    { ...shared, ...withEmulator, displayName: 'emulator', roots: ['<rootDir>/test/emulator'] },
    { ...shared, ...withEmulator, displayName: 'e2e', roots: ['<rootDir>/test/e2e'] },
    { ...shared, displayName: 'sim', roots: ['<rootDir>/test/sim'] },
  ],
};
