/**
 * `npm run build && node bench/push-latency.ts`: commit → router latency of push on commit next to follow mode and
 * polling, with the Firestore emulator firing the Eventarc trigger and Scheduler runs that never overlap, at 1, 20
 * and 200 events/s; Firestore reads and writes per event and per kick; requests, instance time and their cost per
 * month. Writes bench/results/push.json, the tables in docs/push.md and the charts docs/push-latency-<rate>.svg.
 * BENCH_QUICK=1 for a short run; it, and a run narrowed by BENCH_PUSH_RATES, BENCH_PUSH_MODES or
 * BENCH_PUSH_SECONDS, writes bench/results/push-partial.json only.
 */
await import(new URL('./resolve-ts.ts', import.meta.url).href);
const { runPushBench } = await import('./push-scenario.js');
process.exitCode = await runPushBench();
