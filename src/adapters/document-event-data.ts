import { MalformedKickError } from '../errors.js';

/**
 * The few kinds of Firestore value a kick looks at (`google.firestore.v1.Value`); every other kind is read past and
 * kept as `other`, so a document with maps, arrays or bytes still decodes.
 */
export type EventFieldValue =
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'integer'; readonly value: bigint }
  | { readonly kind: 'null' }
  | { readonly kind: 'other' };

/** A document as the event carries it: its full resource name and its top-level fields. */
export interface EventDocument {
  /** `projects/{p}/databases/{d}/documents/{path}`. */
  readonly name: string;
  readonly fields: ReadonlyMap<string, EventFieldValue>;
}

/** `google.events.cloud.firestore.v1.DocumentEventData`: the document after the change and before it. */
export interface DocumentEventData {
  /** Absent when the document was deleted. */
  readonly value: EventDocument | undefined;
  /** Absent when the document was created. */
  readonly oldValue: EventDocument | undefined;
}

/**
 * Decodes the protobuf body of an Eventarc Firestore event (data.proto in googleapis/google-cloudevents), by hand:
 * a kick needs a document's name and two scalar fields, which does not justify a protobuf runtime and generated
 * code. Unknown fields are skipped by their wire type, as protobuf requires; a truncated or ill-formed message
 * throws MalformedKickError naming where it broke.
 */
export function decodeDocumentEventData(bytes: Uint8Array): DocumentEventData {
  let value: EventDocument | undefined;
  let oldValue: EventDocument | undefined;
  for (const field of fieldsOf(bytes, 'DocumentEventData')) {
    if (field.number === 1 && field.bytes !== undefined) value = decodeDocument(field.bytes);
    else if (field.number === 2 && field.bytes !== undefined) oldValue = decodeDocument(field.bytes);
  }
  return { value, oldValue };
}

/** `google.events.cloud.firestore.v1.Document`: name = 1, fields = 2 (map<string, Value>). */
function decodeDocument(bytes: Uint8Array): EventDocument {
  let name = '';
  const fields = new Map<string, EventFieldValue>();
  for (const field of fieldsOf(bytes, 'Document')) {
    if (field.number === 1 && field.bytes !== undefined) name = text(field.bytes);
    else if (field.number === 2 && field.bytes !== undefined) {
      // A map entry is a message of its own: key = 1, value = 2.
      let key = '';
      let entry: EventFieldValue = { kind: 'null' };
      for (const part of fieldsOf(field.bytes, 'Document.fields entry')) {
        if (part.number === 1 && part.bytes !== undefined) key = text(part.bytes);
        else if (part.number === 2 && part.bytes !== undefined) entry = decodeValue(part.bytes);
      }
      fields.set(key, entry);
    }
  }
  return { name, fields };
}

/** `google.events.cloud.firestore.v1.Value`, a oneof: null_value = 11, integer_value = 2, string_value = 17. */
function decodeValue(bytes: Uint8Array): EventFieldValue {
  let decoded: EventFieldValue = { kind: 'null' };
  for (const field of fieldsOf(bytes, 'Value')) {
    if (field.number === 17 && field.bytes !== undefined) decoded = { kind: 'string', value: text(field.bytes) };
    else if (field.number === 2 && field.varint !== undefined) decoded = { kind: 'integer', value: BigInt.asIntN(64, field.varint) };
    else if (field.number === 11) decoded = { kind: 'null' };
    else decoded = { kind: 'other' };
  }
  return decoded;
}

/** One field of a message on the wire: a varint, or the bytes of a length-delimited field. */
interface WireField {
  readonly number: number;
  readonly varint?: bigint;
  readonly bytes?: Uint8Array;
}

/** Wire types (protobuf encoding): what follows a field's tag. */
const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;

/** The fields of one message, in order; fixed-width fields are skipped, groups (deprecated) refused. */
function* fieldsOf(bytes: Uint8Array, message: string): Generator<WireField> {
  const reader = { bytes, at: 0, message };
  while (reader.at < bytes.length) {
    const tag = readVarint(reader);
    const number = Number(tag >> 3n);
    const wireType = Number(tag & 7n);
    if (number === 0) throw broken(reader, 'a field numbered 0');
    switch (wireType) {
      case VARINT:
        yield { number, varint: readVarint(reader) };
        break;
      case LENGTH_DELIMITED: {
        const length = Number(readVarint(reader));
        if (reader.at + length > bytes.length) throw broken(reader, `a field of ${length} bytes past the end`);
        yield { number, bytes: bytes.subarray(reader.at, reader.at + length) };
        reader.at += length;
        break;
      }
      case FIXED64:
      case FIXED32:
        reader.at += wireType === FIXED64 ? 8 : 4;
        if (reader.at > bytes.length) throw broken(reader, 'a fixed-width field past the end');
        break;
      default:
        throw broken(reader, `wire type ${wireType}`);
    }
  }
}

interface Reader {
  readonly bytes: Uint8Array;
  at: number;
  readonly message: string;
}

/** A base-128 varint of at most 10 bytes (64 bits). */
function readVarint(reader: Reader): bigint {
  let result = 0n;
  for (let shift = 0n; shift < 70n; shift += 7n) {
    const byte = reader.bytes[reader.at];
    if (byte === undefined) throw broken(reader, 'a varint cut short');
    reader.at += 1;
    result |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return BigInt.asUintN(64, result);
  }
  throw broken(reader, 'a varint longer than 10 bytes');
}

function broken(reader: Reader, what: string): MalformedKickError {
  return new MalformedKickError(`the protobuf body is not a DocumentEventData (${reader.message}: ${what} at byte ${reader.at})`);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function text(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new MalformedKickError('the protobuf body is not a DocumentEventData (a string that is not UTF-8)');
  }
}
