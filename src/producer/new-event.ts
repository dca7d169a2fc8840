import { InvalidEventError } from '../errors.js';
import { hasControlCharacters, isHeaderSafeId } from '../core/header-text.js';
import { toJsonText } from '../core/json-text.js';
import { isUriReference } from '../core/uri-reference.js';

/** What a producer hands to `enqueue`; the outbox adds status, createdAt and shard. */
export interface NewEvent {
  /** CloudEvents `type`, e.g. `com.example.order.created`; the router routes on it. */
  readonly type: string;
  /** The payload: any JSON value (use null for an event without data), bigints within 64 bits; Dates are stored as ISO strings. */
  readonly data: unknown;
  /** Events with the same key are delivered one at a time, oldest first, and share a shard. */
  readonly orderingKey?: string;
  /** CloudEvents `subject`: what the event is about inside the source, e.g. `orders/42`. */
  readonly subject?: string;
  /** CloudEvents `source` (a URI reference); the outbox's defaultSource, then the relay's EVENT_SOURCE, when unset. */
  readonly source?: string;
  /** A natural id (e.g. `order-42-created`), so enqueueing the same fact twice fails the commit instead of sending twice. */
  readonly id?: string;
}

/** A new event that passed every check, with data in the JSON form the router will receive. */
export interface CheckedEvent {
  readonly type: string;
  readonly data: unknown;
  readonly orderingKey: string | undefined;
  readonly subject: string | undefined;
  readonly source: string | undefined;
  readonly id: string | undefined;
}

/**
 * Reverse-DNS style, as CloudEvents recommends; it travels in the `ce-type` header, so it is kept to
 * printable characters that need no escaping and stay readable in logs and routing rules.
 */
export const EVENT_TYPE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,255}$/;

/** Firestore refuses a value nested deeper than this below a top-level field. */
const MAX_FIRESTORE_DEPTH = 20;

/** Firestore's limit on the UTF-8 bytes of a document id. */
const MAX_DOCUMENT_ID_BYTES = 1500;

/** Checks a new event against the outbox contract before it is written, naming the field that breaks it. */
export function checkNewEvent(event: NewEvent, maxPayloadBytes: number): CheckedEvent {
  const fail: Fail = (field, problem) => {
    throw new InvalidEventError(field, problem);
  };
  if (typeof event.type !== 'string' || event.type === '') fail('type', 'must be a non-empty string');
  if (!EVENT_TYPE_PATTERN.test(event.type)) {
    fail(
      'type',
      'must start with a letter or digit and hold only letters, digits and . _ : / - (at most 256), e.g. "com.example.order.created"',
    );
  }
  const data = jsonForm(event.data, maxPayloadBytes, fail);
  return {
    type: event.type,
    data,
    orderingKey: headerSafeText(event.orderingKey, 'orderingKey', fail),
    subject: headerSafeText(event.subject, 'subject', fail),
    source: uriReference(event.source, 'source', fail),
    id: documentId(event.id, fail),
  };
}

type Fail = (field: string, problem: string) => never;

/** Firestore's integers are 64-bit: a bigint outside this range cannot be stored. */
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * The data as it will be stored and sent: plain JSON values only (null, booleans, finite numbers, strings, arrays,
 * plain objects), bigints within 64 bits (sent with every digit), and Dates, stored as their JSON form (an ISO
 * string). Anything JSON would drop or change silently (functions, bytes, Maps, class instances, NaN) is an
 * error naming its path; so is what Firestore would refuse (an array inside an array, nesting past 20 levels).
 */
function jsonForm(data: unknown, maxPayloadBytes: number, fail: Fail): unknown {
  if (data === undefined) fail('data', 'is missing (use null for an event without data)');
  const form = plain(data, 'data', 0, false, new Set(), fail);
  const bytes = Buffer.byteLength(toJsonText(form), 'utf8');
  if (bytes > maxPayloadBytes) fail('data', `is ${bytes} bytes of JSON, over the ${maxPayloadBytes}-byte limit`);
  return form;
}

function plain(value: unknown, path: string, depth: number, inArray: boolean, seen: Set<object>, fail: Fail): unknown {
  if (depth > MAX_FIRESTORE_DEPTH)
    fail('data', `is nested deeper than ${MAX_FIRESTORE_DEPTH} levels at ${path}, which Firestore cannot store`);
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value)) fail('data', `holds ${value} at ${path}, which JSON cannot carry`);
      return value;
    case 'bigint':
      if (value < INT64_MIN || value > INT64_MAX) fail('data', `holds an integer beyond 64 bits at ${path}, which Firestore cannot store`);
      return value;
    case 'object':
      break;
    default:
      return fail('data', `holds a ${typeof value} at ${path}, which JSON cannot carry`);
  }
  if (value === null) return null;
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) fail('data', `holds an invalid Date at ${path}`);
    return value.toISOString();
  }
  if (seen.has(value)) fail('data', `refers to itself at ${path}, which JSON cannot carry`);
  seen.add(value);
  try {
    if (Array.isArray(value)) {
      if (inArray)
        fail('data', `holds an array directly inside an array at ${path}, which Firestore cannot store; wrap the inner array in an object`);
      return value.map((item, index) => plain(item, `${path}[${index}]`, depth + 1, true, seen, fail));
    }
    const prototype: unknown = Object.getPrototypeOf(value);
    if (prototype !== Object.prototype && prototype !== null) {
      fail(
        'data',
        `holds a ${value.constructor.name} at ${path}, which has no faithful JSON form; use plain objects, arrays, strings and numbers`,
      );
    }
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value))
      if (item !== undefined) copy[key] = plain(item, `${path}.${key}`, depth + 1, false, seen, fail);
    return copy;
  } finally {
    seen.delete(value);
  }
}

function headerSafeText(value: unknown, field: string, fail: Fail): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') return fail(field, 'must be a non-empty string when set');
  if (hasControlCharacters(value)) return fail(field, 'must not contain control characters such as line breaks');
  return value;
}

function uriReference(value: unknown, field: string, fail: Fail): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') return fail(field, 'must be a non-empty string when set');
  if (!isUriReference(value)) return fail(field, 'must be a URI reference, e.g. "/shop/orders" or "https://shop.example.com/orders"');
  return value;
}

/** A caller's id must name one document directly in the outbox collection, and travel unchanged in every delivery header. */
function documentId(value: unknown, fail: Fail): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') return fail('id', 'must be a non-empty string when set');
  if (value.includes('/')) return fail('id', 'must not contain "/" (it would name a document in another collection)');
  if (!isHeaderSafeId(value)) {
    return fail('id', 'must hold only letters, digits and - _ . ~ : @ + =, so ce-id, idempotency-key and webhook-id carry it unchanged');
  }
  if (value === '.' || value === '..' || /^__.*__$/.test(value)) return fail('id', 'must not be "." or ".." or look like __reserved__');
  if (Buffer.byteLength(value, 'utf8') > MAX_DOCUMENT_ID_BYTES) return fail('id', `must be at most ${MAX_DOCUMENT_ID_BYTES} bytes`);
  return value;
}
