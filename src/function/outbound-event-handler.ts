import { randomBytes } from 'node:crypto';
import type { HttpFunction } from '@google-cloud/functions-framework';
import { createCloudLogger } from '../adapters/cloud-logger.js';
import { AxiosRouterClient } from '../adapters/axios-router-client.js';
import { createFirestore } from '../adapters/firestore-client.js';
import { FirestoreOutboxStore } from '../adapters/firestore-outbox-store.js';
import { systemClock } from '../adapters/system-clock.js';
import { parseConfig, type Config } from '../config.js';
import type { Clock, Logger, OutboxStore } from '../core/ports.js';
import { runRelay, type RunOutcome } from '../core/relay.js';
import { ConfigError, describeError } from '../errors.js';

/** Seams for tests and embedders; production passes nothing. */
export interface HandlerOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly logger?: Logger;
  readonly clock?: Clock;
  /** Wraps the Firestore store, e.g. to inject a fault at one call of the store interface. */
  readonly wrapStore?: (store: OutboxStore) => OutboxStore;
}

const HTTP_STATUS: Readonly<Record<RunOutcome, number>> = {
  completed: 200,
  delivery_failed: 500,
  fetch_failed: 500,
  flush_failed: 500,
};

/**
 * Builds the Cloud Scheduler target: configuration is read once (cold start), clients are reused across
 * runs, and each POST runs the relay once and maps its outcome to 200 or 500.
 */
export function createOutboundEventHandler(options: HandlerOptions = {}): HttpFunction {
  const clock = options.clock ?? systemClock;
  let config: Readonly<Config>;
  try {
    config = parseConfig(options.env ?? process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return configErrorHandler(error, options.logger ?? createCloudLogger());
  }
  const logger = options.logger ?? createCloudLogger({ minSeverity: config.logLevel });
  const firestoreStore = new FirestoreOutboxStore(createFirestore(config), config.outboxCollection, config.auditCollection);
  const store = options.wrapStore?.(firestoreStore) ?? firestoreStore;
  const router = new AxiosRouterClient({
    routerUrl: config.routerUrl,
    postTimeoutMs: config.postTimeoutMs,
    defaultSource: config.defaultSource,
    maxSockets: config.deliveryConcurrency,
  });

  return async (req, res) => {
    if (req.method !== 'POST') {
      res.set('Allow', 'POST').status(405).json({ error: 'method_not_allowed', message: 'Use POST to start a run.' });
      return;
    }
    const runId = newRunId(clock.now());
    try {
      const result = await runRelay(runId, { store, router, clock, logger }, config);
      const status = HTTP_STATUS[result.outcome];
      res.status(status).json(status === 200 ? result.summary : { error: result.outcome, message: result.error, ...result.summary });
    } catch (error) {
      logger.log('ERROR', 'run crashed', { runId, error: describeError(error) });
      res.status(500).json({ error: 'internal', message: describeError(error), runId });
    }
  };
}

/** A misconfigured deployment answers every run with the same one-line reason instead of crashing. */
function configErrorHandler(error: ConfigError, logger: Logger): HttpFunction {
  logger.log('ERROR', error.message, { variable: error.variable });
  return (_req, res) => {
    logger.log('ERROR', error.message, { variable: error.variable });
    res.status(500).json({ error: 'configuration', variable: error.variable, message: error.message });
  };
}

/** Sortable by start time, unique across instances. */
function newRunId(nowMs: number): string {
  return `${new Date(nowMs).toISOString().replace(/[-:.]/g, '')}-${randomBytes(4).toString('hex')}`;
}
