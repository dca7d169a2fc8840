import { InvalidEventError } from '../errors.js';
import { isUriReference } from '../core/uri-reference.js';

/** What a producer hands to `enqueue`; the outbox adds status, createdAt and shard. */
export interface NewEvent {
  /** CloudEvents `type`, e.g. `com.example.order.created`; the router routes on it. */
  readonly type: string;
  /** The payload: any JSON value (use null for an event without data). It is stored as its JSON form. */
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


/** Control characters cannot travel in the CloudEvents headers (`ce-subject`, `ce-source`). */
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

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
    fail('type', 'must start with a letter or digit and hold only letters, digits and . _ : / - (at most 256), e.g. "com.example.order.created"');
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

/** The data in the JSON form the router will receive; what JSON cannot carry (cycles, BigInt, functions, NaN) or Firestore would refuse is an error. */
function jsonForm(data: unknown, maxPayloadBytes: number, fail: Fail): unknown {
  if (data === undefined) fail('data', 'is missing (use null for an event without data)');
  let json: string | undefined;
  try {
    json = JSON.stringify(data, (_key, value: unknown) => {
      if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError(`${value} is not a JSON number`);
      return value;
    });
  } catch (error) {
    fail('data', `is not JSON-serialisable (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`);
  }
  if (json === undefined) fail('data', `is not JSON-serialisable (a ${typeof data})`);
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes > maxPayloadBytes) fail('data', `is ${bytes} bytes of JSON, over the ${maxPayloadBytes}-byte limit`);
  const parsed: unknown = JSON.parse(json);
  const problem = firestoreProblem(parsed, 'data', 0, false);
  if (problem !== undefined) fail('data', problem);
  return parsed;
}

/** What Firestore would reject at commit (an array directly inside an array, too deep a nesting), found here with its path. */
function firestoreProblem(value: unknown, path: string, depth: number, inArray: boolean): string | undefined {
  if (depth > MAX_FIRESTORE_DEPTH) return `is nested deeper than ${MAX_FIRESTORE_DEPTH} levels at ${path}, which Firestore cannot store`;
  if (Array.isArray(value)) {
    if (inArray) return `holds an array directly inside an array at ${path}, which Firestore cannot store; wrap the inner array in an object`;
    for (const [index, item] of value.entries()) {
      const problem = firestoreProblem(item, `${path}[${index}]`, depth + 1, true);
      if (problem !== undefined) return problem;
    }
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      const problem = firestoreProblem(item, `${path}.${key}`, depth + 1, false);
      if (problem !== undefined) return problem;
    }
  }
  return undefined;
}

function headerSafeText(value: unknown, field: string, fail: Fail): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') return fail(field, 'must be a non-empty string when set');
  if (CONTROL_CHARACTERS.test(value)) return fail(field, 'must not contain control characters such as line breaks');
  return value;
}

function uriReference(value: unknown, field: string, fail: Fail): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') return fail(field, 'must be a non-empty string when set');
  if (!isUriReference(value)) return fail(field, 'must be a URI reference, e.g. "/shop/orders" or "https://shop.example.com/orders"');
  return value;
}

/** A caller's id must name one document directly in the outbox collection. */
function documentId(value: unknown, fail: Fail): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') return fail('id', 'must be a non-empty string when set');
  if (value.includes('/')) return fail('id', 'must not contain "/" (it would name a document in another collection)');
  if (value === '.' || value === '..' || /^__.*__$/.test(value)) return fail('id', 'must not be "." or ".." or look like __reserved__');
  if (Buffer.byteLength(value, 'utf8') > MAX_DOCUMENT_ID_BYTES) return fail('id', `must be at most ${MAX_DOCUMENT_ID_BYTES} bytes`);
  return value;
}
