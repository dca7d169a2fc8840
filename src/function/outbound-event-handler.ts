import { randomBytes } from 'node:crypto';
import type { HttpFunction } from '@google-cloud/functions-framework';
import { createCloudLogger } from '../adapters/cloud-logger.js';
import { AxiosRouterClient } from '../adapters/axios-router-client.js';
import { createFirestore } from '../adapters/firestore-client.js';
import { FirestoreOutboxStore } from '../adapters/firestore-outbox-store.js';
import { createRouterAuth } from '../adapters/router-auth.js';
import { FirestoreRunLease, type HeldLease } from '../adapters/firestore-run-lease.js';
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
  internal_error: 500,
};

/**
 * Builds the Cloud Scheduler target: configuration is read once (cold start), clients are reused across
 * runs, and each POST runs the relay once and maps its outcome to 200 or 500.
 */
export function createOutboundEventHandler(options: HandlerOptions = {}): HttpFunction {
  const clock = options.clock ?? systemClock;
  let config: Readonly<Config>;
  try {
    config = parseConfig(options.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return configErrorHandler(error, options.logger ?? createCloudLogger());
  }
  const logger = options.logger ?? createCloudLogger({ minSeverity: config.logLevel });
  const firestore = createFirestore(config);
  const shard = { index: config.shardIndex, count: config.shardCount };
  const runLease = new FirestoreRunLease(firestore, config.leaseCollection, leaseId(config), () => clock.now());
  const router = new AxiosRouterClient({
    routerUrl: config.routerUrl,
    auth: createRouterAuth(config.routerAuth, config.routerUrl, () => clock.now()),
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
    const { status, body } = await runOnce(runId);
    res.status(status).json(body);
  };

  /** Everything, the lease release included, finishes before the answer: Cloud Functions may throttle the CPU after it. */
  async function runOnce(runId: string): Promise<{ status: number; body: object }> {
    let lease: HeldLease | undefined;
    try {
      const attempt = await runLease.acquire(runId, config.leaseTtlMs);
      if (!attempt.acquired) {
        logger.log('INFO', 'another run holds the lease; skipping this one', {
          runId,
          heldBy: attempt.owner,
          until: attempt.expiresAt.toISOString(),
        });
        return { status: 200, body: { skipped: 'lease-held', runId, heldBy: attempt.owner } };
      }
      lease = attempt.lease;
      const firestoreStore = new FirestoreOutboxStore(firestore, { ...config, shard, lease });
      const store = options.wrapStore?.(firestoreStore) ?? firestoreStore;
      const result = await runRelay(runId, { store, router, clock, logger }, config);
      const status = HTTP_STATUS[result.outcome];
      return { status, body: status === 200 ? result.summary : { error: result.outcome, message: result.error, ...result.summary } };
    } catch (error) {
      logger.log('ERROR', 'run crashed', { runId, error: describeError(error) });
      return { status: 500, body: { error: 'internal', message: describeError(error), runId } };
    } finally {
      if (lease !== undefined) await releaseQuietly(runLease, lease, logger, runId);
    }
  }
}

/** One lease per outbox shard, so shards drain in parallel while each runs one at a time. */
function leaseId(config: Readonly<Config>): string {
  return `${config.outboxCollection}.shard-${config.shardIndex}-of-${config.shardCount}`;
}

/** A lease that cannot be released simply expires; the answer to Scheduler does not change. */
async function releaseQuietly(runLease: FirestoreRunLease, lease: HeldLease, logger: Logger, runId: string): Promise<void> {
  try {
    await runLease.release(lease);
  } catch (error) {
    logger.log('WARNING', 'releasing the run lease failed; it will expire', { runId, error: describeError(error) });
  }
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
