#!/usr/bin/env node
import { describeError } from '../errors.js';
import { ExitCode } from './command.js';
import { runCli, type CliIo } from './run-cli.js';

/** The `outbox-ops` bin: only wires the process to runCli; exitCode (not exit()) lets stdout drain first. */
const io: CliIo = {
  out: (text) => void process.stdout.write(`${text}\n`),
  err: (text) => void process.stderr.write(`${text}\n`),
};

process.exitCode = await runCli(process.argv.slice(2), io).catch((error: unknown) => {
  io.err(`outbox-ops: ${describeError(error)}`);
  return ExitCode.Failed;
});
