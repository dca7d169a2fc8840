import { Instant } from './instant.js';

/** What an Instant takes in JSON: a quoted RFC 3339 text with nine fraction digits. */
const INSTANT_BYTES = 32;
/** A number, boolean or null, and anything else without a length. */
const SCALAR_BYTES = 8;

/**
 * About how many bytes a stored document's fields take, in JSON or in memory, without building its JSON: pages are
 * cut by it as their documents arrive (MAX_IN_FLIGHT_BYTES), so it must be cheap; an estimate, not the POST body.
 */
export function approximateSize(value: unknown): number {
  if (typeof value === 'string') return value.length + 2;
  if (value === null || typeof value !== 'object') return SCALAR_BYTES;
  if (value instanceof Instant) return INSTANT_BYTES;
  if (value instanceof Uint8Array) return Math.ceil(value.byteLength / 3) * 4 + 2;
  let bytes = 2;
  if (Array.isArray(value)) {
    for (const inner of value as readonly unknown[]) bytes += approximateSize(inner) + 1;
    return bytes;
  }
  for (const key in value) bytes += key.length + 4 + approximateSize((value as Record<string, unknown>)[key]);
  return bytes;
}
