/**
 * Preloaded into a function the bench serves (NODE_OPTIONS=--import, when BENCH_PROBE_FILE is set): on SIGUSR2
 * it appends one JSON line to that file with the bytes the process has allocated on the V8 heap so far, so the
 * bench can report allocation per delivered event. Allocated = what the heap holds now − what it held at start
 * + what every collection since freed (v8.GCProfiler reports each collection's heap before and after).
 */
import { appendFileSync } from 'node:fs';
import v8 from 'node:v8';

/** One sample, as bench/function-drain.ts reads it. */
export interface ProbeSample {
  readonly seq: number;
  readonly allocatedBytes: number;
  readonly collections: number;
  /** Time the collections took on the main thread, as v8.GCProfiler reports it (its `cost`), in milliseconds. */
  readonly gcMs: number;
  readonly heapUsedBytes: number;
}

interface GcStatistics {
  /** Microseconds. */
  readonly cost: number;
  readonly beforeGC: { readonly heapStatistics: { readonly usedHeapSize: number } };
  readonly afterGC: { readonly heapStatistics: { readonly usedHeapSize: number } };
}

const file = process.env.BENCH_PROBE_FILE;
if (file !== undefined && file !== '') {
  const startUsed = v8.getHeapStatistics().used_heap_size;
  let freed = 0;
  let collections = 0;
  let gcMicros = 0;
  let seq = 0;
  let profiler = new v8.GCProfiler();
  profiler.start();
  process.on('SIGUSR2', () => {
    const result = profiler.stop() as { statistics?: readonly GcStatistics[] } | undefined;
    profiler = new v8.GCProfiler();
    profiler.start();
    for (const gc of result?.statistics ?? []) {
      freed += Math.max(0, gc.beforeGC.heapStatistics.usedHeapSize - gc.afterGC.heapStatistics.usedHeapSize);
      collections += 1;
      gcMicros += gc.cost;
    }
    const heapUsedBytes = v8.getHeapStatistics().used_heap_size;
    seq += 1;
    const sample: ProbeSample = {
      seq,
      allocatedBytes: heapUsedBytes - startUsed + freed,
      collections,
      gcMs: gcMicros / 1000,
      heapUsedBytes,
    };
    appendFileSync(file, `${JSON.stringify(sample)}\n`);
  });
}
