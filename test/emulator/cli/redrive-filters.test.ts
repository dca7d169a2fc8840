import { redriveAllDeadLetters } from '../../../src/cli/commands/redrive.js';
import { cliEnv, runInProcess } from '../../support/cli-runner.js';
import { idsWithStatus, useOutboxFixture } from '../../support/outbox-fixtures.js';
import { SECRET_PAYLOAD, seedDeadLetters } from '../../support/outbox-states.js';

const fx = useOutboxFixture();
const DAY_MS = 86_400_000;
const JAN_2 = Date.UTC(2026, 0, 2);

/** An incident's dead letters: two types, two keys, two reasons, over three days. */
async function seedIncident(): Promise<void> {
  await seedDeadLetters(fx.db, fx.outbox, [
    {
      id: 'paid-a',
      type: 'com.example.order.paid',
      orderingKey: 'order-a',
      reason: 'rejected by the router: HTTP 422: unknown customer',
      deadLetteredAtMs: JAN_2,
    },
    {
      id: 'paid-b',
      type: 'com.example.order.paid',
      orderingKey: 'order-b',
      reason: 'rejected by the router: HTTP 400: bad amount',
      deadLetteredAtMs: JAN_2 + DAY_MS,
    },
    {
      id: 'made-a',
      type: 'com.example.order.created',
      orderingKey: 'order-a',
      reason: 'rejected by the router: HTTP 422: unknown customer',
      deadLetteredAtMs: JAN_2 + 2 * DAY_MS,
    },
    {
      id: 'made-c',
      type: 'com.example.order.created',
      orderingKey: 'order-c',
      reason: 'rejected by the router: HTTP 422: unknown customer',
      deadLetteredAtMs: JAN_2 + 2 * DAY_MS,
      redriveCount: 3,
    },
  ]);
}

const config = () => ({ outboxCollection: fx.outbox, maxRedrives: 3 });
const redriven = (report: { results: readonly { id: string; outcome: string }[] }, outcome = 'redriven') =>
  report.results
    .filter((r) => r.outcome === outcome)
    .map((r) => r.id)
    .sort();

describe('Command: redrive with filters', () => {
  it.each([
    ['--type', { type: 'com.example.order.paid' }, ['paid-a', 'paid-b']],
    ['--key', { orderingKey: 'order-a' }, ['made-a', 'paid-a']],
    ['--reason (a substring)', { reason: 'HTTP 400' }, ['paid-b']],
    ['--since (inclusive)', { sinceMs: JAN_2 + DAY_MS }, ['made-a', 'paid-b']],
    ['--until (exclusive)', { untilMs: JAN_2 + DAY_MS }, ['paid-a']],
    ['several filters together', { type: 'com.example.order.created', reason: 'unknown customer', sinceMs: JAN_2 }, ['made-a']],
  ])('redrives only the dead letters matching %s', async (_case, filter, expected) => {
    // Prepare
    await seedIncident();
    // Act
    const report = await redriveAllDeadLetters(fx.db, config(), 2, { filter });
    // Assess
    expect(redriven(report)).toEqual(expected);
    expect(await idsWithStatus(fx.db, fx.outbox, 'pending')).toEqual(expected);
  });

  it('still refuses a matching dead letter already at MAX_REDRIVES', async () => {
    await seedIncident();

    const report = await redriveAllDeadLetters(fx.db, config(), 200, { filter: { orderingKey: 'order-c' } });

    expect(report).toMatchObject({ redriven: 0, refused: 1, results: [{ id: 'made-c', outcome: 'refused' }] });
  });

  it('with --dry-run says what it would redrive and refuse, and changes nothing', async () => {
    await seedIncident();

    const run = await runInProcess(['redrive', '--reason', 'unknown customer', '--dry-run', '--json'], cliEnv(fx.outbox));

    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout) as { results: { id: string; outcome: string }[] };
    expect(report).toMatchObject({ dryRun: true, redriven: 0, wouldRedrive: 2, refused: 1, filter: { reason: 'unknown customer' } });
    expect(redriven(report, 'would_redrive')).toEqual(['made-a', 'paid-a']);
    expect(await idsWithStatus(fx.db, fx.outbox, 'pending')).toEqual([]);
    expect(run.stdout).not.toContain(SECRET_PAYLOAD.cardNumber);
  });

  it('with --dry-run on named events reads them without changing them', async () => {
    await seedIncident();

    const run = await runInProcess(['redrive', 'paid-a', 'missing', '--dry-run'], cliEnv(fx.outbox));

    expect(run.stdout).toContain('paid-a   would be redriven (redrive 1 of 3)');
    expect(run.stdout).toContain('missing  skipped: not found');
    expect(run.stdout).toContain('dry run, nothing changed: would redrive 1, refused 0, skipped 1');
    expect(await idsWithStatus(fx.db, fx.outbox, 'dead_letter')).toHaveLength(4);
  });

  it('redrives by filter through the CLI, --since and --until as ISO 8601 times, and exits 0', async () => {
    await seedIncident();

    const run = await runInProcess(
      ['redrive', '--type', 'com.example.order.paid', '--since', '2026-01-02T00:00:00Z', '--until', '2026-01-03T00:00:00Z'],
      cliEnv(fx.outbox),
    );

    expect(run.code).toBe(0);
    expect(run.stdout).toContain('redriven 1, refused 0, skipped 0');
    expect(await idsWithStatus(fx.db, fx.outbox, 'pending')).toEqual(['paid-a']);
  });

  it('says no dead letter matches when none does', async () => {
    await seedIncident();

    const run = await runInProcess(['redrive', '--type', 'com.example.nothing'], cliEnv(fx.outbox));

    expect(run.code).toBe(0);
    expect(run.stdout).toBe('no dead letters match the filters\n');
  });

  it.each([
    ['ids and filters', ['redrive', 'paid-a', '--type', 'x'], 'give either event ids or filters, not both'],
    ['a time that is not ISO 8601', ['redrive', '--since', 'yesterday'], '--since must be an ISO 8601 time'],
    [
      '--until before --since',
      ['redrive', '--since', '2026-01-03T00:00:00Z', '--until', '2026-01-02T00:00:00Z'],
      '--until must be later than --since',
    ],
  ])('refuses %s with exit code 2 and changes nothing', async (_case, args, message) => {
    await seedIncident();

    const run = await runInProcess(args, cliEnv(fx.outbox));

    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
    expect(await idsWithStatus(fx.db, fx.outbox, 'pending')).toEqual([]);
  });
});
