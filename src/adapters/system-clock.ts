import { setTimeout as delay } from 'node:timers/promises';
import type { Clock } from '../core/ports.js';

/** Wall-clock time and real timers; an aborted sleep resolves early instead of rejecting. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: async (ms, signal) => {
    await delay(ms, undefined, { signal }).catch((error: unknown) => {
      if (signal?.aborted !== true) throw error;
    });
  },
};
