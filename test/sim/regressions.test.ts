import type { PromiseName } from './invariants.js';
import { KNOWN_OPEN, NONE_KNOWN } from './known-open.js';
import { replay, simulate, describeFailure, type RecordedHistory } from './simulate.js';
import type { KnownOpen } from './world/world.js';

/** A history the simulation once failed on, shrunk, with the promise it broke. */
interface Regression {
  readonly name: string;
  readonly broke: PromiseName;
  /** The known-open path it takes, while the fix is not merged (known-open.ts). */
  readonly knownOpen?: keyof KnownOpen;
  readonly history: RecordedHistory;
}

const TWO_INSTANCES = { clockOffsetsMs: [0, 0], followMs: 0, jitterSeed: 0 };

/**
 * Every failure the simulation found, as the shortest history that showed it. A known-open one is expected
 * to fail until its fix merges (then the lead sets it to false in known-open.ts and it must pass).
 */
const REGRESSIONS: readonly Regression[] = [
  {
    // The run listens for SIGTERM only once it holds the lease: a SIGTERM while acquireLease waits on a slow
    // Firestore is not seen, the acquire keeps its whole FIRESTORE_TIMEOUT_MS, and the run outlives its bound.
    name: 'sigtermBeforeLease: a SIGTERM during acquireLease still bounds the answer by SHUTDOWN_TIMEOUT_MS',
    broke: 'answer-within-bound',
    knownOpen: 'sigtermBeforeLease',
    history: {
      config: TWO_INSTANCES,
      length: 4,
      steps: [
        [0, 74, 0],
        [1, 79, 0],
        [2, 94, 9],
      ],
    },
  },
  {
    // Found by this simulation: SIGTERM lands while the run's parked-keys read (started before it, bounded by
    // FIRESTORE_TIMEOUT_MS alone) hangs; nothing cuts that wait to the shutdown bound, so the run answers late.
    name: 'sigtermDuringFirestoreCall: a SIGTERM while a Firestore read hangs still bounds the answer by SHUTDOWN_TIMEOUT_MS',
    broke: 'answer-within-bound',
    // Fixed: the parked-keys read ends on SIGTERM, and any Firestore call already waiting is cut to its share.
    history: {
      config: TWO_INSTANCES,
      length: 4,
      steps: [
        [0, 74, 0],
        [2, 79, 0],
        [3, 94, 9],
      ],
    },
  },
  {
    // Three events the router fails one by one (a 5xx for those payloads only) at the head of the outbox open
    // the circuit in every run, which then charges nobody: the event behind them is never delivered.
    name: 'poisonEvents: BREAKER_THRESHOLD poison events at the head do not stop the others for good',
    broke: 'liveness',
    // Fixed: probe-order.ts, ownFailure (router-health.ts).
    history: {
      config: TWO_INSTANCES,
      length: 8,
      steps: [
        [0, 64, 0],
        [1, 64, 1],
        [2, 64, 2],
        [3, 64, 3],
        [4, 87, 0],
        [5, 87, 1],
        [6, 87, 2],
      ],
    },
  },
  {
    // Found by this simulation (seed 20261209): the first page is all poison heads (keys k0, k1 and an event of no
    // key, each failed in an earlier run) and events of k0 behind them; the deliverable e00020 is a page later.
    // Every run opened the circuit on the three heads before reading on, charging nobody.
    name: 'poisonEvents: a whole first page of poison heads does not keep a deliverable event a page later from going',
    broke: 'liveness',
    // Fixed: until its first success a run keeps back the keys of events tried before and reads on (probe-hold.ts).
    history: {
      config: TWO_INSTANCES,
      length: 200,
      steps: [
        [0, 64, 0],
        [9, 64, 0],
        [14, 89, 0],
        [16, 64, 0],
        [20, 52, 0],
        [28, 52, 0],
        [30, 52, 0],
        [37, 64, 0],
        [40, 52, 0],
        [47, 94, 3580],
        [56, 52, 0],
        [60, 64, 0],
        [64, 60, 0],
        [65, 60, 0],
        [66, 60, 0],
        [70, 40, 3],
        [72, 40, 0],
        [73, 40, 0],
        [76, 40, 15009],
        [77, 60, 0],
        [79, 94, 40011],
        [81, 52, 36824],
        [84, 40, 0],
        [86, 74, 0],
        [93, 60, 0],
        [95, 58, 0],
        [98, 58, 0],
        [99, 64, 9491],
        [104, 64, 0],
        [105, 64, 13289],
        [108, 83, 0],
        [109, 58, 0],
        [111, 52, 0],
        [112, 58, 0],
        [113, 60, 0],
        [114, 58, 0],
        [116, 74, 0],
        [117, 64, 14189],
        [118, 64, 0],
        [136, 52, 0],
        [139, 87, 9],
        [148, 58, 0],
        [150, 94, 46416],
        [151, 94, 4],
        [157, 52, 0],
        [160, 87, 0],
        [169, 64, 0],
        [171, 64, 57440],
        [174, 64, 7],
        [183, 81, 11],
        [188, 52, 0],
        [193, 87, 1773],
      ],
    },
  },
  {
    // Found by this simulation (seed 20261208): poison heads of k3 and k0 fill the first page with the events of k3
    // behind them; the second page holds the deliverable e00020 and a poison event of no key, which was POSTed first.
    name: 'poisonEvents: poison heads across two pages do not keep the deliverable event between them from going',
    broke: 'liveness',
    history: {
      config: TWO_INSTANCES,
      length: 200,
      steps: [
        [32, 64, 56529],
        [37, 52, 0],
        [52, 64, 42113],
        [53, 79, 0],
        [56, 64, 0],
        [57, 64, 0],
        [60, 94, 11],
        [66, 64, 14529],
        [67, 58, 0],
        [68, 52, 26624],
        [71, 79, 0],
        [83, 52, 0],
        [104, 40, 0],
        [106, 52, 0],
        [135, 40, 0],
        [136, 40, 0],
        [142, 64, 6968],
        [144, 72, 14441],
        [148, 74, 0],
        [152, 94, 189],
        [153, 64, 18112],
        [154, 94, 1],
        [162, 64, 0],
        [164, 64, 13343],
        [167, 79, 0],
        [169, 72, 0],
        [171, 58, 0],
        [173, 60, 0],
        [174, 94, 6127],
        [176, 87, 1214],
        [178, 87, 0],
        [179, 87, 6808],
        [189, 64, 43686],
      ],
    },
  },
  {
    // Found by the sharded world (sim3; re-recorded on the world with keyed strays): SHARDS_PER_RUN 1 of 3, and a
    // consumer holds e00001's claim for good (503, Retry-After). A run whose slot started (at random) at e00001's
    // shard ended there, "delivery failed", instead of handing on: on a healthy router e00005 (keyless, in another
    // shard) was still pending after LIVENESS_RUNS runs.
    // Fixed: a drained shard hands its slot on though one of its events failed (nextFreeShardWanted).
    name: 'shardsPerRunLiveness: runs over fewer shards than are drained still deliver every deliverable event',
    broke: 'liveness',
    knownOpen: 'shardsPerRunLiveness',
    history: {
      config: { clockOffsetsMs: [0, 0], followMs: 0, jitterSeed: 478911967, shards: { count: 3, perRun: 1 } },
      length: 200,
      steps: [
        [0, 40, 0],
        [3, 58, 0],
        [8, 79, 0],
        [9, 58, 0],
        [10, 94, 27980],
        [16, 79, 0],
        [21, 74, 7],
        [24, 52, 59648],
        [30, 72, 0],
        [32, 64, 0],
        [38, 79, 0],
        [40, 74, 0],
        [43, 60, 0],
        [45, 58, 0],
        [46, 52, 339],
        [56, 64, 0],
        [58, 60, 0],
        [59, 60, 0],
        [60, 60, 0],
        [61, 64, 63072],
        [62, 74, 0],
        [70, 74, 0],
        [71, 74, 0],
        [76, 79, 9774],
        [84, 94, 22600],
        [89, 64, 29824],
        [91, 52, 0],
        [101, 52, 0],
        [104, 40, 0],
        [106, 79, 0],
        [108, 64, 3590],
        [109, 64, 0],
        [115, 52, 0],
        [118, 40, 0],
        [120, 87, 2984],
        [122, 60, 0],
        [127, 83, 4743],
        [135, 58, 0],
        [141, 64, 37597],
        [156, 64, 1],
        [160, 64, 0],
        [161, 64, 1],
        [165, 79, 0],
        [173, 74, 0],
        [176, 52, 0],
        [181, 79, 0],
        [190, 94, 5920],
      ],
    },
  },
  {
    // Found once runs took fewer shards than are drained (SHARDS_PER_RUN 2 of 3): a run's shard lease was taken
    // while its other lease attempts waited on Firestore (a follower asked to hand over, 10 s); the shard's lease
    // keeper started only then and counted its first renewal from there, so with that renewal hanging the run
    // POSTed as the lease lapsed.
    name: 'oneRunPerShard: a shard’s lease taken while the run’s other lease attempts wait is renewed in time, or its POSTs stop',
    broke: 'one-run-per-shard',
    // Fixed: the keeper renews by when the lease was taken, and stops POSTs one Firestore call before it lapses.
    history: {
      config: { clockOffsetsMs: [0, 0], followMs: 10000, jitterSeed: 1927279341, shards: { count: 3, perRun: 2 } },
      length: 200,
      steps: [
        [3, 81, 8037],
        [12, 74, 0],
        [22, 40, 1],
        [23, 94, 100],
        [27, 74, 0],
        [39, 74, 0],
        [44, 81, 0],
        [46, 64, 5241],
        [49, 58, 0],
        [50, 40, 52135],
        [53, 94, 213],
        [55, 94, 187],
        [60, 58, 0],
        [64, 58, 0],
        [67, 64, 0],
        [68, 52, 0],
        [77, 81, 0],
        [79, 64, 11071],
        [81, 52, 0],
        [87, 60, 0],
        [99, 81, 0],
        [102, 74, 0],
        [105, 64, 1],
        [110, 40, 14575],
        [111, 74, 0],
        [112, 60, 0],
        [113, 40, 19676],
        [116, 64, 0],
        [119, 94, 0],
        [122, 40, 12352],
        [125, 94, 11],
        [136, 94, 9],
      ],
    },
  },
  {
    // Found once direct writers wrote keyed strays: while resharding 2 → 1, e00001 (key k2, no createdAt, stamped
    // under the old count in shard 1) is read as an old-count event pending in another shard by shard 0's run,
    // whose sweep finds it: it held its own key there, so it was never dead-lettered and the reshard could not end.
    name: 'reshardStray: a stray of the previous count holds no key, not even its own',
    broke: 'liveness',
    // Fixed: an old-count event no page returns (no createdAt, no shard drained) holds nothing (reshard.ts).
    history: {
      config: {
        clockOffsetsMs: [0, 0],
        followMs: 0,
        jitterSeed: 0,
        shards: { count: 2, perRun: 1, reshard: { to: 1, rolloutAt: 0, producersAt: 48 } },
      },
      length: 200,
      steps: [[47, 72, 15170]],
    },
  },
  {
    // Found by seed 2 (after 975 histories): SHARDS_PER_RUN 1 of 4 while resharding 3 → 4; shard 2's heads are three
    // events the router refuses for good (a 422 and two poison), with the rest of its events behind them, so its
    // circuit opens in every run as in an outage. Each run's slot ended there, and shard 3, reached only after shard
    // 2 from the starts the runs took, kept k1's new-count events pending past LIVENESS_RUNS on a healthy router.
    name: 'shardCircuitLiveness: a shard whose circuit opens on poison heads does not keep the run from the next shard',
    broke: 'liveness',
    // Fixed: the first circuit to open in a run hands its slot on; a second ends it (nextFreeShardWanted).
    history: {
      config: {
        clockOffsetsMs: [0, 0],
        followMs: 0,
        jitterSeed: 1092178845,
        shards: { count: 3, perRun: 1, reshard: { to: 4, rolloutAt: 36, producersAt: 36 } },
      },
      length: 200,
      steps: [
        [0, 40, 0],
        [1, 40, 0],
        [2, 40, 0],
        [5, 74, 0],
        [9, 94, 6550],
        [14, 83, 0],
        [17, 64, 65521],
        [22, 64, 31811],
        [23, 72, 0],
        [24, 79, 12955],
        [25, 79, 10473],
        [26, 79, 7947],
        [31, 64, 39885],
        [41, 79, 0],
        [45, 64, 2099],
        [49, 40, 0],
        [50, 40, 0],
        [51, 72, 0],
        [60, 72, 22598],
        [64, 52, 0],
        [65, 94, 49150],
        [66, 60, 0],
        [67, 74, 0],
        [68, 60, 0],
        [74, 74, 0],
        [75, 94, 640],
        [79, 72, 0],
        [84, 79, 0],
        [86, 40, 0],
        [87, 40, 0],
        [89, 64, 8770],
        [92, 74, 0],
        [94, 87, 47682],
        [95, 87, 1098],
        [99, 79, 4860],
        [100, 64, 17176],
        [102, 74, 0],
        [103, 64, 47858],
        [105, 94, 7191],
        [106, 58, 0],
        [107, 72, 35155],
        [108, 74, 0],
        [109, 94, 10508],
        [112, 74, 0],
        [113, 94, 3],
        [115, 94, 4],
        [116, 64, 19088],
        [121, 94, 10833],
        [123, 64, 3],
        [128, 74, 0],
        [131, 64, 9731],
        [133, 60, 0],
        [135, 94, 1],
        [137, 64, 16306],
        [141, 74, 0],
        [142, 94, 33170],
        [148, 64, 54904],
        [151, 83, 6499],
        [160, 81, 14307],
        [164, 74, 0],
        [167, 40, 60219],
        [168, 64, 60756],
        [170, 79, 1],
        [171, 40, 18339],
        [173, 58, 0],
        [174, 94, 10611],
        [175, 79, 16383],
        [179, 64, 35545],
        [181, 60, 0],
        [183, 87, 3751],
        [186, 40, 3],
        [187, 58, 0],
        [188, 58, 0],
        [189, 60, 0],
        [192, 87, 53239],
        [198, 94, 550],
        [199, 64, 45734],
      ],
    },
  },
  {
    // Found by seed 6 (after 1,842 histories): resharding 2 → 3, a run of the new release took shard 2 and followed
    // new events; producers still on the old count committed e00001–e00003 (key k2, another shard), then switched,
    // and e00005 (key k2, new count, shard 2) was read by the following run and accepted ahead of them: the run had
    // read the keys the reshard holds at its start, before those old-count events existed.
    name: 'reshardFollow: a run does not follow while resharding, so a key’s new-count event waits for its old-count ones',
    broke: 'key-order',
    // Fixed: with PREVIOUS_SHARD_COUNT a run neither follows nor lingers (relay.ts follow).
    history: {
      config: {
        clockOffsetsMs: [0, 0],
        followMs: 10000,
        jitterSeed: 1242262078,
        shards: { count: 2, perRun: 1, reshard: { to: 3, rolloutAt: 3, producersAt: 31 } },
      },
      length: 200,
      steps: [
        [30, 64, 9692],
        [35, 60, 0],
        [36, 72, 0],
        [46, 64, 7],
      ],
    },
  },
];

