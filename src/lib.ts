/**
 * The package's entry for embedders (`import … from 'outbound-event-handler'`). Importing it has no side
 * effects: src/index.ts, the package's `main`, is what registers outboundEventHandler with the Functions
 * Framework. Only what a user builds on is here; the relay's internal errors and ports may change freely.
 */
export { createOutboundEventHandler, type HandlerOptions } from './function/outbound-event-handler.js';
export { parseConfig, type Config, type RouterAuthConfig } from './config.js';
export * from './producer/index.js';
export * from './inbox/index.js';
export { ConfigError, describeError } from './errors.js';
/** Building blocks a router of your own can reuse: JSON log lines for Cloud Logging, the emulator-aware client. */
export { createCloudLogger } from './adapters/cloud-logger.js';
export { createFirestore } from './adapters/firestore-client.js';
