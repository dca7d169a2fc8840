import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { AxiosRouterClient } from '../../../src/adapters/axios-router-client.js';
import { createRouterAuth } from '../../../src/adapters/router-auth.js';
import type { OutboxEvent } from '../../../src/core/event.js';
import { Instant } from '../../../src/core/instant.js';
import type { RouterResponse } from '../../../src/core/ports.js';
import { startIdleDroppingProxy, type IdleDroppingProxy } from '../../support/idle-dropping-proxy.js';

// Real sockets on 127.0.0.1: generous bounds, conditions waited for rather than fixed sleeps.
const event = (id: string): OutboxEvent => ({
  id,
  type: 'com.example.order.created',
  body: '{"orderId":1}',
  bodyBytes: 13,
  createdAt: Instant.fromMillis(Date.UTC(2026, 0, 2)),
  source: undefined,
  subject: undefined,
  orderingKey: undefined,
  attempts: 0,
  postAttempts: 0,
  nextAttemptAt: undefined,
  traceparent: undefined,
  tracestate: undefined,
  version: undefined as unknown as OutboxEvent['version'],
});

/** A loopback router whose answers the test writes itself; counts the events it read in full. */
async function startRouter(answer: (res: http.ServerResponse) => void) {
  const sockets = new Set<Socket>();
  const received: string[] = [];
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received.push(String(req.headers['ce-id']));
      answer(res);
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
    received,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

const client = (routerUrl: string, options: { postTimeoutMs?: number; socketIdleMs?: number } = {}) =>
  new AxiosRouterClient({
    routerUrl,
    auth: createRouterAuth({ kind: 'none' }, routerUrl),
    postTimeoutMs: options.postTimeoutMs ?? 20_000,
    defaultSource: '/test',
    maxSockets: 4,
    ...(options.socketIdleMs === undefined ? {} : { socketIdleMs: options.socketIdleMs }),
  });

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 20));
}

const post = (router: AxiosRouterClient, id: string): Promise<RouterResponse> => router.post(event(id), 1, new AbortController().signal);

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

describe('Class: AxiosRouterClient', () => {
  describe('reading the answer', () => {
    const trickling = (status: number) => (res: http.ServerResponse) => {
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.write('a');
      const drip = setInterval(() => res.write('.'), 50);
      res.on('close', () => clearInterval(drip));
    };

    it('takes a 2xx as delivered when its status line arrives, though its body trickles and never ends', async () => {
      const router = await startRouter(trickling(200));
      closers.push(router.close);

      const response = await post(client(router.url, { postTimeoutMs: 3_000 }), 'evt-1');

      expect(response).toMatchObject({ kind: 'response', status: 200 });
    });

    it('takes a 2xx as delivered when its body is endless', async () => {
      const router = await startRouter((res) => {
        res.writeHead(200);
        const chunk = Buffer.alloc(16 * 1024, 'x');
        const pour = (): void => {
          while (!res.destroyed && res.write(chunk));
          if (!res.destroyed) res.once('drain', pour);
        };
        pour();
      });
      closers.push(router.close);

      const response = await post(client(router.url, { postTimeoutMs: 3_000 }), 'evt-1');

      expect(response).toMatchObject({ kind: 'response', status: 200 });
    });

    it('takes a 2xx as delivered when the connection is cut in the middle of its body', async () => {
      const router = await startRouter((res) => {
        res.writeHead(200, { 'content-length': '1000' });
        res.write('partial', () => res.socket?.destroy());
      });
      closers.push(router.close);

      const response = await post(client(router.url), 'evt-1');

      expect(response).toMatchObject({ kind: 'response', status: 200 });
    });

    it('answers a refusal with the body that came, when its body trickles', async () => {
      const router = await startRouter(trickling(503));
      closers.push(router.close);

      const response = await post(client(router.url, { postTimeoutMs: 3_000 }), 'evt-1');

      expect(response).toMatchObject({ kind: 'response', status: 503 });
      expect(response.kind === 'response' && response.body.startsWith('a')).toBe(true);
    });

    it('still times out when no status line comes within POST_TIMEOUT_MS', async () => {
      const router = await startRouter(() => undefined);
      closers.push(router.close);

      const response = await post(client(router.url, { postTimeoutMs: 300 }), 'evt-1');

      expect(response).toEqual({ kind: 'timeout', timeoutMs: 300 });
    });
  });

  describe('keep-alive sockets behind a middlebox that drops idle connections', () => {
    let router: Awaited<ReturnType<typeof startRouter>>;
    let proxy: IdleDroppingProxy;

    beforeEach(async () => {
      router = await startRouter((res) => res.end('{"ok":true}'));
      closers.push(router.close);
    });

    it('sends a POST again on a fresh connection when a reused socket was reset before any answer', async () => {
      proxy = await startIdleDroppingProxy(router.url, 200, 'reset');
      closers.push(() => proxy.close());
      const relay = client(proxy.url, { socketIdleMs: 60_000 });
      expect(await post(relay, 'evt-1')).toMatchObject({ kind: 'response', status: 200 });
      await until(() => proxy.dropped === 1);

      const second = await post(relay, 'evt-2');

      expect(second).toMatchObject({ kind: 'response', status: 200 });
      expect(router.received).toEqual(['evt-1', 'evt-2']);
      expect(proxy.connections).toBe(2);
    });

    it('waits for a slow answer longer than ROUTER_SOCKET_IDLE_MS: the idle bound is for sockets between POSTs', async () => {
      const slow = await startRouter((res) => setTimeout(() => res.end('{"ok":true}'), 600));
      closers.push(slow.close);

      const response = await post(client(slow.url, { socketIdleMs: 100, postTimeoutMs: 5_000 }), 'evt-1');

      expect(response).toMatchObject({ kind: 'response', status: 200 });
    });

    it('does not reuse a socket idle longer than ROUTER_SOCKET_IDLE_MS, so a POST never meets a silently dropped one', async () => {
      proxy = await startIdleDroppingProxy(router.url, 1_000, 'blackhole');
      closers.push(() => proxy.close());
      const relay = client(proxy.url, { socketIdleMs: 200, postTimeoutMs: 3_000 });
      expect(await post(relay, 'evt-1')).toMatchObject({ kind: 'response', status: 200 });
      await until(() => proxy.closedByClient + proxy.dropped > 0);

      const second = await post(relay, 'evt-2');

      expect(second).toMatchObject({ kind: 'response', status: 200 });
      expect(proxy.dropped).toBe(0);
    });
  });
});
