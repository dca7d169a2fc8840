import { randomBytes } from 'node:crypto';
import type { HttpFunction, Response } from '@google-cloud/functions-framework';
import { createCloudLogger } from '../adapters/cloud-logger.js';
import { systemClock } from '../adapters/system-clock.js';
import { parseConfig, type Config } from '../config.js';
import type { Logger } from '../core/ports.js';
import type { RunResult } from '../core/relay.js';
import { createRelay, type RelaySeams } from '../create-relay.js';
import { ConfigError, describeError } from '../errors.js';
import { ExitAfterUncaughtException } from './exit-after-uncaught-exception.js';
import { readKick } from './firestore-kick.js';
import { GracefulShutdown } from './graceful-shutdown.js';
import { answerKick } from './kick-answer.js';
import { RunsInFlight } from './runs-in-flight.js';

/** Seams for tests and embedders; production passes nothing. */
export interface HandlerOptions extends RelaySeams {
  readonly env?: Readonly<Record<string, string | undefined>>;
  /**
   * Tells runs in flight to wind down (SIGTERM). By default the handler takes SIGTERM and SIGINT over from the
   * Functions Framework (graceful-shutdown.ts); pass a signal of your own to drive it yourself.
   */
  readonly shutdown?: AbortSignal;
  /**
   * After an uncaught exception, let the runs in flight record what was acknowledged and answer 500, then end
   * the process (exit-after-uncaught-exception.ts). src/index.ts turns it on; off by default for embedders,
   * whose process is theirs to end.
   */
  readonly exitAfterUncaughtException?: boolean;
}

/** The answer to Cloud Scheduler: a status and a JSON body. */
export interface Answer {
  readonly status: number;
  readonly body: object;
}

/** The Scheduler target, and a way for an embedder (or a test) to close its Firestore client when done with it. */
export type OutboundEventHandler = HttpFunction & { close(): Promise<void> };

/**
 * Builds the Cloud Scheduler target: configuration is read once (cold start), clients are reused across
 * runs, and each POST runs the relay once and answers 200 or 500 by the answer rule (RunState.retryWanted).
 */
