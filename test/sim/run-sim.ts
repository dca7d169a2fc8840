import { parseArgs } from 'node:util';
import fc from 'fast-check';
import type { Logger } from '../../src/core/ports.js';
import { KNOWN_OPEN } from './known-open.js';
import type { KnownOpen } from './world/world.js';
import { DEFAULT_STEPS, describeFailure, minimize, record, simulate, simulationProperty } from './simulate.js';

/**
 * `npm run sim -- [--runs N] [--seed S] [--path P] [--steps K] [--open NAME]… [--all] [--verbose]`: runs N histories
 * of K steps (a fresh seed unless --seed), or replays one failure with --seed and --path as printed; --open NAME
 * (or --all) lets the world take a known-open path (known-open.ts); --verbose prints the core's logs on stderr.
 * A failure prints the seed, the path, the shrunk history and the broken promise, and exits 1.
 */
async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '200' },
      seed: { type: 'string' },
      path: { type: 'string' },
      steps: { type: 'string', default: String(DEFAULT_STEPS) },
      all: { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
      open: { type: 'string', multiple: true, default: [] },
    },
  });
  const seed = values.seed === undefined ? Date.now() ^ (Math.random() * 0x7fffffff) : Number(values.seed);
  const runs = Number(values.runs);
  const steps = Number(values.steps);
  if (!Number.isInteger(seed) || !Number.isInteger(runs) || runs < 1 || !Number.isInteger(steps) || steps < 1) {
    process.stderr.write('usage: npm run sim -- [--runs N] [--seed S] [--path P] [--steps K] [--open NAME]… [--all] [--verbose]\n');
    return 2;
  }
  const opened = values.all ? Object.keys(KNOWN_OPEN) : values.open;
  const knownOpen: { -readonly [K in keyof KnownOpen]: boolean } = { ...KNOWN_OPEN };
  for (const name of opened) {
    if (!(name in KNOWN_OPEN)) {
      process.stderr.write(`--open: no known-open path ${name} (known: ${Object.keys(KNOWN_OPEN).join(', ')})\n`);
      return 2;
    }
    knownOpen[name as keyof KnownOpen] = false;
  }
  process.stdout.write(
    `sim: ${runs} histories of ${steps} steps, seed ${seed}${opened.length > 0 ? `, known-open paths included: ${opened.join(', ')}` : ''}\n`,
  );
  const started = performance.now();
  const report = await fc.check(simulationProperty(steps, knownOpen, values.verbose ? STDERR_LOGGER : undefined), {
    seed,
    numRuns: runs,
    ...(values.path === undefined ? {} : { path: values.path }),
  });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  if (!report.failed) {
    process.stdout.write(`sim: ${report.numRuns} histories passed in ${seconds} s (seed ${seed})\n`);
    return 0;
  }
  const [config, shrunk] = report.counterexample ?? [];
  if (config === undefined || shrunk === undefined) {
    process.stdout.write(`sim: FAILED: ${String(report.errorInstance)}\n`);
    return 1;
  }
  const minimal = await minimize(config, shrunk, knownOpen);
  const result = await simulate(config, minimal, knownOpen);
  const told = result.ok
    ? report.errorInstance instanceof Error
      ? report.errorInstance.message
      : String(report.errorInstance)
    : describeFailure(config, result);
  process.stdout.write(
    [
      `sim: FAILED after ${report.numRuns} histories (${report.numShrinks} shrinks) in ${seconds} s`,
      `replay: npm run sim -- --seed ${report.seed} --path ${report.counterexamplePath ?? ''} --steps ${steps}${opened.map((name) => ` --open ${name}`).join('')}`,
      told,
      `regression (test/sim/regressions.test.ts): ${JSON.stringify(record(config, minimal))}`,
      '',
    ].join('\n'),
  );
  return 1;
}

/** --verbose: the core's log lines, one JSON object each, on stderr (for a replay of one failure). */
const STDERR_LOGGER: Logger = {
  log: (severity, message, fields) => process.stderr.write(`${JSON.stringify({ severity, message, ...fields })}\n`),
};

process.exitCode = await main();
