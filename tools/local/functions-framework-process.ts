import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { freeLoopbackPort } from './firestore-emulator.js';

/** How long a Functions Framework process may take to listen before it is given up as not starting. */
const START_TIMEOUT_MS = 60_000;

/** The example router's entry as `npm run build` compiles it (tsconfig.tools.json), relative to the project root. */
export const EXAMPLE_ROUTER_SOURCE = 'build/examples/example-router/main.js';

/** A function served by the Functions Framework CLI in a child process, exactly as `npm start` serves it. */
export interface ServedFunction {
  readonly url: string;
  readonly pid: number;
  /** Settles when the process has exited, on its own or stopped: its exit code, or the signal that ended it. */
  readonly exited: Promise<number | NodeJS.Signals | null>;
  /** Ends the process (SIGTERM by default; SIGKILL to simulate a crash) and waits until it has exited. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `functions-framework --target=<target>` from the project root and waits until it accepts connections. */
export async function serveFunction(options: {
  readonly projectRoot: string;
  readonly target: string;
  /** The module that registers the target, relative to the project root; package.json `main` when unset. */
  readonly source?: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly onOutput?: (line: string) => void;
}): Promise<ServedFunction> {
  const port = await freeLoopbackPort();
  const require = createRequire(path.join(options.projectRoot, 'package.json'));
  const frameworkDir = path.dirname(require.resolve('@google-cloud/functions-framework'));
  const child = spawn(
    process.execPath,
    [
      path.join(frameworkDir, 'main.js'),
      `--target=${options.target}`,
      '--signature-type=http',
      `--port=${port}`,
      ...(options.source === undefined ? [] : [`--source=${options.source}`]),
    ],
    { cwd: options.projectRoot, env: { ...options.env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  /** The last lines the child printed, for the error when it does not start. */
  const lastLines: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      for (const line of chunk.split('\n')) {
        if (line.trim() === '') continue;
        lastLines.push(line);
        if (lastLines.length > 10) lastLines.shift();
        options.onOutput?.(line);
      }
    });
  }
  // If this process ends without stop(), the function must not outlive it.
  const killOnExit = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) =>
    child.once('exit', (code, signal) => {
      process.removeListener('exit', killOnExit);
      resolve(code ?? signal);
    }),
  );
  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  // Generous: a just-started process loads the function and its dependencies, slowly on a loaded 2-core machine.
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await accepts(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      const why = child.exitCode !== null ? `it exited with code ${child.exitCode}` : `not listening after ${START_TIMEOUT_MS} ms`;
      await stop();
      throw new Error(
        `the Functions Framework did not start serving ${options.target} on port ${port} (${why}); its last lines:\n${lastLines.join('\n')}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { url: `http://127.0.0.1:${port}/`, pid: child.pid ?? -1, exited, stop };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
