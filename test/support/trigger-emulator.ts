import { execFileSync, spawn } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import type { Firestore } from '@google-cloud/firestore';
import { createFirestore } from '../../src/adapters/firestore-client.js';
import { freeLoopbackPort } from '../../tools/local/firestore-emulator.js';

/** A Firestore emulator that fires Eventarc triggers at a function on loopback, as push on commit needs. */
export interface TriggerEmulator {
  /** host:port of the emulator, for FIRESTORE_EMULATOR_HOST. */
  readonly host: string;
  readonly project: string;
  /** The emulator's process group: SIGSTOP of it freezes Firestore (and the triggers it fires) for real. */
  readonly pid: number;
  /** A client of this emulator (not the tier's). */
  readonly db: Firestore;
  /** Registers a trigger: every document created in `collection` is POSTed to the functions host. */
  registerTrigger(triggerId: string, collection: string, eventType?: string): Promise<void>;
  /** The emulator's last output, for a failing spec's message. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts the Google Cloud CLI's cloud_firestore_emulator start script directly: `gcloud emulators firestore start`
 * does not pass --functions_emulator, which makes the emulator POST each matching write to
 * http://FUNCTIONS_HOST/functions/projects/{project}/triggers/{id} as a binary-mode CloudEvent.
 */
export async function startTriggerEmulator(functionsHost: string, project = 'demo-push'): Promise<TriggerEmulator> {
  const sdkRoot = execFileSync('gcloud', ['info', '--format=value(installation.sdk_root)'], { encoding: 'utf8' }).trim();
  const script = path.join(sdkRoot, 'platform', 'cloud-firestore-emulator', 'cloud_firestore_emulator');
  const port = await freeLoopbackPort();
  const host = `127.0.0.1:${port}`;
  const child = spawn(script, ['start', '--host=127.0.0.1', `--port=${port}`, `--functions_emulator=${functionsHost}`], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const pid = child.pid;
  if (pid === undefined) throw new Error('the emulator did not start');
  const stop = async (): Promise<void> => {
    try {
      process.kill(-pid, 'SIGTERM');
    } catch {
      return;
    }
    const killed = setTimeout(() => {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }, 3_000);
    await exited;
    clearTimeout(killed);
  };
  const startedAt = Date.now();
  while (!(await answers(host))) {
    if (Date.now() - startedAt > 90_000 || child.exitCode !== null) {
      await stop();
      throw new Error(`the trigger emulator did not start: ${output.join('').slice(-2000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  let client: Firestore | undefined;
  return {
    host,
    project,
    pid,
    // Made on first use: the caller first points FIRESTORE_EMULATOR_HOST here, which the client prefers to `host`.
    get db() {
      client ??= createFirestore({ projectId: project, firestoreEmulatorHost: host });
      return client;
    },
    async registerTrigger(triggerId, collection, eventType = 'google.cloud.firestore.document.v1.created') {
      const body = JSON.stringify({
        eventType,
        database: '(default)',
        namespace: '(default)',
        document: { value: `${collection}/{id}`, matchType: 'PATH_PATTERN' },
      });
      const url = `http://${host}/emulator/v1/projects/${project}/eventarcTrigger?eventarcTriggerId=${triggerId}`;
      const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      if (!response.ok) throw new Error(`registering the trigger failed: ${response.status} ${await response.text()}`);
    },
    output: () => output.join('').slice(-3000),
    async stop() {
      await client?.terminate();
      await stop();
    },
  };
}

async function answers(host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const request = http.get(`http://${host}/`, { timeout: 1000 }, (response) => {
      response.resume();
      resolve(true);
    });
    request.once('timeout', () => request.destroy());
    request.once('error', () => resolve(false));
  });
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
