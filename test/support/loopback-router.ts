import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the router saw it. */
export interface ReceivedRequest {
  readonly method: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  readonly eventId: string;
  readonly startedAt: number;
  finishedAt: number;
}

/** What the router does with one request. */
export type RouterAction =
  | { readonly respond: number; readonly body?: string; readonly headers?: Record<string, string>; readonly delayMs?: number }
  | { readonly hang: true }
  | { readonly reset: true };

/** Decides per request; `nth` counts requests for the same event id, from 1. */
export type RouterScript = (request: ReceivedRequest, nth: number) => RouterAction;

export interface LoopbackRouter {
  readonly url: string;
  readonly received: ReceivedRequest[];
  script: RouterScript;
  /** Event ids in the order their first successful answer was sent. */
  acceptedIds(): string[];
  close(): Promise<void>;
}

const OK: RouterScript = () => ({ respond: 200, body: '{"ok":true}' });

/** A real HTTP server on 127.0.0.1 standing in for the object router, with failures scripted per request. */
export async function startLoopbackRouter(script: RouterScript = OK): Promise<LoopbackRouter> {
  const received: ReceivedRequest[] = [];
  const accepted: string[] = [];
  const perEvent = new Map<string, number>();
  const sockets = new Set<import('node:net').Socket>();
  const router: LoopbackRouter = {
    url: '',
    received,
    script,
    acceptedIds: () => [...accepted],
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const eventId = String(req.headers['ce-id'] ?? '');
      const request: ReceivedRequest = {
        method: req.method ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        eventId,
        startedAt: Date.now(),
        finishedAt: Number.NaN,
      };
      received.push(request);
      const nth = (perEvent.get(eventId) ?? 0) + 1;
      perEvent.set(eventId, nth);
      const action = router.script(request, nth);
      if ('hang' in action) return;
      if ('reset' in action) {
        req.socket.destroy();
        return;
      }
      const send = (): void => {
        request.finishedAt = Date.now();
        if (action.respond >= 200 && action.respond < 300) accepted.push(eventId);
        res.writeHead(action.respond, { 'content-type': 'application/json', ...action.headers });
        res.end(action.body ?? '');
      };
      if (action.delayMs === undefined) send();
      else setTimeout(send, action.delayMs);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  (router as { url: string }).url = `http://127.0.0.1:${port}/events`;
  return router;
}
