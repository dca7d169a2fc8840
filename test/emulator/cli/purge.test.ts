import { purgeDelivered } from '../../../src/cli/commands/purge.js';
import { idsWithStatus, readAll, seedEvents, useOutboxFixture } from '../../support/outbox-fixtures.js';
import { cliEnv, runInProcess } from '../../support/cli-runner.js';
import { seedDeadLetters, seedDelivered } from '../../support/outbox-states.js';

const fx = useOutboxFixture();

const day = (iso: string) => new Date(`${iso}T00:00:00.000Z`);

describe('Command: purge', () => {
  it('deletes delivered events delivered before the date, keeps newer ones and every pending and dead letter, and says how many', async () => {
    await seedDelivered(fx.db, fx.outbox, [day('2026-01-01'), day('2026-01-10'), day('2026-02-01')]);
    await seedEvents(fx.db, fx.outbox, 2, { baseMs: Date.UTC(2025, 0, 1) });
    await seedDeadLetters(fx.db, fx.outbox, [{ id: 'dead-1', deadLetteredAtMs: Date.UTC(2025, 0, 1) }]);

    const run = await runInProcess(['purge', '--delivered-before', '2026-01-15'], cliEnv(fx.outbox));

    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`deleted 2 delivered event(s) from ${fx.outbox} delivered before 2026-01-15T00:00:00.000Z\n`);
    expect([...(await readAll(fx.db, fx.outbox)).keys()].sort()).toEqual(['dead-1', 'done-0002', 'evt-0000', 'evt-0001']);
  });

  it('reads a date without a time as UTC midnight', async () => {
    await seedDelivered(fx.db, fx.outbox, [new Date('2026-01-30T23:59:59.999Z'), new Date('2026-01-31T00:00:00.000Z')]);

    const run = await runInProcess(['purge', '--delivered-before=2026-01-31', '--json'], cliEnv(fx.outbox));

    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      collection: fx.outbox,
      deliveredBefore: '2026-01-31T00:00:00.000Z',
      dryRun: false,
      deleted: 1,
    });
    expect(await idsWithStatus(fx.db, fx.outbox, 'delivered')).toEqual(['done-0001']);
  });

  it('honours the offset of a date-time', async () => {
    await seedDelivered(fx.db, fx.outbox, [new Date('2026-01-31T09:59:00Z'), new Date('2026-01-31T10:01:00Z')]);

    const run = await runInProcess(['purge', '--delivered-before', '2026-01-31T12:00:00+02:00', '--json'], cliEnv(fx.outbox));

    expect(JSON.parse(run.stdout)).toMatchObject({ deliveredBefore: '2026-01-31T10:00:00.000Z', deleted: 1 });
    expect(await idsWithStatus(fx.db, fx.outbox, 'delivered')).toEqual(['done-0001']);
  });

  it('deletes page by page when there is more than one commit’s worth', async () => {
    await seedDelivered(
      fx.db,
      fx.outbox,
      Array.from({ length: 5 }, () => day('2026-01-01')),
    );

    const report = await purgeDelivered(fx.db, { outboxCollection: fx.outbox }, day('2026-01-02'), { batchSize: 2 });

    expect(report.deleted).toBe(5);
    expect((await readAll(fx.db, fx.outbox)).size).toBe(0);
  });

  it('deletes more than Firestore’s 500 writes per commit in one purge', async () => {
    await seedDelivered(
      fx.db,
      fx.outbox,
      Array.from({ length: 601 }, () => day('2026-01-01')),
    );

    const report = await purgeDelivered(fx.db, { outboxCollection: fx.outbox }, day('2026-01-02'));

    expect(report.deleted).toBe(601);
    expect((await readAll(fx.db, fx.outbox)).size).toBe(0);
  });

  it('only counts with --dry-run', async () => {
    await seedDelivered(fx.db, fx.outbox, [day('2026-01-01'), day('2026-01-02'), day('2026-03-01')]);

    const run = await runInProcess(['purge', '--delivered-before', '2026-02-01', '--dry-run'], cliEnv(fx.outbox));

    expect(run.code).toBe(0);
    expect(run.stdout).toContain('would delete 2 delivered event(s)');
    expect((await readAll(fx.db, fx.outbox)).size).toBe(3);
  });

  it.each([
    ['a missing date', [], '--delivered-before <ISO date> is required'],
    ['a word', ['--delivered-before', 'yesterday'], 'must be an ISO date'],
    ['a day that does not exist', ['--delivered-before', '2026-02-30'], 'must be an ISO date'],
    ['a date-time without a zone', ['--delivered-before', '2026-01-31T12:00:00'], 'must be an ISO date'],
    ['a flag without its value', ['--delivered-before'], "Option '--delivered-before <value>' argument missing"],
  ])('refuses %s with exit code 2 and deletes nothing', async (_case, args, message) => {
    await seedDelivered(fx.db, fx.outbox, [day('2026-01-01')]);

    const run = await runInProcess(['purge', ...args], cliEnv(fx.outbox));

    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
    expect(run.stdout).toBe('');
    expect((await readAll(fx.db, fx.outbox)).size).toBe(1);
  });
});
