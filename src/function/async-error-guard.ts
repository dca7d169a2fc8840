import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import type { Logger } from '../core/ports.js';
import { describeError } from '../errors.js';

const EVENTS = ['uncaughtException', 'unhandledRejection'] as const;
type ErrorEvent = (typeof EVENTS)[number];
type Listener = (error: unknown) => void;

/**
 * The Functions Framework runs every request inside a `domain` (function_wrappers.js, wrapHttpFunction:
 * `domain.create()`, then `d.run()`). Creating the first domain enables the domain module's async hook, and from
 * then on Node calls it for every promise, timer and socket the process makes, and tracks every promise for
 * its destroy hook: about 28 % of the function's CPU per delivered event, for an error path the relay does not
 * rely on. This makes `domain.create()` hand out a plain emitter whose `run()` just calls the function, so no
 * domain, and no hook, ever exists in the process. Only src/index.ts (the function as the Functions Framework
 * serves it) calls it; the library (src/lib.ts) leaves `domain` alone.
 *
 * What the domain did, and what does it now (AsyncErrorGuard below): an error thrown outside any promise chain
 * of a run (in a timer, a socket or stream callback that a dependency forgot to guard) was routed to the
 * domain, which answered that request 500 at once while the run went on unaware, its outcomes unflushed and
 * its lease held. Without the domain, the framework's own `uncaughtException` / `unhandledRejection` handlers
 * would answer the latest request 500 and exit the process (code 16), losing the run's acknowledged outcomes.
 * The guard takes those two events over instead: it logs the error, tells the runs in flight to stop as a
 * SIGTERM would (no new POSTs, the acknowledged outcomes recorded, the lease released), and they answer 500,
 * so Cloud Scheduler retries; the process keeps serving. Errors inside a run's promise chain never got this
 * far: the relay and the handler catch them (a 500 `internal`), with or without a domain.
 */
export function serveWithoutRequestDomains(): void {
  const domainModule = createRequire(import.meta.url)('node:domain') as { create: () => unknown; createDomain: () => unknown };
  const create = (): unknown => Object.assign(new EventEmitter(), { run: <T>(fn: () => T): T => fn() });
  domainModule.create = create;
  domainModule.createDomain = create;
}

/**
 * Turns an error that escaped every promise chain into the end of the runs in flight, with a 500 each,
 * instead of a crashed process (see serveWithoutRequestDomains for why).
 */
export class AsyncErrorGuard {
  private current = new AbortController();
  private readonly displaced = new Map<ErrorEvent, Listener[]>();
  private readonly listeners: Readonly<Record<ErrorEvent, Listener>> = {
    uncaughtException: (error) => this.onError('uncaughtException', error),
    unhandledRejection: (error) => this.onError('unhandledRejection', error),
  };

  constructor(
    private readonly logger: Logger,
    private readonly processRef: NodeJS.Process = process,
  ) {}

  /** Aborted, with the error as its reason, when an error escapes while the runs started from now are in flight. */
  get signal(): AbortSignal {
    return this.current.signal;
  }

  /**
   * Takes the two events over from whoever listens now (the Functions Framework's handlers, which exit the
   * process). Called on every request, because the framework registers its handlers once the server listens.
   */
  install(): void {
    // As an emitter: Node's typings take these two events only with listeners of their exact signatures.
    const emitter: EventEmitter = this.processRef;
    for (const event of EVENTS) {
      const mine = this.listeners[event];
      const others = (emitter.listeners(event) as Listener[]).filter((listener) => listener !== mine && !isDomainBookkeeping(listener));
      for (const other of others) emitter.removeListener(event, other);
      if (others.length > 0) this.displaced.set(event, [...(this.displaced.get(event) ?? []), ...others]);
      if (!emitter.listeners(event).includes(mine)) emitter.on(event, mine);
    }
  }

  private onError(event: ErrorEvent, error: unknown): void {
    this.logger.log('ERROR', 'unexpected asynchronous error: the runs in flight stop and answer 500', {
      event,
      error: describeError(error),
    });
    const ended = this.current;
    this.current = new AbortController();
    ended.abort(error);
  }
}

/** The domain module's own first `uncaughtException` listener, which only clears its stack: left in place. */
function isDomainBookkeeping(listener: Listener): boolean {
  return listener.name === 'domainUncaughtExceptionClear';
}
