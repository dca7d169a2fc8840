import { randomBytes } from 'node:crypto';
import { context, propagation } from '@opentelemetry/api';
import { FieldValue, type DocumentData, type DocumentReference, type Firestore } from '@google-cloud/firestore';
import { DEFAULT_MAX_PAYLOAD_BYTES } from '../config.js';
import { EventStatus } from '../core/event.js';
import { shardOf } from '../core/shard.js';
import { OutboxOptionsError } from '../errors.js';
import { isUriReference } from '../core/uri-reference.js';
import { checkNewEvent, type NewEvent } from './new-event.js';

/**
 * The producer's own Transaction or WriteBatch (both fit): the event is one more write in it, so the business
 * write and the event commit together or not at all.
 */
export interface OutboxWriter {
  create(documentRef: DocumentReference, data: DocumentData): unknown;
}

/** Where events go and how they are checked; use the relay's values so it finds and accepts every event. */
export interface OutboxOptions {
  /** The relay's OUTBOX_COLLECTION. */
  readonly collection: string;
  /** The relay's SHARD_COUNT; a different value puts events in shards their ordering key does not belong to. */
  readonly shardCount: number;
  /** CloudEvents `source` for events that bring none; when unset too, the relay's EVENT_SOURCE applies. */
  readonly defaultSource?: string;
  /** Largest JSON data accepted, in bytes (default 512 KiB); keep it at or below the relay's MAX_PAYLOAD_BYTES. */
  readonly maxPayloadBytes?: number;
}

/** The write side of the transactional outbox, bound to one Firestore client and collection. */
export interface Outbox {
  /** The outbox collection events are written to. */
  readonly collection: string;
  /**
   * Adds the event to the producer's transaction or batch and returns its id; throws InvalidEventError (and
   * writes nothing) when the event breaks the contract. With `id` set, a second enqueue of it fails the commit.
   */
  enqueue(writer: OutboxWriter, event: NewEvent): string;
}

/** Firestore's collection ids as the relay's OUTBOX_COLLECTION accepts them. */
const COLLECTION_ID_PATTERN = /^[A-Za-z0-9_-]{1,100}$/;
const MAX_SHARD_COUNT = 64;
/** Firestore's document limit is 1 MiB; the event's other fields need a little of it. */
const MAX_PAYLOAD_BYTES_LIMIT = 1_048_576;

/** Per writer: a random prefix and a counter; the counter is also the event's `sequence` within its commit. */
const writerIds = new WeakMap<OutboxWriter, { readonly prefix: string; next: number }>();
const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * Every event of one commit gets the same server createdAt; the relay orders them by `sequence`, the enqueue
 * order within the writer, so natural ids keep their order too ("order created" before "order paid"). Generated
 * ids also sort in that order, and a random prefix per writer keeps ids of different commits spread out, as
 * Firestore wants for write throughput.
 */
function nextInWriter(writer: OutboxWriter): { readonly id: string; readonly sequence: number } {
  let ids = writerIds.get(writer);
  if (ids === undefined) {
    const bytes = randomBytes(14);
    ids = { prefix: Array.from(bytes, (byte) => ID_ALPHABET[byte % ID_ALPHABET.length]).join(''), next: 0 };
    writerIds.set(writer, ids);
  }
  ids.next += 1;
  return { id: `${ids.prefix}${String(ids.next).padStart(6, '0')}`, sequence: ids.next };
}

/** W3C trace context as the producer's OpenTelemetry propagator writes it; `traceparent` and `tracestate` only. */
interface TraceCarrier {
  traceparent?: string;
  tracestate?: string;
}

/**
 * The producer's active trace context (W3C `traceparent`, and `tracestate` when present), so the relay's delivery
 * continues the trace of the request that enqueued the event. Through the OpenTelemetry API: without an SDK in the
 * application the propagator is a no-op and nothing is stored.
 */
function activeTraceContext(): TraceCarrier {
  const carrier: TraceCarrier = {};
  propagation.inject(context.active(), carrier);
  const stored: TraceCarrier = {};
  if (typeof carrier.traceparent === 'string') {
    stored.traceparent = carrier.traceparent;
    if (typeof carrier.tracestate === 'string' && carrier.tracestate !== '') stored.tracestate = carrier.tracestate;
  }
  return stored;
}

/** Checks the options once, so a misconfigured producer fails at start rather than on its first event. */
export function createOutbox(firestore: Firestore, options: OutboxOptions): Outbox {
  const { collection, shardCount, defaultSource, maxPayloadBytes = DEFAULT_MAX_PAYLOAD_BYTES } = options;
  if (typeof collection !== 'string' || !COLLECTION_ID_PATTERN.test(collection)) {
    throw new OutboxOptionsError('collection', "must be the relay's OUTBOX_COLLECTION: 1-100 letters, digits, _ or -");
  }
  if (!Number.isInteger(shardCount) || shardCount < 1 || shardCount > MAX_SHARD_COUNT) {
    throw new OutboxOptionsError('shardCount', `must be the relay's SHARD_COUNT, an integer from 1 to ${MAX_SHARD_COUNT}`);
  }
  if (defaultSource !== undefined && (typeof defaultSource !== 'string' || !isUriReference(defaultSource))) {
    throw new OutboxOptionsError('defaultSource', 'must be a URI reference, e.g. "/shop/orders"');
  }
  if (!Number.isInteger(maxPayloadBytes) || maxPayloadBytes < 1 || maxPayloadBytes > MAX_PAYLOAD_BYTES_LIMIT) {
    throw new OutboxOptionsError('maxPayloadBytes', `must be an integer from 1 to ${MAX_PAYLOAD_BYTES_LIMIT}`);
  }
  const outbox = firestore.collection(collection);

  return {
    collection,
    enqueue(writer, event) {
      const checked = checkNewEvent(event, maxPayloadBytes);
      const next = nextInWriter(writer);
      const ref = outbox.doc(checked.id ?? next.id);
      const source = checked.source ?? defaultSource;
      // create, never set: an id that already exists fails the commit instead of overwriting a sent event.
      writer.create(ref, {
        type: checked.type,
        data: checked.data,
        createdAt: FieldValue.serverTimestamp(),
        sequence: next.sequence,
        status: EventStatus.Pending,
        shard: shardOf(checked.orderingKey ?? ref.id, shardCount),
        // The count the shard was derived under: while resharding, the relay keeps each key's old-count events first.
        shardCount,
        ...(source === undefined ? {} : { source }),
        ...(checked.subject === undefined ? {} : { subject: checked.subject }),
        ...(checked.orderingKey === undefined ? {} : { orderingKey: checked.orderingKey }),
        ...activeTraceContext(),
      });
      return ref.id;
    },
  };
}
