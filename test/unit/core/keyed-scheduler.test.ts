import { KeyedScheduler } from '../../../src/core/keyed-scheduler.js';
import { VirtualClock } from '../../support/virtual-clock.js';

const clock = new VirtualClock();
const delay = (ms: number) => clock.sleep(ms);
const drained = (scheduler: KeyedScheduler) => clock.run(scheduler.drain());

/** Records when tasks run, to check overlap and order. */
function tracker() {
  let running = 0;
  let peak = 0;
  const order: string[] = [];
  const runningByKey = new Map<string, number>();
  let keyOverlap = false;
  const task =
    (key: string | undefined, name: string, ms = 5) =>
    async () => {
      running += 1;
      peak = Math.max(peak, running);
      if (key !== undefined) {
        const now = (runningByKey.get(key) ?? 0) + 1;
        runningByKey.set(key, now);
        if (now > 1) keyOverlap = true;
      }
      order.push(name);
      await delay(ms);
      if (key !== undefined) runningByKey.set(key, (runningByKey.get(key) ?? 1) - 1);
      running -= 1;
    };
  return { task, order, peak: () => peak, keyOverlap: () => keyOverlap };
}

describe('Class: KeyedScheduler', () => {
  it('starts tasks free to start in the order submitted, a keyed one as soon as one without a key', async () => {
    const scheduler = new KeyedScheduler(2);
    const t = tracker();

    scheduler.submit('a', t.task('a', 'a1'));
    scheduler.submit(undefined, t.task(undefined, 'n1'));
    scheduler.submit(undefined, t.task(undefined, 'n2'));
    scheduler.submit('b', t.task('b', 'b1'));
    await drained(scheduler);

    // With two slots, the first two submitted go first: the keyed a1 is not overtaken by n2.
    expect(t.order.slice(0, 2)).toEqual(['a1', 'n1']);
  });

  it('never runs more tasks at once than its concurrency', async () => {
    const scheduler = new KeyedScheduler(3);
    const t = tracker();

    for (let i = 0; i < 20; i += 1) scheduler.submit(undefined, t.task(undefined, `e${i}`));
    await drained(scheduler);

    expect(t.peak()).toBe(3);
    expect(t.order).toHaveLength(20);
  });

  it('runs tasks of one key one at a time in submission order', async () => {
    const scheduler = new KeyedScheduler(8);
    const t = tracker();

    for (let i = 0; i < 30; i += 1) scheduler.submit(`k${i % 3}`, t.task(`k${i % 3}`, `k${i % 3}-${i}`, 1 + (i % 4)));
    await drained(scheduler);

    expect(t.keyOverlap()).toBe(false);
    for (const key of ['k0', 'k1', 'k2']) {
      const ofKey = t.order.filter((name) => name.startsWith(`${key}-`)).map((name) => Number(name.split('-')[1]));
      expect(ofKey).toEqual([...ofKey].sort((a, b) => a - b));
    }
  });

  it('starts tasks without a key in submission order', async () => {
    const scheduler = new KeyedScheduler(1);
    const t = tracker();

    for (let i = 0; i < 10; i += 1) scheduler.submit(undefined, t.task(undefined, `e${i}`, 1));
    await drained(scheduler);

    expect(t.order).toEqual(Array.from({ length: 10 }, (_, i) => `e${i}`));
  });

  it('keeps going after a task rejects', async () => {
    const scheduler = new KeyedScheduler(2);
    const done: string[] = [];

    scheduler.submit('k', () => Promise.reject(new Error('boom')));
    scheduler.submit('k', () => {
      done.push('after');
      return Promise.resolve();
    });
    await drained(scheduler);

    expect(done).toEqual(['after']);
  });

  it('lets more tasks run at once when its concurrency is raised, fewer when it is lowered', async () => {
    const scheduler = new KeyedScheduler(1);
    const t = tracker();

    scheduler.setConcurrency(4);
    for (let i = 0; i < 12; i += 1) scheduler.submit(undefined, t.task(undefined, `e${i}`));
    await drained(scheduler);

    expect(t.peak()).toBe(4);
  });

  it('waitBelow resolves once fewer tasks are outstanding', async () => {
    const scheduler = new KeyedScheduler(2);
    for (let i = 0; i < 6; i += 1) scheduler.submit(undefined, () => delay(5));

    await clock.run(scheduler.waitBelow(3));

    expect(scheduler.size).toBeLessThan(3);
    await drained(scheduler);
    expect(scheduler.size).toBe(0);
  });
});
