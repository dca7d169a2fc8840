/**
 * `npm run build && node bench/follow-latency.ts`: commit → router arrival latency with runs triggered on a
 * schedule, in follow mode (FOLLOW_MS) next to polling (FOLLOW_MS=0), at steady producer rates. BENCH_QUICK=1
 * for a short run. Writes bench/results/follow.json and the table in docs/follow-mode.md.
 */
await import(new URL('./resolve-ts.ts', import.meta.url).href);
const { runFollowBench } = await import('./follow-scenario.js');
process.exitCode = await runFollowBench();
