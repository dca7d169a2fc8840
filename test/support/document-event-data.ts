/**
 * A protobuf writer for DocumentEventData, just wide enough for tests: Eventarc's bytes for a document with string,
 * integer, boolean and map fields, built without a protobuf runtime so the decoder is checked against the wire
 * format itself (and, in test/unit/adapters, against bytes the Firestore emulator sent).
 */
export type TestValue = string | bigint | boolean | null | { readonly map: Readonly<Record<string, TestValue>> };

export function encodeDocumentEventData(
  value?: { name: string; fields: Readonly<Record<string, TestValue>> },
  oldValue?: typeof value,
): Buffer {
  const parts: Buffer[] = [];
  if (value !== undefined) parts.push(lengthDelimited(1, encodeDocument(value.name, value.fields)));
  if (oldValue !== undefined) parts.push(lengthDelimited(2, encodeDocument(oldValue.name, oldValue.fields)));
  return Buffer.concat(parts);
}

function encodeDocument(name: string, fields: Readonly<Record<string, TestValue>>): Buffer {
  return Buffer.concat([
    lengthDelimited(1, Buffer.from(name)),
    ...Object.entries(fields).map(([key, v]) =>
      lengthDelimited(2, Buffer.concat([lengthDelimited(1, Buffer.from(key)), lengthDelimited(2, encodeValue(v))])),
    ),
    // create_time = 3 (a Timestamp message), as Eventarc sends it.
    lengthDelimited(3, Buffer.concat([varintField(1, 1_700_000_000n), varintField(2, 5n)])),
  ]);
}

function encodeValue(value: TestValue): Buffer {
  if (value === null) return varintField(11, 0n);
  if (typeof value === 'string') return lengthDelimited(17, Buffer.from(value));
  if (typeof value === 'bigint') return varintField(2, BigInt.asUintN(64, value));
  if (typeof value === 'boolean') return varintField(1, value ? 1n : 0n);
  const entries = Object.entries(value.map).map(([key, v]) =>
    lengthDelimited(1, Buffer.concat([lengthDelimited(1, Buffer.from(key)), lengthDelimited(2, encodeValue(v))])),
  );
  return lengthDelimited(6, Buffer.concat(entries));
}

export function varint(n: bigint): Buffer {
  const bytes: number[] = [];
  let rest = n;
  do {
    const byte = Number(rest & 0x7fn);
    rest >>= 7n;
    bytes.push(rest === 0n ? byte : byte | 0x80);
  } while (rest !== 0n);
  return Buffer.from(bytes);
}

function tag(number: number, wireType: number): Buffer {
  return varint(BigInt((number << 3) | wireType));
}

function varintField(number: number, n: bigint): Buffer {
  return Buffer.concat([tag(number, 0), varint(n)]);
}

function lengthDelimited(number: number, bytes: Buffer): Buffer {
  return Buffer.concat([tag(number, 2), varint(BigInt(bytes.length)), bytes]);
}
