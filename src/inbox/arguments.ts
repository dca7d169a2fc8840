import { InvalidInboxArgumentError } from '../errors.js';

/** Consumers and scopes appear in every document id, so they stay short and cannot contain the `:` separator. */
const NAMESPACE = /^[^:/]{1,100}$/;

/** Rejects a consumer or scope name up front, so a bad name fails before any message is read. */
export function assertNamespace(argument: string, value: string): void {
  if (typeof value !== 'string' || !NAMESPACE.test(value)) {
    throw new InvalidInboxArgumentError(argument, 'must be 1 to 100 characters without ":" or "/"');
  }
}

/** Rejects an empty id, which would make every message of a consumer the same message. */
export function assertId(argument: string, value: string): void {
  if (typeof value !== 'string' || value.length === 0) throw new InvalidInboxArgumentError(argument, 'must be a non-empty string');
}

/** Rejects a duration that would make leases or retention meaningless (zero, negative, fractional, NaN). */
export function assertDurationMs(argument: string, value: number): void {
  if (!Number.isSafeInteger(value) || value <= 0)
    throw new InvalidInboxArgumentError(argument, 'must be a positive integer of milliseconds');
}