export function createOutboundEventHandler(options: HandlerOptions = {}): OutboundEventHandler {
  const clock = options.clock ?? systemClock;
  let config: Readonly<Config>;
  try {
    config = parseConfig(options.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return configErrorHandler(error, options.logger ?? createCloudLogger());
  }
  const logger = options.logger ?? createCloudLogger({ minSeverity: config.logLevel });
  // LOG_LEVEL never silences the answer line: the alert on runs that stopped or keep failing counts it.
  const answers = options.logger ?? createCloudLogger();
  const relay = createRelay(config, { ...options, logger, clock });
  // The shutdown signal is the process's: a second handler in one process shares it.
  const graceful = options.shutdown === undefined ? processShutdown(logger, config.shutdownTimeoutMs) : undefined;
  const shutdown = options.shutdown ?? (graceful as GracefulShutdown).signal;
  const crash = options.exitAfterUncaughtException === true ? processCrashExit(logger, config.shutdownTimeoutMs) : undefined;
  crash?.install();

  const handler: HttpFunction = async (req, res) => {
    if (req.method !== 'POST') {
      res.set('Allow', 'POST').status(405).json({ error: 'method_not_allowed', message: 'Use POST to start a run.' });
      return;
    }
    graceful?.install();
    const runId = newRunId(clock.now());
    // An uncaught exception ends the run as a shutdown would (acknowledged outcomes recorded, lease released).
    const escaped = crash?.signal;
    const work = (async () => {
      let answer: Answer;
      let runAnswer = true;
      try {
        const control = { shutdown: escaped === undefined ? shutdown : AbortSignal.any([shutdown, escaped]) };
        const kick = readKick(req, config);
        if (kick.kind === 'scheduled') answer = answerFor(await relay.run(runId, control));
        else ({ answer, runAnswer } = await answerKick(kick, relay, { newRunId: () => newRunId(clock.now()), control, answerFor }, logger));
        if (escaped?.aborted === true) answer = escapedErrorAnswer(answer, runId, escaped.reason);
      } catch (error) {
        // The core catches its own errors; this is the last line, for a bug outside it.
        logger.log('ERROR', 'run crashed', { runId, error: describeError(error) });
        answer = { status: 500, body: { error: 'internal', message: describeError(error), runId } };
      }
      if (runAnswer) logAnswer(answers, runId, answer);
      await send(res, answer);
    })();
    await processRuns().track(work);
  };
  return Object.assign(handler, { close: () => relay.close() });
}

/** The answer rule in HTTP: 500 only where Cloud Scheduler's retry is wanted (RunState.retryWanted). */
export function answerFor(result: RunResult): Answer {
  switch (result.kind) {
    case 'skipped':
      return { status: 200, body: { skipped: 'lease-held', runId: result.runId, heldBy: result.heldBy } };
    case 'not_started':
      return { status: 500, body: { error: 'lease_unavailable', message: result.error, runId: result.runId } };
    case 'ran':
      return result.retryWanted
        ? { status: 500, body: { error: result.cause, message: result.error, ...result.summary } }
        : { status: 200, body: result.summary };
  }
}

/** A run an uncaught exception ended answers 500, so Scheduler retries; the body keeps what the run did. */
function escapedErrorAnswer(answer: Answer, runId: string, error: unknown): Answer {
  const message = `an uncaught exception ended the run: ${describeError(error)}`;
  return { status: 500, body: { ...answer.body, error: 'internal', message, runId } };
}

/**
 * One line per answer to Cloud Scheduler, `run answered` with its HTTP `status`: the log-based metric of
 * deploy/monitoring/log-metric-run-answers.json counts them, so runs that stop or keep answering 500 alert
 * without an OpenTelemetry collector.
 */
export function logAnswer(logger: Logger, runId: string | undefined, answer: Answer): void {
  const error = 'error' in answer.body && typeof answer.body.error === 'string' ? answer.body.error : undefined;
  logger.log(answer.status >= 500 ? 'ERROR' : 'INFO', RUN_ANSWERED, { runId, status: answer.status, error });
}

/** The message of the answer line, which the log-based metric's filter names. */
export const RUN_ANSWERED = 'run answered';

/** Resolves once the answer has been handed to the socket, so a shutdown waiting on it does not cut it off. */
function send(res: Response, answer: Answer): Promise<void> {
  // Already answered: the Functions Framework answers 500 itself when an error escapes in the request's domain.
  if (res.headersSent) return Promise.resolve();
  return new Promise((resolve) => {
    res.once('finish', resolve);
    res.once('close', resolve);
    res.status(answer.status).json(answer.body);
  });
}

let sharedRuns: RunsInFlight | undefined;

/** The process's runs in flight, however many handlers it serves: what a shutdown or a crash waits for. */
function processRuns(): RunsInFlight {
  sharedRuns ??= new RunsInFlight(systemClock);
  return sharedRuns;
}

let sharedShutdown: GracefulShutdown | undefined;

/** One SIGTERM handler per process, however many handlers it serves. */
function processShutdown(logger: Logger, shutdownTimeoutMs: number): GracefulShutdown {
  // A little longer than a run needs to wind down, so a bug cannot keep the instance past Cloud Run's SIGKILL.
  sharedShutdown ??= new GracefulShutdown(logger, processRuns(), shutdownTimeoutMs + 1000);
  return sharedShutdown;
}

let sharedCrashExit: ExitAfterUncaughtException | undefined;

/** One exit after an uncaught exception per process, with the same bound as a SIGTERM's. */
function processCrashExit(logger: Logger, shutdownTimeoutMs: number): ExitAfterUncaughtException {
  sharedCrashExit ??= new ExitAfterUncaughtException(logger, processRuns(), shutdownTimeoutMs + 1000);
  return sharedCrashExit;
}

/** A misconfigured deployment answers every run with the same one-line reason instead of crashing. */
function configErrorHandler(error: ConfigError, logger: Logger): OutboundEventHandler {
  logger.log('ERROR', error.message, { variable: error.variable });
  const handler: HttpFunction = (_req, res) => {
    logger.log('ERROR', error.message, { variable: error.variable });
    const answer: Answer = { status: 500, body: { error: 'configuration', variable: error.variable, message: error.message } };
    logAnswer(logger, undefined, answer);
    res.status(answer.status).json(answer.body);
  };
  return Object.assign(handler, { close: () => Promise.resolve() });
}

/** Sortable by start time, unique across instances. */
function newRunId(nowMs: number): string {
  return `${new Date(nowMs).toISOString().replace(/[-:.]/g, '')}-${randomBytes(4).toString('hex')}`;
}
