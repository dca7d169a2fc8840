import { execFileSync, spawn } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { freeLoopbackPort } from './firestore-emulator.js';

/** A Firestore emulator that fires Eventarc triggers at a function on loopback, as push on commit needs. */
export interface TriggerEmulatorProcess {
  /** host:port of the emulator, for FIRESTORE_EMULATOR_HOST. */
  readonly host: string;
  readonly project: string;
  /** The emulator's process group: SIGSTOP of it freezes Firestore (and the triggers it fires) for real. */
  readonly pid: number;
  /** Registers a trigger: every document created in `collection` is POSTed to the functions host. */
  registerTrigger(triggerId: string, collection: string, eventType?: string): Promise<void>;
  /** The emulator's last output, for a failing spec's message. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts the Google Cloud CLI's cloud_firestore_emulator start script directly: `gcloud emulators firestore start`
 * does not pass --functions_emulator, which makes the emulator POST each matching write to
 * http://FUNCTIONS_HOST/functions/projects/{project}/triggers/{id} as a binary-mode CloudEvent, one at a time,
 * each waiting for its answer. Used by the push specs and the push benchmark.
 */
export async function startTriggerEmulatorProcess(functionsHost: string, project = 'demo-push'): Promise<TriggerEmulatorProcess> {
  const sdkRoot = execFileSync('gcloud', ['info', '--format=value(installation.sdk_root)'], { encoding: 'utf8' }).trim();
  const script = path.join(sdkRoot, 'platform', 'cloud-firestore-emulator', 'cloud_firestore_emulator');
  const port = await freeLoopbackPort();
  const host = `127.0.0.1:${port}`;
  const child = spawn(script, ['start', '--host=127.0.0.1', `--port=${port}`, `--functions_emulator=${functionsHost}`], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const keep = (chunk: Buffer): void => {
    output.push(chunk.toString());
    if (output.length > 200) output.splice(0, output.length - 100);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
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
  return {
    host,
    project,
    pid,
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
    stop,
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
