import { Instant } from '../../../src/core/instant.js';
import { RunState } from '../../../src/core/run-state.js';

const NOW = Date.UTC(2026, 0, 1);

describe('RunState.admits: admit() applied to a run', () => {
  it.each([
    ['an event of a free key', 'free', undefined, false, 'attempt', false, 0],
    ['an event of a parked key: waits and holds its key', 'parked', undefined, false, 'wait', true, 1],
    ['an event on backoff: waits and holds its key', 'free', Instant.fromMillis(NOW + 1), false, 'wait', true, 1],
    ['an event reached after the run stopped: waits, its key not held', 'free', undefined, true, 'stopped', false, 1],
  ])('%s', (_name, key, nextAttemptAt, stopped, kind, held, waiting) => {
    const run = new RunState('run-1', NOW, NOW + 60_000);
    run.parkedKeys = new Set(['parked']);
    if (stopped) run.stopWith('shutdown', 'SIGTERM');

    const admission = run.admits({ orderingKey: key, nextAttemptAt }, NOW);

    expect(admission.kind).toBe(kind);
    expect(run.heldKeys.has(key)).toBe(held);
    expect(run.counts.waiting).toBe(waiting);
  });
});
