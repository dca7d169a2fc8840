import type { Firestore } from '@google-cloud/firestore';
import type { StoreConfig } from '../config.js';
import { UsageError } from '../errors.js';

/** What the shell sees: scripts branch on these, so each means one thing for every command. */
export const ExitCode = {
  /** The command did everything it was asked. */
  Ok: 0,
  /** The command failed, or refused part of the work (e.g. an event past MAX_REDRIVES). */
  Failed: 1,
  /** The arguments or the environment are wrong; nothing was read or changed. */
  Usage: 2,
} as const;
/** One of the exit codes above, so a command cannot invent another. */
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A command's answer in both forms, so `--json` and the terminal always say the same thing. */
export interface CommandOutput {
  readonly exitCode: ExitCode;
  /** Printed as one JSON document on stdout with `--json`. */
  readonly json: unknown;
  /** Printed for a person otherwise. */
  readonly text: string;
}

/** A parsed command line: help needs no configuration or network, running needs both. */
export type Invocation =
  | { readonly kind: 'help' }
  | {
      readonly kind: 'run';
      readonly json: boolean;
      execute(firestore: Firestore, config: Readonly<StoreConfig>): Promise<CommandOutput>;
      /** Run again every `intervalMs` (`status --watch`), `count` times in all or until Ctrl-C when unset. */
      readonly repeat?: Repeat;
    };

/** How a watching command repeats; the runner does the waiting, so every command stays one answer. */
export interface Repeat {
  readonly intervalMs: number;
  readonly count: number | undefined;
}

/** One ops command; the runner knows nothing else about it. */
export interface Command {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** The full `--help` text. */
  readonly help: string;
  /** Reads the arguments (a mistake throws UsageError) before any configuration is read or any client is made. */
  parse(argv: readonly string[]): Invocation;
}

/** Options every command takes; spread into each command's own parseArgs options. */
export const COMMON_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
} as const;

/** Turns util.parseArgs' own errors (unknown option, missing value…) into a UsageError for this command. */
export function readArguments<T>(command: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (isParseArgsError(error)) throw new UsageError(error.message, command);
    throw error;
  }
}

/** Known by its code, not `instanceof TypeError`: Node's errors may come from another realm (e.g. under a test VM). */
function isParseArgsError(error: unknown): error is { code: string; message: string } {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS') && typeof message === 'string';
}
