import { Checkpointer } from '../../../src/core/checkpointer.js';
import type { DocumentVersion, EventOutcome } from '../../../src/core/event.js';
import type { RecordReport } from '../../../src/core/ports.js';
import { FlushError } from '../../../src/errors.js';

const delivered = (i: number): EventOutcome => ({
  kind: 'delivered',
  eventId: `evt-${i}`,
  version: 1 as unknown as DocumentVersion,
  postAttempts: 1,
});

/** A writer that records each batch; `fail` decides per call. */
function writer(fail: (call: number) => boolean = () => false) {
  const commits: string[][] = [];
  let calls = 0;
  const write = (outcomes: readonly EventOutcome[]): Promise<RecordReport> => {
    calls += 1;
    if (fail(calls)) return Promise.reject(new Error('unavailable'));
    commits.push(outcomes.map((o) => o.eventId));
    return Promise.resolve({ stale: outcomes.filter((o) => o.eventId === 'evt-stale').map((o) => o.eventId) });
  };
  return { write, commits };
}

describe('Class: Checkpointer', () => {
  it('writes a checkpoint each time CHECKPOINT_SIZE outcomes are waiting, and the rest on flush', async () => {
    const { write, commits } = writer();
    const checkpointer = new Checkpointer(write, 3, () => undefined);

    for (let i = 0; i < 7; i += 1) checkpointer.add(delivered(i));
    await checkpointer.flush();

    expect(commits.map((commit) => commit.length)).toEqual([3, 3, 1]);
  });

  it('keeps the outcomes of a failed checkpoint and writes them with the final flush', async () => {
    const { write, commits } = writer((call) => call === 1);
    const failures: FlushError[] = [];
    const checkpointer = new Checkpointer(write, 2, (error) => failures.push(error));

    for (let i = 0; i < 3; i += 1) checkpointer.add(delivered(i));
    await checkpointer.flush();

    expect(failures).toHaveLength(1);
    expect(commits.flat().sort()).toEqual(['evt-0', 'evt-1', 'evt-2']);
    expect(checkpointer.unwritten).toBe(0);
  });

  it('rejects the final flush with a FlushError counting what stays unrecorded', async () => {
    const { write } = writer(() => true);
    const checkpointer = new Checkpointer(write, 10, () => undefined);
    checkpointer.add(delivered(1));
    checkpointer.add(delivered(2));

    await expect(checkpointer.flush()).rejects.toThrow(FlushError);
    expect(checkpointer.unwritten).toBe(2);
  });

  it('counts a write still in flight as unwritten, so a flush cut off by its deadline reports it', () => {
    const checkpointer = new Checkpointer(
      () => new Promise<never>(() => undefined),
      2,
      () => undefined,
    );

    checkpointer.add(delivered(1));
    checkpointer.add(delivered(2));
    checkpointer.add(delivered(3));

    expect(checkpointer.unwritten).toBe(3);
  });

  it('collects the events the store found changed or gone', async () => {
    const { write } = writer();
    const checkpointer = new Checkpointer(write, 10, () => undefined);
    checkpointer.add(delivered(1));
    checkpointer.add({ ...delivered(0), eventId: 'evt-stale' });

    await checkpointer.flush();

    expect(checkpointer.stale).toEqual(['evt-stale']);
  });
});
