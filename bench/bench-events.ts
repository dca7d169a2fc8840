import { randomBytes } from 'node:crypto';
import type { OutboxEvent } from '../dist/core/event.js';
import { Instant } from '../dist/core/instant.js';
import { toJsonText } from '../dist/core/json-text.js';

/** The CloudEvents type of every bench event. */
export const BENCH_EVENT_TYPE = 'com.example.order.created';

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A 20-character id shaped like Firestore's auto-ids, so headers are as long as a producer's events make them. */
export function autoId(): string {
  const bytes = randomBytes(20);
  let id = '';
  for (const byte of bytes) id += ID_ALPHABET[byte % ID_ALPHABET.length];
  return id;
}

/** A typical order payload, about 300 bytes of JSON, the same for the relay, the raw sender and the naive relay. */
export function benchEventData(index: number): Record<string, unknown> {
  return {
    orderId: 100_000 + index,
    customerId: `customer-${index % 997}`,
    currency: 'EUR',
    total: 129.9,
    items: [
      { sku: `sku-${index % 113}`, quantity: 2, unitPrice: 39.95 },
      { sku: `sku-${(index * 7) % 113}`, quantity: 1, unitPrice: 50 },
    ],
    shippingAddress: { street: '1 Example Street', city: 'Exampletown', postalCode: '12345', country: 'DE' },
    placedAt: '2026-01-01T12:00:00.000Z',
  };
}

/** The event the relay would build from seeded document `index`, for sending without a store. */
export function benchEvent(index: number, baseMs: number): OutboxEvent {
  return {
    id: autoId(),
    type: BENCH_EVENT_TYPE,
    body: toJsonText(benchEventData(index)),
    bodyBytes: Buffer.byteLength(toJsonText(benchEventData(index))),
    createdAt: Instant.fromMillis(baseMs + index),
    source: undefined,
    subject: undefined,
    orderingKey: undefined,
    attempts: 0,
    postAttempts: 0,
    nextAttemptAt: undefined,
    traceparent: undefined,
    tracestate: undefined,
    version: undefined as unknown as OutboxEvent['version'],
  };
}
