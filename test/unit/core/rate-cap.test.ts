import type { OutboxEvent } from '../../../src/core/event.js';
import { RateCappedRouter, RouterPause, shardRate } from '../../../src/core/rate-cap.js';
import { memoryRouter, ok, status } from '../../support/memory-router.js';
import { VirtualClock } from '../../support/virtual-clock.js';

const event = (id: string) => ({ id }) as OutboxEvent;

/** A shard's run POSTing as fast as its router lets it, `inFlight` at a time, until `untilMs`. */
async function busyShard(router: RateCappedRouter, clock: VirtualClock, shard: number, untilMs: number, inFlight = 4): Promise<void> {
  let n = 0;
  const worker = async (): Promise<void> => {
    while (clock.now() < untilMs) await router.post(event(`s${shard}-${(n += 1)}`), 1, new AbortController().signal);
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
}

describe('ROUTER_MAX_RPS (rate-cap)', () => {
  it.each([
    [100, 2],
    [50, 2],
    [7, 2],
  ])('holds %i POSTs/s for the deployment with 4 shards on 2 instances, within ±10 %', async (cap, instances) => {
    const clock = new VirtualClock();
    const target = memoryRouter(clock, () => ({ afterMs: 5, answer: ok }));
    const pauses = Array.from({ length: instances }, () => new RouterPause());
    const shards = Array.from(
      { length: 4 },
      (_, shard) => new RateCappedRouter(target.router, shardRate(cap, 4), clock, pauses[shard % instances] as RouterPause),
    );
    const start = clock.now();

    await clock.run(Promise.all(shards.map((router, shard) => busyShard(router, clock, shard, start + 20_000))));

    // The steady rate over 10 s after the first second.
    const counted = target.posts.filter((p) => p.at >= start + 5_000 && p.at < start + 15_000).length / 10;
    expect(counted).toBeGreaterThanOrEqual(cap * 0.9);
    expect(counted).toBeLessThanOrEqual(cap * 1.1);
  });

  it('pauses every shard of the instance for the Retry-After of a 429, then resumes at the cap', async () => {
    const clock = new VirtualClock();
    const start = clock.now();
    const target = memoryRouter(clock, (e) => (e.id === 's0-3' ? status(429, '3') : ok));
    const pause = new RouterPause();
    const shards = [0, 1].map(() => new RateCappedRouter(target.router, 10, clock, pause));

    await clock.run(Promise.all(shards.map((router, shard) => busyShard(router, clock, shard, start + 6_000, 1))));

    const refused = target.posts.find((p) => p.eventId === 's0-3')?.at ?? 0;
    const next = target.posts.filter((p) => p.at > refused).map((p) => p.at - refused);
    expect(Math.min(...next)).toBeGreaterThanOrEqual(3_000);
  });

  it('never sends a POST cancelled while it waits for its turn', async () => {
    const clock = new VirtualClock();
    const target = memoryRouter(clock);
    const router = new RateCappedRouter(target.router, 1, clock, new RouterPause());
    const cancel = new AbortController();

    await clock.run(router.post(event('first'), 1, cancel.signal));
    const waiting = router.post(event('second'), 1, cancel.signal);
    cancel.abort();

    expect(await clock.run(waiting)).toEqual({ kind: 'aborted' });
    expect(target.posts.map((p) => p.eventId)).toEqual(['first']);
  });
});
