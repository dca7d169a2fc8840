import http from 'node:http';
import type { Firestore } from '@google-cloud/firestore';
import { createFirestore } from '../../src/adapters/firestore-client.js';
import { freeLoopbackPort } from '../../tools/local/firestore-emulator.js';
import { startTriggerEmulatorProcess, type TriggerEmulatorProcess } from '../../tools/local/trigger-emulator.js';

/** The trigger emulator (tools/local/trigger-emulator.ts) with a Firestore client of its own. */
export interface TriggerEmulator extends TriggerEmulatorProcess {
  /** A client of this emulator (not the tier's). */
  readonly db: Firestore;
}

/** Starts an emulator firing Eventarc triggers at `functionsHost` (tools/local/trigger-emulator.ts). */
export async function startTriggerEmulator(functionsHost: string, project = 'demo-push'): Promise<TriggerEmulator> {
  const emulator = await startTriggerEmulatorProcess(functionsHost, project);
  let client: Firestore | undefined;
  return {
    host: emulator.host,
    project: emulator.project,
    pid: emulator.pid,
    // Made on first use: the caller first points FIRESTORE_EMULATOR_HOST here, which the client prefers to `host`.
    get db() {
      client ??= createFirestore({ projectId: project, firestoreEmulatorHost: emulator.host });
      return client;
    },
    registerTrigger: (triggerId, collection, eventType) => emulator.registerTrigger(triggerId, collection, eventType),
    output: () => emulator.output(),
    async stop() {
      await client?.terminate();
      await emulator.stop();
    },
  };
}

/** One kick as the function answered it. */
export interface AnsweredKick {
  readonly path: string;
  readonly eventType: string | undefined;
  readonly subject: string | undefined;
  readonly status: number;
}

/**
 * The loopback address the emulator's triggers are POSTed to, fixed for the emulator's life; each test points it at
 * its own served function (`target`), and every answer is kept.
 */
export async function startFunctionsHost(): Promise<{
  host: string;
  target: http.Server | undefined;
  answered: AnsweredKick[];
  close(): Promise<void>;
}> {
  const port = await freeLoopbackPort();
  const state = {
    host: `127.0.0.1:${port}`,
    target: undefined as http.Server | undefined,
    answered: [] as AnsweredKick[],
    close: () => Promise.resolve(),
  };
  const server = http.createServer((req, res) => {
    res.on('finish', () =>
      state.answered.push({
        path: req.url ?? '',
        eventType: req.headers['ce-type'] as string | undefined,
        subject: req.headers['ce-subject'] as string | undefined,
        status: res.statusCode,
      }),
    );
    if (state.target === undefined) {
      res.writeHead(503).end();
      return;
    }
    state.target.emit('request', req, res);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}
