import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Firestore } from '@google-cloud/firestore';
import { serveFunction, type ServedFunction } from '../../tools/local/functions-framework-process.js';
import { relayEnv } from '../support/function-server.js';
import { startLoopbackRouter, type LoopbackRouter } from '../support/loopback-router.js';
import { emulatorFirestore, idsWithStatus, seedEvents, uniqueCollections } from '../support/outbox-fixtures.js';
import { PROJECT_ROOT } from '../support/project-root.js';

/** Debian's faketime package (`apt-get install faketime`); .ci/run installs it. */
const LIBFAKETIME = ['x86_64-linux-gnu', 'aarch64-linux-gnu'].map((arch) => `/usr/lib/${arch}/faketime/libfaketime.so.1`).find(existsSync);
/** The run lease: 3 × FIRESTORE_TIMEOUT_MS, which the runs below set to a third of it. */
const LEASE_TTL_MS = 9_000;
/** LeaseKeeper renews every third of the TTL. */
const RENEWAL_INTERVAL_MS = LEASE_TTL_MS / 3;
/** What a loaded 2-core machine may add; a lease dated by a skewed clock would be minutes off instead. */
const SLACK_MS = 15_000;

/** The environment that runs a process with its wall clock moved by `offset` (faketime's syntax: '+300s', '-120s'). */
function skewed(offset: string): Record<string, string> {
  if (LIBFAKETIME === undefined) throw new Error('libfaketime is missing: apt-get install faketime');
  return { LD_PRELOAD: LIBFAKETIME, FAKETIME: offset, FAKETIME_NO_CACHE: '1' };
}

/**
 * Real relay processes whose clocks disagree (faketime moves a process's wall clock): whether a run lease has
 * lapsed is Firestore's call, so a live run keeps its shard whatever the clocks say, and a crashed one frees it
 * a TTL after its last renewal.
 */
describe('Relay instances whose clocks disagree', () => {
  let db: Firestore;
  let router: LoopbackRouter;
  let collections: { outbox: string; audit: string };
  const served: ServedFunction[] = [];

  const serve = async (clock: Record<string, string> = {}): Promise<ServedFunction> => {
    const env = {
      PATH: process.env.PATH,
      METADATA_SERVER_DETECTION: 'none',
      ...relayEnv(router.url, collections, {
        DELIVERY_CONCURRENCY: '1',
        LOG_LEVEL: 'ERROR',
        FIRESTORE_TIMEOUT_MS: String(LEASE_TTL_MS / 3),
      }),
      ...clock,
    };
    const fn = await serveFunction({ projectRoot: PROJECT_ROOT, target: 'outboundEventHandler', env });
    served.push(fn);
    return fn;
  };
  const trigger = async (fn: ServedFunction): Promise<Record<string, unknown>> =>
    (await (await fetch(fn.url, { method: 'POST' })).json()) as Record<string, unknown>;
  const routerReceived = async (count: number): Promise<void> => {
    while (router.received.length < count) await new Promise((resolve) => setTimeout(resolve, 20));
  };

  beforeAll(() => {
    db = emulatorFirestore();
    // faketime must move Node 22's clock here, or the skew below would be no skew at all.
    const probe = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(Date.now()))'], {
      env: { ...process.env, ...skewed('+300s') },
      encoding: 'utf8',
    });
    const offsetMs = Number(probe.stdout) - Date.now();
    if (!(offsetMs > 290_000 && offsetMs < 310_000)) throw new Error(`faketime did not move a Node child's clock (${offsetMs} ms)`);
  });
  afterAll(async () => {
    await db.terminate();
  });
  beforeEach(async () => {
    router = await startLoopbackRouter(() => ({ respond: 200, delayMs: 250 }));
    collections = uniqueCollections();
  });
  afterEach(async () => {
    await Promise.all(served.splice(0).map((fn) => fn.stop('SIGKILL')));
    await router.close();
  });

  it('keeps the shard with a live run 2 minutes behind: neither the right time nor 2 minutes ahead takes it, and nothing is POSTed twice', async () => {
    // About 28 s of POSTs one at a time: the run outlives the TTL it first took the lease for, twice over.
    router.script = () => ({ respond: 200, delayMs: 400 });
    const events = await seedEvents(db, collections.outbox, 70);
    const [behind, rightTime, ahead] = await Promise.all([serve(skewed('-120s')), serve(), serve(skewed('+120s'))]);

    const run = trigger(behind);
    await routerReceived(8);
    const early = [await trigger(rightTime), await trigger(ahead)];
    // Past the TTL the lease was first taken for: only renewals keep it now.
    const startedAt = performance.now();
    while (performance.now() - startedAt < LEASE_TTL_MS + RENEWAL_INTERVAL_MS) await new Promise((resolve) => setTimeout(resolve, 500));
    const late = [await trigger(rightTime), await trigger(ahead)];
    const answer = await run;

    for (const skipped of [...early, ...late]) expect(skipped).toMatchObject({ skipped: 'lease-held' });
    expect(answer).toMatchObject({ stoppedBy: 'drained', delivered: events.length });
    expect(router.received).toHaveLength(events.length);
    expect(new Set(router.received.map((request) => request.eventId)).size).toBe(events.length);
  }, 120_000);

  it('frees the shard of a run 5 minutes ahead that was SIGKILLed within LEASE_TTL_MS plus one renewal interval', async () => {
    await seedEvents(db, collections.outbox, 60);
    const [ahead, replacement] = await Promise.all([serve(skewed('+300s')), serve()]);
    void fetch(ahead.url, { method: 'POST' }).catch(() => undefined);
    await routerReceived(4);

    await ahead.stop('SIGKILL');
    const killedAt = performance.now();
    let triggeredAt = performance.now();
    let answer = await trigger(replacement);
    while (answer.skipped !== undefined && performance.now() - killedAt < LEASE_TTL_MS + RENEWAL_INTERVAL_MS + SLACK_MS) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      triggeredAt = performance.now();
      answer = await trigger(replacement);
    }
    // The run that took the shard over was triggered this long after the kill (its own drain comes after).
    const freedAfterMs = Math.round(triggeredAt - killedAt);

    expect(answer).toMatchObject({ stoppedBy: 'drained' });
    expect(freedAfterMs).toBeLessThan(LEASE_TTL_MS + RENEWAL_INTERVAL_MS + SLACK_MS);
    expect(await idsWithStatus(db, collections.outbox, 'pending')).toEqual([]);
    process.stderr.write(
      `clock-skew: the shard of a SIGKILLed run 5 min ahead was taken over ${freedAfterMs} ms after the kill (LEASE_TTL_MS ${LEASE_TTL_MS})\n`,
    );
  }, 120_000);
});
