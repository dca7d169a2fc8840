import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Timestamp, type Firestore } from '@google-cloud/firestore';
import { readLedger } from '../../examples/example-router/example-router.js';
import { EXAMPLE_ROUTER_SOURCE, serveFunction, type ServedFunction } from '../../tools/local/functions-framework-process.js';
import { emulatorFirestore, idsWithStatus, readAll, uniqueCollections } from '../support/outbox-fixtures.js';
import { PROJECT_ROOT } from '../support/project-root.js';

const ACCOUNTS = 40;
const MOVEMENTS = 520;
const POISON_EVERY = 53;
const CHARGES = 12;
/**
 * Above what the example router takes on a loaded 2-core machine (its Firestore transaction on the emulator
 * then often takes over 300 ms). A timeout below the router's own time makes the relay POST again while the
 * first request still holds the inbox's locks: the emulator then serializes the two, each redelivery waits
 * longer than the last, and the event's orderingKey stops draining. Injected timeouts stay: a hung request
 * and an answer sent LATE_ANSWER_MS after the router committed.
 */
const POST_TIMEOUT_MS = 2000;
const LATE_ANSWER_MS = POST_TIMEOUT_MS + 500;
const RUN_BUDGET_MS = 1500;
/**
 * Firestore calls of a run are bounded by this; the emulator answers in milliseconds when it is not frozen. The run
 * lease lasts 3 × it, short enough that a killed run's lease expires within the test.
 */
const FIRESTORE_TIMEOUT_MS = 1000;
/**
 * The drain runs until the outbox is empty, not for a fixed number of runs: how many runs it takes depends on
 * the machine (on a loaded one more runs end early with a 500). It gives up only when no event has left the
 * outbox for STALL_MS, which is a stuck relay, not a slow one, or after MAX_DRAIN_MS in all. On a 2-core machine
 * shared with a CPU-bound process and other test runs, five drains took 74 to 103 s and never waited more than
 * 14 s for an event to leave the outbox.
 */
const STALL_MS = 60_000;
const MAX_DRAIN_MS = 420_000;
/** MAX_DRAIN_MS plus the set-up (three Functions Framework processes, seeding) and the checks. */
const TEST_TIMEOUT_MS = MAX_DRAIN_MS + 120_000;

/** A small deterministic PRNG, so every run injects the same faults. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface PlannedEvent {
  readonly id: string;
  readonly type: string;
  readonly accountId: string;
  readonly data: Record<string, unknown>;
  /** The balance change the ledger must show, or undefined when the event must not apply (poison, repeated charge). */
  readonly delta: number | undefined;
  readonly poison: boolean;
}

/** ≥ 500 ledger movements over many accounts, a few poison events, and charges of which some repeat a billingId. */
function planEvents(): PlannedEvent[] {
  const events: PlannedEvent[] = [];
  for (let i = 0; i < MOVEMENTS; i += 1) {
    const accountId = `acct-${String(i % ACCOUNTS).padStart(2, '0')}`;
    const id = `mv-${String(i).padStart(4, '0')}`;
    if (i % POISON_EVERY === POISON_EVERY - 1) {
      // A zero amount is invalid data: the router answers 422, the relay must dead-letter it.
      events.push({ id, type: 'com.example.account.debited', accountId, data: { accountId, amount: 0 }, delta: undefined, poison: true });
    } else if (i < ACCOUNTS || i % 3 !== 0) {
      events.push({
        id,
        type: 'com.example.account.credited',
        accountId,
        data: { accountId, amount: 1000 + i },
        delta: 1000 + i,
        poison: false,
      });
    } else {
      events.push({
        id,
        type: 'com.example.account.debited',
        accountId,
        data: { accountId, amount: 100 + i },
        delta: -(100 + i),
        poison: false,
      });
    }
  }
  for (let c = 0; c < CHARGES; c += 1) {
    const billingId = `bill-${c % (CHARGES / 2)}`;
    const accountId = `acct-${String(c % (CHARGES / 2)).padStart(2, '0')}`;
    const first = c < CHARGES / 2;
    events.push({
      id: `ch-${String(c).padStart(2, '0')}`,
      type: 'com.example.billing.charged',
      accountId,
      data: { billingId, accountId, amount: 50 },
      delta: first ? -50 : undefined,
      poison: false,
    });
  }
  return events;
}

type Fault = 'none' | 'server-error' | 'hang' | 'commit-then-drop' | 'commit-then-late';

/** Movements their producer deletes, or deletes and writes again with new data, while their first POST is in flight. */
const DELETED_IN_FLIGHT = ['mv-0101', 'mv-0202', 'mv-0303'];
const RECREATED_IN_FLIGHT = ['mv-0151', 'mv-0252', 'mv-0353'];

