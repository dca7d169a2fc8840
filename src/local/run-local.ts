import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Timestamp } from '@google-cloud/firestore';
import { createFirestore } from '../adapters/firestore-client.js';
import { DEFAULT_OUTBOX_COLLECTION } from '../config.js';
import { startFirestoreEmulator, type RunningEmulator } from './firestore-emulator.js';
import { serveFunction } from './functions-framework-process.js';
import { startPrintingRouter } from './printing-router.js';

const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const print = (line: string): void => void process.stdout.write(`${line}\n`);

/** Sample events seeded into an empty outbox, so a first run has something to deliver. */
const SAMPLE_EVENTS = [
  { type: 'com.example.order.created', orderingKey: 'order-1001', data: { orderId: 1001, total: 25 } },
  { type: 'com.example.order.paid', orderingKey: 'order-1001', data: { orderId: 1001, billingId: 'bill-1' } },
  { type: 'com.example.order.created', orderingKey: 'order-1002', data: { orderId: 1002, total: 40 } },
  { type: 'com.example.customer.updated', data: { customerId: 'c-7', tier: 'gold' } },
  { type: 'com.example.order.shipped', orderingKey: 'order-1001', data: { orderId: 1001, carrier: 'post' } },
];

/**
 * The main job on an embedded default: the emulator (unless FIRESTORE_EMULATOR_HOST is set), a printing
 * router, sample events, the function served by the Functions Framework, and one run triggered like Scheduler.
 */
async function main(): Promise<number> {
  const env = { ...process.env };
  let emulator: RunningEmulator | undefined;
  if (env.FIRESTORE_EMULATOR_HOST === undefined || env.FIRESTORE_EMULATOR_HOST === '') {
    print('starting the Firestore emulator…');
    emulator = await startFirestoreEmulator();
    env.FIRESTORE_EMULATOR_HOST = emulator.host;
  }
  env.GOOGLE_CLOUD_PROJECT ??= 'demo-outbound';
  env.METADATA_SERVER_DETECTION ??= 'none';
  const router = await startPrintingRouter(print);
  env.ROUTER_URL ??= router.url;
  const collection = env.OUTBOX_COLLECTION ?? DEFAULT_OUTBOX_COLLECTION;
  const firestore = createFirestore({ projectId: env.GOOGLE_CLOUD_PROJECT, firestoreEmulatorHost: env.FIRESTORE_EMULATOR_HOST });
  const served = await serveFunction({ projectRoot: PROJECT_ROOT, target: 'outboundEventHandler', env, onOutput: (line) => print(`function: ${line}`) });
  try {
    const pending = await firestore.collection(collection).where('status', '==', 'pending').limit(1).get();
    if (pending.empty) {
      const batch = firestore.batch();
      const base = Date.now();
      SAMPLE_EVENTS.forEach((event, index) =>
        batch.set(firestore.collection(collection).doc(), { ...event, status: 'pending', createdAt: Timestamp.fromMillis(base + index) }),
      );
      await batch.commit();
      print(`seeded ${SAMPLE_EVENTS.length} sample events into ${collection}`);
    }
    print(`triggering one run like Cloud Scheduler: POST ${served.url}`);
    const response = await fetch(served.url, {
      method: 'POST',
      headers: { 'user-agent': 'Google-Cloud-Scheduler', 'x-cloudscheduler': 'true', 'content-type': 'application/json' },
      body: '{}',
    });
    print(`result: HTTP ${response.status} ${await response.text()}`);
    return response.ok ? 0 : 1;
  } finally {
    await served.stop();
    await router.close();
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
