import { keysHeldByReshard, type OldCountEvent } from '../../../src/core/reshard.js';

describe('Keys held back while resharding (keysHeldByReshard)', () => {
  const old = (orderingKey: unknown, shard: unknown, dated = true): OldCountEvent => ({ orderingKey, shard, dated });
  /** Shards drained while resharding 4 → 2 or 2 → 4. */
  const DRAINED = 4;

  it.each<[string, number, OldCountEvent[], string[]]>([
    ['no old-count event pending: nothing held', 0, [], []],
    ['a key’s old-count event in another shard holds its events here', 3, [old('a', 1)], ['a']],
    ['a key’s old-count events in this shard come first by this shard’s order: not held', 1, [old('a', 1), old('a', 1)], []],
    ['keys of several shards: only those elsewhere', 0, [old('a', 0), old('b', 1), old('c', 2)], ['b', 'c']],
    ['events without an ordering key keep no order: never held', 0, [old(undefined, 1), old(7, 1)], []],
    ['a stray without createdAt (no page returns it; the sweep dead-letters it) holds nothing', 0, [old('a', 1, false)], []],
    ['a stray whose shard is not a number holds nothing', 0, [old('a', '1')], []],
    ['a stray whose shard is not one drained holds nothing', 0, [old('a', DRAINED), old('b', -1), old('c', 1.5)], []],
    ['the last shard drained is a shard: its key is held elsewhere', 0, [old('a', DRAINED - 1)], ['a']],
  ])('%s', (_case, shard, events, held) => {
    expect([...keysHeldByReshard(shard, DRAINED, events)].sort()).toEqual(held);
  });
});
