import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** The object router as the bench sees it: how many POSTs arrived, for how many distinct events. */
export interface DelayRouter {
  readonly url: string;
  readonly delayMs: number;
  /** POSTs answered so far. */
  received(): number;
  /** Distinct `ce-id`s seen, so duplicate deliveries show up as received > distinct. */
  distinct(): number;
  /** Bytes of request bodies read, so the relay and the raw sender can be checked to send the same payloads. */
  bodyBytes(): number;
  /** performance.now() when the first request arrived and when the last answer was sent; undefined before any. */
  firstRequestAt(): number | undefined;
  lastAnswerAt(): number | undefined;
  /** performance.now() of every POST's arrival, in order, so a rate over part of a drain can be measured. */
  arrivals(): readonly number[];
  /** Forgets what arrived so far (a warm-up drain's POSTs), so the counts describe what follows. */
  reset(): void;
  close(): Promise<void>;
}

/** A plain loopback HTTP server that reads each request and answers 200 after `delayMs`, like a router with that latency. */
export async function startDelayRouter(delayMs: number): Promise<DelayRouter> {
  let received = 0;
  let bodyBytes = 0;
  let firstRequestAt: number | undefined;
  let lastAnswerAt: number | undefined;
  const ids = new Set<string>();
  const arrivals: number[] = [];
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    firstRequestAt ??= performance.now();
    req.on('data', (chunk: Buffer) => {
      bodyBytes += chunk.length;
    });
    req.on('end', () => {
      received += 1;
      arrivals.push(performance.now());
      const id = req.headers['ce-id'];
      if (typeof id === 'string') ids.add(id);
      const answer = (): void => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"ok":true}');
        lastAnswerAt = performance.now();
      };
      if (delayMs === 0) answer();
      else setTimeout(answer, delayMs);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/events`,
    delayMs,
    received: () => received,
    distinct: () => ids.size,
    bodyBytes: () => bodyBytes,
    firstRequestAt: () => firstRequestAt,
    lastAnswerAt: () => lastAnswerAt,
    arrivals: () => arrivals,
    reset: () => {
      arrivals.length = 0;
      received = 0;
      bodyBytes = 0;
      firstRequestAt = undefined;
      lastAnswerAt = undefined;
      ids.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
