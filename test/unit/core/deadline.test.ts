import { jest } from '@jest/globals';
import { withDeadline } from '../../../src/core/deadline.js';
import { DeadlineError } from '../../../src/errors.js';
import { VirtualClock } from '../../support/virtual-clock.js';

describe('Function: withDeadline', () => {
  it('answers with the work when it finishes in time', async () => {
    const clock = new VirtualClock();

    await expect(
      clock.run(
        withDeadline(
          clock.sleep(50).then(() => 'done'),
          100,
          clock,
          'reading',
        ),
      ),
    ).resolves.toBe('done');
  });

  it('rejects with a DeadlineError naming the call once the time is up, however long the work hangs', async () => {
    const clock = new VirtualClock();
    const started = clock.now();

    await expect(clock.run(withDeadline(new Promise(() => undefined), 100, clock, 'reading pending events'))).rejects.toThrow(
      DeadlineError,
    );
    expect(clock.now() - started).toBe(100);
  });

  it('swallows a late rejection of the abandoned work', async () => {
    const clock = new VirtualClock();
    const late = clock.sleep(200).then(() => Promise.reject(new Error('too late')));
    const unhandled = jest.fn();
    process.on('unhandledRejection', unhandled);

    await expect(clock.run(withDeadline(late, 100, clock, 'writing'))).rejects.toThrow('writing did not finish within 100 ms');
    await clock.advance(200);
    process.off('unhandledRejection', unhandled);

    expect(unhandled).not.toHaveBeenCalled();
  });
});
