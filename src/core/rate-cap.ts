import { parseRetryAfterMs } from './classify.js';
import type { Clock, RouterClient, RouterResponse } from './ports.js';

/**
 * Each shard's part of ROUTER_MAX_RPS: a shard is delivered by one run at a time, whatever instance it runs on,
 * so POSTs of the whole deployment stay within the cap with no coordination between instances.
 */
export function shardRate(maxRps: number, shards: number): number {
  return maxRps / Math.max(1, shards);
}

/** A pause every POST of an instance honours: set by a router's Retry-After, shared by the shards it delivers. */
export class RouterPause {
  private untilMs = 0;

  /** Holds further POSTs until `untilMs` (the later of two pauses wins). */
  until(untilMs: number): void {
    this.untilMs = Math.max(this.untilMs, untilMs);
  }

  /** When POSTs may go again (0 when not paused). */
  get endsAtMs(): number {
    return this.untilMs;
  }
}

/**
 * ROUTER_MAX_RPS: POSTs of one shard go out at most `perSecond`, evenly spaced, and none before a Retry-After a
 * 429 or 503 named has passed. A POST cancelled while it waits for its turn is never sent (`aborted`).
 */
export class RateCappedRouter implements RouterClient {
  private nextSlotMs = Number.NEGATIVE_INFINITY;
  private readonly intervalMs: number;

  constructor(
    private readonly inner: RouterClient,
    perSecond: number,
    private readonly clock: Clock,
    private readonly pause: RouterPause,
  ) {
    this.intervalMs = 1000 / perSecond;
  }

  async post(...args: Parameters<RouterClient['post']>): Promise<RouterResponse> {
    const cancel = args[2];
    await this.turn(cancel);
    if (cancel.aborted) return { kind: 'aborted' };
    const response = await this.inner.post(...args);
    if (response.kind === 'response' && (response.status === 429 || response.status === 503)) {
      const waitMs = parseRetryAfterMs(response.retryAfter, this.clock.now());
      if (waitMs !== undefined) this.pause.until(this.clock.now() + waitMs);
    }
    return response;
  }

  /** Waits for this POST's slot, and for any Retry-After pause, however long. */
  private async turn(cancel: AbortSignal): Promise<void> {
    for (;;) {
      const now = this.clock.now();
      const pausedMs = this.pause.endsAtMs - now;
      if (pausedMs > 0) {
        await this.clock.sleep(pausedMs, cancel);
        if (cancel.aborted) return;
        continue;
      }
      const slot = Math.max(now, this.nextSlotMs + this.intervalMs);
      this.nextSlotMs = slot;
      if (slot > now) await this.clock.sleep(slot - now, cancel);
      // A Retry-After that came while this POST waited for its slot holds it too.
      if (cancel.aborted || this.pause.endsAtMs <= this.clock.now()) return;
    }
  }
}
