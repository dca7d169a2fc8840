/**
 * `npm run build && node bench/telemetry-cost.ts`: the function's CPU per delivered event with telemetry off and
 * on (OTLP to a loopback sink), and off against another build (BENCH_FUNCTION_ROOT, e.g. a worktree of main).
 * Writes bench/results/telemetry.json and the table in docs/observability.md. Settings: BENCH_EVENTS,
 * BENCH_CONCURRENCY, BENCH_TELEMETRY_ROUNDS (default 3), BENCH_FUNCTION_ROOT.
 */
await import(new URL('./resolve-ts.ts', import.meta.url).href);
const { runTelemetryBench } = await import('./telemetry-scenario.js');
process.exitCode = await runTelemetryBench();
