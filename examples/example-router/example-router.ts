import type { Firestore } from '@google-cloud/firestore';
import type { HttpFunction } from '@google-cloud/functions-framework';
import { createCloudLogger, describeError } from 'outbound-event-handler';
import {
  DEFAULT_INBOX_IN_PROGRESS_TTL_MS,
  DEFAULT_INBOX_RETENTION_MS,
  FirestoreInbox,
  InboxOutcome,
  type Logger,
} from 'outbound-event-handler/inbox';
import { parseExampleEvent } from './example-event.js';
import { ExampleLedger } from './ledger.js';

export { readLedger, type LedgerAccount, type LedgerEntry } from './ledger.js';
export { ExampleEventType } from './example-event.js';

/** What the example router needs; settings are parameters, so tests and the local demo pass their own collections. */
export interface ExampleRouterOptions {
  readonly firestore: Firestore;
  /** Accounts, one document per accountId, each with an `entries` journal below it. */
  readonly ledgerCollection: string;
  /** The inbox's records (put a TTL policy on `expireAt`). */
  readonly inboxCollection: string;
  /** This consumer's name in the inbox; no ":" or "/". */
  readonly consumer: string;
  /** Charge and void records per billingId; defaults to `${ledgerCollection}_business_keys`, kept forever. */
  readonly businessKeyCollection?: string;
  /** Defaults to one JSON line per entry on stdout (Cloud Logging). */
  readonly logger?: Logger;
  /** Defaults to DEFAULT_INBOX_IN_PROGRESS_TTL_MS. */
  readonly inProgressTtlMs?: number;
  /** Defaults to DEFAULT_INBOX_RETENTION_MS. */
  readonly retentionMs?: number;
}

/**
 * An object router that shows the consumer side end to end: each CloudEvent the relay POSTs is validated, then
 * applied to a small Firestore ledger in ONE transaction together with its inbox record, so a redelivery (even
 * a concurrent one) changes nothing and is answered 200 `{"duplicate":true}`. 4xx means "never deliverable"
 * (the relay dead-letters), 5xx means "try again" (the relay retries).
 */
export function createExampleRouter(options: ExampleRouterOptions): HttpFunction {
  const logger = options.logger ?? createCloudLogger();
  const consumer = options.consumer;
  const inbox = new FirestoreInbox(options.firestore, {
    collection: options.inboxCollection,
    consumer,
    inProgressTtlMs: options.inProgressTtlMs ?? DEFAULT_INBOX_IN_PROGRESS_TTL_MS,
    retentionMs: options.retentionMs ?? DEFAULT_INBOX_RETENTION_MS,
    logger,
  });
  const ledger = new ExampleLedger(options.firestore, {
    ledgerCollection: options.ledgerCollection,
    businessKeyCollection: options.businessKeyCollection ?? `${options.ledgerCollection}_business_keys`,
  });

  return async (req, res) => {
    if (req.method !== 'POST') {
      res.set('Allow', 'POST').status(405).json({ error: 'method_not_allowed', message: 'Deliver events with POST.' });
      return;
    }
    const parsed = parseExampleEvent(req.headers, req.body);
    if ('rejected' in parsed) {
      const { status, error, message } = parsed.rejected;
      const eventId = req.headers['ce-id'];
      logger.log('WARNING', 'malformed event rejected', {
        consumer,
        eventId: typeof eventId === 'string' ? eventId : undefined,
        error,
        problem: message,
      });
      res.status(status).json({ error, message });
      return;
    }
    const { event } = parsed;
    const fields = { consumer, eventId: event.id, type: event.type, deliveryAttempt: event.deliveryAttempt };
    try {
      const result = await inbox.process(event.id, (transaction) => ledger.apply(transaction, event));
      switch (result.status) {
        case InboxOutcome.Duplicate:
          res.status(200).json({ duplicate: true, eventId: event.id });
          return;
        case InboxOutcome.InProgress: {
          const seconds = Math.max(1, Math.ceil((result.until.getTime() - Date.now()) / 1000));
          res
            .set('Retry-After', String(seconds))
            .status(503)
            .json({ error: 'in_progress', message: `event ${event.id} is being processed by another attempt` });
          return;
        }
        case InboxOutcome.Applied: {
          const { body, duplicateKey } = result.value;
          if (duplicateKey === undefined) logger.log('INFO', 'event applied', fields);
          else logger.log('INFO', 'duplicate business key skipped', { ...fields, scope: duplicateKey.scope, key: duplicateKey.key });
          res.status(200).json(body);
          return;
        }
      }
    } catch (error) {
      logger.log('ERROR', 'event not applied; the relay will retry', { ...fields, error: describeError(error) });
      res.status(500).json({ error: 'internal', message: describeError(error), eventId: event.id });
    }
  };
}
