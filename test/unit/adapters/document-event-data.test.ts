import { decodeDocumentEventData } from '../../../src/adapters/document-event-data.js';
import { MalformedKickError } from '../../../src/errors.js';
import { encodeDocumentEventData } from '../../support/document-event-data.js';

/** The body the Firestore emulator POSTed for a new outbox document (status, shard 3, orderingKey, createdAt), base64-decoded. */
const FROM_EMULATOR = Buffer.from(
  'Cq4BCkFwcm9qZWN0cy9kZW1vLXAvZGF0YWJhc2VzLyhkZWZhdWx0KS9kb2N1bWVudHMvb3V0Ym91bmRfZXZlbnRzL2V2MRIUCgZzdGF0dXMSCooBB3BlbmRpbmcSCwoFc2hhcmQSAhADEhMKC29yZGVyaW5nS2V5EgSKAQFrEhUKCWNyZWF0ZWRBdBIIUgYIgPLWygYaDAjg19rYBhC4qK7HAyIMCODX2tgGELiorscDGgA=',
  'base64',
);

describe('Function: decodeDocumentEventData', () => {
  it('reads the name and the scalar fields of a document the emulator sent, skipping its timestamps', () => {
    const { value, oldValue } = decodeDocumentEventData(FROM_EMULATOR);

    expect(value?.name).toBe('projects/demo-p/databases/(default)/documents/outbound_events/ev1');
    expect(value?.fields.get('status')).toEqual({ kind: 'string', value: 'pending' });
    expect(value?.fields.get('shard')).toEqual({ kind: 'integer', value: 3n });
    expect(value?.fields.get('orderingKey')).toEqual({ kind: 'string', value: 'k' });
    expect(value?.fields.get('createdAt')).toEqual({ kind: 'other' });
    expect(oldValue).toBeUndefined();
  });

  it('reads both sides of a written event, negative integers, nulls, and maps and booleans as other', () => {
    const bytes = encodeDocumentEventData(
      { name: 'projects/p/databases/(default)/documents/c/after', fields: { n: -5n, gone: null, flag: true, nested: { map: { a: 'b' } } } },
      { name: 'projects/p/databases/(default)/documents/c/before', fields: { status: 'pending' } },
    );

    const { value, oldValue } = decodeDocumentEventData(bytes);

    expect(value?.fields.get('n')).toEqual({ kind: 'integer', value: -5n });
    expect(value?.fields.get('gone')).toEqual({ kind: 'null' });
    expect(value?.fields.get('flag')).toEqual({ kind: 'other' });
    expect(value?.fields.get('nested')).toEqual({ kind: 'other' });
    expect(oldValue?.name).toBe('projects/p/databases/(default)/documents/c/before');
  });

  it('decodes an empty message as a deletion of nothing: no document on either side', () => {
    expect(decodeDocumentEventData(new Uint8Array())).toEqual({ value: undefined, oldValue: undefined });
  });

  it.each([
    ['a body cut inside the document', FROM_EMULATOR.subarray(0, 40), 'past the end'],
    ['a varint cut short', Buffer.from([0x08, 0x80]), 'a varint cut short'],
    ['a deprecated group wire type', Buffer.from([0x0b]), 'wire type 3'],
    ['a field numbered 0', Buffer.from([0x00, 0x01]), 'a field numbered 0'],
    ['text that is not protobuf', Buffer.from('{"value":{}}'), 'DocumentEventData'],
  ])('refuses %s, naming where it broke', (_case, bytes, reason) => {
    expect(() => decodeDocumentEventData(bytes)).toThrow(MalformedKickError);
    expect(() => decodeDocumentEventData(bytes)).toThrow(reason);
  });
});
