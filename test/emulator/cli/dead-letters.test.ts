import { listDeadLetters, type DeadLetterList } from '../../../src/cli/commands/dead-letters.js';
import { seedEvents, useOutboxFixture } from '../../support/outbox-fixtures.js';
import { cliEnv, runInProcess } from '../../support/cli-runner.js';
import { SECRET_PAYLOAD, seedDeadLetters } from '../../support/outbox-states.js';

const fx = useOutboxFixture();

describe('Command: dead-letters', () => {
  it('lists dead letters newest first with id, type, deadLetteredAt, attempts, redriveCount and reason', async () => {
    await seedEvents(fx.db, fx.outbox, 2);
    await seedDeadLetters(fx.db, fx.outbox, [
      { id: 'dead-old', deadLetteredAtMs: Date.UTC(2026, 0, 2), reason: 'rejected by the router: HTTP 400: bad' },
      { id: 'dead-new', deadLetteredAtMs: Date.UTC(2026, 0, 3), redriveCount: 2 },
    ]);

    const list = await listDeadLetters(fx.db, { outboxCollection: fx.outbox });

    expect(list).toEqual({
      collection: fx.outbox,
      total: 2,
      deadLetters: [
        {
          id: 'dead-new',
          type: 'com.example.order.created',
          deadLetteredAt: '2026-01-03T00:00:00.000Z',
          attempts: 1,
          redriveCount: 2,
          reason: 'rejected by the router: HTTP 422: unknown customer',
        },
        {
          id: 'dead-old',
          type: 'com.example.order.created',
          deadLetteredAt: '2026-01-02T00:00:00.000Z',
          attempts: 1,
          redriveCount: 0,
          reason: 'rejected by the router: HTTP 400: bad',
        },
      ],
    });
  });

  it('shows at most --limit dead letters and says how many there are in all', async () => {
    await seedDeadLetters(
      fx.db,
      fx.outbox,
      ['a', 'b', 'c', 'd'].map((id) => ({ id })),
    );

    const text = await runInProcess(['dead-letters', '--limit', '2'], cliEnv(fx.outbox));
    const json = await runInProcess(['dead-letters', '--limit', '2', '--json'], cliEnv(fx.outbox));

    expect(text.code).toBe(0);
    expect(text.stdout).toContain('4 dead letter(s)');
    expect(text.stdout).toContain('newest 2 shown');
    expect(text.stdout).toMatch(/^d\s+com\.example\.order\.created\s+2026-01-02T00:00:00\.003Z\s+1\s+0\s+rejected by the router/m);
    expect(json.code).toBe(0);
    const answer = JSON.parse(json.stdout) as DeadLetterList;
    expect(answer.total).toBe(4);
    expect(answer.deadLetters.map((d) => d.id)).toEqual(['d', 'c']);
  });

  it('never prints event data', async () => {
    await seedDeadLetters(fx.db, fx.outbox, [{ id: 'dead-1' }]);

    const text = await runInProcess(['dead-letters'], cliEnv(fx.outbox));
    const json = await runInProcess(['dead-letters', '--json'], cliEnv(fx.outbox));

    expect(text.stdout + json.stdout).toContain('dead-1');
    expect(text.stdout + json.stdout).not.toContain(SECRET_PAYLOAD.cardNumber);
  });

  it('says so when there are no dead letters', async () => {
    await seedEvents(fx.db, fx.outbox, 1);

    const run = await runInProcess(['dead-letters'], cliEnv(fx.outbox));

    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`no dead letters in ${fx.outbox}\n`);
  });

  it.each([['0'], ['-3'], ['1.5'], ['ten'], ['10001']])('refuses --limit %s with exit code 2', async (limit) => {
    const run = await runInProcess(['dead-letters', `--limit=${limit}`], cliEnv(fx.outbox));

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--limit must be a whole number from 1 to 10000');
    expect(run.stdout).toBe('');
  });
});
