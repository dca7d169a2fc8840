import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import type { Readable } from 'node:stream';

/** A started emulator; `host` is what FIRESTORE_EMULATOR_HOST should be set to. */
export interface RunningEmulator {
  /** "127.0.0.1:PORT", the value for FIRESTORE_EMULATOR_HOST. */
  readonly host: string;
  /** Pid of the gcloud wrapper, which is also the id of the process group it leads. */
  readonly pid: number;
  /** Ends the whole process group (gcloud wrapper and its java child); safe to call twice. */
  stop(): Promise<void>;
}

/** Options for startFirestoreEmulator; all optional so tests can just call it. */
export interface StartFirestoreEmulatorOptions {
  /** Loopback port to bind; a free one is picked when omitted. */
  port?: number;
  /** How long to wait for the emulator to answer HTTP before giving up (default 60 s). */
  startTimeoutMs?: number;
  /** Receives every output line of the emulator, during start-up and after. */
  log?: (line: string) => void;
}

/**
 * Raised when gcloud, the emulator component or Java is missing, so callers can print one actionable line.
 * It lives here rather than in errors.ts because jest's globalSetup loads this file with Node's own type
 * stripping, which cannot follow the project's `.js` import specifiers: this module imports only node:*.
 */
export class EmulatorUnavailableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'EmulatorUnavailableError';
  }
}

const MISSING_COMPONENT_MESSAGE =
  'Firestore emulator not found: install it with "apt-get install google-cloud-cli-firestore-emulator" ' +
  '(or "gcloud components install cloud-firestore-emulator"), then re-run.';
const MISSING_GCLOUD_MESSAGE =
  'Firestore emulator not found: "gcloud" is not on PATH; install it with ' +
  '"apt-get install google-cloud-cli google-cloud-cli-firestore-emulator" ' +
  '(or see https://cloud.google.com/sdk/docs/install), then re-run.';
const MISSING_JAVA_MESSAGE =
  'Firestore emulator cannot start: it needs a Java JRE on PATH (21+ recommended), ' +
  'e.g. "apt-get install openjdk-21-jre-headless", then re-run.';

/** Output of gcloud when the cloud-firestore-emulator component is absent (or its jar is). */
const MISSING_COMPONENT_OUTPUT =
  /need the \[cloud-firestore-emulator\] component|components are required|not currently installed|component manager is disabled|cloud-firestore-emulator\.jar not found/i;
/** Output of gcloud (or the wrapper script) when no usable java is found. */
const MISSING_JAVA_OUTPUT = /a Java \d+\+ JRE must be installed|Unable to execute the java|java: (command )?not found/i;
/** Printed by the emulator once it serves requests; used only to probe straight away. */
const READY_OUTPUT = /Dev App Server is now running/;

const TAIL_LINES = 25;
const POLL_INTERVAL_MS = 100;
const TERM_GRACE_MS = 3000;
const KILL_GRACE_MS = 2000;
const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** Starts `gcloud emulators firestore start` on a loopback port in its own process group and waits until it serves HTTP. */
export async function startFirestoreEmulator(options: StartFirestoreEmulatorOptions = {}): Promise<RunningEmulator> {
  const startTimeoutMs = options.startTimeoutMs ?? 60_000;
  const port = options.port ?? (await freeLoopbackPort());
  if (options.port !== undefined) await assertPortFree(options.port);
  const host = `127.0.0.1:${port}`;

  const tail: string[] = [];
  let probeNow: (() => void) | undefined;
  const onLine = (line: string): void => {
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
    options.log?.(line);
    if (READY_OUTPUT.test(line)) probeNow?.();
  };

  const child = spawn('gcloud', ['emulators', 'firestore', 'start', `--host-port=${host}`, '--database-mode=firestore-native', '--quiet'], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK: '1' },
  });
  // Keep draining both pipes for the emulator's whole life, or it blocks once a pipe buffer fills.
  readLines(child.stdout, onLine);
  readLines(child.stderr, onLine);

  const pgid = child.pid;
  const group = pgid === undefined ? undefined : guardGroup(pgid);
  const exited = new Promise<void>((resolve) => {
    if (pgid === undefined) resolve();
    else child.once('exit', () => resolve());
  });

  try {
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      let pollTimer: NodeJS.Timeout | undefined;
      const finish = (error?: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        clearTimeout(pollTimer);
        probeNow = undefined;
        if (error) reject(error);
        else resolve();
      };
      const deadline = setTimeout(() => {
        finish(new Error(`Firestore emulator did not answer on http://${host}/ within ${startTimeoutMs} ms.${formatTail(tail)}`));
      }, startTimeoutMs);

      child.once('error', (error: NodeJS.ErrnoException) => {
        finish(
          error.code === 'ENOENT'
            ? new EmulatorUnavailableError(MISSING_GCLOUD_MESSAGE, { cause: error })
            : new Error(`Could not run gcloud: ${error.message}`, { cause: error }),
        );
      });
      child.once('exit', (code, signal) => {
        // gcloud may exit before the last output chunk is read; give the pipes a moment to drain.
        setTimeout(() => finish(earlyExitError(host, code, signal, tail)), 300);
      });

      let probing = false;
      const poll = async (): Promise<void> => {
        if (settled || probing) return;
        probing = true;
        const answered = await answersHttp(port);
        probing = false;
        if (settled) return;
        // A reply only counts while our own process is alive, not some other server on the port.
        if (answered && isRunning(child)) finish();
        else {
          clearTimeout(pollTimer);
          pollTimer = setTimeout(() => void poll(), POLL_INTERVAL_MS);
        }
      };
      probeNow = () => void poll();
      void poll();
    });
  } catch (error) {
    if (pgid !== undefined && group) await terminateGroup(child, pgid, exited, group.release);
    throw error;
  }

  // Once running, the emulator must not keep this process alive: the exit/signal guards clean it up instead.
  child.unref();
  unrefStream(child.stdout);
  unrefStream(child.stderr);

  if (pgid === undefined || !group) throw new Error('gcloud started without a pid');
  let stopping: Promise<void> | undefined;
  return {
    host,
    pid: pgid,
    stop: () => (stopping ??= terminateGroup(child, pgid, exited, group.release)),
  };
}

