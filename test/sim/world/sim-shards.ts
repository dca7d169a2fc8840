import { shardOf } from '../../../src/core/shard.js';
import type { SimShard } from './sim-firestore.js';

/**
 * A sharded world's shape: SHARD_COUNT and SHARDS_PER_RUN of the relays as first deployed, and optionally a
 * reshard in flight, as docs/deploy.md "Resharding" runs it: relay first, producers next.
 */
export interface SimShards {
  readonly count: number;
  readonly perRun: number;
  readonly reshard?: {
    /** The new SHARD_COUNT; the new release runs with PREVIOUS_SHARD_COUNT = `count`. */
    readonly to: number;
    /** The step at which the new release rolls out: from then on one old instance gets SIGTERM every ROLL_EVERY steps. */
    readonly rolloutAt: number;
    /** The step from which producers switch to the new count, once no run of the old release is left. */
    readonly producersAt: number;
  };
}

/** What one instance's relay runs with: SHARD_COUNT and, in the new release of a reshard, PREVIOUS_SHARD_COUNT. */
export interface RelayRelease {
  readonly count: number;
  readonly previousCount?: number;
}

/** Steps between two old instances replaced during the rollout: old and new relays run side by side meanwhile. */
export const ROLL_EVERY = 10;

/** The reshard's state in one history: which release new instances start, which count producers stamp. */
export class ShardDeployment {
  private rolledOut = false;
  private producersSwitched = false;

  constructor(readonly shards: SimShards) {}

  /** The release an instance started now runs. */
  release(): RelayRelease {
    const { reshard, count } = this.shards;
    return reshard !== undefined && this.rolledOut ? { count: reshard.to, previousCount: count } : { count };
  }

  /** Whether the new release is out (old instances are being replaced). */
  get rolling(): boolean {
    return this.rolledOut;
  }

  /** The step at which the rollout begins: true once, when it does. */
  rollOutAt(step: number): boolean {
    if (this.shards.reshard === undefined || this.rolledOut || step < this.shards.reshard.rolloutAt) return false;
    this.rolledOut = true;
    return true;
  }

  /**
   * Producers switch at their step once the relay side is done (no instance nor run of the old release left), as
   * the procedure orders it: true once, when they do.
   */
  switchProducers(step: number, oldReleaseLeft: boolean): boolean {
    const reshard = this.shards.reshard;
    if (reshard === undefined || !this.rolledOut || this.producersSwitched || step < reshard.producersAt || oldReleaseLeft) return false;
    this.producersSwitched = true;
    return true;
  }

  /** The count producers stamp now. */
  producerCount(): number {
    return this.producersSwitched && this.shards.reshard !== undefined ? this.shards.reshard.to : this.shards.count;
  }

  /** The fields the producer API stamps on an event: its shard by the key (or id) and the count it used. */
  stamp(keyOrId: string): { shard: number; shardCount: number } {
    const shardCount = this.producerCount();
    return { shard: shardOf(keyOrId, shardCount), shardCount };
  }
}

/** The shards a relay of `release` drains (both counts while resharding) and each shard's store view. */
export function shardsOf(release: RelayRelease): SimShard[] {
  const drained = Math.max(release.count, release.previousCount ?? 0);
  return Array.from({ length: drained }, (_, index) =>
    release.previousCount === undefined ? { index, drained } : { index, previousCount: release.previousCount, drained },
  );
}
