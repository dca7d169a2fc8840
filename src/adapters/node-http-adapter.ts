import http, { type ClientRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import { AxiosError, CanceledError, type AxiosAdapter, type AxiosResponse, type InternalAxiosRequestConfig } from 'axios';

/** How the adapter sends: one keep-alive agent per scheme, a bound on the exchange, and on the answer's body. */
export interface NodeHttpAdapterOptions {
  readonly httpAgent: http.Agent;
  readonly httpsAgent: https.Agent;
  /** Longest wait from the request until the answer's status line; then it fails with ETIMEDOUT. */
  readonly timeoutMs: number;
  /** Longest answer body kept; the rest is not read, and a body cut off there still counts as answered. */
  readonly maxResponseBytes: number;
  /** The answer's headers the caller reads (lower case); axios gets only these, so it normalises no others. */
  readonly responseHeaders: readonly string[];
  /** Longest wait for the body once the status line arrived; the answer is then given with what came. */
  readonly bodyReadMs: number;
}

/** Of a 2xx body only this much is read: the status acknowledged the event, the body changes nothing. */
export const ACKNOWLEDGED_BODY_PREFIX_BYTES = 1024;

/**
 * Failures of a reused keep-alive socket before any byte of an answer came: the connection died while idle
 * (a proxy or NAT dropped it), so the request most likely never reached the router.
 */
const STALE_SOCKET_CODES: ReadonlySet<string | undefined> = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

/**
 * A minimal axios adapter on node:http for one kind of request: a Buffer body POSTed to an absolute URL, no
 * redirects, no proxy, no decompression, the answer's body read as text up to a limit. axios' own http adapter
 * does much more for every request (follow-redirects, proxy and decompression set-up, a response stream, its
 * own timers); for the relay's small POSTs that was most of the CPU axios cost. Failures are AxiosErrors with
 * the codes axios' adapter uses (ETIMEDOUT, ERR_CANCELED, the socket's own code such as ECONNREFUSED), so the
 * client classifies them the same way.
 *
 * The answer is the status line: once it arrived, the body is read for at most `bodyReadMs` (a 2xx only up to
 * ACKNOWLEDGED_BODY_PREFIX_BYTES), so a router that acknowledges and then trickles its body never turns a
 * delivered event into a timeout. A POST that fails on a reused keep-alive socket before any answer is sent
 * again at once, once, on a fresh connection: a connection that died while idle says nothing about the router.
 */
export function createNodeHttpAdapter(options: NodeHttpAdapterOptions): AxiosAdapter {
  let lastUrl: string | undefined;
  let lastTarget: URL | undefined;
  const target = (url: string): URL => {
    if (url !== lastUrl || lastTarget === undefined) {
      lastTarget = new URL(url);
      lastUrl = url;
    }
    return lastTarget;
  };
  return (config: InternalAxiosRequestConfig) =>
    new Promise<AxiosResponse>((resolve, reject) => {
      const url = target(config.url ?? '');
      const secure = url.protocol === 'https:';
      const data: unknown = config.data;
      const body = Buffer.isBuffer(data) ? data : Buffer.from(typeof data === 'string' ? data : '', 'utf8');
      const headers = config.headers.toJSON() as OutgoingHttpHeaders;
      headers['content-length'] = body.length;
      let settled = false;
      let request: ClientRequest | undefined;
      let timer: NodeJS.Timeout | undefined;
      /** Answers with the body read so far, once the status line came. */
      let finishBody: (() => void) | undefined;
      const fail = (error: AxiosError): void => {
        if (settled) return;
        settled = true;
        cleanUp();
        request?.destroy();
        reject(error);
      };
      const signal = config.signal as AbortSignal | undefined;
      const onAbort = (): void => fail(new CanceledError(undefined, config, request));
      const cleanUp = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const bound = (ms: number, onExpiry: () => void): void => {
        clearTimeout(timer);
        timer = setTimeout(onExpiry, ms);
      };

      const send = (fresh: boolean): void => {
        const sent = (secure ? https : http).request({
          protocol: url.protocol,
          hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
          port: url.port === '' ? undefined : url.port,
          path: url.pathname + url.search,
          method: (config.method ?? 'post').toUpperCase(),
          headers,
          // A fresh connection of its own (closed after this answer), never a pooled one that may be stale too.
          agent: fresh ? false : secure ? options.httpsAgent : options.httpAgent,
        });
        request = sent;
        let answered = false;
        sent.on('error', (error: NodeJS.ErrnoException) => {
          if (settled) return;
          // The status line came: a connection lost during the body does not change the answer.
          if (answered) {
            finishBody?.();
            return;
          }
          if (!fresh && sent.reusedSocket && STALE_SOCKET_CODES.has(error.code)) {
            send(true);
            return;
          }
          fail(AxiosError.from(error, error.code, config, sent));
        });
        sent.on('response', (response: IncomingMessage) => {
          answered = true;
          read(response, sent);
        });
        sent.end(body);
      };

      const read = (response: IncomingMessage, sent: ClientRequest): void => {
        const status = response.statusCode ?? 0;
        const limit =
          status >= 200 && status < 300 ? Math.min(ACKNOWLEDGED_BODY_PREFIX_BYTES, options.maxResponseBytes) : options.maxResponseBytes;
        const chunks: Buffer[] = [];
        let length = 0;
        const answer = (): void => {
          if (settled) return;
          settled = true;
          cleanUp();
          // A body not read to its end: the connection is not reused, the rest never read.
          if (!response.complete) response.destroy();
          const kept: Record<string, string | string[]> = {};
          for (const name of options.responseHeaders) {
            const header = response.headers[name];
            if (header !== undefined) kept[name] = header;
          }
          resolve({
            data: Buffer.concat(chunks, length).subarray(0, limit).toString('utf8'),
            status,
            statusText: response.statusMessage ?? '',
            headers: kept,
            config,
            request: sent,
          });
        };
        finishBody = answer;
        // The status line arrived: that is the answer; the body gets a short while, not the POST's timeout.
        bound(options.bodyReadMs, answer);
        response.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          length += chunk.length;
          if (length >= limit) answer();
        });
        response.on('end', answer);
        // What the body lacks does not change the verdict.
        response.on('error', answer);
        response.on('aborted', answer);
      };

      signal?.addEventListener('abort', onAbort, { once: true });
      if (signal?.aborted === true) {
        onAbort();
        return;
      }
      bound(options.timeoutMs, () =>
        fail(new AxiosError(`timeout of ${options.timeoutMs}ms exceeded`, AxiosError.ETIMEDOUT, config, request)),
      );
      send(false);
    });
}
