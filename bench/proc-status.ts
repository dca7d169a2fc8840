import { readdir, readFile } from 'node:fs/promises';

/** Memory of one process as the kernel reports it, in bytes; VmHWM is the peak resident set since it started. */
export interface ProcessMemory {
  readonly peakRssBytes: number;
  readonly rssBytes: number;
}

/** Linux's USER_HZ: /proc reports CPU time in these ticks on every mainstream architecture. */
const CLOCK_TICKS_PER_SECOND = 100;

/** Reads VmHWM and VmRSS from /proc/<pid>/status (Linux only); undefined when the process or the file is gone. */
export async function readProcessMemory(pid: number): Promise<ProcessMemory | undefined> {
  const status = await readOrUndefined(`/proc/${pid}/status`);
  if (status === undefined) return undefined;
  const peak = kibibytes(status, 'VmHWM');
  const current = kibibytes(status, 'VmRSS');
  if (peak === undefined || current === undefined) return undefined;
  return { peakRssBytes: peak * 1024, rssBytes: current * 1024 };
}

/**
 * CPU seconds (user + system) used so far by every live process in a process group, e.g. the emulator's
 * gcloud wrapper and its java child; 0 when /proc cannot be read. Sampled before and after a measurement,
 * it tells which process the CPUs were busy with.
 */
export async function readGroupCpuSeconds(pgid: number): Promise<number> {
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return 0;
  }
  let ticks = 0;
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = await statFields(Number(entry));
    if (fields !== undefined && Number(fields[2]) === pgid) ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / CLOCK_TICKS_PER_SECOND;
}

/** CPU seconds (user + system) used so far by one process; 0 when it is gone. */
export async function readCpuSeconds(pid: number): Promise<number> {
  const fields = await statFields(pid);
  return fields === undefined ? 0 : (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

/** The fields of /proc/<pid>/stat after the command name (which may hold spaces): state is [0], pgrp [2], utime [11], stime [12]. */
async function statFields(pid: number): Promise<string[] | undefined> {
  const stat = await readOrUndefined(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

async function readOrUndefined(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
}

function kibibytes(status: string, field: string): number | undefined {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}
