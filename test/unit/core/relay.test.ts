import { systemClock } from '../../../src/adapters/system-clock.js';
import type { OutboxEvent } from '../../../src/core/event.js';
import type { Logger, RouterClient, RouterResponse } from '../../../src/core/ports.js';
import { runRelay, type RelayOptions } from '../../../src/core/relay.js';
import { memoryLogger } from '../../support/function-server.js';
import { MemoryOutboxStore } from '../../support/memory-outbox-store.js';

const OPTIONS: RelayOptions = {
  batchSize: 10,
  deliveryConcurrency: 4,
  maxAttempts: 5,
  runBudgetMs: 60_000,
  auditTimeoutMs: 1000,
  checkpointSize: 10,
  maxPayloadBytes: 10_000,
  shardCount: 1,
  postRetries: 0,
  retryMinDelayMs: 1,
  retryMaxDelayMs: 2,
};

/** A router in memory: answers each POST with what `answer` returns for its event. */
function memoryRouter(answer: (event: OutboxEvent) => RouterResponse = () => ({ kind: 'response', status: 200, body: '', retryAfter: undefined })) {
  const posted: string[] = [];
  const router: RouterClient = {
    post: (event) => {
      posted.push(event.id);
      return Promise.resolve(answer(event));
    },
  };
  return { router, posted };
}

describe('Function: runRelay', () => {
  it('delivers every pending event across pages and audits the run last', async () => {
    const store = new MemoryOutboxStore();
    store.seed(25);
    const { router, posted } = memoryRouter();

    const result = await runRelay('run-1', { store, router, clock: systemClock, logger: memoryLogger() }, OPTIONS);

    expect(result.outcome).toBe('completed');
    expect(result.summary).toMatchObject({ fetched: 25, delivered: 25, hasMore: false, auditFailed: false });
    expect(posted).toHaveLength(25);
    expect(store.idsWithStatus('delivered')).toHaveLength(25);
    expect(store.audits).toEqual([expect.objectContaining({ runId: 'run-1', delivered: 25 })]);
  });

  it('pages by createdAt, then id, delivering each event once however the ids sort', async () => {
    const store = new MemoryOutboxStore();
    store.seed(25, (i) => ({ createdAt: new Date(Date.UTC(2026, 0, 1) - i * 1000) }));
    const { router, posted } = memoryRouter();

    await runRelay('run-ids', { store, router, clock: systemClock, logger: memoryLogger() }, { ...OPTIONS, deliveryConcurrency: 1 });

    expect(posted).toEqual(Array.from({ length: 25 }, (_, i) => `evt-${String(24 - i).padStart(4, '0')}`));
  });

  it('still records every acknowledged event when an unexpected error stops the run', async () => {
    const store = new MemoryOutboxStore();
    store.seed(6);
    const { router } = memoryRouter();
    const entries = memoryLogger();
    // A bug stand-in: logging the delivery of one event throws.
    const logger: Logger = {
      log: (severity, message, fields) => {
        if (message === 'event delivered' && fields?.eventId === 'evt-0003') throw new Error('logger exploded');
        entries.log(severity, message, fields);
      },
    };

    const result = await runRelay('run-2', { store, router, clock: systemClock, logger }, { ...OPTIONS, deliveryConcurrency: 1 });

    expect(result.outcome).toBe('internal_error');
    expect(result.error).toContain('logger exploded');
    expect(store.idsWithStatus('delivered')).toEqual(['evt-0000', 'evt-0001', 'evt-0002', 'evt-0003']);
  });

  it('answers the audit as failed, not the run, when the audit write hangs', async () => {
    const store = new MemoryOutboxStore();
    store.seed(2);
    store.writeAudit = () => new Promise<never>(() => undefined);
    const { router } = memoryRouter();

    const result = await runRelay('run-3', { store, router, clock: systemClock, logger: memoryLogger() }, { ...OPTIONS, auditTimeoutMs: 20 });

    expect(result.outcome).toBe('completed');
    expect(result.summary.auditFailed).toBe(true);
  });
});
