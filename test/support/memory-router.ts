import type { OutboxEvent } from '../../src/core/event.js';
import type { Clock, RouterClient, RouterResponse } from '../../src/core/ports.js';

/** What the in-memory router does with one POST: answer at once, after a (virtual) delay, or never. */
export type MemoryAnswer = RouterResponse | { readonly afterMs: number; readonly answer: RouterResponse } | 'hang';

/** One POST as the router saw it. */
export interface MemoryPost {
  readonly eventId: string;
  readonly attempt: number;
  readonly at: number;
}

export const ok: RouterResponse = { kind: 'response', status: 200, body: '', retryAfter: undefined };
export const status = (code: number, retryAfter?: string): RouterResponse => ({ kind: 'response', status: code, body: '', retryAfter });

/** A router in memory, on the injected clock; `nth` counts POSTs of the same event from 1. */
export function memoryRouter(clock: Clock, script: (event: OutboxEvent, nth: number) => MemoryAnswer = () => ok) {
  const posts: MemoryPost[] = [];
  const perEvent = new Map<string, number>();
  let inFlight = 0;
  let peakInFlight = 0;
  const router: RouterClient = {
    async post(event, attempt, cancel) {
      posts.push({ eventId: event.id, attempt, at: clock.now() });
      const nth = (perEvent.get(event.id) ?? 0) + 1;
      perEvent.set(event.id, nth);
      inFlight += 1;
      peakInFlight = Math.max(peakInFlight, inFlight);
      try {
        const answer = script(event, nth);
        if (answer === 'hang') {
          await clock.sleep(Number.MAX_SAFE_INTEGER, cancel);
          return { kind: 'aborted' };
        }
        if ('afterMs' in answer) {
          await clock.sleep(answer.afterMs, cancel);
          return cancel.aborted ? { kind: 'aborted' } : answer.answer;
        }
        return answer;
      } finally {
        inFlight -= 1;
      }
    },
  };
  return {
    router,
    posts,
    postsFor: (eventId: string) => posts.filter((p) => p.eventId === eventId),
    get peakInFlight() {
      return peakInFlight;
    },
  };
}
