import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { runCli } from '../../src/cli/run-cli.js';
import { PROJECT_ROOT } from './project-root.js';

/** What a command run left behind, whichever way it ran. */
export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

type Env = Record<string, string | undefined>;

/** The CLI's environment for one test: its own outbox collection on the test emulator. */
export function cliEnv(outboxCollection: string, overrides: Env = {}): Env {
  return {
    OUTBOX_COLLECTION: outboxCollection,
    GOOGLE_CLOUD_PROJECT: process.env.GOOGLE_CLOUD_PROJECT,
    FIRESTORE_EMULATOR_HOST: process.env.FIRESTORE_EMULATOR_HOST,
    ...overrides,
  };
}

/** Runs the CLI in this process through runCli, as the bin does, with the given environment. */
export async function runInProcess(args: readonly string[], env: Env): Promise<CliRun> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await runCli(args, { out: (text) => stdout.push(`${text}\n`), err: (text) => stderr.push(`${text}\n`) }, { env });
  return { code, stdout: stdout.join(''), stderr: stderr.join('') };
}

/** The CLI compiled from src, as `npm run build` would, into a directory of its own. */
export interface BuiltCli {
  /** The executable `outbox-ops` bin (cli/main.js). */
  readonly bin: string;
  remove(): Promise<void>;
}

/**
 * Compiles src into a temporary directory (emit only: type errors are `npm run lint`'s job) that resolves
 * packages from the project's node_modules, so tests run the real bin without touching dist/.
 */
export async function buildCli(): Promise<BuiltCli> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'outbox-ops-'));
  const outDir = path.join(dir, 'dist');
  await mkdir(outDir);
  await writeFile(path.join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  await symlink(path.join(PROJECT_ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  const tsc = path.join(PROJECT_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  await promisify(execFile)(
    process.execPath,
    [tsc, '-p', 'tsconfig.build.json', '--outDir', outDir, '--noCheck', '--declaration', 'false', '--sourceMap', 'false'],
    { cwd: PROJECT_ROOT },
  );
  const bin = path.join(outDir, 'cli', 'main.js');
  // npm marks bins executable on install; the shebang then picks `node` from PATH.
  await chmod(bin, 0o755);
  return { bin, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Runs the bin as its own executable in a child process, with only the environment given (plus this Node on PATH). */
export async function runBin(bin: string, args: readonly string[], env: Env): Promise<CliRun> {
  const childEnv: Env = {
    ...env,
    PATH: `${path.dirname(process.execPath)}${path.delimiter}/usr/bin:/bin`,
    METADATA_SERVER_DETECTION: 'none',
  };
  try {
    const { stdout, stderr } = await promisify(execFile)(bin, [...args], { env: childEnv, cwd: os.tmpdir() });
    return { code: 0, stdout, stderr };
  } catch (error) {
    // A non-zero exit rejects with the exit code and the output; anything else (e.g. ENOENT) is a harness failure.
    const failed = error as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw error;
    return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}
