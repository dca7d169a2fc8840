import { AxiosRouterClient } from '../dist/adapters/axios-router-client.js';
import { createRouterAuth } from '../dist/adapters/router-auth.js';
import { DEFAULT_EVENT_SOURCE, DEFAULT_POST_TIMEOUT_MS } from '../dist/config.js';
import type { OutboxEvent } from '../dist/core/event.js';
import { benchEvent } from './bench-events.js';

/** What the parent asks the raw sender to do; passed as JSON in argv[2]. */
export interface RawSenderRequest {
  readonly routerUrl: string;
  readonly events: number;
  readonly concurrency: number;
}

/** What the raw sender measured; printed as one JSON line on stdout. */
export interface RawSenderResult {
  readonly sent: number;
  readonly ok: number;
  readonly ms: number;
  readonly eventsPerSecond: number;
  /** CPU seconds the sender used while sending, to compare with the function's CPU per event. */
  readonly cpuSeconds: number;
}

/**
 * The transport's own limit: the relay's own router client (same CloudEvents encoding, headers, axios
 * settings and keep-alive agent with one socket per slot) POSTing events built in memory, with no store,
 * no scheduler and no retries, `concurrency` at a time.
 */
async function sendRaw(request: RawSenderRequest): Promise<RawSenderResult> {
  const baseMs = Date.UTC(2026, 0, 1);
  const events: OutboxEvent[] = Array.from({ length: request.events }, (_unused, index) => benchEvent(index, baseMs));
  const client = new AxiosRouterClient({
    routerUrl: request.routerUrl,
    auth: createRouterAuth({ kind: 'none' }, request.routerUrl),
    postTimeoutMs: DEFAULT_POST_TIMEOUT_MS,
    defaultSource: DEFAULT_EVENT_SOURCE,
    maxSockets: request.concurrency,
  });
  const neverCancelled = new AbortController().signal;
  let next = 0;
  let ok = 0;
  const worker = async (): Promise<void> => {
    for (let event = events[next]; event !== undefined; event = events[next]) {
      next += 1;
      const response = await client.post(event, 1, neverCancelled);
      if (response.kind === 'response' && response.status >= 200 && response.status < 300) ok += 1;
    }
  };
  const cpuBefore = process.cpuUsage();
  const startedAt = performance.now();
  await Promise.all(Array.from({ length: request.concurrency }, worker));
  const ms = performance.now() - startedAt;
  const cpu = process.cpuUsage(cpuBefore);
  return { sent: events.length, ok, ms, eventsPerSecond: ok / (ms / 1000), cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

const request = JSON.parse(process.argv[2] ?? '{}') as RawSenderRequest;
const result = await sendRaw(request);
process.stdout.write(`${JSON.stringify(result)}\n`);
