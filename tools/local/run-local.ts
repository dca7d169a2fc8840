import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createFirestore } from 'outbound-event-handler';
import { createOutbox, parseStoreConfig } from 'outbound-event-handler/producer';
import { DEFAULT_LEDGER_COLLECTION } from '../../examples/example-router/config.js';
import { readLedger } from '../../examples/example-router/example-router.js';
import { startFirestoreEmulator, type RunningEmulator } from './firestore-emulator.js';
import { EXAMPLE_ROUTER_SOURCE, serveFunction, type ServedFunction } from './functions-framework-process.js';

/** The package's own root, found through its self-reference, so it holds wherever this file is built to. */
const PROJECT_ROOT = path.dirname(fileURLToPath(import.meta.resolve('outbound-event-handler/package.json')));
const print = (line: string): void => void process.stdout.write(`${line}\n`);

/** Sample events for an empty outbox: a small ledger story, with a charge sent twice under two ids. */
const SAMPLE_EVENTS = [
  { type: 'com.example.account.credited', orderingKey: 'acct-alice', data: { accountId: 'acct-alice', amount: 10_000 } },
  { type: 'com.example.account.credited', orderingKey: 'acct-bob', data: { accountId: 'acct-bob', amount: 2_500 } },
  { type: 'com.example.billing.charged', orderingKey: 'acct-alice', data: { billingId: 'bill-1', accountId: 'acct-alice', amount: 1_999 } },
  { type: 'com.example.billing.charged', orderingKey: 'acct-alice', data: { billingId: 'bill-1', accountId: 'acct-alice', amount: 1_999 } },
  { type: 'com.example.account.debited', orderingKey: 'acct-bob', data: { accountId: 'acct-bob', amount: 500 } },
  { type: 'com.example.unknown', data: { note: 'no router knows this type: it is dead-lettered' } },
];

/** Prints the function's JSON log lines as one short line each. */
function logPrinter(prefix: string): (line: string) => void {
  return (line) => {
    try {
      const { severity, message, ...fields } = JSON.parse(line) as Record<string, unknown>;
      delete fields.time;
      print(`${prefix} ${String(severity)} ${String(message)} ${JSON.stringify(fields)}`);
    } catch {
      print(`${prefix} ${line}`);
    }
  };
}

/**
 * The main job on an embedded default: the emulator (unless FIRESTORE_EMULATOR_HOST is set), the example
 * object router, sample events, the relay served by the Functions Framework as `npm start` serves it, and one
 * run triggered like Cloud Scheduler; then the ledger the router built.
 */
async function main(): Promise<number> {
  const env: Record<string, string | undefined> = { ...process.env };
  let emulator: RunningEmulator | undefined;
  const served: ServedFunction[] = [];
  if (env.FIRESTORE_EMULATOR_HOST === undefined || env.FIRESTORE_EMULATOR_HOST === '') {
    print('starting the Firestore emulator…');
    emulator = await startFirestoreEmulator();
    env.FIRESTORE_EMULATOR_HOST = emulator.host;
  }
  env.GOOGLE_CLOUD_PROJECT ??= 'demo-outbound';
  env.METADATA_SERVER_DETECTION ??= 'none';
  const firestore = createFirestore({ projectId: env.GOOGLE_CLOUD_PROJECT, firestoreEmulatorHost: env.FIRESTORE_EMULATOR_HOST });
  try {
    const router = await serveFunction({
      projectRoot: PROJECT_ROOT,
      target: 'exampleRouter',
      source: EXAMPLE_ROUTER_SOURCE,
      env,
      onOutput: logPrinter('router  │'),
    });
    served.push(router);
    env.ROUTER_URL ??= router.url;
    const relay = await serveFunction({
      projectRoot: PROJECT_ROOT,
      target: 'outboundEventHandler',
      env,
      onOutput: logPrinter('relay   │'),
    });
    served.push(relay);

    const collection = parseStoreConfig(env).outboxCollection;
    const pending = await firestore.collection(collection).where('status', '==', 'pending').limit(1).get();
    if (pending.empty) {
      const outbox = createOutbox(firestore, { collection, shardCount: 1 });
      for (const event of SAMPLE_EVENTS) {
        // One transaction per event, as a producer would write it beside its own change.
        await firestore.runTransaction((tx) => Promise.resolve(outbox.enqueue(tx, event)));
      }
      print(`seeded ${SAMPLE_EVENTS.length} sample events into ${collection}`);
    }

    print(`triggering one run like Cloud Scheduler: POST ${relay.url}`);
    const response = await fetch(relay.url, {
      method: 'POST',
      headers: { 'user-agent': 'Google-Cloud-Scheduler', 'x-cloudscheduler': 'true', 'content-type': 'application/json' },
      body: '{}',
    });
    print(`result: HTTP ${response.status} ${await response.text()}`);
    const ledger = await readLedger(firestore, env.LEDGER_COLLECTION ?? DEFAULT_LEDGER_COLLECTION);
    for (const [accountId, account] of Object.entries(ledger)) {
      print(
        `ledger: ${accountId} balance=${account.balance} entries=${account.entries.map((e) => `${e.type.split('.').pop() ?? ''}:${e.delta}`).join(', ')}`,
      );
    }
    return response.ok ? 0 : 1;
  } finally {
    for (const fn of served.reverse()) await fn.stop();
    await firestore.terminate();
    await emulator?.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
