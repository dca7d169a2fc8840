/**
 * `npm run bench`: the relay's throughput, store cost, memory and shard scale-out, measured against the
 * Firestore emulator and a loopback router. Settings: BENCH_* variables (see bench-config.ts).
 */
await import(new URL('./resolve-ts.ts', import.meta.url).href);
const { runBench } = await import('./run-bench.js');
process.exitCode = await runBench();
