import { readKick, type KickScope } from '../../../src/function/firestore-kick.js';
import { encodeDocumentEventData, type TestValue } from '../../support/document-event-data.js';

const SCOPE: KickScope = { outboxCollection: 'outbound_events', firestoreDatabase: '(default)', shardIndex: 1, shardCount: 4 };
const CREATED = 'google.cloud.firestore.document.v1.created';

/** An Eventarc request as Cloud Run hands it to the function; the body base64 as the emulator sends it, or raw. */
function request(headers: Record<string, string | undefined>, body?: Buffer) {
  const all: Record<string, string | undefined> = {
    'ce-id': 'e-1',
    'ce-source': '//firestore.googleapis.com/projects/p/databases/(default)',
    'ce-specversion': '1.0',
    'content-type': 'application/protobuf',
    ...headers,
  };
  return { header: (name: string) => all[name.toLowerCase()], rawBody: body };
}

function document(path: string, fields: Record<string, TestValue>, database = '(default)') {
  return encodeDocumentEventData({ name: `projects/p/databases/${database}/documents/${path}`, fields });
}

const pendingInShard1 = document('outbound_events/ev-1', { status: 'pending', shard: 1n, orderingKey: 'k' });

describe('Function: readKick', () => {
  it.each<[string, ReturnType<typeof request>, ReturnType<typeof readKick>]>([
    ['a POST without ce-type is a Scheduler run', request({}, Buffer.from('')), { kind: 'scheduled' }],
    [
      'a CloudEvent of another service is a Scheduler run',
      request({ 'ce-type': 'google.cloud.pubsub.topic.v1.messagePublished' }),
      { kind: 'scheduled' },
    ],
    [
      'a created event, raw protobuf as Eventarc sends it',
      request({ 'ce-type': CREATED }, pendingInShard1),
      { kind: 'kick', documentId: 'ev-1' },
    ],
    [
      'a created event, base64 as the emulator sends it',
      request({ 'ce-type': CREATED }, Buffer.from(pendingInShard1.toString('base64'))),
      { kind: 'kick', documentId: 'ev-1' },
    ],
    [
      'a written event of a new pending document',
      request(
        { 'ce-type': 'google.cloud.firestore.document.v1.written', 'content-type': 'application/protobuf; charset=binary' },
        pendingInShard1,
      ),
      { kind: 'kick', documentId: 'ev-1' },
    ],
    [
      'a written event of the relay marking the event delivered',
      request(
        { 'ce-type': 'google.cloud.firestore.document.v1.written' },
        document('outbound_events/ev-1', { status: 'delivered', shard: 1n }),
      ),
      { kind: 'ignored', reason: 'the document is not pending' },
    ],
    [
      'a written event of a deletion',
      request(
        { 'ce-type': 'google.cloud.firestore.document.v1.written' },
        encodeDocumentEventData(undefined, { name: 'projects/p/databases/(default)/documents/outbound_events/x', fields: {} }),
      ),
      { kind: 'ignored', reason: 'a document was deleted' },
    ],
    [
      'a deleted event',
      request({ 'ce-type': 'google.cloud.firestore.document.v1.deleted' }, Buffer.from('')),
      { kind: 'ignored', reason: 'google.cloud.firestore.document.v1.deleted does not commit an event' },
    ],
    [
      'another collection',
      request({ 'ce-type': CREATED }, document('orders/o-1', { status: 'pending', shard: 1n })),
      { kind: 'ignored', reason: 'not a document of OUTBOX_COLLECTION' },
    ],
    [
      'a subcollection of the outbox',
      request({ 'ce-type': CREATED }, document('outbound_events/ev-1/notes/n', { status: 'pending', shard: 1n })),
      { kind: 'ignored', reason: 'not a document of OUTBOX_COLLECTION' },
    ],
    [
      'another shard',
      request({ 'ce-type': CREATED }, document('outbound_events/ev-2', { status: 'pending', shard: 2n })),
      { kind: 'ignored', reason: 'the event is in shard 2, not SHARD_INDEX' },
    ],
    [
      'another database',
      request({ 'ce-type': CREATED, 'ce-database': 'orders-db' }, pendingInShard1),
      { kind: 'ignored', reason: 'database orders-db is not FIRESTORE_DATABASE' },
    ],
    ['no body', request({ 'ce-type': CREATED }), { kind: 'malformed', reason: 'the body is empty: no DocumentEventData' }],
    [
      'a JSON body',
      request({ 'ce-type': CREATED, 'content-type': 'application/json' }, Buffer.from('{}')),
      { kind: 'malformed', reason: 'content-type is application/json, not application/protobuf (--event-data-content-type)' },
    ],
    [
      'no ce-id',
      request({ 'ce-type': CREATED, 'ce-id': undefined }, pendingInShard1),
      { kind: 'malformed', reason: 'the ce-id header is missing' },
    ],
    [
      'a created event without its document',
      request({ 'ce-type': CREATED }, Buffer.from([0x12, 0x00])),
      { kind: 'malformed', reason: 'a created event without its document (DocumentEventData.value)' },
    ],
    [
      'base64 of the wrong length',
      request({ 'ce-type': CREATED }, Buffer.from('Cq4BCkFw')),
      { kind: 'malformed', reason: expect.stringContaining('not a DocumentEventData') as string },
    ],
  ])('%s', (_case, given, expected) => {
    expect(readKick(given, SCOPE)).toEqual(expected);
  });

  it('kicks for a pending document with no shard in an unsharded outbox, and leaves shardless ones to shard 0 when sharded', () => {
    const shardless = request({ 'ce-type': CREATED }, document('outbound_events/ev-3', { status: 'pending' }));

    expect(readKick(shardless, { ...SCOPE, shardCount: 1, shardIndex: 0 })).toEqual({ kind: 'kick', documentId: 'ev-3' });
    expect(readKick(shardless, { ...SCOPE, shardIndex: 0 })).toEqual({ kind: 'kick', documentId: 'ev-3' });
    expect(readKick(shardless, SCOPE)).toMatchObject({ kind: 'ignored' });
  });
});