/** What the producer does to a document while its first POST is in flight. */
type InFlightChange = (eventId: string) => Promise<void>;

/**
 * Sits between the relay and the example router and injects a fault into some requests; the first POST of the
 * events above goes through unfaulted, after their document was changed under the relay.
 */
async function startFaultProxy(targetUrl: string, random: () => number, changeInFlight: InFlightChange) {
  const stats = { posts: 0, faults: 0, duplicatesAbsorbed: 0, changedInFlight: 0 };
  const bodies = new Map<string, string[]>();
  const changed = new Set<string>();
  const sockets = new Set<Socket>();
  const pickFault = (): Fault => {
    const roll = random();
    if (roll < 0.05) return 'server-error';
    if (roll < 0.08) return 'hang';
    if (roll < 0.11) return 'commit-then-drop';
    if (roll < 0.13) return 'commit-then-late';
    return 'none';
  };
  const forward = async (req: http.IncomingMessage, body: Buffer) => {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (typeof value === 'string' && (name.startsWith('ce-') || ['content-type', 'idempotency-key', 'x-delivery-attempt'].includes(name)))
        headers[name] = value;
    }
    const response = await fetch(targetUrl, { method: 'POST', headers, body });
    const text = await response.text();
    if (text.includes('"duplicate":true')) stats.duplicatesAbsorbed += 1;
    return { status: response.status, text };
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      stats.posts += 1;
      const eventId = String(req.headers['ce-id']);
      bodies.set(eventId, [...(bodies.get(eventId) ?? []), Buffer.concat(chunks).toString('utf8')]);
      if ((DELETED_IN_FLIGHT.includes(eventId) || RECREATED_IN_FLIGHT.includes(eventId)) && !changed.has(eventId)) {
        changed.add(eventId);
        stats.changedInFlight += 1;
        void changeInFlight(eventId)
          .then(() => forward(req, Buffer.concat(chunks)))
          .then(
            ({ status, text }) => res.writeHead(status, { 'content-type': 'application/json' }).end(text),
            () => res.writeHead(502).end('router unreachable'),
          );
        return;
      }
      const fault = pickFault();
      if (fault !== 'none') stats.faults += 1;
      if (fault === 'server-error') {
        res.writeHead(503).end('injected');
        return;
      }
      if (fault === 'hang') return;
      forward(req, Buffer.concat(chunks)).then(
        ({ status, text }) => {
          if (fault === 'commit-then-drop') {
            req.socket.destroy();
            return;
          }
          const send = () => {
            if (!res.destroyed) res.writeHead(status, { 'content-type': 'application/json' }).end(text);
          };
          if (fault === 'commit-then-late') setTimeout(send, LATE_ANSWER_MS);
          else send();
        },
        () => res.writeHead(502).end('router unreachable'),
      );
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    stats,
    bodies,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('Fault injection: at-least-once delivery into an idempotent consumer', () => {
  let db: Firestore;
  const served: ServedFunction[] = [];
  let proxy: Awaited<ReturnType<typeof startFaultProxy>> | undefined;

  beforeAll(() => {
    db = emulatorFirestore();
  });
  afterAll(async () => {
    for (const fn of served) await fn.stop('SIGKILL');
    await proxy?.close();
    await db.terminate();
  });

  it(
    'delivers every event exactly once in effect, in order per key, through 5xx, timeouts, dropped answers, overlapping runs, SIGTERMs, SIGKILLs and documents changed in flight',
    async () => {
      const collections = uniqueCollections();
      const ledgerCollection = `ledger_${collections.outbox}`;
      const baseEnv = {
        PATH: process.env.PATH,
        METADATA_SERVER_DETECTION: 'none',
        GOOGLE_CLOUD_PROJECT: process.env.GOOGLE_CLOUD_PROJECT,
        FIRESTORE_EMULATOR_HOST: process.env.FIRESTORE_EMULATOR_HOST,
      };
      const router = await serveFunction({
        projectRoot: PROJECT_ROOT,
        target: 'exampleRouter',
        source: EXAMPLE_ROUTER_SOURCE,
        env: { ...baseEnv, LEDGER_COLLECTION: ledgerCollection, INBOX_COLLECTION: `inbox_${collections.outbox}`, LOG_LEVEL: 'ERROR' },
      });
      served.push(router);
      const outbox = db.collection(collections.outbox);
      const planned = planEvents();
      const recreatedData = (id: string) => ({ ...(planned.find((e) => e.id === id)?.data ?? {}), note: 'written again while in flight' });
      proxy = await startFaultProxy(router.url, mulberry32(20261126), async (eventId) => {
        const ref = outbox.doc(eventId);
        const original = (await ref.get()).data();
        await ref.delete();
        if (RECREATED_IN_FLIGHT.includes(eventId) && original !== undefined) await ref.set({ ...original, data: recreatedData(eventId) });
      });
      const relayEnv = (overrides: Record<string, string>) => ({
        ...baseEnv,
        ROUTER_URL: proxy?.url,
        OUTBOX_COLLECTION: collections.outbox,
        BATCH_SIZE: '50',
        DELIVERY_CONCURRENCY: '8',
        POST_TIMEOUT_MS: String(POST_TIMEOUT_MS),
        POST_RETRIES: '1',
        RETRY_MIN_DELAY_MS: '5',
        RETRY_MAX_DELAY_MS: '20',
        MAX_ATTEMPTS: '1000',
        RUN_BUDGET_MS: String(RUN_BUDGET_MS),
        FIRESTORE_TIMEOUT_MS: String(FIRESTORE_TIMEOUT_MS),
        REDELIVERY_MIN_DELAY_MS: '0',
        REDELIVERY_MAX_DELAY_MS: '0',
        // The poison here is invalid data, not an ordering hazard: the account's later movements go on.
        KEY_AFTER_DEAD_LETTER: 'continue',
        LOG_LEVEL: 'ERROR',
        ...overrides,
      });
      const startRelay = () =>
        serveFunction({
          projectRoot: PROJECT_ROOT,
          target: 'outboundEventHandler',
          env: relayEnv({}),
        });
      const instances = { A: await startRelay(), B: await startRelay() };
      served.push(instances.A, instances.B);

      for (let start = 0; start < planned.length; start += 400) {
        const batch = db.batch();
        planned.slice(start, start + 400).forEach((event, offset) => {
          batch.set(db.collection(collections.outbox).doc(event.id), {
            type: event.type,
            data: event.data,
            orderingKey: event.accountId,
            createdAt: Timestamp.fromMillis(Date.UTC(2026, 0, 1) + start + offset),
            status: 'pending',
          });
        });
        await batch.commit();
      }

      const answers = { ok: 0, failed: 0, skipped: 0, killed: 0 };
      const trigger = async (url: string): Promise<keyof typeof answers> => {
        let answer: keyof typeof answers;
        try {
          const response = await fetch(url, { method: 'POST' });
          const body = (await response.json()) as Record<string, unknown>;
          answer = body.skipped !== undefined ? 'skipped' : response.status === 200 ? 'ok' : 'failed';
        } catch {
          answer = 'killed';
        }
        answers[answer] += 1;
        return answer;
      };
      /** Stops an instance the way Cloud Run does, once a run of it really delivers: how long it took to exit, and the run's answer. */
      const signalMidRun = async (instance: ServedFunction, signal: NodeJS.Signals): Promise<{ exitedAfterMs: number; answer: string }> => {
        const deadline = Date.now() + 15_000;
        for (;;) {
          const postsBefore = proxy?.stats.posts ?? 0;
          let settled = false;
          const run = trigger(instance.url).finally(() => {
            settled = true;
          });
          while (!settled && (proxy?.stats.posts ?? 0) < postsBefore + 25 && Date.now() < deadline)
            await new Promise((resolve) => setTimeout(resolve, 5));
          if (!settled || Date.now() >= deadline) {
            const signalledAt = Date.now();
            await instance.stop(signal);
            const exitedAfterMs = Date.now() - signalledAt;
            return { exitedAfterMs, answer: await run };
          }
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      };
      const sigterms: { exitedAfterMs: number; answer: string }[] = [];
      const pendingCount = async () =>
        (await db.collection(collections.outbox).where('status', '==', 'pending').count().get()).data().count;
      const started = Date.now();
      let ticks = 0;
      let pending = await pendingCount();
      let progressAt = started;
      let longestStallMs = 0;
      while (pending > 0 && Date.now() - progressAt < STALL_MS && Date.now() - started < MAX_DRAIN_MS) {
        ticks += 1;
        if (ticks === 2 || ticks === 6) {
          // Kill instance A in the middle of a run (a crash), then start a fresh one in its place.
          await signalMidRun(instances.A, 'SIGKILL');
          instances.A = await startRelay();
          served.push(instances.A);
        } else if (ticks === 4 || ticks === 8) {
          // Shut instance B down in the middle of a run, as Cloud Run does (SIGTERM, SIGKILL 10 s later).
          sigterms.push(await signalMidRun(instances.B, 'SIGTERM'));
          instances.B = await startRelay();
          served.push(instances.B);
        } else {
          // Two Scheduler invocations at once, on two instances.
          await Promise.all([trigger(instances.A.url), trigger(instances.B.url)]);
          if (answers.skipped > 0 && answers.ok + answers.failed === 0) await new Promise((resolve) => setTimeout(resolve, 200));
        }
        const left = await pendingCount();
        longestStallMs = Math.max(longestStallMs, Date.now() - progressAt);
        if (left < pending) progressAt = Date.now();
        pending = left;
      }
      const drainSeconds = ((Date.now() - started) / 1000).toFixed(1);
      const stalled = Date.now() - progressAt >= STALL_MS;

      const ledger = await readLedger(db, ledgerCollection);
      const deadLetters = await idsWithStatus(db, collections.outbox, 'dead_letter');
      const delivered = new Set(await idsWithStatus(db, collections.outbox, 'delivered'));
      const stillPending = await idsWithStatus(db, collections.outbox, 'pending');
      const expectedDeadLetters = planned
        .filter((e) => e.poison)
        .map((e) => e.id)
        .sort();
      // Lost: neither delivered, nor dead-lettered as the poison injected, nor still pending (which is a drain
      // that did not finish, reported apart).
      const stillThere = new Set((await db.collection(collections.outbox).select().get()).docs.map((doc) => doc.id));
      const accountedFor = new Set([
        ...delivered,
        ...stillPending,
        ...deadLetters.filter((id) => expectedDeadLetters.includes(id)),
        // Deleted by their producer while in flight: gone, as the producer left them.
        ...DELETED_IN_FLIGHT.filter((id) => !stillThere.has(id)),
      ]);
      const lost = planned.filter((e) => !accountedFor.has(e.id)).map((e) => e.id);
      const poisonPending = stillPending.filter((id) => expectedDeadLetters.includes(id)).length;
      const drain =
        stillPending.length === 0
          ? `drained in ${drainSeconds} s (longest wait for progress ${(longestStallMs / 1000).toFixed(1)} s)`
          : `drain did not finish: ${stillPending.length} pending (${poisonPending} of them poison) after ${drainSeconds} s, ` +
            (stalled ? `none left the outbox in the last ${STALL_MS / 1000} s` : `at the ${MAX_DRAIN_MS / 1000} s bound`);
      if (stillPending.length > 0) {
        // What the relay last recorded for a few of them: why the drain did not finish, not only that it did not.
        const outbox = await readAll(db, collections.outbox);
        for (const id of stillPending.slice(0, 5)) {
          const doc = outbox.get(id);
          process.stderr.write(
            `fault-injection: pending ${id} orderingKey=${String(doc?.orderingKey)} attempts=${String(doc?.attempts)} postAttempts=${String(doc?.postAttempts)} lastError=${String(doc?.lastError)}\n`,
          );
        }
      }
      process.stderr.write(
        `fault-injection: events=${planned.length} POSTs sent=${proxy.stats.posts} faults injected=${proxy.stats.faults} ` +
          `duplicates absorbed=${proxy.stats.duplicatesAbsorbed} changed in flight=${proxy.stats.changedInFlight} ` +
          `SIGTERMs=${JSON.stringify(sigterms)} runs=${JSON.stringify(answers)} ticks=${ticks} ` +
          `delivered=${delivered.size} dead-lettered=${deadLetters.length} ${drain} lost=${lost.length}\n`,
      );

      expect(lost).toEqual([]);
      expect(stillPending).toEqual([]);
      expect(deadLetters).toEqual(expectedDeadLetters);
      expect(answers.killed).toBe(2);
      // Every run in flight at a SIGTERM answered, and its instance was gone well within Cloud Run's 10 s.
      expect(sigterms.map((t) => t.answer)).toEqual([expect.stringMatching(/^(ok|failed)$/), expect.stringMatching(/^(ok|failed)$/)]);
      expect(Math.max(...sigterms.map((t) => t.exitedAfterMs))).toBeLessThan(10_000);
      // Deleted in flight: still deleted, no stub document. Written again in flight: sent again with its new data
      // (same ce-id, so the inbox absorbs it), and only then recorded delivered.
      expect(DELETED_IN_FLIGHT.filter((id) => stillThere.has(id))).toEqual([]);
      for (const id of RECREATED_IN_FLIGHT) {
        expect(delivered.has(id)).toBe(true);
        expect(proxy.bodies.get(id)?.map((body) => JSON.parse(body) as unknown)).toContainEqual(recreatedData(id));
      }
      expect(proxy.stats.duplicatesAbsorbed).toBeGreaterThan(0);
      for (const accountId of new Set(planned.map((e) => e.accountId))) {
        const applies = planned.filter((e) => e.accountId === accountId && e.delta !== undefined);
        const account = ledger[accountId];
        // Every effect once, none missing, in createdAt order per key.
        expect(account?.entries.map((entry) => entry.eventId)).toEqual(applies.map((e) => e.id));
        expect(account?.balance).toBe(applies.reduce((sum, e) => sum + (e.delta ?? 0), 0));
      }
    },
    TEST_TIMEOUT_MS,
  );
});
