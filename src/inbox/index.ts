/**
 * The consumer side of the relay, published as `outbound-event-handler/inbox`: an inbox that turns at-least-once
 * redeliveries into duplicates, and business-key idempotency for effects keyed by a business id.
 */
export {
  DEFAULT_INBOX_IN_PROGRESS_TTL_MS,
  DEFAULT_INBOX_RETENTION_MS,
  DEFAULT_INBOX_TRANSACTION_ATTEMPTS,
  FirestoreInbox,
  InboxOutcome,
  InboxRecordStatus,
  type InboxEffect,
  type InboxOptions,
  type ProcessResult,
  type TryStartResult,
} from './inbox.js';
export {
  ApplyOnceOutcome,
  BusinessKeyStatus,
  FirestoreBusinessKeys,
  type ApplyOnceResult,
  type BusinessEffectResult,
  type BusinessKey,
  type BusinessKeyOptions,
  type BusinessKeyRecord,
} from './business-key.js';
export { MAX_READABLE_DOCUMENT_ID_BYTES, recordDocumentId } from './document-id.js';
export { InboxLeaseLostError, InboxStoreError, InvalidInboxArgumentError, InvalidInboxRecordError, OutboxError } from '../errors.js';
export type { Logger, Severity } from '../core/ports.js';
