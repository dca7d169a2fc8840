import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  STRAY_LIMIT,
  STRAY_SWEEP_INTERVAL_MS,
  StraySweepSchedule,
  sweepPlan,
  WHOLE_OUTBOX_COUNT_INTERVAL_MS,
  type SweepHistory,
} from '../../../src/core/stray-sweep.js';
import { PROJECT_ROOT } from '../../support/project-root.js';

const NOW = Date.UTC(2026, 0, 1, 12);

describe('Function: sweepPlan', () => {
  it.each<[string, SweepHistory, string]>([
    ['the instance’s first run', {}, 'sweep+whole'],
    ['a sweep a minute ago', { sweptAtMs: NOW - 60_000, countedAtMs: NOW - 60_000 }, 'none'],
    ['a sweep just inside the interval', { sweptAtMs: NOW - STRAY_SWEEP_INTERVAL_MS + 1, countedAtMs: NOW - 60_000 }, 'none'],
    ['a sweep STRAY_SWEEP_INTERVAL_MS ago', { sweptAtMs: NOW - STRAY_SWEEP_INTERVAL_MS, countedAtMs: NOW - 60_000 }, 'sweep'],
    ['a failed or full sweep a minute ago', { sweptAtMs: NOW - 60_000, countedAtMs: NOW - 60_000, again: true }, 'sweep'],
    [
      'a sweep due, the whole count WHOLE_OUTBOX_COUNT_INTERVAL_MS ago',
      { sweptAtMs: NOW - STRAY_SWEEP_INTERVAL_MS, countedAtMs: NOW - WHOLE_OUTBOX_COUNT_INTERVAL_MS },
      'sweep+whole',
    ],
    ['no sweep due, the whole count overdue', { sweptAtMs: NOW - 60_000, countedAtMs: NOW - WHOLE_OUTBOX_COUNT_INTERVAL_MS }, 'none'],
  ])('after %s: %s', (_case, history, expected) => {
    const plan = sweepPlan(history, NOW);

    expect(plan === undefined ? 'none' : plan.wholeOutbox ? 'sweep+whole' : 'sweep').toBe(expected);
  });
});

describe('Class: StraySweepSchedule', () => {
  it('sweeps once per interval while sweeps find fewer than STRAY_LIMIT strays', () => {
    const schedule = new StraySweepSchedule();
    const sweptAt: number[] = [];
    for (let minute = 0; minute < 60; minute += 1) {
      const nowMs = NOW + minute * 60_000;
      const plan = schedule.plan(nowMs);
      if (plan === undefined) continue;
      sweptAt.push(minute);
      schedule.swept(plan, nowMs, 3);
    }

    expect(sweptAt).toEqual([0, 15, 30, 45]);
  });

  it('sweeps again at the next run after a sweep that found STRAY_LIMIT strays, or failed', () => {
    const schedule = new StraySweepSchedule();
    const first = schedule.plan(NOW);
    schedule.swept(first!, NOW, STRAY_LIMIT);
    const afterFull = schedule.plan(NOW + 60_000);
    schedule.swept(afterFull!, NOW + 60_000, 'failed');
    const afterFailed = schedule.plan(NOW + 120_000);
    schedule.swept(afterFailed!, NOW + 120_000, 0);

    expect([first, afterFull, afterFailed]).toEqual([{ wholeOutbox: true }, { wholeOutbox: false }, { wholeOutbox: false }]);
    expect(schedule.plan(NOW + 180_000)).toBeUndefined();
  });

  it('counts the whole outbox again only once a failed whole count is swept again', () => {
    const schedule = new StraySweepSchedule();
    const first = schedule.plan(NOW);
    schedule.swept(first!, NOW, 'failed');

    expect(schedule.plan(NOW + 60_000)).toEqual({ wholeOutbox: true });
  });
});

describe('The sweep table of stray-sweep.ts (written into docs/failure-semantics.md)', () => {
  it('names the intervals the schedule applies', () => {
    const source = readFileSync(path.join(PROJECT_ROOT, 'src/core/stray-sweep.ts'), 'utf8');
    const named = (constant: string, unit: string): number => {
      const match = new RegExp(`${constant} \\((\\d+) ${unit}\\)`).exec(source);
      return Number(match?.[1]);
    };

    expect(named('STRAY_SWEEP_INTERVAL_MS', 'min') * 60_000).toBe(STRAY_SWEEP_INTERVAL_MS);
    expect(named('WHOLE_OUTBOX_COUNT_INTERVAL_MS', 'h') * 3_600_000).toBe(WHOLE_OUTBOX_COUNT_INTERVAL_MS);
  });
});
