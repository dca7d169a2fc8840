import { execFileSync } from 'node:child_process';
import os from 'node:os';

/** The machine a result was measured on; numbers from different machines are not comparable without it. */
export interface MachineInfo {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryBytes: number;
  readonly node: string;
  readonly platform: string;
  /** V8's default heap limit for a Node process here (asked of a fresh one without NODE_OPTIONS, as the functions start); V8 collects lazily below it. */
  readonly v8HeapLimitBytes: number;
  /** 1, 5 and 15-minute load averages when the bench started: other work on the machine skews every figure. */
  readonly loadAverageAtStart: readonly number[];
}

/** Describes this machine from Node's os module and a fresh Node process. */
export function describeMachine(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryBytes: os.totalmem(),
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    v8HeapLimitBytes: defaultHeapLimitBytes(),
    loadAverageAtStart: os.loadavg().map((load) => Number(load.toFixed(2))),
  };
}

function defaultHeapLimitBytes(): number {
  const output = execFileSync(process.execPath, ['-p', "require('node:v8').getHeapStatistics().heap_size_limit"], {
    env: { PATH: process.env.PATH },
    encoding: 'utf8',
    timeout: 10_000,
  });
  return Number(output.trim());
}
