import { Timestamp, type Firestore } from '@google-cloud/firestore';

/** A payload no command may ever print. */
export const SECRET_PAYLOAD = { cardNumber: '4111-1111-1111-1111' };

export interface DeadLetterSeed {
  readonly id: string;
  readonly redriveCount?: number;
  /** When the relay dead-lettered it. */
  readonly deadLetteredAtMs?: number;
  readonly reason?: string;
  readonly type?: string;
  readonly orderingKey?: string;
}

/** Writes dead letters the way the relay leaves them (after a router rejection), optionally already redriven. */
export async function seedDeadLetters(db: Firestore, collection: string, seeds: readonly DeadLetterSeed[]): Promise<void> {
  const batch = db.batch();
  seeds.forEach((seed, index) => {
    const reason = seed.reason ?? 'rejected by the router: HTTP 422: unknown customer';
    batch.set(db.collection(collection).doc(seed.id), {
      type: seed.type ?? 'com.example.order.created',
      data: SECRET_PAYLOAD,
      ...(seed.orderingKey === undefined ? {} : { orderingKey: seed.orderingKey }),
      createdAt: Timestamp.fromMillis(Date.UTC(2026, 0, 1) + index),
      status: 'dead_letter',
      deadLetteredAt: Timestamp.fromMillis(seed.deadLetteredAtMs ?? Date.UTC(2026, 0, 2) + index),
      deadLetterReason: reason,
      attempts: 1,
      postAttempts: 1,
      lastError: reason,
      ...(seed.redriveCount === undefined ? {} : { redriveCount: seed.redriveCount }),
    });
  });
  await batch.commit();
}

/** Writes delivered events with the given deliveredAt instants; ids are `done-0000`, `done-0001`, … */
export async function seedDelivered(db: Firestore, collection: string, deliveredAt: readonly Date[], firstIndex = 0): Promise<string[]> {
  const ids: string[] = [];
  for (let start = 0; start < deliveredAt.length; start += 500) {
    const batch = db.batch();
    deliveredAt.slice(start, start + 500).forEach((at, offset) => {
      const id = `done-${String(firstIndex + start + offset).padStart(4, '0')}`;
      ids.push(id);
      batch.set(db.collection(collection).doc(id), {
        type: 'com.example.order.created',
        data: SECRET_PAYLOAD,
        createdAt: Timestamp.fromDate(at),
        status: 'delivered',
        deliveredAt: Timestamp.fromDate(at),
        postAttempts: 1,
      });
    });
    await batch.commit();
  }
  return ids;
}

/** Sets the status of existing documents, e.g. to turn seeded pending events into other states. */
export async function setStatus(db: Firestore, collection: string, ids: readonly string[], status: string): Promise<void> {
  const batch = db.batch();
  for (const id of ids) batch.update(db.collection(collection).doc(id), { status });
  await batch.commit();
}
