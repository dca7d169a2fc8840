import { DocumentReference, GeoPoint, Timestamp, VectorValue } from '@google-cloud/firestore';
import { Instant } from '../core/instant.js';
import { UnsupportedValue } from '../core/json-text.js';

/**
 * Firestore values as the core reads them, in the forms the docs promise a router: Timestamps become Instants
 * (RFC 3339 with every digit in the JSON), integers beyond 2^53 stay bigints (exact in the JSON; the client
 * reads every integer as a bigint), bytes Uint8Arrays (base64), references their document path, GeoPoints
 * `{ latitude, longitude }`, vectors arrays of numbers. Any other class of value is marked unsupported, so the
 * event is dead-lettered naming the field instead of being sent altered.
 */
export function toPlain(value: unknown): unknown {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'bigint' && value >= Number.MIN_SAFE_INTEGER && value <= Number.MAX_SAFE_INTEGER) return Number(value);
    return value;
  }
  if (Array.isArray(value)) return value.map(toPlain);
  if (value instanceof Timestamp) return Instant.of(value.seconds, value.nanoseconds);
  if (value instanceof Uint8Array) return new Uint8Array(value);
  if (value instanceof DocumentReference) return value.path;
  if (value instanceof GeoPoint) return { latitude: value.latitude, longitude: value.longitude };
  if (value instanceof VectorValue) return value.toArray();
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return new UnsupportedValue(value.constructor.name);
  const plain: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) plain[key] = toPlain(inner);
  return plain;
}
