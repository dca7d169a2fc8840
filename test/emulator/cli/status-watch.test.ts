import { runCli } from '../../../src/cli/run-cli.js';
import { cliEnv, runInProcess } from '../../support/cli-runner.js';
import { seedEvents, useOutboxFixture } from '../../support/outbox-fixtures.js';

const fx = useOutboxFixture();

/** Runs the CLI in this process with a sleep that lets the test change the outbox between refreshes. */
async function watch(args: readonly string[], between: (round: number) => Promise<void>, stop?: AbortSignal) {
  const out: string[] = [];
  const waits: number[] = [];
  const code = await runCli(
    args,
    { out: (text) => out.push(text), err: (text) => out.push(`ERR ${text}`) },
    {
      // Its own parked-keys collection, named after its outbox: other specs park keys in theirs meanwhile.
      env: cliEnv(fx.outbox),
      sleep: async (ms) => {
        waits.push(ms);
        await between(waits.length);
      },
      ...(stop === undefined ? {} : { stop }),
    },
  );
  return { code, out, waits };
}

describe('Command: status --watch', () => {
  it('refreshes the backlog every interval, --count times, one JSON line each with --json', async () => {
    // Prepare
    await seedEvents(fx.db, fx.outbox, 1);
    // Act: two more events arrive between the first and second refresh.
    const run = await watch(['status', '--watch', '5', '--count', '3', '--json'], async (round) => {
      if (round === 1) await seedEvents(fx.db, `${fx.outbox}`, 3);
    });
    // Assess
    expect(run.code).toBe(0);
    expect(run.waits).toEqual([5000, 5000]);
    const pending = run.out.map((line) => (JSON.parse(line) as { counts: { pending: number } }).counts.pending);
    expect(pending).toEqual([1, 3, 3]);
    expect(JSON.parse(run.out[0] ?? '{}')).toMatchObject({ oldestPending: { id: 'evt-0000' }, onBackoff: 0, parkedKeys: { count: 0 } });
  });

  it('prints a timestamped screen per refresh and ends when stopped (Ctrl-C)', async () => {
    await seedEvents(fx.db, fx.outbox, 2);
    const stop = new AbortController();

    const run = await watch(['status', '--watch'], () => Promise.resolve(stop.abort()), stop.signal);

    expect(run.code).toBe(0);
    expect(run.waits).toEqual([10_000]);
    expect(run.out).toHaveLength(2);
    expect(run.out[0]).toMatch(/^── \d{4}-\d\d-\d\dT.* \(every 10 s; Ctrl-C stops\)$/);
    expect(run.out[1]).toContain('oldest pending: evt-0000');
  });

  it.each([
    ['an interval without --watch', ['status', '5'], 'an interval or --count goes with --watch'],
    ['an interval below a second', ['status', '--watch', '0'], '--watch takes a whole number from 1 to 3600'],
    ['a count that is not a number', ['status', '--watch', '--count', 'many'], '--count takes a whole number'],
  ])('refuses %s with exit code 2', async (_case, args, message) => {
    const run = await runInProcess(args, cliEnv(fx.outbox));

    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
  });
});
