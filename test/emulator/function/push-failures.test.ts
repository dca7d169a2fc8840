import { jest } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { FieldValue } from '@google-cloud/firestore';
import type { RunLease } from '../../../src/core/ports.js';
import { closeServedHandlers, memoryLogger, relayEnv, serveHandler } from '../../support/function-server.js';
import { startKickProxy, type InstanceAnswer, type KickProxy } from '../../support/kick-proxy.js';
import { startLoopbackRouter, type LoopbackRouter } from '../../support/loopback-router.js';
import { idsWithStatus } from '../../support/outbox-fixtures.js';
import { startTriggerEmulator, type TriggerEmulator } from '../../support/trigger-emulator.js';

/**
 * Push on commit when things go wrong, with the real thing: a Firestore emulator of this file's own (it is frozen
 * here, so not the tier's) fires the registered Eventarc trigger through a proxy standing in for Eventarc and Cloud
 * Run (kick-proxy.ts: routing to instances, lost kicks, retries of a kick answered 5xx) at function instances
 * served by the Functions Framework. Whatever happens, the answers keep the rules of README.md, no event the
 * router acknowledged is POSTed again, and a kick that is lost only delays its event to the next run.
 */
let emulator: TriggerEmulator;
let proxy: KickProxy;
let router: LoopbackRouter;
let outbox: string;
/** Events the router acknowledged, and every POST of an event it had already acknowledged. */
let acknowledged: Set<string>;
let duplicates: string[];
let routerDown = false;

const tierEmulatorHost = process.env.FIRESTORE_EMULATOR_HOST;

beforeAll(async () => {
  proxy = await startKickProxy('a');
  emulator = await startTriggerEmulator(proxy.host);
  process.env.FIRESTORE_EMULATOR_HOST = emulator.host;
}, 120_000);

afterAll(async () => {
  thaw();
  await closeServedHandlers();
  await emulator.stop();
  await proxy.close();
  process.env.FIRESTORE_EMULATOR_HOST = tierEmulatorHost;
});

beforeEach(async () => {
  acknowledged = new Set();
  duplicates = [];
  routerDown = false;
  router = await startLoopbackRouter((request) => {
    if (acknowledged.has(request.eventId)) duplicates.push(request.eventId);
    if (routerDown) return { respond: 503, body: '{"error":"down"}' };
    acknowledged.add(request.eventId);
    return { respond: 200, body: '{"ok":true}' };
  });
  outbox = `outbox_${randomBytes(5).toString('hex')}`;
  proxy.answers.length = 0;
  proxy.dropped.length = 0;
  proxy.retries5xx = 0;
  proxy.policy = () => ({ to: 'a' });
  await emulator.registerTrigger(`kick-${outbox}`, outbox);
});

afterEach(async () => {
  if (process.env.PUSH_FAILURES_DEBUG === '1')
    process.stderr.write(
      `${expect.getState().currentTestName}\n${proxy.answers.map((a) => `  ${a.instance} ${a.kind} ${a.subject ?? ''} #${a.attempt} ${a.status} ${JSON.stringify(a.body)}`).join('\n')}\n`,
    );
  thaw();
  await proxy.closeInstances();
  await router.close();
});

let frozen = false;
function freeze(): void {
  frozen = true;
  process.kill(-emulator.pid, 'SIGSTOP');
}
function thaw(): void {
  if (!frozen) return;
  frozen = false;
  process.kill(-emulator.pid, 'SIGCONT');
}

/** One function instance with push on (unless overridden), served behind the proxy as `name`. */
async function instance(
  name: string,
  overrides: Record<string, string> = {},
  shutdown?: AbortSignal,
  wrapLease?: (lease: RunLease) => RunLease,
): Promise<void> {
  const server = serveHandler({
    env: relayEnv(
      router.url,
      { outbox },
      { FIRESTORE_EMULATOR_HOST: emulator.host, GOOGLE_CLOUD_PROJECT: emulator.project, PUSH_LINGER_MS: '1000', ...overrides },
    ),
    logger: memoryLogger(),
    ...(shutdown === undefined ? {} : { shutdown }),
    ...(wrapLease === undefined ? {} : { wrapLease }),
  });
  await proxy.serve(name, server);
}

