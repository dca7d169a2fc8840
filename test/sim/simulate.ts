import fc from 'fast-check';
import type { Logger } from '../../src/core/ports.js';
import { BrokenPromise } from './invariants.js';
import { KNOWN_OPEN } from './known-open.js';
import type { SimShards } from './world/sim-shards.js';
import { PLAIN_PROGRESS_BELOW, World, type KnownOpen, type Step, type WorldConfig } from './world/world.js';

/** Steps in one history unless told otherwise (the CI budget asks for at least 200). */
export const DEFAULT_STEPS = 200;

/**
 * A sharded world, in a third of the histories: 2 or 3 shards, runs over 1 to 3 of them (SHARDS_PER_RUN), and in
 * half of those a reshard to one shard more or fewer in flight: the new release rolls out at a step of the first
 * half, producers switch count from a later step once no old relay is left.
 */
export const shardsArbitrary: fc.Arbitrary<SimShards> = fc
  .record({
    count: fc.constantFrom(2, 3),
    perRun: fc.constantFrom(1, 2, 3),
    reshard: fc.option(
      fc.record({ grow: fc.boolean(), rolloutAt: fc.integer({ min: 0, max: 100 }), producersAfter: fc.integer({ min: 0, max: 80 }) }),
      { nil: undefined },
    ),
  })
  .map(({ count, perRun, reshard }) =>
    reshard === undefined
      ? { count, perRun }
      : {
          count,
          perRun,
          reshard: {
            to: count + (reshard.grow ? 1 : -1),
            rolloutAt: reshard.rolloutAt,
            producersAt: reshard.rolloutAt + reshard.producersAfter,
          },
        },
  );

/** The shape of a world: 2 or 3 instances whose clocks disagree by up to 2 minutes, follow mode on or off. */
export const worldConfigArbitrary: fc.Arbitrary<WorldConfig> = fc
  .record({
    clockOffsetsMs: fc.array(
      fc.integer({ min: -120, max: 120 }).map((s) => s * 1000),
      { minLength: 2, maxLength: 3 },
    ),
    followMs: fc.constantFrom(0, 10_000),
    pushLingerMs: fc.constantFrom(0, 0, 3_000),
    jitterSeed: fc.nat(),
    shards: fc.oneof({ weight: 2, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: shardsArbitrary }),
  })
  // A sharded world has no push (one shard per deployment); keys left out rather than undefined, for replays.
  .map(({ shards, pushLingerMs, ...rest }) => (shards === undefined ? { ...rest, pushLingerMs } : { ...rest, shards }));

/**
 * A history: `length` steps, each an action and a pick. Actions shrink towards 0, plain progress, so a failing
 * history shrinks to the few steps that matter, printed alone.
 */
export function stepsArbitrary(length: number): fc.Arbitrary<Step[]> {
  return fc.array(fc.record({ action: fc.nat(99), pick: fc.nat(0xffff) }), { minLength: length, maxLength: length });
}

/** What one history came to. */
export type HistoryResult =
  | { readonly ok: true; readonly steps: number }
  | { readonly ok: false; readonly broken: BrokenPromise; readonly history: readonly string[] };

/** Plays one history in a fresh world; a broken promise comes back with the history that led to it. */
export async function simulate(
  config: WorldConfig,
  steps: readonly Step[],
  knownOpen: KnownOpen = KNOWN_OPEN,
  logger?: Logger,
): Promise<HistoryResult> {
  const world = new World(config, knownOpen, logger);
  // The core aborts an AbortController per Firestore call, and each abort builds a DOMException with a stack:
  // without stacks a history runs about twice as fast, and nothing here reads them.
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    await world.play(steps);
    return { ok: true, steps: world.stepsTaken };
  } catch (error) {
    if (error instanceof BrokenPromise) return { ok: false, broken: error, history: world.history };
    throw error;
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
}

/** A failure as the CLI and the CI tier print it: the broken promise, then the history's telling steps. */
export function describeFailure(config: WorldConfig, result: Extract<HistoryResult, { ok: false }>): string {
  return [
    result.broken.message,
    `world: ${JSON.stringify(config)}`,
    'history (plain-progress steps omitted):',
    ...result.history.map((line) => `  ${line}`),
  ].join('\n');
}

/** The property the CI tier and `npm run sim` check: no history breaks a promise. */
export function simulationProperty(steps: number, knownOpen: KnownOpen = KNOWN_OPEN, logger?: Logger) {
  return fc.asyncProperty(worldConfigArbitrary, stepsArbitrary(steps), async (config, history) => {
    const result = await simulate(config, history, knownOpen, logger);
    if (!result.ok) throw new Error(describeFailure(config, result));
  });
}

/** A history written down for a regression test: its world, its length, and its steps that are not plain progress. */
export interface RecordedHistory {
  readonly config: WorldConfig;
  readonly length: number;
  /** [index, action, pick] of each step that is not plain progress. */
  readonly steps: readonly (readonly [number, number, number])[];
}

/** Writes a history down, plain-progress steps left out. */
export function record(config: WorldConfig, steps: readonly Step[]): RecordedHistory {
  const kept: [number, number, number][] = [];
  steps.forEach((step, index) => {
    if (step.action >= PLAIN_PROGRESS_BELOW) kept.push([index, step.action, step.pick]);
  });
  return { config, length: steps.length, steps: kept };
}

/** The steps of a written-down history. */
export function replay(recorded: RecordedHistory): Step[] {
  const steps: Step[] = Array.from({ length: recorded.length }, () => ({ action: 0, pick: 0 }));
  for (const [index, action, pick] of recorded.steps) steps[index] = { action, pick };
  return steps;
}

/**
 * Shrinks further than fast-check's own pass: each step that is not plain progress is turned into plain
 * progress, latest first, and kept so while the same promise still breaks. What is left is what it takes.
 */
export async function minimize(config: WorldConfig, steps: readonly Step[], knownOpen: KnownOpen): Promise<Step[]> {
  const first = await simulate(config, steps, knownOpen);
  if (first.ok) return [...steps];
  const promise = first.broken.promise;
  const current = [...steps];
  for (let index = current.length - 1; index >= 0; index -= 1) {
    const step = current[index] as Step;
    if (step.action < PLAIN_PROGRESS_BELOW) continue;
    current[index] = { action: 0, pick: 0 };
    const result = await simulate(config, current, knownOpen);
    if (result.ok || result.broken.promise !== promise) current[index] = step;
  }
  return current;
}
