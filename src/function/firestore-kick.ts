import { decodeDocumentEventData, type EventDocument } from '../adapters/document-event-data.js';
import type { Config } from '../config.js';
import { MalformedKickError } from '../errors.js';

/** The Eventarc event types that make a POST a kick: a document of the outbox was created (or written). */
export const KICK_EVENT_TYPES: readonly string[] = [
  'google.cloud.firestore.document.v1.created',
  'google.cloud.firestore.document.v1.written',
];

/** What one POST to the function is, read from its CloudEvent headers and protobuf body alone (no Firestore call). */
export type Kick =
  /** No Firestore event type: a Cloud Scheduler run, as always. */
  | { readonly kind: 'scheduled' }
  /** A pending event of this deployment's outbox and shard was committed: wake the relay. */
  | { readonly kind: 'kick'; readonly documentId: string }
  /** A Firestore event this deployment does not drain (another collection, database or shard, not pending): 2xx. */
  | { readonly kind: 'ignored'; readonly reason: string }
  /** Says it is a Firestore event and is not one: 4xx with the reason, nothing started. */
  | { readonly kind: 'malformed'; readonly reason: string };

/** The request as the Functions Framework hands it over (Express): headers, and the body's bytes as received. */
export interface KickRequest {
  header(name: string): string | undefined;
  readonly rawBody?: Buffer | undefined;
}

/** What a kick is matched against: the deployment's outbox, database and shard. */
export type KickScope = Pick<Config, 'outboxCollection' | 'firestoreDatabase' | 'shardIndex' | 'shardCount'>;

/**
 * Tells a Scheduler run from an Eventarc Firestore trigger and reads the trigger's event: `ce-type` says which, on
 * any path. The document is the protobuf DocumentEventData of the body, raw bytes from Eventarc and base64 text
 * from the Firestore emulator; it decides whether this deployment drains the event (collection, database, shard,
 * status pending), so a trigger on too wide a pattern, or a `…written` trigger firing on the relay's own
 * writes, costs no run.
 */
export function readKick(request: KickRequest, scope: KickScope): Kick {
  const type = request.header('ce-type');
  if (type === undefined || !type.startsWith('google.cloud.firestore.document.v1.')) return { kind: 'scheduled' };
  try {
    return readFirestoreEvent(request, type, scope);
  } catch (error) {
    if (error instanceof MalformedKickError) return { kind: 'malformed', reason: error.reason };
    throw error;
  }
}

function readFirestoreEvent(request: KickRequest, type: string, scope: KickScope): Kick {
  if (!KICK_EVENT_TYPES.includes(type)) return { kind: 'ignored', reason: `${type} does not commit an event` };
  for (const header of ['ce-id', 'ce-source', 'ce-specversion'])
    if (!request.header(header)) throw new MalformedKickError(`the ${header} header is missing`);
  const database = request.header('ce-database') ?? '(default)';
  if (database !== scope.firestoreDatabase) return { kind: 'ignored', reason: `database ${database} is not FIRESTORE_DATABASE` };
  const contentType = request.header('content-type')?.split(';')[0]?.trim();
  if (contentType !== 'application/protobuf')
    throw new MalformedKickError(`content-type is ${contentType ?? 'missing'}, not application/protobuf (--event-data-content-type)`);
  const body = request.rawBody;
  if (body === undefined || body.length === 0) throw new MalformedKickError('the body is empty: no DocumentEventData');
  const { value } = decodeDocumentEventData(protobufBytes(body));
  // A deletion (`…written` with no document after it) commits nothing to deliver.
  if (value === undefined) {
    if (type.endsWith('.created')) throw new MalformedKickError('a created event without its document (DocumentEventData.value)');
    return { kind: 'ignored', reason: 'a document was deleted' };
  }
  return judgeDocument(value, scope);
}

/** Whether the committed document is one this deployment delivers. */
function judgeDocument(document: EventDocument, scope: KickScope): Kick {
  const path = /^projects\/[^/]+\/databases\/[^/]+\/documents\/(.+)$/.exec(document.name)?.[1];
  if (path === undefined)
    throw new MalformedKickError(`the document name "${document.name.slice(0, 200)}" is not a Firestore document name`);
  const segments = path.split('/');
  const [collection, documentId] = segments;
  if (segments.length !== 2 || collection !== scope.outboxCollection || documentId === undefined)
    return { kind: 'ignored', reason: 'not a document of OUTBOX_COLLECTION' };
  const status = document.fields.get('status');
  if (status?.kind !== 'string' || status.value !== 'pending') return { kind: 'ignored', reason: 'the document is not pending' };
  if (scope.shardCount > 1) {
    const shard = document.fields.get('shard');
    // A pending document without a valid shard is a stray: shard 0's runs sweep those.
    const shardIndex = shard?.kind === 'integer' ? Number(shard.value) : 0;
    if (shardIndex !== scope.shardIndex) return { kind: 'ignored', reason: `the event is in shard ${shardIndex}, not SHARD_INDEX` };
  }
  return { kind: 'kick', documentId };
}

/** Raw protobuf starts with a field tag (0x0a for the document), never a base64 character; the emulator sends base64. */
function protobufBytes(body: Buffer): Uint8Array {
  const asText = body.toString('latin1').trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(asText)) return body;
  if (asText.length % 4 !== 0) throw new MalformedKickError('the body is neither protobuf nor base64 of it');
  return Buffer.from(asText, 'base64');
}
