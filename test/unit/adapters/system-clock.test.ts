import { jest } from '@jest/globals';
import { systemClock } from '../../../src/adapters/system-clock.js';

describe('Adapter: systemClock', () => {
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('keeps counting forward when the wall clock steps back 60 s, so a run budget is not stretched', () => {
    const before = systemClock.now();
    const wall = Date.now();
    jest.spyOn(Date, 'now').mockReturnValue(wall - 60_000);

    const after = systemClock.now();

    expect(after).toBeGreaterThanOrEqual(before);
    expect(after - before).toBeLessThan(60_000);
  });

  it('does not jump ahead when the wall clock steps forward 5 minutes, so a deadline is not cut short', () => {
    const before = systemClock.now();
    jest.spyOn(Date, 'now').mockReturnValue(Date.now() + 300_000);

    expect(systemClock.now() - before).toBeLessThan(300_000);
  });

  it('reads as milliseconds since the epoch, close to the wall clock of a process whose clock was not moved', () => {
    expect(Math.abs(systemClock.now() - Date.now())).toBeLessThan(60_000);
  });

  it('resolves a sleep early, without rejecting, when its signal aborts', async () => {
    const controller = new AbortController();
    const sleeping = systemClock.sleep(60_000, controller.signal);

    controller.abort();

    await expect(sleeping).resolves.toBeUndefined();
  });
});