describe('histories the simulation failed on', () => {
  for (const regression of REGRESSIONS) {
    const open = regression.knownOpen !== undefined && KNOWN_OPEN[regression.knownOpen];
    const test = open ? it.failing : it;
    test(`${regression.name}${open ? ' (known open: fails until the fix merges)' : ''}`, async () => {
      const result = await simulate(regression.history.config, replay(regression.history), NONE_KNOWN);

      expect(result.ok ? 'kept' : describeFailure(regression.history.config, result)).toBe('kept');
    });
  }

  it('replays a recorded history exactly: the same log lines, the same result, twice', async () => {
    const poison = REGRESSIONS.find((regression) => regression.name.startsWith('poisonEvents'));
    if (poison === undefined) throw new Error('no regression recorded');

    const runs = await Promise.all(
      [0, 1].map(async () => {
        const lines: string[] = [];
        const logger = {
          log: (severity: string, message: string, fields?: Readonly<Record<string, unknown>>) =>
            lines.push(`${severity} ${message} ${JSON.stringify(fields ?? {})}`),
        };
        const result = await simulate(poison.history.config, replay(poison.history), NONE_KNOWN, logger);
        return { result, lines };
      }),
    );

    expect(runs[0]?.lines.length).toBeGreaterThan(10);
    expect(runs[1]).toEqual(runs[0]);
  });
});
