import { placeInShard } from '../../../src/cli/commands/redrive.js';
import { shardOf } from '../../../src/core/shard.js';

/** A key whose shard among four is not 0, so a shell without SHARD_COUNT would derive another one. */
const KEY = ['order-1', 'order-2', 'order-3', 'order-4'].find((key) => shardOf(key, 4) !== 0) ?? 'order-1';
const STORED = shardOf(KEY, 4);

describe('placeInShard: where a redriven event goes', () => {
  it.each([
    [
      'its stored shard, saying so, when this shell has no SHARD_COUNT',
      STORED,
      1,
      { shard: STORED, write: false, note: expect.stringContaining(`kept in shard ${STORED}; SHARD_COUNT=1 here would put it in shard 0`) },
    ],
    ['its stored shard, silently, when this shell derives the same', STORED, 4, { shard: STORED, write: false }],
    [
      'a shard derived from its key, saying so, when this SHARD_COUNT above 1 has no such shard (no job drains it)',
      9,
      4,
      { shard: STORED, write: true, note: `moved from shard 9, which SHARD_COUNT=4 does not have, to shard ${STORED}` },
    ],
    ['a shard derived from its key when it has none', undefined, 4, { shard: STORED, write: true }],
    [
      'its stored shard beyond SHARD_COUNT while resharding from a count that has it (PREVIOUS_SHARD_COUNT=8)',
      6,
      4,
      { shard: 6, write: false, note: `kept in shard 6; SHARD_COUNT=4 here would put it in shard ${STORED}` },
      8,
    ],
    ['a shard derived from its key when the stored one is not a shard', 'two', 4, { shard: STORED, write: true }],
  ])('%s', (_name, stored, shardCount, expected, ...drained: number[]) => {
    const placed = placeInShard('evt-1', KEY, stored, shardCount, drained[0]);

    expect(placed).toMatchObject(expected);
    if (!('note' in expected)) expect(placed.note).toBeUndefined();
  });
});
