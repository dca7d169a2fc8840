import { CI_HISTORIES, CI_SEED, playShare } from './histories.js';

// Half the CI tier's histories (the other half is histories-2.test.ts, so two CPUs share them).
describe('the relay under the deterministic simulation', () => {
  it(`keeps every promise over ${Math.ceil(CI_HISTORIES / 2)} seeded histories of 200 steps (seed ${CI_SEED + 1})`, async () => {
    await playShare(1, 0.5);
  }, 600_000);
});
