import http from 'node:http';
import type { Readable } from 'node:stream';
import https from 'node:https';
import axios, { type AxiosInstance } from 'axios';
import type { OutboxEvent } from '../core/event.js';
import type { RouterClient, RouterResponse } from '../core/ports.js';
import { encodeEvent } from './cloudevents-encoding.js';
import type { RouterAuth } from './router-auth.js';
import { describeError } from '../errors.js';

/** Longest router answer read; the relay keeps only a short excerpt of it anyway. */
export const MAX_RESPONSE_BYTES = 64 * 1024;

export interface AxiosRouterClientOptions {
  readonly routerUrl: string;
  readonly auth: RouterAuth;
  readonly postTimeoutMs: number;
  readonly defaultSource: string;
  readonly maxSockets: number;
}

/** POSTs events with axios; describes every answer or failure as a RouterResponse and leaves judging to classify(). */
export class AxiosRouterClient implements RouterClient {
  private readonly http: AxiosInstance;

  constructor(private readonly options: AxiosRouterClientOptions) {
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets };
    this.http = axios.create({
      httpAgent: new http.Agent(agentOptions),
      httpsAgent: new https.Agent(agentOptions),
      maxRedirects: 0,
      // A stream, read up to MAX_RESPONSE_BYTES: the status decides, and a large 2xx body must not turn a
      // delivered event into a failure (axios rejects a body over maxContentLength without its status).
      responseType: 'stream',
      validateStatus: () => true,
      proxy: false,
    });
  }

  async post(event: OutboxEvent, deliveryAttempt: number, cancel: AbortSignal): Promise<RouterResponse> {
    const { headers, body } = encodeEvent(event, deliveryAttempt, this.options.defaultSource);
    let authHeaders: Readonly<Record<string, string>>;
    try {
      authHeaders = await this.options.auth.headersFor(event.id, body);
    } catch (error) {
      return { kind: 'not_sent', reason: `could not authenticate to the router: ${describeError(error)}` };
    }
    // A timer cleared as soon as the answer is read: AbortSignal.timeout() would keep every request's objects
    // alive for the full POST_TIMEOUT_MS, which at hundreds of POSTs a second is hundreds of MiB.
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), this.options.postTimeoutMs);
    const onCancel = (): void => deadline.abort();
    cancel.addEventListener('abort', onCancel, { once: true });
    const { signal } = deadline;
    try {
      const response = await this.http.post<Readable>(this.options.routerUrl, body, {
        headers: { ...headers, ...authHeaders },
        signal,
        timeout: this.options.postTimeoutMs,
      });
      const retryAfter: unknown = response.headers['retry-after'];
      return {
        kind: 'response',
        status: response.status,
        body: await readAtMost(response.data, MAX_RESPONSE_BYTES),
        retryAfter: typeof retryAfter === 'string' ? retryAfter : undefined,
      };
    } catch (error) {
      if (cancel.aborted) return { kind: 'aborted' };
      if (signal.aborted || (axios.isAxiosError(error) && (error.code === 'ECONNABORTED' || error.code === 'ETIMEDOUT'))) {
        return { kind: 'timeout', timeoutMs: this.options.postTimeoutMs };
      }
      if (axios.isAxiosError(error)) return { kind: 'network', code: error.code, message: error.message };
      throw error;
    } finally {
      clearTimeout(timer);
      cancel.removeEventListener('abort', onCancel);
    }
  }
}

/** The start of a response body; the rest is discarded, and a body cut off midway still counts as answered. */
async function readAtMost(stream: Readable, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of stream) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
      chunks.push(buffer);
      length += buffer.length;
      if (length >= maxBytes) break;
    }
  } catch {
    // The status line and headers arrived; what the body lacks does not change the verdict.
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks).subarray(0, maxBytes).toString('utf8');
}
