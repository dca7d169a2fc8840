import type { Firestore } from '@google-cloud/firestore';
import { setTimeout as delay } from 'node:timers/promises';
import { createFirestore } from '../adapters/firestore-client.js';
import { parseStoreConfig, type StoreConfig } from '../config.js';
import { ConfigError, UsageError, describeError } from '../errors.js';
import { ExitCode, type Command, type Invocation } from './command.js';
import { deadLettersCommand } from './commands/dead-letters.js';
import { purgeCommand } from './commands/purge.js';
import { redriveCommand } from './commands/redrive.js';
import { releaseKeyCommand } from './commands/release-key.js';
import { statusCommand } from './commands/status.js';

/** Where the CLI writes; the bin passes stdout and stderr, tests collect the lines. */
export interface CliIo {
  /** Answers: text or the --json document. */
  out(text: string): void;
  /** Usage, configuration and failure messages, one line each. */
  err(text: string): void;
}

/** Seams for tests; the bin passes nothing, so the process environment and a real client are used. */
export interface CliOptions {
  /** The environment parseStoreConfig reads; the process environment when omitted. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Makes the Firestore client; it is terminated when the command ends. */
  readonly connect?: (config: Readonly<StoreConfig>) => Firestore;
  /** Waits between the refreshes of a watch; resolves early when `signal` aborts. Real time when omitted. */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Ends a watch; a watch without a count runs until then. Unset, Ctrl-C (SIGINT) ends it. */
  readonly stop?: AbortSignal;
}

/** Every command, in the order the help lists them. */
export const COMMANDS: readonly Command[] = [statusCommand, deadLettersCommand, redriveCommand, releaseKeyCommand, purgeCommand];

const HELP = `Usage: outbox-ops <command> [options]

Operates the Firestore transactional outbox that outbound-event-handler relays.

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(13)} ${c.summary}`).join('\n')}

Run "outbox-ops <command> --help" for a command's options. Every command takes --json, and
--database NAME for a named Firestore database (default: FIRESTORE_DATABASE, else (default)).
Environment: OUTBOX_COLLECTION (default outbound_events), MAX_REDRIVES (default 3),
GOOGLE_CLOUD_PROJECT, FIRESTORE_DATABASE, FIRESTORE_EMULATOR_HOST (to use the emulator).
Exit codes: 0 ok, 1 the command failed or refused part of the work, 2 usage or configuration error.`;

/**
 * The whole CLI as a function of its arguments: usage is checked before configuration, configuration before
 * any client is made, and every path ends in an exit code, so scripts can rely on 0, 1 and 2.
 */
export async function runCli(argv: readonly string[], io: CliIo, options: CliOptions = {}): Promise<ExitCode> {
  const { database, others } = takeDatabase(argv);
  if (database === null) {
    io.err('outbox-ops: --database needs a database id, e.g. --database orders');
    return ExitCode.Usage;
  }
  const [name, ...rest] = others;
  if (name === undefined) {
    io.err(HELP);
    return ExitCode.Usage;
  }
  if (name === '--help' || name === '-h' || (name === 'help' && rest.length === 0)) {
    io.out(HELP);
    return ExitCode.Ok;
  }
  let command: Command;
  let invocation: Invocation;
  try {
    command = findCommand(name === 'help' ? (rest[0] ?? '') : name);
    invocation = name === 'help' ? { kind: 'help' } : command.parse(rest);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.err(`outbox-ops: ${error.message}`);
    return ExitCode.Usage;
  }
  if (invocation.kind === 'help') {
    io.out(command.help);
    return ExitCode.Ok;
  }

  let config: Readonly<StoreConfig>;
  try {
    const env = options.env ?? process.env;
    config = parseStoreConfig(database === undefined ? env : { ...env, FIRESTORE_DATABASE: database });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.err(`outbox-ops: ${error.message}`);
    return ExitCode.Usage;
  }
  const firestore = (options.connect ?? createFirestore)(config);
  const { repeat } = invocation;
  // Only a watch takes Ctrl-C over (to end after the refresh in hand, close the client and exit 0); any other
  // command keeps the default, so Ctrl-C stops it at once.
  const interrupt = new AbortController();
  const onSigint = (): void => interrupt.abort();
  if (repeat !== undefined && options.stop === undefined) process.once('SIGINT', onSigint);
  const stop = options.stop ?? interrupt.signal;
  const sleep = options.sleep ?? realSleep;
  try {
    for (let round = 1; ; round += 1) {
      const output = await invocation.execute(firestore, config);
      // A watch prints one JSON document per line (NDJSON), or a timestamped screen per refresh.
      if (repeat !== undefined && !invocation.json)
        io.out(`── ${new Date().toISOString()} (every ${repeat.intervalMs / 1000} s; Ctrl-C stops)`);
      io.out(invocation.json ? JSON.stringify(output.json) : output.text);
      const more = repeat !== undefined && (repeat.count === undefined || round < repeat.count) && !stop.aborted;
      if (!more) return output.exitCode;
      await sleep(repeat.intervalMs, stop);
      if (stop.aborted) return output.exitCode;
    }
  } catch (error) {
    io.err(`outbox-ops ${command.name} failed: ${describeError(error)}`);
    return ExitCode.Failed;
  } finally {
    process.removeListener('SIGINT', onSigint);
    await firestore.terminate();
  }
}

async function realSleep(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await delay(ms, undefined, { signal });
  } catch {
    // Aborted: the watch ends.
  }
}

function findCommand(name: string): Command {
  const command = COMMANDS.find((c) => c.name === name);
  if (command === undefined) {
    throw new UsageError(`unknown command "${name}"; the commands are ${COMMANDS.map((c) => c.name).join(', ')}`, undefined);
  }
  return command;
}

/**
 * `--database NAME` (or `--database=NAME`), anywhere on the line, for every command: the named Firestore
 * database, over FIRESTORE_DATABASE. `null` when the flag has no value.
 */
function takeDatabase(argv: readonly string[]): { database: string | undefined | null; others: string[] } {
  const others: string[] = [];
  let database: string | undefined | null;
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] ?? '';
    if (arg.startsWith('--database=')) database = arg.slice('--database='.length) || null;
    else if (arg === '--database') {
      const next = argv[i + 1];
      database = next === undefined || next.startsWith('--') ? null : next;
      i += 1;
    } else others.push(arg);
  }
  return { database, others };
}
