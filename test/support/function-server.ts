import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { createOutboundEventHandler, type HandlerOptions, type OutboundEventHandler } from '../../src/function/outbound-event-handler.js';
import type { Logger, OutboxStore, Severity } from '../../src/core/ports.js';

export interface LogEntry {
  readonly severity: Severity;
  readonly message: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

/** A logger that keeps entries for assertions. */
export function memoryLogger(): Logger & { readonly entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  return { entries, log: (severity, message, fields = {}) => entries.push({ severity, message, fields }) };
}

const served: OutboundEventHandler[] = [];

/** Registers a fresh handler with the Functions Framework and returns its real Express server, as Cloud Functions serves it. */
export function serveHandler(options: HandlerOptions): Server {
  const name = `outboundEventHandler_${randomBytes(4).toString('hex')}`;
  // A signal of the test's own: the handler must not take SIGTERM over from the test runner.
  const handler = createOutboundEventHandler({ shutdown: new AbortController().signal, ...options });
  served.push(handler);
  http(name, handler);
  return getTestServer(name);
}

/** Closes the Firestore clients of every handler served so far, so nothing keeps the test process alive. */
export async function closeServedHandlers(): Promise<void> {
  await Promise.all(served.splice(0).map((handler) => handler.close()));
}

/** The function's environment for one test: its own collections, the loopback router, fast retries. */
export function relayEnv(
  routerUrl: string,
  collections: { readonly outbox: string },
  overrides: Readonly<Record<string, string>> = {},
): Record<string, string | undefined> {
  return {
    ROUTER_URL: routerUrl,
    OUTBOX_COLLECTION: collections.outbox,
    GOOGLE_CLOUD_PROJECT: process.env.GOOGLE_CLOUD_PROJECT,
    FIRESTORE_EMULATOR_HOST: process.env.FIRESTORE_EMULATOR_HOST,
    RETRY_MIN_DELAY_MS: '5',
    RETRY_MAX_DELAY_MS: '20',
    // The next run may retry a failed event at once, so a spec needs no wait between runs.
    REDELIVERY_MIN_DELAY_MS: '0',
    REDELIVERY_MAX_DELAY_MS: '0',
    ...overrides,
  };
}

/** Wraps the real Firestore store so that one of its calls misbehaves; the others pass through. */
export function faultAt(call: 'fetch' | 'recordOutcomes' | 'writeAudit', fault: () => Promise<never>) {
  return (store: OutboxStore): OutboxStore => ({
    fetchPending: (limit, after, maxBytes) => (call === 'fetch' ? fault() : store.fetchPending(limit, after, maxBytes)),
    fetchStrays: (limit, plan) => (call === 'fetch' ? fault() : store.fetchStrays(limit, plan)),
    fetchParkedKeys: () => store.fetchParkedKeys(),
    watchPending: (onChange, onError) => store.watchPending(onChange, onError),
    recordOutcomes: (outcomes, lease) => (call === 'recordOutcomes' ? fault() : store.recordOutcomes(outcomes, lease)),
    writeAudit: (summary) => (call === 'writeAudit' ? fault() : store.writeAudit(summary)),
  });
}

/** A fault that rejects with this message. */
export const rejectWith = (message: string) => (): Promise<never> => Promise.reject(new Error(message));
