import { readFile } from 'node:fs/promises';
import type { Firestore } from '@google-cloud/firestore';
import { emulatorFirestore, idsWithStatus, seedEvents, uniqueCollections } from '../../support/outbox-fixtures.js';
import { buildCli, cliEnv, runBin, type BuiltCli } from '../../support/cli-runner.js';
import { seedDeadLetters } from '../../support/outbox-states.js';

let db: Firestore;
let cli: BuiltCli;
let outbox: string;

beforeAll(async () => {
  db = emulatorFirestore();
  cli = await buildCli();
}, 120_000);
afterAll(async () => {
  await db.terminate();
  await cli.remove();
});
beforeEach(() => {
  outbox = uniqueCollections().outbox;
});

describe('Bin: outbox-ops', () => {
  it('starts with a node shebang, so npm can install it as an executable', async () => {
    const source = await readFile(cli.bin, 'utf8');

    expect(source.startsWith('#!/usr/bin/env node\n')).toBe(true);
  });

  it('answers status --json with exit code 0 and the counts', async () => {
    await seedEvents(db, outbox, 2);
    await seedDeadLetters(db, outbox, [{ id: 'dead-1' }]);

    const run = await runBin(cli.bin, ['status', '--json'], cliEnv(outbox));

    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toMatchObject({
      collection: outbox,
      counts: { pending: 2, delivered: 0, dead_letter: 1 },
      oldestPending: { id: 'evt-0000' },
    });
  });

  it('redrives with exit code 1 and a JSON report when an event is past MAX_REDRIVES', async () => {
    await seedDeadLetters(db, outbox, [{ id: 'tired', redriveCount: 1 }, { id: 'fresh' }]);

    const run = await runBin(cli.bin, ['redrive', '--all', '--json'], cliEnv(outbox, { MAX_REDRIVES: '1' }));

    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({
      maxRedrives: 1,
      redriven: 1,
      refused: 1,
      results: expect.arrayContaining([
        { id: 'fresh', outcome: 'redriven', redriveCount: 1 },
        expect.objectContaining({ id: 'tired', outcome: 'refused', redriveCount: 1 }),
      ]),
    });
    expect(await idsWithStatus(db, outbox, 'pending')).toEqual(['fresh']);
  });

  it('prints the command list with --help and exits 0', async () => {
    const run = await runBin(cli.bin, ['--help'], {});

    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Usage: outbox-ops <command> [options]');
    for (const command of ['status', 'dead-letters', 'redrive', 'purge']) expect(run.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
  });

  it.each(['status', 'dead-letters', 'redrive', 'purge'])('prints help for %s without any configuration and exits 0', async (command) => {
    const run = await runBin(cli.bin, [command, '--help'], { OUTBOX_COLLECTION: 'not/valid' });

    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`Usage: outbox-ops ${command}`);
  });

  it('prints one line and exits 2, without a stack trace, when the configuration is invalid', async () => {
    const run = await runBin(cli.bin, ['status'], cliEnv(outbox, { MAX_REDRIVES: 'many' }));

    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(
      'outbox-ops: Invalid configuration: MAX_REDRIVES must be an integer from 0 to 1000 (got "many"). Set it in the environment (the function\'s, or your shell\'s for the CLI) and try again.\n',
    );
  });

  it.each([
    ['no command', [], 'Usage: outbox-ops <command>'],
    ['an unknown command', ['drain'], 'unknown command "drain"; the commands are status, dead-letters, redrive, release-key, purge'],
    ['purge without a date', ['purge'], '--delivered-before <ISO date> is required'],
  ])('exits 2 for %s', async (_case, args, message) => {
    const run = await runBin(cli.bin, args, cliEnv(outbox));

    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
    expect(run.stderr).not.toMatch(/^\s+at /m);
  });
});
