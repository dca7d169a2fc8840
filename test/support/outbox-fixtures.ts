import { randomBytes } from 'node:crypto';
import { Timestamp, type Firestore } from '@google-cloud/firestore';
import { createFirestore } from '../../src/adapters/firestore-client.js';
import { outboxCollections } from '../../src/config.js';

/** A client for the emulator the global setup started. */
export function emulatorFirestore(): Firestore {
  const host = process.env.FIRESTORE_EMULATOR_HOST;
  if (host === undefined) throw new Error('FIRESTORE_EMULATOR_HOST is not set: the test setup starts the emulator');
  return createFirestore({ projectId: process.env.GOOGLE_CLOUD_PROJECT, firestoreEmulatorHost: host });
}

/** Collections unique to one test, so tests never see each other's events. */
export function uniqueCollections(): { outbox: string; audit: string } {
  const suffix = randomBytes(5).toString('hex');
  const outbox = `outbox_${suffix}`;
  return { outbox, audit: outboxCollections(outbox).auditCollection };
}

export interface SeedOptions {
  readonly type?: string;
  readonly orderingKey?: (index: number) => string | undefined;
  readonly data?: (index: number) => unknown;
  /** Base time; event i is created i milliseconds later, so ids sort the same way as createdAt. */
  readonly baseMs?: number;
}

/** Writes `count` pending events the way a producer would; ids are `evt-0000`, `evt-0001`, … */
export async function seedEvents(db: Firestore, collection: string, count: number, options: SeedOptions = {}): Promise<string[]> {
  const base = options.baseMs ?? Date.UTC(2026, 0, 1);
  const ids: string[] = [];
  for (let start = 0; start < count; start += 500) {
    const batch = db.batch();
    for (let i = start; i < Math.min(count, start + 500); i += 1) {
      const id = `evt-${String(i).padStart(4, '0')}`;
      ids.push(id);
      const orderingKey = options.orderingKey?.(i);
      batch.set(db.collection(collection).doc(id), {
        type: options.type ?? 'order.created',
        data: options.data?.(i) ?? { orderId: i },
        createdAt: Timestamp.fromMillis(base + i),
        status: 'pending',
        ...(orderingKey === undefined ? {} : { orderingKey }),
      });
    }
    await batch.commit();
  }
  return ids;
}

/** Every document of a collection by id, as plain data. */
export async function readAll(db: Firestore, collection: string): Promise<Map<string, Record<string, unknown>>> {
  const snapshot = await db.collection(collection).get();
  return new Map(snapshot.docs.map((doc) => [doc.id, doc.data()]));
}

/** Ids of the documents in `collection` whose status is `status`, sorted. */
export async function idsWithStatus(db: Firestore, collection: string, status: string): Promise<string[]> {
  const snapshot = await db.collection(collection).where('status', '==', status).get();
  return snapshot.docs.map((doc) => doc.id).sort();
}

/** One emulator client per spec file and a fresh outbox collection per test. */
export function useOutboxFixture(): { db: Firestore; outbox: string } {
  const fixture = {} as { db: Firestore; outbox: string };
  beforeAll(() => {
    fixture.db = emulatorFirestore();
  });
  afterAll(async () => {
    await fixture.db.terminate();
  });
  beforeEach(() => {
    fixture.outbox = uniqueCollections().outbox;
  });
  return fixture;
}
