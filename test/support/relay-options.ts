import type { RelayOptions } from '../../src/core/relay.js';

/** Small, fast relay settings for the core's unit specs on virtual time; each spec overrides what its rules need. */
export const UNIT_RELAY_OPTIONS: RelayOptions = {
  batchSize: 10,
  deliveryConcurrency: 4,
  maxAttempts: 5,
  runBudgetMs: 60_000,
  checkpointSize: 10,
  maxPayloadBytes: 10_000,
  shardCount: 1,
  postRetries: 0,
  retryMinDelayMs: 100,
  retryMaxDelayMs: 1_000,
  firestoreTimeoutMs: 2_000,
  leaseTtlMs: 9_000,
  shutdownTimeoutMs: 5_000,
  maxInFlightBytes: 1_000_000,
  breakerThreshold: 3,
  redeliveryMinDelayMs: 60_000,
  redeliveryMaxDelayMs: 3_600_000,
  parkKeyOnDeadLetter: true,
  followMs: 0,
};
