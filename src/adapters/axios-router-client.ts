import http from 'node:http';
import https from 'node:https';
import { Axios, isAxiosError } from 'axios';
import type { OutboxEvent } from '../core/event.js';
import type { RouterClient, RouterResponse } from '../core/ports.js';
import { encodeEvent } from './cloudevents-encoding.js';
import { createNodeHttpAdapter } from './node-http-adapter.js';
import type { RouterAuth } from './router-auth.js';
import { DEFAULT_ROUTER_SOCKET_IDLE_MS } from '../config.js';
import { describeError } from '../errors.js';

/** Longest router answer read; the relay keeps only a short excerpt of it anyway. */
export const MAX_RESPONSE_BYTES = 64 * 1024;
/** Longest wait for an answer's body once its status line arrived: the status is the verdict, the body an excerpt. */
export const MAX_BODY_READ_MS = 1_000;

/** How the relay reaches the router. */
export interface AxiosRouterClientOptions {
  readonly routerUrl: string;
  readonly auth: RouterAuth;
  readonly postTimeoutMs: number;
  readonly defaultSource: string;
  readonly maxSockets: number;
  /** ROUTER_SOCKET_IDLE_MS: a keep-alive socket idle this long is closed, not reused. */
  readonly socketIdleMs?: number;
}

/** POSTs events with axios; describes every answer or failure as a RouterResponse and leaves judging to classify(). */
export class AxiosRouterClient implements RouterClient {
  private readonly http: Axios;

  constructor(private readonly options: AxiosRouterClientOptions) {
    // `timeout` closes a pooled socket idle that long (Node's agent destroys free sockets on their timeout),
    // before a load balancer or NAT drops it silently and the next POST is written into a dead connection.
    const agentOptions = {
      keepAlive: true,
      maxSockets: options.maxSockets,
      timeout: options.socketIdleMs ?? DEFAULT_ROUTER_SOCKET_IDLE_MS,
    };
    // axios with the least work per POST (docs/performance.md gives what each step saved): an instance of its
    // own class with only these defaults, not axios.create()'s dozen (merged into every request, with their
    // header groups, and checked again each time); a Buffer body made here and nothing for axios to transform
    // either way; every status accepted (classify() judges it); and a small adapter on node:http that bounds
    // the wait for the status line with one timer and then reads at most MAX_RESPONSE_BYTES of the answer as
    // text for at most MAX_BODY_READ_MS, so a large or slow 2xx body cannot turn a delivered event into a failure.
    this.http = new Axios({
      adapter: createNodeHttpAdapter({
        httpAgent: new http.Agent(agentOptions),
        httpsAgent: new https.Agent(agentOptions),
        timeoutMs: options.postTimeoutMs,
        maxResponseBytes: MAX_RESPONSE_BYTES,
        responseHeaders: ['retry-after'],
        bodyReadMs: Math.min(MAX_BODY_READ_MS, options.postTimeoutMs),
      }),
      maxRedirects: 0,
      validateStatus: () => true,
      proxy: false,
      transformRequest: [],
      transformResponse: [],
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
    try {
      const response = await this.http.request<string>({
        url: this.options.routerUrl,
        method: 'post',
        data: Buffer.from(body, 'utf8'),
        headers: Object.keys(authHeaders).length === 0 ? headers : { ...headers, ...authHeaders },
        signal: cancel,
      });
      const retryAfter: unknown = response.headers['retry-after'];
      return {
        kind: 'response',
        status: response.status,
        body: response.data,
        retryAfter: typeof retryAfter === 'string' ? retryAfter : undefined,
      };
    } catch (error) {
      if (cancel.aborted) return { kind: 'aborted' };
      if (isAxiosError(error) && (error.code === 'ECONNABORTED' || error.code === 'ETIMEDOUT')) {
        return { kind: 'timeout', timeoutMs: this.options.postTimeoutMs };
      }
      if (isAxiosError(error)) return { kind: 'network', code: error.code, message: error.message };
      throw error;
    }
  }
}
