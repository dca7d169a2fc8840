import http, { type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import { AxiosError, CanceledError, type AxiosAdapter, type AxiosResponse, type InternalAxiosRequestConfig } from 'axios';

/** How the adapter sends: one keep-alive agent per scheme, a bound on the whole exchange, and on the answer read. */
export interface NodeHttpAdapterOptions {
  readonly httpAgent: http.Agent;
  readonly httpsAgent: https.Agent;
  /** Longest exchange, from the request until the answer's body is read; then it fails with ETIMEDOUT. */
  readonly timeoutMs: number;
  /** Longest answer body kept; the rest is not read, and a body cut off there still counts as answered. */
  readonly maxResponseBytes: number;
  /** The answer's headers the caller reads (lower case); axios gets only these, so it normalises no others. */
  readonly responseHeaders: readonly string[];
}

/**
 * A minimal axios adapter on node:http for one kind of request: a Buffer body POSTed to an absolute URL, no
 * redirects, no proxy, no decompression, the answer's body read as text up to a limit. axios' own http adapter
 * does much more for every request (follow-redirects, proxy and decompression set-up, a response stream, its
 * own timers); for the relay's small POSTs that was most of the CPU axios cost. Failures are AxiosErrors with
 * the codes axios' adapter uses (ETIMEDOUT, ERR_CANCELED, the socket's own code such as ECONNREFUSED), so the
 * client classifies them the same way.
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
      const fail = (error: AxiosError): void => {
        if (settled) return;
        settled = true;
        cleanUp();
        request.destroy();
        reject(error);
      };
      const request = (secure ? https : http).request({
        protocol: url.protocol,
        hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
        port: url.port === '' ? undefined : url.port,
        path: url.pathname + url.search,
        method: (config.method ?? 'post').toUpperCase(),
        headers,
        agent: secure ? options.httpsAgent : options.httpAgent,
      });
      const timer = setTimeout(
        () => fail(new AxiosError(`timeout of ${options.timeoutMs}ms exceeded`, AxiosError.ETIMEDOUT, config, request)),
        options.timeoutMs,
      );
      const signal = config.signal as AbortSignal | undefined;
      const onAbort = (): void => fail(new CanceledError(undefined, config, request));
      signal?.addEventListener('abort', onAbort, { once: true });
      const cleanUp = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      if (signal?.aborted === true) {
        onAbort();
        return;
      }
      request.on('error', (error: NodeJS.ErrnoException) => fail(AxiosError.from(error, error.code, config, request)));
      request.on('response', (response: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let length = 0;
        const answer = (): void => {
          if (settled) return;
          settled = true;
          cleanUp();
          const kept: Record<string, string | string[]> = {};
          for (const name of options.responseHeaders) {
            const header = response.headers[name];
            if (header !== undefined) kept[name] = header;
          }
          resolve({
            data: Buffer.concat(chunks, length).subarray(0, options.maxResponseBytes).toString('utf8'),
            status: response.statusCode ?? 0,
            statusText: response.statusMessage ?? '',
            headers: kept,
            config,
            request,
          });
        };
        response.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          length += chunk.length;
          if (length >= options.maxResponseBytes) {
            // Enough read: the verdict is the status; the connection is not reused, the rest never read.
            answer();
            response.destroy();
          }
        });
        response.on('end', answer);
        // The status line and headers arrived; what the body lacks does not change the verdict.
        response.on('error', answer);
        response.on('aborted', answer);
      });
      request.end(body);
    });
}
