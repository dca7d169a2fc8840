import { spawn } from 'node:child_process';
import type { RawSenderRequest, RawSenderResult } from './raw-sender.js';

const RAW_SENDER = new URL('./raw-sender.ts', import.meta.url);
const RESOLVE_HOOK = new URL('./resolve-ts.ts', import.meta.url);

/**
 * Runs the raw sender in its own process, as the relay runs in the Functions Framework's, so neither
 * shares an event loop with the router; killed when it outlasts `timeoutMs`.
 */
export async function measureRawLimit(request: RawSenderRequest, timeoutMs: number): Promise<RawSenderResult> {
  const child = spawn(process.execPath, ['--import', RESOLVE_HOOK.href, RAW_SENDER.pathname, JSON.stringify(request)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const kill = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  const timer = setTimeout(kill, timeoutMs);
  // If the bench ends first, the sender must not outlive it.
  process.once('exit', kill);
  const code = await new Promise<number | null>((resolve) => child.once('close', (exitCode) => resolve(exitCode)));
  clearTimeout(timer);
  process.removeListener('exit', kill);
  if (code !== 0) throw new Error(`the raw sender failed (exit ${String(code)}): ${stderr.slice(-800)}`);
  return JSON.parse(stdout) as RawSenderResult;
}
