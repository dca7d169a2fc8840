import { Timestamp, type Firestore } from '@google-cloud/firestore';
import request from 'supertest';
import { redriveAllDeadLetters, redriveEvents } from '../../../src/cli/commands/redrive.js';
import { closeServedHandlers, memoryLogger, relayEnv, serveHandler } from '../../support/function-server.js';
import { startLoopbackRouter, type LoopbackRouter } from '../../support/loopback-router.js';
import { emulatorFirestore, idsWithStatus, readAll, seedEvents, uniqueCollections } from '../../support/outbox-fixtures.js';
import { cliEnv, runInProcess } from '../../support/cli-runner.js';
import { seedDeadLetters, seedDelivered } from '../../support/outbox-states.js';

let db: Firestore;
let collections: { outbox: string; audit: string };

beforeAll(() => {
  db = emulatorFirestore();
});
afterAll(async () => {
  await closeServedHandlers();
  await db.terminate();
});
beforeEach(() => {
  collections = uniqueCollections();
});

const config = (maxRedrives = 3) => ({ outboxCollection: collections.outbox, maxRedrives });

describe('Command: redrive', () => {
  describe('one event', () => {
    it('puts a dead letter back to pending: attempts 0, redriveCount + 1, redrivenAt set, dead-letter fields removed', async () => {
      await seedDeadLetters(db, collections.outbox, [{ id: 'dead-1' }]);
      const before = (await readAll(db, collections.outbox)).get('dead-1');

      const report = await redriveEvents(db, config(), ['dead-1']);

      expect(report).toMatchObject({
        redriven: 1,
        refused: 0,
        skipped: 0,
        results: [{ id: 'dead-1', outcome: 'redriven', redriveCount: 1 }],
      });
      const after = (await readAll(db, collections.outbox)).get('dead-1');
      expect(after).toMatchObject({ status: 'pending', attempts: 0, redriveCount: 1, redrivenAt: expect.any(Timestamp) });
      expect(after).not.toHaveProperty('deadLetteredAt');
      expect(after).not.toHaveProperty('deadLetterReason');
      expect(after).toMatchObject({
        type: before?.type,
        data: before?.data,
        createdAt: before?.createdAt,
        postAttempts: before?.postAttempts,
      });
    });

    it('counts on from an earlier redrive', async () => {
      await seedDeadLetters(db, collections.outbox, [{ id: 'dead-1', redriveCount: 2 }]);

      await redriveEvents(db, config(3), ['dead-1']);

      expect((await readAll(db, collections.outbox)).get('dead-1')).toMatchObject({ status: 'pending', redriveCount: 3 });
    });

    it('refuses an event already redriven MAX_REDRIVES times, says so for that event and exits 1', async () => {
      await seedDeadLetters(db, collections.outbox, [{ id: 'tired', redriveCount: 2 }, { id: 'fresh' }]);

      const run = await runInProcess(['redrive', 'tired', 'fresh'], cliEnv(collections.outbox, { MAX_REDRIVES: '2' }));

      expect(run.code).toBe(1);
      expect(run.stdout).toMatch(/^tired\s+refused: redriven 2 time\(s\) already and MAX_REDRIVES is 2/m);
      expect(run.stdout).toMatch(/^fresh\s+redriven \(redrive 1 of 2\)/m);
      expect(run.stdout).toContain('redriven 1, refused 1, skipped 0');
      expect(await idsWithStatus(db, collections.outbox, 'dead_letter')).toEqual(['tired']);
    });

    it('leaves events that are not dead letters (or do not exist) alone and exits 1', async () => {
      await seedEvents(db, collections.outbox, 1);
      await seedDelivered(db, collections.outbox, [new Date('2026-01-05T00:00:00Z')]);
      const before = await readAll(db, collections.outbox);

      const run = await runInProcess(['redrive', 'evt-0000', 'done-0000', 'no-such-event', '--json'], cliEnv(collections.outbox));

      expect(run.code).toBe(1);
      expect(JSON.parse(run.stdout)).toEqual({
        maxRedrives: 3,
        redriven: 0,
        refused: 0,
        skipped: 3,
        results: [
          { id: 'evt-0000', outcome: 'skipped', reason: 'is "pending", not "dead_letter"' },
          { id: 'done-0000', outcome: 'skipped', reason: 'is "delivered", not "dead_letter"' },
          { id: 'no-such-event', outcome: 'skipped', reason: 'not found' },
        ],
      });
      expect(await readAll(db, collections.outbox)).toEqual(before);
    });

    it('exits 0 when every event named was redriven', async () => {
      await seedDeadLetters(db, collections.outbox, [{ id: 'dead-1' }, { id: 'dead-2' }]);

      const run = await runInProcess(['redrive', 'dead-1', 'dead-2'], cliEnv(collections.outbox));

      expect(run.code).toBe(0);
      expect(await idsWithStatus(db, collections.outbox, 'pending')).toEqual(['dead-1', 'dead-2']);
    });
  });

  describe('--all', () => {
    it('pages through every dead letter, redriving each and refusing those at the limit', async () => {
      const ids = Array.from({ length: 7 }, (_, i) => `dead-${i}`);
      await seedDeadLetters(
        db,
        collections.outbox,
        ids.map((id, i) => ({ id, redriveCount: i % 3 === 0 ? 3 : 0 })),
      );
      await seedEvents(db, collections.outbox, 2);

      const report = await redriveAllDeadLetters(db, config(3), 2);

      expect(report).toMatchObject({ redriven: 4, refused: 3, skipped: 0 });
      expect(report.results.map((r) => r.id).sort()).toEqual(ids);
      expect(await idsWithStatus(db, collections.outbox, 'dead_letter')).toEqual(['dead-0', 'dead-3', 'dead-6']);
      expect(await idsWithStatus(db, collections.outbox, 'pending')).toEqual([
        'dead-1',
        'dead-2',
        'dead-4',
        'dead-5',
        'evt-0000',
        'evt-0001',
      ]);
    });

    it('redrives every dead letter through the CLI and exits 0', async () => {
      await seedDeadLetters(db, collections.outbox, [{ id: 'dead-1' }, { id: 'dead-2' }]);

      const run = await runInProcess(['redrive', '--all', '--json'], cliEnv(collections.outbox));

      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ redriven: 2, refused: 0, skipped: 0 });
      expect(await idsWithStatus(db, collections.outbox, 'dead_letter')).toEqual([]);
    });

    it('says there is nothing to redrive and exits 0 when there are no dead letters', async () => {
      await seedEvents(db, collections.outbox, 1);

      const run = await runInProcess(['redrive', '--all'], cliEnv(collections.outbox));

      expect(run.code).toBe(0);
      expect(run.stdout).toBe('no dead letters to redrive\n');
    });
  });

  describe('usage', () => {
    it.each([
      ['neither ids nor --all', ['redrive'], 'name the events to redrive, or pass --all'],
      ['ids and --all', ['redrive', 'dead-1', '--all'], 'give either event ids or --all, not both'],
      ['an id with a slash', ['redrive', 'orders/42'], '"orders/42" is not an event id'],
      ['an unknown option', ['redrive', '--everything'], "Unknown option '--everything'"],
    ])('refuses %s with exit code 2 and changes nothing', async (_case, args, message) => {
      await seedDeadLetters(db, collections.outbox, [{ id: 'dead-1' }]);

      const run = await runInProcess(args, cliEnv(collections.outbox));

      expect(run.code).toBe(2);
      expect(run.stderr).toContain(message);
      expect(run.stderr).toContain('Run "outbox-ops redrive --help" for usage.');
      expect(await idsWithStatus(db, collections.outbox, 'dead_letter')).toEqual(['dead-1']);
    });
  });

  describe('with the relay', () => {
    let router: LoopbackRouter;
    beforeEach(async () => {
      router = await startLoopbackRouter();
    });
    afterEach(async () => {
      await router.close();
    });

    const runRelay = () => request(serveHandler({ env: relayEnv(router.url, collections), logger: memoryLogger() })).post('/');

    // A second event the router takes: a rejection is the event's own (and dead-lettered) in a run where the
    // router delivered something; with no success in the run nothing is charged (docs/failure-semantics.md).
    const rejectingTheFirst = () => (r: { eventId: string }) =>
      r.eventId === 'evt-0000' ? { respond: 422, body: 'unknown customer' } : { respond: 200 };

    it('delivers a redriven event on the next run', async () => {
      await seedEvents(db, collections.outbox, 2);
      router.script = rejectingTheFirst();
      await runRelay().expect(200);
      expect(await idsWithStatus(db, collections.outbox, 'dead_letter')).toEqual(['evt-0000']);

      const run = await runInProcess(['redrive', 'evt-0000'], cliEnv(collections.outbox));
      router.script = () => ({ respond: 200 });
      const response = await runRelay();

      expect(run.code).toBe(0);
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({ fetched: 1, delivered: 1 });
      expect(await idsWithStatus(db, collections.outbox, 'delivered')).toEqual(['evt-0000', 'evt-0001']);
      expect(router.received.filter((r) => r.eventId === 'evt-0000')).toHaveLength(2);
    });

    it('stops redriving an event that keeps failing once it reaches MAX_REDRIVES', async () => {
      await seedEvents(db, collections.outbox, 2);
      router.script = rejectingTheFirst();
      const env = cliEnv(collections.outbox, { MAX_REDRIVES: '1' });
      await runRelay().expect(200);

      const first = await runInProcess(['redrive', '--all'], env);
      await db
        .collection(collections.outbox)
        .doc('later')
        .set({ type: 'order.created', data: {}, createdAt: Timestamp.now(), status: 'pending' });
      await runRelay().expect(200);
      const second = await runInProcess(['redrive', '--all'], env);

      expect(first.code).toBe(0);
      expect(second.code).toBe(1);
      expect(second.stdout).toContain('evt-0000  refused: redriven 1 time(s) already and MAX_REDRIVES is 1');
      expect((await readAll(db, collections.outbox)).get('evt-0000')).toMatchObject({ status: 'dead_letter', redriveCount: 1 });
      expect(router.received.filter((r) => r.eventId === 'evt-0000')).toHaveLength(2);
    });
  });
});
