import { MalformedEventError } from '../errors.js';
import type { EventRecord } from './decide.js';
import { EventStatus, type OutboxEvent, type StoredDocument } from './event.js';
import { Instant } from './instant.js';
import { hasControlCharacters, isHeaderSafeId } from './header-text.js';
import { JsonFormError, toJsonText } from './json-text.js';
import { isUriReference } from './uri-reference.js';

const OPTIONAL_STRINGS = ['source', 'subject', 'orderingKey'] as const;
/** Fields sent in `ce-*` headers, where a control character would reach the router as something else. */
const HEADER_TEXT_FIELDS = ['type', 'subject'] as const;

/** The limits an event is checked against. */
export interface EventLimits {
  readonly maxPayloadBytes: number;
  /** With more than one shard, an event must name one of them, or no job would ever deliver it. */
  readonly shardCount: number;
}

/** Turns a stored document into an event, or says which field makes it undeliverable. */
export function validateEvent(document: StoredDocument, limits: EventLimits): OutboxEvent {
  const { maxPayloadBytes, shardCount } = limits;
  const { id, fields, version } = document;
  const fail = (field: string, problem: string): never => {
    throw new MalformedEventError(id, field, problem);
  };
  if (!isHeaderSafeId(id)) {
    fail('id', 'cannot be sent unchanged in ce-id, idempotency-key and webhook-id: use letters, digits and - _ . ~ : @ + = only');
  }
  if (fields.status !== EventStatus.Pending) fail('status', `must be "${EventStatus.Pending}" (got ${describe(fields.status)})`);
  if (typeof fields.type !== 'string' || fields.type.trim() === '') fail('type', 'must be a non-empty string');
  if (!('data' in fields) || fields.data === undefined) fail('data', 'is missing');
  if (!(fields.createdAt instanceof Instant)) fail('createdAt', `must be a Firestore Timestamp (got ${describe(fields.createdAt)})`);
  for (const name of OPTIONAL_STRINGS) {
    const value = fields[name];
    if (value !== undefined && value !== null && (typeof value !== 'string' || value === '')) {
      fail(name, 'must be a non-empty string when set');
    }
  }
  for (const name of HEADER_TEXT_FIELDS) {
    const value = fields[name];
    if (typeof value === 'string' && hasControlCharacters(value)) fail(name, 'must not contain control characters such as line breaks');
  }
  if (typeof fields.source === 'string' && !isUriReference(fields.source)) fail('source', 'must be a URI reference, e.g. "/shop/orders"');
  if (shardCount > 1 && !(Number.isInteger(fields.shard) && (fields.shard as number) >= 0 && (fields.shard as number) < shardCount)) {
    fail(
      'shard',
      `must be an integer from 0 to ${shardCount - 1} (SHARD_COUNT is ${shardCount}; got ${describe(fields.shard)}); fix it, then redrive`,
    );
  }
  let body = '';
  try {
    body = toJsonText(fields.data);
  } catch (error) {
    if (!(error instanceof JsonFormError)) throw error;
    fail(error.path, error.problem);
  }
  const bytes = Buffer.byteLength(body, 'utf8');
  if (bytes > maxPayloadBytes) fail('data', `is ${bytes} bytes of JSON, over the ${maxPayloadBytes}-byte limit`);
  return {
    id,
    type: fields.type as string,
    body,
    bodyBytes: bytes,
    createdAt: fields.createdAt as Instant,
    source: optionalString(fields.source),
    subject: optionalString(fields.subject),
    orderingKey: optionalString(fields.orderingKey),
    attempts: count(fields.attempts),
    postAttempts: count(fields.postAttempts),
    // A backoff the relay wrote; anything else there is not a reason to hold the event back.
    nextAttemptAt: fields.nextAttemptAt instanceof Instant ? fields.nextAttemptAt : undefined,
    // A trace context is a hint: one that is not valid W3C is dropped, never a reason to hold the event back.
    traceparent: isTraceparent(fields.traceparent) ? fields.traceparent : undefined,
    tracestate: isTraceparent(fields.traceparent) && isTracestate(fields.tracestate) ? fields.tracestate : undefined,
    version,
  };
}

/** A document as the run takes it: an event to deliver, or what is left of one that can only be dead-lettered. */
export type CheckedDocument =
  { readonly ok: true; readonly event: OutboxEvent } | { readonly ok: false; readonly record: EventRecord; readonly reason: string };

/** validateEvent without the throw, so the run queues both kinds behind the earlier events of their key. */
export function checkDocument(document: StoredDocument, limits: EventLimits): CheckedDocument {
  try {
    return { ok: true, event: validateEvent(document, limits) };
  } catch (error) {
    if (!(error instanceof MalformedEventError)) throw error;
    return { ok: false, record: recordOf(document), reason: error.message };
  }
}

/** What a document that failed validation still tells about itself, so it can be dead-lettered (and its key parked). */
export function recordOf(document: StoredDocument): EventRecord {
  const { orderingKey } = document.fields;
  return {
    id: document.id,
    version: document.version,
    orderingKey: typeof orderingKey === 'string' && orderingKey !== '' ? orderingKey : undefined,
    attempts: count(document.fields.attempts),
    postAttempts: count(document.fields.postAttempts),
    nextAttemptAt: undefined,
  };
}

/** Counters written by the relay; anything unreadable counts as zero rather than blocking the event. */
export function count(value: unknown): number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : 0;
}

/** W3C Trace Context `traceparent`, version 00 form (a later version may carry more fields after these). */
const TRACEPARENT = /^(?!ff)[0-9a-f]{2}-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}(-.*)?$/;

function isTraceparent(value: unknown): value is string {
  return typeof value === 'string' && TRACEPARENT.test(value);
}

/** W3C `tracestate`: at most 512 characters of printable list text. */
function isTracestate(value: unknown): value is string {
  return typeof value === 'string' && value.length <= 512 && /^[\x20-\x7e]*$/.test(value);
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (value instanceof Instant || value instanceof Date) return 'a timestamp';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}
