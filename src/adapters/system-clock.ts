import { setTimeout as delay } from 'node:timers/promises';
import type { Clock } from '../core/ports.js';

/**
 * The process's monotonic clock (performance.now()), counted from the wall-clock time the process started, and
 * real timers; an aborted sleep resolves early instead of rejecting. A wall clock that an NTP step or an
 * operator moves while a run lives does not move the run budget, follow, shutdown or retry deadlines, which all
 * count on it; whether a lease or claim lapsed is Firestore's clock's call, never this one's.
 */
export const systemClock: Clock = {
  now: () => Math.floor(performance.timeOrigin + performance.now()),
  sleep: async (ms, signal) => {
    await delay(ms, undefined, { signal }).catch((error: unknown) => {
      if (signal?.aborted !== true) throw error;
    });
  },
};
