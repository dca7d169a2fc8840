import net from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * What the middlebox does with a connection it dropped for idleness when the client writes into it again:
 * `reset` answers with a TCP reset (a NAT or load balancer that lost the flow); `blackhole` swallows the bytes
 * and never answers (a firewall that drops the packets), so the client only learns by its own timeout.
 */
export type DropMode = 'reset' | 'blackhole';

/** A loopback TCP proxy standing in for a load balancer or NAT that forgets idle connections. */
export interface IdleDroppingProxy {
  /** `http://127.0.0.1:PORT` followed by the target URL's path. */
  readonly url: string;
  /** Client connections accepted so far. */
  readonly connections: number;
  /** Connections dropped for idleness so far (the client was not told). */
  readonly dropped: number;
  /** Connections the client closed itself while the proxy still carried them. */
  readonly closedByClient: number;
  close: () => Promise<void>;
}

/**
 * Forwards bytes between a client and `targetUrl`'s host; a connection with no byte either way for `idleMs` is
 * dropped silently: the upstream side is closed, the client is told nothing, and what it writes next meets
 * `mode`. Loopback only.
 */
export async function startIdleDroppingProxy(targetUrl: string, idleMs: number, mode: DropMode = 'reset'): Promise<IdleDroppingProxy> {
  const target = new URL(targetUrl);
  const sockets = new Set<net.Socket>();
  let connections = 0;
  let dropped = 0;
  let closedByClient = 0;
  const server = net.createServer((client) => {
    connections += 1;
    sockets.add(client);
    const upstream = net.connect({ host: target.hostname, port: Number(target.port) });
    sockets.add(upstream);
    let dead = false;
    let idle: NodeJS.Timeout | undefined;
    const touch = (): void => {
      clearTimeout(idle);
      idle = setTimeout(() => {
        dead = true;
        dropped += 1;
        upstream.destroy();
      }, idleMs);
    };
    touch();
    client.on('data', (chunk: Buffer) => {
      if (!dead) {
        touch();
        upstream.write(chunk);
      } else if (mode === 'reset') client.resetAndDestroy();
      // blackhole: the bytes go nowhere, and nothing ever comes back.
    });
    upstream.on('data', (chunk: Buffer) => {
      if (dead) return;
      touch();
      client.write(chunk);
    });
    client.on('end', () => {
      if (!dead) closedByClient += 1;
      clearTimeout(idle);
      upstream.end();
    });
    upstream.on('end', () => {
      if (!dead) client.end();
    });
    const forget = (socket: net.Socket) => () => {
      sockets.delete(socket);
      if (socket === client) clearTimeout(idle);
    };
    client.on('close', forget(client));
    upstream.on('close', forget(upstream));
    client.on('error', () => undefined);
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${target.pathname}${target.search}`,
    get connections() {
      return connections;
    },
    get dropped() {
      return dropped;
    },
    get closedByClient() {
      return closedByClient;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
