import { Instant } from './instant.js';

declare global {
  interface JSON {
    /** Node 22+ (V8's JSON.parse source text access): a value JSON.stringify writes verbatim. */
    rawJSON(text: string): unknown;
  }
}

/** A stored value that has no JSON form (e.g. a BSON type of Firestore's MongoDB compatibility): refused, never guessed at. */
export class UnsupportedValue {
  constructor(readonly typeName: string) {}
}

/** Where a value cannot become JSON without changing it; the event is dead-lettered naming `path`. */
export class JsonFormError extends Error {
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${path} ${problem}`);
    this.name = 'JsonFormError';
  }
}

/**
 * The JSON text of a stored value, exactly: integers beyond 2^53 (read as bigint) keep every digit, timestamps
 * keep their nanoseconds (RFC 3339), bytes become base64; NaN and Infinity, which JSON cannot carry, are refused
 * with the path of the field instead of silently becoming `null`.
 */
export function toJsonText(value: unknown, path = 'data'): string {
  const pathOf = new WeakMap<object, string>();
  return JSON.stringify(value, function replace(this: unknown, key: string, inner: unknown): unknown {
    const holder = this as object;
    const at = key === '' && !pathOf.has(holder) ? path : `${pathOf.get(holder) ?? path}${Array.isArray(holder) ? `[${key}]` : `.${key}`}`;
    if (typeof inner === 'bigint') return JSON.rawJSON(inner.toString());
    if (typeof inner === 'number' && !Number.isFinite(inner)) throw new JsonFormError(at, `is ${inner}, which JSON cannot carry`);
    if (inner instanceof Instant) return inner.toRfc3339();
    if (inner instanceof UnsupportedValue) throw new JsonFormError(at, `is a Firestore ${inner.typeName} value, which has no JSON form`);
    if (inner instanceof Uint8Array) return Buffer.from(inner.buffer, inner.byteOffset, inner.byteLength).toString('base64');
    if (inner !== null && typeof inner === 'object') pathOf.set(inner, at);
    return inner;
  });
}
