import { FieldValue, type Firestore } from '@google-cloud/firestore';
import axios from 'axios';

/** How far the naive relay got within its time box. */
export interface SeedShapedResult {
  readonly delivered: number;
  readonly ms: number;
  readonly eventsPerSecond: number;
}

/**
 * The design the relay replaced, kept as the baseline: read pending events oldest first, POST them one
 * after another, and update each event's document as soon as its POST succeeds. Stops at `budgetMs`.
 */
export async function runSeedShapedRelay(
  firestore: Firestore,
  collection: string,
  routerUrl: string,
  budgetMs: number,
): Promise<SeedShapedResult> {
  const startedAt = performance.now();
  const deadline = Date.now() + budgetMs;
  let delivered = 0;
  drain: while (Date.now() < deadline) {
    const page = await firestore.collection(collection).where('status', '==', 'pending').orderBy('createdAt').limit(100).get();
    if (page.empty) break;
    for (const doc of page.docs) {
      if (Date.now() >= deadline) break drain;
      const createdAt = doc.get('createdAt') as { toDate(): Date };
      await axios.post(routerUrl, JSON.stringify(doc.get('data')), {
        headers: {
          'content-type': 'application/json',
          'ce-specversion': '1.0',
          'ce-id': doc.id,
          'ce-type': String(doc.get('type')),
          'ce-source': '/outbound-event-handler',
          'ce-time': createdAt.toDate().toISOString(),
        },
        timeout: 10_000,
      });
      await doc.ref.update({ status: 'delivered', deliveredAt: FieldValue.serverTimestamp() });
      delivered += 1;
    }
  }
  const ms = performance.now() - startedAt;
  return { delivered, ms, eventsPerSecond: delivered / (ms / 1000) };
}
