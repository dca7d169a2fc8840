import { Checkpointer } from '../../../src/core/checkpointer.js';
import type { EventOutcome } from '../../../src/core/event.js';
import { FlushError } from '../../../src/errors.js';
import { MemoryOutboxStore } from '../../support/memory-outbox-store.js';

const delivered = (i: number): EventOutcome => ({ kind: 'delivered', eventId: `evt-${i}`, postAttempts: 1 });

describe('Class: Checkpointer', () => {
  it('writes a checkpoint each time CHECKPOINT_SIZE outcomes are waiting, and the rest on flush', async () => {
    const store = new MemoryOutboxStore();
    const checkpointer = new Checkpointer(store, 3, () => undefined);

    for (let i = 0; i < 7; i += 1) checkpointer.add(delivered(i));
    await checkpointer.flush();

    expect(store.commits.map((commit) => commit.length)).toEqual([3, 3, 1]);
  });

  it('keeps the outcomes of a failed checkpoint and writes them with the final flush', async () => {
    const store = new MemoryOutboxStore();
    let failNext = true;
    const record = store.recordOutcomes.bind(store);
    store.recordOutcomes = (outcomes) => {
      if (failNext) {
        failNext = false;
        return Promise.reject(new Error('unavailable'));
      }
      return record(outcomes);
    };
    const failures: FlushError[] = [];
    const checkpointer = new Checkpointer(store, 2, (error) => failures.push(error));

    for (let i = 0; i < 3; i += 1) checkpointer.add(delivered(i));
    await checkpointer.flush();

    expect(failures).toHaveLength(1);
    expect(store.commits.flat().map((o) => o.eventId).sort()).toEqual(['evt-0', 'evt-1', 'evt-2']);
  });

  it('rejects the final flush with a FlushError counting what stays unrecorded', async () => {
    const store = new MemoryOutboxStore();
    store.recordOutcomes = () => Promise.reject(new Error('permission denied'));
    const checkpointer = new Checkpointer(store, 10, () => undefined);
    checkpointer.add(delivered(1));
    checkpointer.add(delivered(2));

    await expect(checkpointer.flush()).rejects.toThrow(FlushError);
    expect(checkpointer.unwritten).toBe(2);
  });
});
