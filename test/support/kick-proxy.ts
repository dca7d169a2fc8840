import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { freeLoopbackPort } from '../../tools/local/firestore-emulator.js';

/** One answer a function instance gave, to a kick (Eventarc) or a Scheduler run. */
export interface InstanceAnswer {
  /** Which instance answered (the name the test gave it). */
  readonly instance: string;
  readonly kind: 'kick' | 'scheduled';
  /** The kicked document's subject (`documents/outbox/id`), for a kick. */
  readonly subject: string | undefined;
  /** The Eventarc delivery attempt, from 1: above 1 is a retry of a kick answered 5xx. */
  readonly attempt: number;
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** What the proxy does with one kick the emulator POSTs. */
export type KickPolicy =
  /** Forward it to this instance. */
  | { readonly to: string }
  /** Lost on the way: answer the emulator 503 without forwarding (the function never sees it). */
  | { readonly drop: true };

/** A function instance served on loopback, as Cloud Run would route to it. */
export interface ServedInstance {
  readonly name: string;
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Stands between the trigger emulator and the function's instances, as Eventarc and Cloud Run do in production:
 * routes each kick to an instance by `policy` (a rollout, an instance that received SIGTERM), loses kicks
 * (`drop`), and retries a kick answered 5xx up to `retries5xx` times with the same CloudEvent, as Eventarc's retry
 * policy does. Every answer of every instance is kept, with its body, for the answer rules.
 */
export interface KickProxy {
  /** host:port for the emulator's --functions_emulator. */
  readonly host: string;
  readonly answers: InstanceAnswer[];
  /** Kicks the emulator POSTed that the proxy dropped. */
  readonly dropped: string[];
  policy: (subject: string | undefined) => KickPolicy;
  retries5xx: number;
  /** Kicks and Scheduler runs sent to an instance and not answered yet. */
  inFlight(): number;
  /** Serves `server` (a Functions Framework server) on loopback as the instance `name`. */
  serve(name: string, server: http.Server): Promise<ServedInstance>;
  /** One Cloud Scheduler run on `instance`: resolves once it answered, so ticks never overlap. */
  tick(instance: string): Promise<InstanceAnswer>;
  /** Closes every instance served so far (kicks then get status 0 until new ones are served). */
  closeInstances(): Promise<void>;
  close(): Promise<void>;
}

/** Starts the proxy on a free loopback port; kicks go to `firstInstance` until `policy` says otherwise. */
export async function startKickProxy(firstInstance: string): Promise<KickProxy> {
  const instances = new Map<string, ServedInstance>();
  const sockets = new Set<Socket>();
  const port = await freeLoopbackPort();
  let inFlight = 0;
  const proxy: KickProxy = {
    host: `127.0.0.1:${port}`,
    answers: [],
    dropped: [],
    policy: () => ({ to: firstInstance }),
    retries5xx: 0,
    inFlight: () => inFlight,
    async serve(name, server) {
      server.on('connection', (socket: Socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const served: ServedInstance = {
        name,
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
        close: () =>
          new Promise<void>((resolve) => {
            server.closeAllConnections();
            server.close(() => resolve());
          }),
      };
      instances.set(name, served);
      return served;
    },
    async tick(instance) {
      inFlight += 1;
      const answer = await forward(instanceNamed(instance), { 'content-type': 'application/json' }, Buffer.from('{}'));
      inFlight -= 1;
      const answered: InstanceAnswer = { instance, kind: 'scheduled', subject: undefined, attempt: 1, ...answer };
      proxy.answers.push(answered);
      return answered;
    },
    async closeInstances() {
      const served = [...instances.values()];
      instances.clear();
      await Promise.all(served.map((instance) => instance.close()));
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  const instanceNamed = (name: string): ServedInstance => {
    const instance = instances.get(name);
    if (instance === undefined) throw new Error(`no instance named ${name}`);
    return instance;
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      inFlight += 1;
      void (async () => {
        const subject = header(req, 'ce-subject');
        const policy = proxy.policy(subject);
        if ('drop' in policy) {
          proxy.dropped.push(subject ?? '');
          res.writeHead(503).end();
          inFlight -= 1;
          return;
        }
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(req.headers))
          if (typeof value === 'string' && name !== 'host' && name !== 'content-length') headers[name] = value;
        const body = Buffer.concat(chunks);
        let answer: { status: number; body: Record<string, unknown> } = { status: 0, body: {} };
        for (let attempt = 1; attempt <= 1 + proxy.retries5xx; attempt += 1) {
          // A retry goes wherever the routing now says, as Eventarc's would.
          const target = attempt === 1 ? policy : proxy.policy(subject);
          if ('drop' in target) break;
          answer = await forward(instanceNamed(target.to), headers, body);
          proxy.answers.push({ instance: target.to, kind: 'kick', subject, attempt, ...answer });
          if (answer.status < 500) break;
        }
        res.writeHead(answer.status === 0 ? 502 : answer.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(answer.body));
        inFlight -= 1;
      })();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return proxy;
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === 'string' ? value : undefined;
}

/** POSTs to one instance; a connection cut (an instance gone) is status 0. */
async function forward(
  instance: ServedInstance,
  headers: Record<string, string>,
  body: Buffer,
): Promise<{ status: number; body: Record<string, unknown> }> {
  try {
    const response = await fetch(instance.url, { method: 'POST', headers, body });
    const text = await response.text();
    let parsed: Record<string, unknown> = {};
    try {
      parsed = JSON.parse(text) as Record<string, unknown>;
    } catch {
      parsed = { text };
    }
    return { status: response.status, body: parsed };
  } catch (error) {
    return { status: 0, body: { connectionError: String(error) } };
  }
}
