/** The producer API, published as `outbound-event-handler/producer`: write events in the same commit as the business data. */
export { createOutbox, type Outbox, type OutboxOptions, type OutboxWriter } from './enqueue.js';
export { EVENT_TYPE_PATTERN, type NewEvent } from './new-event.js';
export { DEFAULT_MAX_PAYLOAD_BYTES, parseStoreConfig, type StoreConfig } from '../config.js';
export { InvalidEventError, OutboxError, OutboxOptionsError } from '../errors.js';
