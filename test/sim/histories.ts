import fc from 'fast-check';
import { DEFAULT_STEPS, simulationProperty } from './simulate.js';

/** Histories the CI tier plays in all (SIM_RUNS), split between its files so each CPU takes a share. */
export const CI_HISTORIES = Number(process.env.SIM_RUNS ?? 2000);
/** The tier's seed: fixed, so CI is repeatable; SIM_SEED explores others (`npm run sim` takes a fresh one each time). */
export const CI_SEED = Number(process.env.SIM_SEED ?? 20_261_207);

/**
 * Plays `share` of the CI histories from the tier's seed plus `part`, and fails with the broken promise, the seed,
 * the path and the shrunk history (`npm run sim -- --seed S --path P` replays it).
 */
export async function playShare(part: number, share: number): Promise<void> {
  await fc.assert(simulationProperty(DEFAULT_STEPS), {
    seed: CI_SEED + part,
    numRuns: Math.ceil(CI_HISTORIES * share),
    endOnFailure: false,
  });
}