/** Commits one event as the producer API does; ids sort in commit order. */
async function commit(id: string, orderingKey: string): Promise<void> {
  await emulator.db
    .collection(outbox)
    .doc(id)
    .set({ type: 'order.created', data: { id }, orderingKey, createdAt: FieldValue.serverTimestamp(), status: 'pending' });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Kicks the emulator has sent so far (answered by an instance, or dropped). */
const kicksSent = (): number => proxy.answers.filter((a) => a.kind === 'kick' && a.attempt === 1).length + proxy.dropped.length;

/**
 * Waits (bounded, generously for a loaded machine) until the emulator has sent `kicks` kicks and every one was
 * answered, and, unless `pendingLeft` says otherwise, nothing is pending. The spec's assertions then say whether
 * what it waited for happened.
 */
async function settled(kicks: number, pendingLeft = 0, withinMs = 90_000): Promise<void> {
  const until = Date.now() + withinMs;
  while (Date.now() < until) {
    const pending = await idsWithStatus(emulator.db, outbox, 'pending');
    if (kicksSent() >= kicks && proxy.inFlight() === 0 && pending.length <= pendingLeft) return;
    await sleep(200);
  }
}

/** The answer rules (README.md), as a check of one answer: what is wrong with it, or undefined. */
function breaksAnswerRules(answer: InstanceAnswer): string | undefined {
  const { status, body } = answer;
  const failed = typeof body.failed === 'number' ? body.failed : 0;
  const delivered = typeof body.delivered === 'number' ? body.delivered : 0;
  if (status === 200) return failed === 0 ? undefined : `200 although ${failed} deliveries failed`;
  if (status !== 500) return `answered ${status}`;
  switch (body.error) {
    case 'delivery_failed':
      return failed > 0 ? undefined : '500 delivery_failed without a failed delivery';
    case 'router_failing':
    case 'internal_error':
    case 'lease_unavailable':
      return undefined;
    case 'fetch_failed':
      return delivered === 0 ? undefined : `500 fetch_failed after ${delivered} deliveries`;
    default:
      return `500 for ${String(body.error)}`;
  }
}

function expectAnswerRulesKept(): void {
  const broken = proxy.answers.map((answer) => ({ answer, wrong: breaksAnswerRules(answer) })).filter((a) => a.wrong !== undefined);
  expect(broken).toEqual([]);
}

/** Every id acknowledged, in its key's order (ids sort in commit order within a key). */
function expectDeliveredInOrder(ids: readonly string[], keyOf: (id: string) => string): void {
  expect([...acknowledged].sort()).toEqual([...ids].sort());
  const order = router.acceptedIds();
  for (const key of new Set(ids.map(keyOf))) {
    const ofKey = order.filter((id) => keyOf(id) === key);
    expect(ofKey).toEqual([...ofKey].sort());
  }
}

const keyOf = (id: string): string => `key-${Number(id.slice(-3)) % 3}`;
const idAt = (prefix: string, i: number): string => `${prefix}-${String(i).padStart(3, '0')}`;

jest.setTimeout(240_000);

describe('Push on commit under failures, through the emulator’s Eventarc trigger', () => {
  it('keeps the answer rules through a router outage, and Eventarc retrying kicks answered 5xx costs no duplicate POST', async () => {
    await instance('a');
    proxy.retries5xx = 2;
    const ids: string[] = [];
    const commitNext = async (): Promise<void> => {
      const id = idAt('outage', ids.length);
      ids.push(id);
      await commit(id, keyOf(id));
    };

    for (let i = 0; i < 6; i += 1) await commitNext();
    await settled(6);
    routerDown = true;
    for (let i = 0; i < 6; i += 1) await commitNext();
    await settled(12, 6);
    routerDown = false;
    await commitNext();
    await settled(13);

    expect(proxy.answers.some((a) => a.status === 500)).toBe(true);
    expect(proxy.answers.some((a) => a.attempt > 1)).toBe(true);
    expectAnswerRulesKept();
    expect(duplicates).toEqual([]);
    expectDeliveredInOrder(ids, keyOf);
  });

  it('keeps the answer rules while Firestore is frozen, and POSTs again only what a run reported unrecorded', async () => {
    await instance('a', { FIRESTORE_TIMEOUT_MS: '1000' });
    proxy.retries5xx = 2;
    const ids: string[] = [];
    for (let i = 0; i < 8; i += 1) {
      const id = idAt('frozen', i);
      ids.push(id);
      await commit(id, keyOf(id));
      if (i === 3) {
        // The kicks so far are being answered and the run lingers: Firestore stops answering it, and fires no kick.
        freeze();
        await sleep(4_000);
        thaw();
      }
    }
    await settled(8, ids.length);
    // A kick folded into a run that then stopped on the frozen Firestore leaves its event to the next run
    // (docs/push.md#limits): here, a Scheduler run.
    if ((await idsWithStatus(emulator.db, outbox, 'pending')).length > 0) await proxy.tick('a');

    expectAnswerRulesKept();
    const unrecorded = proxy.answers.reduce((sum, a) => sum + (typeof a.body.unrecorded === 'number' ? a.body.unrecorded : 0), 0);
    expect(duplicates.length).toBeLessThanOrEqual(unrecorded);
    expectDeliveredInOrder(ids, keyOf);
  });

  it('lets no lease taken after its run gave up (Firestore frozen during the acquire) swallow later kicks: push delivers them', async () => {
    // Firestore freezes as the first run takes its lease, for longer than FIRESTORE_TIMEOUT_MS: that run answers
    // 500 lease_unavailable, and its lease lands once Firestore thaws.
    let acquires = 0;
    const freezeAtFirstAcquire = (lease: RunLease): RunLease => ({
      acquire: (owner, ttlMs) => {
        acquires += 1;
        if (acquires === 1) {
          freeze();
          setTimeout(thaw, 3_000);
        }
        return lease.acquire(owner, ttlMs);
      },
      renew: (held, ttl) => lease.renew(held, ttl),
      release: (held) => lease.release(held),
      follow: (held, onHandover) => lease.follow(held, onHandover),
      requestHandover: (requester) => lease.requestHandover(requester),
    });
    await instance('a', { FIRESTORE_TIMEOUT_MS: '1000' }, undefined, freezeAtFirstAcquire);
    const ids = [idAt('late', 0)];
    await commit(ids[0] as string, keyOf(ids[0] as string));
    await settled(1, 1);
    // Thawed: the late lease landed and was let go (the lease document is gone), as a lapsed one would be.
    const leases = emulator.db.collection(`${outbox.replace(/s$/, '')}_leases`);
    const until = Date.now() + 30_000;
    while (frozen || ((await leases.get()).size > 0 && Date.now() < until)) await sleep(100);
    for (let i = 1; i < 4; i += 1) {
      ids.push(idAt('late', i));
      await commit(idAt('late', i), keyOf(idAt('late', i)));
    }
    await settled(4, 0, 45_000);

    expect(proxy.answers[0]).toEqual(
      expect.objectContaining({ status: 500, body: expect.objectContaining({ error: 'lease_unavailable' }) }),
    );
    expect(await idsWithStatus(emulator.db, outbox, 'pending')).toEqual([]);
    expect(proxy.answers.filter((a) => a.kind === 'scheduled')).toEqual([]);
    expectAnswerRulesKept();
    expectDeliveredInOrder(ids, keyOf);
  });

  it('keeps the answer rules through a SIGTERM and a new instance taking over, with no duplicate POST', async () => {
    const sigterm = new AbortController();
    await instance('a', {}, sigterm.signal);
    await instance('b');
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      ids.push(idAt('term', i));
      await commit(idAt('term', i), keyOf(idAt('term', i)));
    }
    // Instance a's run has delivered them and lingers: SIGTERM it, and route kicks to b from now, as Cloud Run does.
    const until = Date.now() + 60_000;
    while (acknowledged.size < 5 && Date.now() < until) await sleep(50);
    sigterm.abort();
    proxy.policy = () => ({ to: 'b' });
    for (let i = 5; i < 10; i += 1) {
      ids.push(idAt('term', i));
      await commit(idAt('term', i), keyOf(idAt('term', i)));
    }
    await settled(10);

    expect(proxy.answers.some((a) => a.instance === 'a')).toBe(true);
    expect(proxy.answers.some((a) => a.instance === 'b')).toBe(true);
    expectAnswerRulesKept();
    expect(duplicates).toEqual([]);
    expectDeliveredInOrder(ids, keyOf);
  });

  it('keeps the answer rules through a rollout: an old instance without push takes the Scheduler runs, two new ones the kicks', async () => {
    await instance('old', { PUSH_LINGER_MS: '0' });
    await instance('new-1');
    await instance('new-2');
    let routed = 0;
    const route = ['old', 'new-1', 'new-2'];
    proxy.policy = () => ({ to: route[routed++ % route.length] as string });
    const ids: string[] = [];
    for (let i = 0; i < 18; i += 1) {
      ids.push(idAt('roll', i));
      await commit(idAt('roll', i), keyOf(idAt('roll', i)));
      // Cloud Scheduler's runs never overlap each other: the next starts once the previous answered.
      if (i % 6 === 5) await proxy.tick('old');
    }
    await settled(18, ids.length);
    await proxy.tick('old');
    await settled(18);

    expect(proxy.answers.filter((a) => a.instance === 'old' && a.kind === 'kick').every((a) => a.body.kick === 'ignored')).toBe(true);
    expectAnswerRulesKept();
    expect(duplicates).toEqual([]);
    expectDeliveredInOrder(ids, keyOf);
  });

  it('delays an event whose kick was lost only to the next Scheduler run', async () => {
    await instance('a');
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      ids.push(idAt('lost', i));
      await commit(idAt('lost', i), keyOf(idAt('lost', i)));
    }
    await settled(3);
    // Every kick is lost from now: the function never hears of these events.
    proxy.policy = () => ({ drop: true });
    const lost: string[] = [];
    for (let i = 3; i < 9; i += 1) {
      lost.push(idAt('lost', i));
      await commit(idAt('lost', i), keyOf(idAt('lost', i)));
    }
    await settled(9, lost.length);
    const pendingAfterLostKicks = await idsWithStatus(emulator.db, outbox, 'pending');
    const acknowledgedBeforeTick = acknowledged.size;
    const tick = await proxy.tick('a');
    proxy.policy = () => ({ to: 'a' });
    ids.push(...lost, idAt('lost', 9));
    await commit(idAt('lost', 9), keyOf(idAt('lost', 9)));
    await settled(10);

    expect(proxy.dropped.length).toBeGreaterThanOrEqual(lost.length);
    expect(pendingAfterLostKicks.sort()).toEqual(lost);
    expect(acknowledgedBeforeTick).toBe(3);
    expect(tick).toEqual(expect.objectContaining({ status: 200, body: expect.objectContaining({ delivered: lost.length }) }));
    expectAnswerRulesKept();
    expect(duplicates).toEqual([]);
    expectDeliveredInOrder(ids, keyOf);
  });

  it('POSTs only the failed event again when Eventarc retries a kick answered 500, never what was acknowledged', async () => {
    await instance('a');
    proxy.retries5xx = 3;
    // The first event's POSTs fail until its kick is answered: the run started by that kick answers 500
    // delivery_failed, and Eventarc's retry of the kick starts the run that delivers it.
    const kickOfFirstAnswered = (): boolean => proxy.answers.some((a) => a.subject?.endsWith('/retry-000') === true);
    router.script = (request) => {
      if (acknowledged.has(request.eventId)) duplicates.push(request.eventId);
      if (request.eventId === 'retry-000' && !kickOfFirstAnswered()) return { respond: 500, body: '{"error":"busy"}' };
      acknowledged.add(request.eventId);
      return { respond: 200, body: '{"ok":true}' };
    };
    const ids = ['retry-000', 'retry-001', 'retry-002', 'retry-003'];
    // Each on a key of its own: the failure holds back no other event.
    for (const id of ids) await commit(id, id);
    await settled(4);

    const first = proxy.answers.filter((a) => a.subject?.endsWith('/retry-000'));
    expect(first[0]).toEqual(expect.objectContaining({ status: 500, body: expect.objectContaining({ error: 'delivery_failed' }) }));
    expect(first.at(-1)).toEqual(expect.objectContaining({ status: 200, attempt: first.length }));
    expectAnswerRulesKept();
    expect(duplicates).toEqual([]);
    // Besides the first event's failed POSTs, each event was POSTed once.
    expect(router.received.filter((r) => r.eventId !== 'retry-000').map((r) => r.eventId)).toEqual(expect.arrayContaining(ids.slice(1)));
    expect(router.received.filter((r) => r.eventId !== 'retry-000')).toHaveLength(3);
  });
});
