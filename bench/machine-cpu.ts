import { readFile } from 'node:fs/promises';

/** CPU time of the whole machine, every core added up: what was busy (anything but idle and iowait) out of all. */
export interface MachineCpu {
  readonly busySeconds: number;
  readonly totalSeconds: number;
}

/** Linux's USER_HZ: /proc/stat reports CPU time in these ticks on every mainstream architecture. */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * The machine's CPU time so far from /proc/stat's `cpu` line (zeros where it cannot be read). Sampled around a
 * drain, it says how much of the machine other work took while the bench measured (a loaded machine's figures).
 */
export async function readMachineCpu(): Promise<MachineCpu> {
  const text = await readFile('/proc/stat', 'utf8').catch(() => '');
  return parseProcStatCpu(text);
}

/** The `cpu` line's ticks as seconds: user nice system idle iowait irq softirq steal (guest time is inside user). */
export function parseProcStatCpu(text: string): MachineCpu {
  const line = text.split('\n').find((candidate) => candidate.startsWith('cpu '));
  if (line === undefined) return { busySeconds: 0, totalSeconds: 0 };
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = ticks.reduce((sum, value) => sum + (Number.isFinite(value) ? value : 0), 0);
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  return { busySeconds: (total - idle) / CLOCK_TICKS_PER_SECOND, totalSeconds: total / CLOCK_TICKS_PER_SECOND };
}
