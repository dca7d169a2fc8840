import type { OutboxEvent } from '../../../src/core/event.js';
import type { RouterClient, RouterResponse } from '../../../src/core/ports.js';
import type { SimClock, SimScheduler } from './sim-scheduler.js';

/** How the router as a whole behaves at the moment; a step of the history changes it. */
export const RouterModes = ['healthy', 'outage', 'throttling', 'rejecting', 'slow', 'losing-answers'] as const;
export type RouterMode = (typeof RouterModes)[number];

/** What the router did with one POST, for the invariants. */
export interface PostRecord {
  readonly eventId: string;
  readonly runId: string;
  readonly attempt: number;
  /** Set when a consumer refused this one event (poison or rejected payload: `failed`; a claim held: `refused`). */
  oneByOne?: 'failed' | 'refused';
}

/** What the world watches at the router: each POST as it starts, each acknowledgement as it commits. */
export interface RouterObserver {
  postStarted(post: PostRecord): void;
  /** The router committed the event (a 2xx, answered or lost on the way back). */
  accepted(post: PostRecord): void;
  /** The run got an answer that is not an acknowledgement (or none at all). */
  notAcknowledged(post: PostRecord, why: string): void;
  /** The run got the router's 2xx. */
  answered(post: PostRecord): void;
}

const answer = (status: number, retryAfter?: string): RouterResponse => ({ kind: 'response', status, body: '', retryAfter });

/**
 * The object router, scripted: its mode (healthy, an outage, throttling, rejecting, too slow, losing its answers
 * after committing), events it refuses one by one (poison payloads that fail with a 5xx, claims a consumer
 * holds answered 503 with Retry-After as the example router's inbox does), and POSTs whose answer the scheduler completes like any other I/O.
 */
export class SimRouter {
  mode: RouterMode = 'healthy';
  /** Payloads the router fails with a 5xx whatever its mode (a consumer bug on those events only). */
  readonly poison = new Set<string>();
  /** Events a consumer refuses for now (it holds their claim): 503 with Retry-After. */
  readonly claimed = new Set<string>();
  /** Events whose payload a consumer rejects for good (a 422): each is dead-lettered once charged. */
  readonly rejected = new Set<string>();
  /** Every event the router committed, in commit order. */
  readonly ledger: string[] = [];

  constructor(
    private readonly scheduler: SimScheduler,
    private readonly observer: RouterObserver,
    private readonly postTimeoutMs: number,
  ) {}

  /** The RouterClient of one run on one instance (its clock times out a POST after POST_TIMEOUT_MS). */
  client(owner: string, runId: string, clock: SimClock): RouterClient {
    return {
      post: (event, attempt, cancel) => this.post(owner, runId, clock, event, attempt, cancel),
    };
  }

  private post(
    owner: string,
    runId: string,
    clock: SimClock,
    event: OutboxEvent,
    attempt: number,
    cancel: AbortSignal,
  ): Promise<RouterResponse> {
    const record: PostRecord = { eventId: event.id, runId, attempt };
    this.observer.postStarted(record);
    return new Promise<RouterResponse>((resolve) => {
      let settled = false;
      const end = (response: RouterResponse, why?: string): void => {
        if (settled) return;
        settled = true;
        timeout.abort();
        if (why !== undefined) this.observer.notAcknowledged(record, why);
        else this.observer.answered(record);
        resolve(response);
      };
      // The transport's own bound (axios' timeout), on the instance's clock; cancelled when the answer comes.
      const timeout = new AbortController();
      void clock.sleep(this.postTimeoutMs, timeout.signal).then(() => {
        if (!timeout.signal.aborted) end({ kind: 'timeout', timeoutMs: this.postTimeoutMs }, 'timeout');
      });
      cancel.addEventListener('abort', () => end({ kind: 'aborted' }, 'aborted'), { once: true });
      if (cancel.aborted) end({ kind: 'aborted' }, 'aborted');
      this.scheduler
        .io(
          owner,
          `router: POST ${event.id} #${attempt}`,
          () => this.handle(record),
          () => new Error('connection reset'),
          true,
        )
        .then(
          (response) => end(response, response.kind === 'response' && response.status < 300 ? undefined : describe(response)),
          () => end({ kind: 'network', code: 'ECONNRESET', message: 'socket hang up' }, 'lost answer'),
        );
    });
  }

  /** What the router does with a POST that reached it: commit (and answer), or refuse. */
  private handle(post: PostRecord): RouterResponse {
    if (this.poison.has(post.eventId) || this.rejected.has(post.eventId)) {
      post.oneByOne = 'failed';
      return answer(this.poison.has(post.eventId) ? 500 : 422);
    }
    if (this.claimed.has(post.eventId)) {
      post.oneByOne = 'refused';
      return answer(503, '3');
    }
    switch (this.mode) {
      case 'outage':
        return answer(503);
      case 'throttling':
        return answer(429, '2');
      case 'rejecting':
        return answer(400);
      case 'slow':
        // Committed, but the answer comes after the transport gave up: the POST times out.
        this.commit(post);
        return { kind: 'network', code: 'ETIMEDOUT', message: 'answer came too late' };
      case 'losing-answers':
        this.commit(post);
        return { kind: 'network', code: 'ECONNRESET', message: 'answer lost after commit' };
      case 'healthy':
        this.commit(post);
        return answer(200);
    }
  }

  private commit(post: PostRecord): void {
    this.ledger.push(post.eventId);
    this.observer.accepted(post);
  }
}

function describe(response: RouterResponse): string {
  return response.kind === 'response' ? `HTTP ${response.status}` : response.kind;
}
