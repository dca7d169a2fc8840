import { ReadResume } from './read-resume.js';
import { StraySweepSchedule } from './stray-sweep.js';

/**
 * What one instance carries from one run of a shard to the next, so waiting events and the stray sweep are not
 * paid for at every run: when it last swept (stray-sweep.ts) and where its last read ended (read-resume.ts).
 */
export interface ShardMemory {
  readonly sweeps: StraySweepSchedule;
  /**
   * Unset when following (FOLLOW_MS) or lingering for kicks (PUSH_LINGER_MS): those runs read again as they go,
   * from the start every few seconds (pending-pages.ts).
   */
  readonly reads: ReadResume | undefined;
}

/** A fresh memory, for one shard of one instance (createRelay). */
export function shardMemory(options: { readonly followMs: number; readonly pushLingerMs?: number }): ShardMemory {
  const readsAsItGoes = options.followMs > 0 || (options.pushLingerMs ?? 0) > 0;
  return { sweeps: new StraySweepSchedule(), reads: readsAsItGoes ? undefined : new ReadResume() };
}
