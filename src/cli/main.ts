#!/usr/bin/env node
import { describeError } from '../errors.js';
import { ExitCode } from './command.js';
import { runCli, type CliIo } from './run-cli.js';

/** The `outbox-ops` bin: only wires the process to runCli; exitCode (not exit()) lets stdout drain first. */
const io: CliIo = {
  out: (text) => void process.stdout.write(`${text}\n`),
  err: (text) => void process.stderr.write(`${text}\n`),
};

// Ctrl-C ends `status --watch` after the refresh in hand, so the client is closed and the exit code is 0.
const stop = new AbortController();
process.once('SIGINT', () => stop.abort());

process.exitCode = await runCli(process.argv.slice(2), io, { stop: stop.signal }).catch((error: unknown) => {
  io.err(`outbox-ops: ${describeError(error)}`);
  return ExitCode.Failed;
});