/** Binds port 0 on loopback to let the kernel choose a free port, then releases it; for servers told their port up front. */
export async function freeLoopbackPort(): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : undefined;
      server.close(() => (port === undefined ? reject(new Error('could not read a free port')) : resolve(port)));
    });
  });
}

/** Fails fast with a clear message instead of a java BindException stack trace. */
async function assertPortFree(port: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(`Cannot start the Firestore emulator: 127.0.0.1:${port} is already in use.`, { cause: error })
          : error,
      );
    });
    server.listen(port, '127.0.0.1', () => server.close(() => resolve()));
  });
}

/** Resolves true when anything answers HTTP on the port, false on connection errors. */
async function answersHttp(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const request = http.get({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 1000 }, (response) => {
      response.resume();
      resolve(true);
    });
    request.once('timeout', () => request.destroy());
    request.once('error', () => resolve(false));
  });
}

function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** Sends a signal to the whole group; false when the group no longer exists. */
function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (error) {
    // EPERM means the group still exists but is not ours to signal; treat it as alive.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Kills the group if this process exits or is killed by a signal without stop() having been called. */
function guardGroup(pgid: number): { release: () => void } {
  const killGroupNow = (): void => {
    signalGroup(pgid, 'SIGKILL');
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    killGroupNow();
    release();
    // Keep the default "die on signal" behaviour when nobody else handles it.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  const release = (): void => {
    process.removeListener('exit', killGroupNow);
    for (const signal of FORWARDED_SIGNALS) process.removeListener(signal, onSignal);
  };
  process.on('exit', killGroupNow);
  for (const signal of FORWARDED_SIGNALS) process.on(signal, onSignal);
  return { release };
}

/** SIGTERM to the group, SIGKILL after a grace period, and resolve once the wrapper and every group member are gone. */
async function terminateGroup(child: ChildProcess, pgid: number, exited: Promise<void>, release: () => void): Promise<void> {
  const gone = (): boolean => !isRunning(child) && !signalGroup(pgid, 0);
  signalGroup(pgid, 'SIGTERM');
  if (!(await waitUntil(gone, TERM_GRACE_MS))) {
    signalGroup(pgid, 'SIGKILL');
    await waitUntil(gone, KILL_GRACE_MS);
  }
  await exited;
  release();
}

/** Polls a condition with a ref'd timer, so the process stays alive while we wait. */
async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

function earlyExitError(host: string, code: number | null, signal: NodeJS.Signals | null, tail: string[]): Error {
  const output = tail.join('\n');
  if (MISSING_COMPONENT_OUTPUT.test(output)) return new EmulatorUnavailableError(MISSING_COMPONENT_MESSAGE);
  if (MISSING_JAVA_OUTPUT.test(output)) return new EmulatorUnavailableError(MISSING_JAVA_MESSAGE);
  const how = signal ? `signal ${signal}` : `exit code ${String(code)}`;
  const reason = /Address already in use/.test(output) ? ` (${host} is already in use)` : '';
  return new Error(`Firestore emulator exited before it was ready, ${how}${reason}.${formatTail(tail)}`);
}

function formatTail(tail: readonly string[]): string {
  return tail.length === 0 ? ' It printed nothing.' : ` Last output:\n  ${tail.join('\n  ')}`;
}

function readLines(stream: Readable | null, onLine: (line: string) => void): void {
  if (!stream) return;
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const lines = (pending + chunk).split(/\r?\n/);
    pending = lines.pop() ?? '';
    for (const line of lines) onLine(line);
  });
  stream.on('end', () => {
    if (pending) onLine(pending);
    pending = '';
  });
}

function unrefStream(stream: Readable | null): void {
  // Child pipes are net.Sockets at runtime; Readable's type just does not say so.
  if (stream instanceof net.Socket) stream.unref();
}
