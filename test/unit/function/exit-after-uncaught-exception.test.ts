import { EventEmitter } from 'node:events';
import type { Logger, Severity } from '../../../src/core/ports.js';
import {
  ExitAfterUncaughtException,
  UNCAUGHT_EXCEPTION_EXIT_CODE,
  type ExitingProcess,
} from '../../../src/function/exit-after-uncaught-exception.js';
import { RunsInFlight } from '../../../src/function/runs-in-flight.js';
import { VirtualClock } from '../../support/virtual-clock.js';

const MAX_WAIT_MS = 9_000;

/** A process stand-in: the monitor event is emitted by the test, and exit() is recorded instead of ending Jest. */
function fakeProcess(): ExitingProcess & { readonly exits: number[]; crash(error: Error): void } {
  const emitter = new EventEmitter();
  const exits: number[] = [];
  return {
    exits,
    on: (event, listener) => emitter.on(event, listener),
    exit: (code) => void exits.push(code),
    crash: (error) => void emitter.emit('uncaughtExceptionMonitor', error, 'uncaughtException'),
  };
}

function setup() {
  const clock = new VirtualClock();
  const runs = new RunsInFlight(clock);
  const processRef = fakeProcess();
  const logs: { severity: Severity; message: string; fields: Readonly<Record<string, unknown>> }[] = [];
  const logger: Logger = { log: (severity, message, fields = {}) => logs.push({ severity, message, fields }) };
  const exitAfter = new ExitAfterUncaughtException(logger, runs, MAX_WAIT_MS, processRef);
  exitAfter.install();
  return { clock, runs, processRef, logs, exitAfter };
}

/** A run in flight that answers when the test says so. */
function pendingRun(runs: RunsInFlight): { answer: () => void } {
  let answer = (): void => undefined;
  void runs.track(new Promise<void>((resolve) => (answer = resolve)));
  return { answer };
}

describe('ExitAfterUncaughtException', () => {
  it('stops the runs in flight with the error, and exits with code 16 only once they have answered', async () => {
    const { clock, runs, processRef, exitAfter } = setup();
    const run = pendingRun(runs);
    const error = new Error('thrown from a timer');

    processRef.crash(error);
    await clock.advance(MAX_WAIT_MS - 1);
    const exitsWhileRunning = [...processRef.exits];
    run.answer();
    await clock.advance(0);

    expect(exitAfter.signal.aborted).toBe(true);
    expect(exitAfter.signal.reason).toBe(error);
    expect(exitsWhileRunning).toEqual([]);
    expect(processRef.exits).toEqual([UNCAUGHT_EXCEPTION_EXIT_CODE]);
  });

  it('exits after the bound when a run never answers, so the instance is not kept alive by it', async () => {
    const { clock, runs, processRef } = setup();
    pendingRun(runs);

    processRef.crash(new Error('boom'));
    await clock.advance(MAX_WAIT_MS);

    expect(processRef.exits).toEqual([UNCAUGHT_EXCEPTION_EXIT_CODE]);
  });

  it('exits at once when no run is in flight', async () => {
    const { clock, processRef } = setup();

    processRef.crash(new Error('boom'));
    await clock.advance(0);

    expect(processRef.exits).toEqual([UNCAUGHT_EXCEPTION_EXIT_CODE]);
  });

  it('logs the first error at ERROR with its origin, and exits once however many follow', async () => {
    const { clock, runs, processRef, logs, exitAfter } = setup();
    const run = pendingRun(runs);

    processRef.crash(new Error('first'));
    processRef.crash(new Error('second'));
    exitAfter.install();
    run.answer();
    await clock.advance(0);

    expect(processRef.exits).toEqual([UNCAUGHT_EXCEPTION_EXIT_CODE]);
    expect(logs).toEqual([
      expect.objectContaining({
        severity: 'ERROR',
        fields: expect.objectContaining({ event: 'uncaughtException', runs: 1, error: expect.stringContaining('first') }),
      }),
    ]);
  });

  it('leaves the process alone until an uncaught exception is seen', async () => {
    const { clock, runs, processRef, exitAfter } = setup();
    const run = pendingRun(runs);

    run.answer();
    await clock.advance(MAX_WAIT_MS * 2);

    expect(exitAfter.signal.aborted).toBe(false);
    expect(processRef.exits).toEqual([]);
  });
});
